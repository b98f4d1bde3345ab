//! A running responder: a thread inside the host's namespace reading IPv6 frames from a packet
//! socket bound to the link and answering solicitations whose target lies in one of its prefixes
//! (every address of it, or only those a Docker network has handed out).
//! A plain thread rather than a tokio task: the socket must be made inside the namespace and the
//! loop only blocks on that one socket (with a timeout, so a stop is seen within 200 ms).

use super::packet::{advertisement, parse_solicitation};
use crate::base::error::RunError;
use crate::sys::netns;
use ipnet::Ipv6Net;
use rustc_hash::FxHashSet;
use std::net::Ipv6Addr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, mpsc};
use std::time::{Duration, Instant};

const ETH_P_IPV6: u16 = 0x86dd;
const PACKET_OUTGOING: u8 = 4;

/// The receive buffer asked for the responder's socket (the kernel books twice this): a burst of
/// solicitations queues here while the thread waits for a core. The default (208 KiB) holds ~250
/// of them (~830 bytes each as the kernel counts them on a veth), this ~10,000; memory is only
/// taken while frames wait.
pub const RECEIVE_BUFFER: usize = 4 << 20;

/// Which addresses of a prefix are answered.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// Every address of the prefix.
    Every,
    /// Only those a Docker network's IPAM has handed out (`network`), kept current by the engine.
    HandedOut {
        network: String,
        addrs: FxHashSet<Ipv6Addr>,
    },
}

/// One prefix and what of it is answered.
#[derive(Clone, Debug, PartialEq)]
struct Rule {
    prefix: Ipv6Net,
    answer: Answer,
}

impl Rule {
    fn answers(&self, target: &Ipv6Addr) -> bool {
        self.prefix.contains(target)
            && match &self.answer {
                Answer::Every => true,
                Answer::HandedOut { addrs, .. } => addrs.contains(target),
            }
    }
}

/// The rules, shared with the thread: it takes a read lock per solicitation, which only the
/// rare writer (a prefix added, a container come or gone) ever waits on.
type Rules = Arc<RwLock<Vec<Rule>>>;

pub struct Responder {
    rules: Rules,
    stop: Arc<AtomicBool>,
    /// Advertisements sent, for `show` and tests.
    pub answered: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Classic BPF over the Ethernet frame: IPv6 (ethertype at 12), next header ICMPv6 (at 14 + 6) and
/// ICMPv6 type 135 (at 14 + 40) pass whole, everything else is dropped in the kernel. A solicitation
/// behind extension headers fails the next-header test, as the parser would drop it anyway.
pub(crate) fn solicitation_filter() -> [libc::sock_filter; 8] {
    const LDH: u16 = (libc::BPF_LD | libc::BPF_H | libc::BPF_ABS) as u16;
    const LDB: u16 = (libc::BPF_LD | libc::BPF_B | libc::BPF_ABS) as u16;
    const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    let op = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    [
        op(LDH, 0, 0, 12),
        op(JEQ, 0, 5, u32::from(ETH_P_IPV6)),
        op(LDB, 0, 0, 20),
        op(JEQ, 0, 3, 58),
        op(LDB, 0, 0, 54),
        op(JEQ, 0, 1, 135),
        op(RET, 0, 0, 0x40000),
        op(RET, 0, 0, 0),
    ]
}

/// The address answers come from (RFC 4861 §4.4: one of the sending interface's): its link-local
/// address, else any other IPv6 address it has.
fn own_address(dev: &str) -> Option<Ipv6Addr> {
    let addrs: Vec<Ipv6Addr> = nix::ifaddrs::getifaddrs()
        .ok()?
        .filter(|a| a.interface_name == dev)
        .filter_map(|a| a.address.and_then(|s| s.as_sockaddr_in6().map(|s| s.ip())))
        .collect();
    addrs
        .iter()
        .find(|a| a.is_unicast_link_local())
        .or_else(|| addrs.first())
        .copied()
}

/// A packet socket on `dev` for IPv6 frames, and the link's MAC.
fn open(dev: &str) -> Result<(std::os::fd::OwnedFd, i32, [u8; 6]), String> {
    use std::os::fd::FromRawFd;
    let index = nix::net::if_::if_nametoindex(dev)
        .map_err(|e| format!("cannot find link {dev}: {}", e.desc()))? as i32;
    let mac = nix::ifaddrs::getifaddrs()
        .map_err(|e| format!("cannot read link addresses: {}", e.desc()))?
        .filter(|a| a.interface_name == dev)
        .find_map(|a| {
            a.address
                .and_then(|s| s.as_link_addr().and_then(|l| l.addr()))
        })
        .ok_or_else(|| format!("link {dev} has no MAC address"))?;
    // protocol 0: no frames are queued until bind, by which time the filter is in place
    // SAFETY: plain socket(2); the fd is owned at once
    let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(format!(
            "cannot open a packet socket: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: raw is a fresh, valid descriptor nobody else owns
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(raw) };
    use std::os::fd::AsRawFd;
    let filter = solicitation_filter();
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: prog points at `filter`, alive for the call; the kernel copies it
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            &prog as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::sock_fprog>() as u32,
        )
    };
    if rc < 0 {
        return Err(format!(
            "cannot filter the packet socket: {}",
            std::io::Error::last_os_error()
        ));
    }
    enlarge_receive_buffer(&fd);
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = ETH_P_IPV6.to_be();
    sll.sll_ifindex = index;
    // SAFETY: sll is a properly sized sockaddr_ll
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            &sll as *const _ as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if rc < 0 {
        return Err(format!(
            "cannot bind to {dev}: {}",
            std::io::Error::last_os_error()
        ));
    }
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 200_000,
    };
    // SAFETY: tv is a valid timeval
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            &tv as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::timeval>() as u32,
        );
    }
    Ok((fd, index, mac))
}

