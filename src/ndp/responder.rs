//! A running responder: a thread inside the host's namespace reading IPv6 frames from a packet
//! socket bound to the link and answering solicitations whose target lies in one of its prefixes.
//! A plain thread rather than a tokio task: the socket must be made inside the namespace and the
//! loop only blocks on that one socket (with a timeout, so a stop is seen within 200 ms).

use super::packet::{advertisement, parse_solicitation};
use crate::base::error::RunError;
use crate::sys::netns;
use ipnet::Ipv6Net;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

const ETH_P_IPV6: u16 = 0x86dd;
const PACKET_OUTGOING: u8 = 4;

pub struct Responder {
    prefixes: Arc<Mutex<Vec<Ipv6Net>>>,
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
    // SAFETY: plain socket(2); the fd is owned at once
    let raw = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            ETH_P_IPV6.to_be() as i32,
        )
    };
    if raw < 0 {
        return Err(format!(
            "cannot open a packet socket: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: raw is a fresh, valid descriptor nobody else owns
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(raw) };
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = ETH_P_IPV6.to_be();
    sll.sll_ifindex = index;
    use std::os::fd::AsRawFd;
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

fn serve(
    fd: std::os::fd::OwnedFd,
    index: i32,
    mac: [u8; 6],
    prefixes: Arc<Mutex<Vec<Ipv6Net>>>,
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
) {
    use std::os::fd::AsRawFd;
    let mut buf = [0u8; 2048];
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
        let Some(ns) = parse_solicitation(&buf[..n as usize]) else {
            continue;
        };
        let ours = prefixes
            .lock()
            .map(|p| p.iter().any(|p| p.contains(&ns.target)))
            .unwrap_or(false);
        if !ours {
            continue;
        }
        let frame = advertisement(&ns, mac);
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
    /// Starts answering for `prefix` on `dev` inside namespace `ns` (here when `None`).
    pub fn start(ns: Option<&str>, dev: &str, prefix: Ipv6Net) -> Result<Responder, RunError> {
        let file = match ns {
            Some(n) => Some(netns::open(n)?),
            None => None,
        };
        let prefixes = Arc::new(Mutex::new(vec![prefix.trunc()]));
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let (ready, started) = mpsc::channel::<Result<(), String>>();
        let dev_name = dev.to_string();
        let (p, s, a) = (prefixes.clone(), stop.clone(), answered.clone());
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
                        serve(fd, index, mac, p, s, a);
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
                prefixes,
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

    /// Answers for one more prefix too.
    pub fn add(&self, prefix: Ipv6Net) {
        if let Ok(mut p) = self.prefixes.lock()
            && !p.contains(&prefix.trunc())
        {
            p.push(prefix.trunc());
        }
    }
}