/// Asks for [`RECEIVE_BUFFER`]: SO_RCVBUFFORCE passes net.core.rmem_max but needs CAP_NET_ADMIN;
/// without it SO_RCVBUF gets what rmem_max allows. Either failing leaves the default, which still
/// works, only drops more of a burst.
fn enlarge_receive_buffer(fd: &std::os::fd::OwnedFd) {
    use std::os::fd::AsRawFd;
    let size = RECEIVE_BUFFER as libc::c_int;
    let set = |option| {
        // SAFETY: size is a valid c_int, alive for the call
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                &size as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as u32,
            )
        }
    };
    if set(libc::SO_RCVBUFFORCE) < 0 {
        set(libc::SO_RCVBUF);
    }
}

fn serve(
    dev: &str,
    fd: std::os::fd::OwnedFd,
    index: i32,
    mac: [u8; 6],
    rules: Rules,
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
) {
    use std::os::fd::AsRawFd;
    let mut buf = [0u8; 2048];
    let mut from_addr = own_address(dev);
    let mut looked_up = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_ll>() as u32;
        // SAFETY: buf and from are valid for the sizes given
        let n = unsafe {
            libc::recvfrom(
                fd.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                0,
                &mut from as *mut _ as *mut libc::sockaddr,
                &mut len,
            )
        };
        if n <= 0 || from.sll_pkttype == PACKET_OUTGOING {
            continue; // a timeout, or our own frame
        }
        let Some(ns) = parse_solicitation(&buf[..n as usize], mac) else {
            continue;
        };
        let ours = rules
            .read()
            .map(|r| r.iter().any(|r| r.answers(&ns.target)))
            .unwrap_or(false);
        if !ours {
            continue;
        }
        // a link just brought up may get its link-local address after the responder started
        if from_addr.is_none() && looked_up.elapsed() >= Duration::from_secs(1) {
            from_addr = own_address(dev);
            looked_up = Instant::now();
        }
        // no address on the link at all: the target is the only source left
        let frame = advertisement(&ns, mac, from_addr.unwrap_or(ns.target));
        let mut to: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        to.sll_family = libc::AF_PACKET as u16;
        to.sll_protocol = ETH_P_IPV6.to_be();
        to.sll_ifindex = index;
        to.sll_halen = 6;
        to.sll_addr[..6].copy_from_slice(&ns.src_mac);
        // SAFETY: frame and to are valid for the sizes given
        let sent = unsafe {
            libc::sendto(
                fd.as_raw_fd(),
                frame.as_ptr() as *const libc::c_void,
                frame.len(),
                0,
                &to as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if sent > 0 {
            answered.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Responder {
    /// Starts answering `answer` of `prefix` on `dev` inside namespace `ns` (here when `None`).
    pub fn start(
        ns: Option<&str>,
        dev: &str,
        prefix: Ipv6Net,
        answer: Answer,
    ) -> Result<Responder, RunError> {
        let file = match ns {
            Some(n) => Some(netns::open(n)?),
            None => None,
        };
        let rules = Arc::new(RwLock::new(vec![Rule {
            prefix: prefix.trunc(),
            answer,
        }]));
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let (ready, started) = mpsc::channel::<Result<(), String>>();
        let dev_name = dev.to_string();
        let (p, s, a) = (rules.clone(), stop.clone(), answered.clone());
        let thread = std::thread::Builder::new()
            .name(format!("ndp-{dev}"))
            .spawn(move || {
                if let Some(f) = file
                    && let Err(e) = nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET)
                {
                    let _ = ready.send(Err(format!("cannot enter the namespace: {}", e.desc())));
                    return;
                }
                match open(&dev_name) {
                    Ok((fd, index, mac)) => {
                        let _ = ready.send(Ok(()));
                        serve(&dev_name, fd, index, mac, p, s, a);
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                    }
                }
            })
            .map_err(|e| RunError::new(format!("cannot start the NDP responder: {e}")))?;
        let whence = ns.map(|n| format!(" in {n}")).unwrap_or_default();
        match started.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => Ok(Responder {
                rules,
                stop,
                answered,
                thread: Some(thread),
            }),
            Ok(Err(e)) => Err(RunError::new(format!(
                "cannot start the NDP responder on {dev}{whence}: {e}"
            ))),
            Err(_) => Err(RunError::new(format!(
                "the NDP responder on {dev}{whence} did not start"
            ))),
        }
    }

    /// Answers `answer` of one more prefix too (a rule there already is kept as it is).
    pub fn add(&self, prefix: Ipv6Net, answer: Answer) {
        let rule = Rule {
            prefix: prefix.trunc(),
            answer,
        };
        if let Ok(mut r) = self.rules.write()
            && !r.iter().any(|have| same_rule(have, &rule))
        {
            r.push(rule);
        }
    }

    /// The networks whose handed-out addresses this responder answers, with their prefixes.
    pub fn networks(&self) -> Vec<(String, Ipv6Net)> {
        let Ok(r) = self.rules.read() else {
            return Vec::new();
        };
        r.iter()
            .filter_map(|r| match &r.answer {
                Answer::HandedOut { network, .. } => Some((network.clone(), r.prefix)),
                Answer::Every => None,
            })
            .collect()
    }

    /// The addresses `network` has handed out in `prefix` now: answered from the next
    /// solicitation on.
    pub fn hand_out(&self, network: &str, prefix: Ipv6Net, now: FxHashSet<Ipv6Addr>) {
        let Ok(mut r) = self.rules.write() else {
            return;
        };
        for rule in r.iter_mut().filter(|r| r.prefix == prefix) {
            if let Answer::HandedOut { network: n, addrs } = &mut rule.answer
                && n == network
                && *addrs != now
            {
                addrs.clone_from(&now);
            }
        }
    }
}

/// Two rules for the same prefix and the same network (or both for every address).
fn same_rule(a: &Rule, b: &Rule) -> bool {
    a.prefix == b.prefix
        && match (&a.answer, &b.answer) {
            (Answer::Every, Answer::Every) => true,
            (Answer::HandedOut { network: x, .. }, Answer::HandedOut { network: y, .. }) => x == y,
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a classic BPF program of loads, equality jumps and returns over `frame`, as the kernel
    /// would: the accepted length, 0 for a drop (also for a load past the frame's end).
    fn run_filter(prog: &[libc::sock_filter], frame: &[u8]) -> u32 {
        let mut a: u32 = 0;
        let mut pc = 0;
        while let Some(i) = prog.get(pc) {
            let k = i.k as usize;
            match u32::from(i.code) {
                c if c == libc::BPF_LD | libc::BPF_H | libc::BPF_ABS => match frame.get(k..k + 2) {
                    Some(b) => a = u32::from(u16::from_be_bytes([b[0], b[1]])),
                    None => return 0,
                },
                c if c == libc::BPF_LD | libc::BPF_B | libc::BPF_ABS => match frame.get(k) {
                    Some(b) => a = u32::from(*b),
                    None => return 0,
                },
                c if c == libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K => {
                    pc += usize::from(if a == i.k { i.jt } else { i.jf });
                }
                c if c == libc::BPF_RET | libc::BPF_K => return i.k,
                c => panic!("opcode {c:#x} is not interpreted here"),
            }
            pc += 1;
        }
        panic!("the program ran off its end");
    }

    /// An Ethernet frame with IPv6 next header `next` whose payload starts with `first`.
    fn frame(ethertype: u16, next: u8, first: u8) -> Vec<u8> {
        let mut f = vec![0x33, 0x33, 0xff, 0, 0, 1, 2, 0, 0, 0, 0, 1];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(&[0x60, 0, 0, 0, 0, 32, next, 255]);
        f.extend_from_slice(&[0; 32]);
        f.push(first);
        f.extend_from_slice(&[0; 31]);
        f
    }

    #[test]
    fn a_handed_out_rule_answers_only_its_addresses_and_follows_updates() {
        let prefix: Ipv6Net = "2003:ab11:0:0:c000::/66".parse().unwrap();
        let held: Ipv6Addr = "2003:ab11::c000:242:a0f:1402".parse().unwrap();
        let free: Ipv6Addr = "2003:ab11::c000:0:0:99".parse().unwrap();
        let every = Rule {
            prefix,
            answer: Answer::Every,
        };
        assert!(every.answers(&held) && every.answers(&free));
        let mut only = Rule {
            prefix,
            answer: Answer::HandedOut {
                network: "n".into(),
                addrs: [held].into_iter().collect(),
            },
        };
        assert!(only.answers(&held));
        assert!(!only.answers(&free), "an address nobody holds");
        // a handed-out address outside the rule's prefix is not answered by it
        let outside: Ipv6Addr = "2003:ab11::1".parse().unwrap();
        if let Answer::HandedOut { addrs, .. } = &mut only.answer {
            addrs.insert(outside);
        }
        assert!(!only.answers(&outside));
        assert!(same_rule(&only, &only.clone()) && !same_rule(&only, &every));
    }

    #[test]
    fn the_socket_filter_passes_only_neighbour_solicitations() {
        let prog = solicitation_filter();
        assert!(
            run_filter(&prog, &frame(0x86dd, 58, 135)) > 1500,
            "a solicitation"
        );
        assert_eq!(
            run_filter(&prog, &frame(0x86dd, 58, 136)),
            0,
            "an advertisement"
        );
        assert_eq!(
            run_filter(&prog, &frame(0x86dd, 58, 128)),
            0,
            "an echo request"
        );
        assert_eq!(run_filter(&prog, &frame(0x86dd, 17, 135)), 0, "UDP");
        // a solicitation behind a hop-by-hop header
        assert_eq!(
            run_filter(&prog, &frame(0x86dd, 0, 58)),
            0,
            "extension header"
        );
        assert_eq!(run_filter(&prog, &frame(0x0800, 58, 135)), 0, "IPv4");
        assert_eq!(
            run_filter(&prog, &frame(0x86dd, 58, 135)[..40]),
            0,
            "cut short"
        );
    }
}
