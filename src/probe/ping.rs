//! ICMP echo without a ping binary: a raw ICMP (or ICMPv6) socket opened on a helper thread inside
//! the source namespace (netsh runs as root; unprivileged ICMP sockets depend on
//! net.ipv4.ping_group_range, which is off in new namespaces). Replies are matched by identifier,
//! sequence and source.

use crate::base::error::RunError;
use crate::sys::netns;
use pnet_packet::Packet;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

/// How a series of probes went.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub sent: u32,
    pub received: u32,
    /// Round-trip times of the replies, in order.
    pub rtts: Vec<Duration>,
    /// Why probes could not be sent (`Network is unreachable`), when that happened.
    pub send_error: Option<String>,
    /// Stopped early by a signal (Ctrl-C): the counts are those so far.
    pub interrupted: bool,
}

/// One echo reply, as it comes.
#[derive(Debug, Clone, Copy)]
pub struct Reply {
    pub from: IpAddr,
    pub seq: u16,
    pub rtt: Duration,
}

/// What to send.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    pub target: IpAddr,
    pub src: Option<IpAddr>,
    /// Probes to send at most.
    pub count: u32,
    /// Time between probes.
    pub interval: Duration,
    /// How long to wait for the last probe's reply (and, with `until_reply`, for any reply).
    pub wait: Duration,
    /// Stop at the first reply (expect reach / no-reach).
    pub until_reply: bool,
}

static NEXT_ID: AtomicU16 = AtomicU16::new(0);

const PAYLOAD_LEN: usize = 32;
/// Type, code, checksum, identifier, sequence.
const ECHO_HDR: usize = 8;

/// The payload of every probe: "abc...z" and "abcdef" again.
fn payload() -> [u8; PAYLOAD_LEN] {
    std::array::from_fn(|i| b'a' + (i % 26) as u8)
}

/// An echo request: type, code, checksum, identifier, sequence, 32 bytes of payload.
pub fn echo_request(v6: bool, id: u16, seq: u16) -> Vec<u8> {
    let mut p = vec![0u8; ECHO_HDR + PAYLOAD_LEN];
    if v6 {
        use pnet_packet::icmpv6::Icmpv6Types;
        use pnet_packet::icmpv6::echo_request::{Icmpv6Codes, MutableEchoRequestPacket};
        let mut e = MutableEchoRequestPacket::new(&mut p).expect("sized for an echo request");
        e.set_icmpv6_type(Icmpv6Types::EchoRequest);
        e.set_icmpv6_code(Icmpv6Codes::NoCode);
        e.set_identifier(id);
        e.set_sequence_number(seq);
        e.set_payload(&payload());
        // the checksum stays 0: the kernel fills in ICMPv6 checksums itself (it needs the
        // pseudo-header)
    } else {
        use pnet_packet::icmp::echo_request::{IcmpCodes, MutableEchoRequestPacket};
        use pnet_packet::icmp::{IcmpPacket, IcmpTypes, checksum};
        let mut e = MutableEchoRequestPacket::new(&mut p).expect("sized for an echo request");
        e.set_icmp_type(IcmpTypes::EchoRequest);
        e.set_icmp_code(IcmpCodes::NoCode);
        e.set_identifier(id);
        e.set_sequence_number(seq);
        e.set_payload(&payload());
        let sum = checksum(&IcmpPacket::new(e.packet()).expect("sized above"));
        e.set_checksum(sum);
    }
    p
}

/// The (identifier, sequence) of an echo reply, given the packet as the socket returns it (IPv4 raw
/// sockets include the IP header).
pub fn parse_reply(v6: bool, packet: &[u8]) -> Option<(u16, u16)> {
    if v6 {
        use pnet_packet::icmpv6::Icmpv6Types;
        use pnet_packet::icmpv6::echo_reply::{EchoReplyPacket, Icmpv6Codes};
        let r = EchoReplyPacket::new(packet)?;
        if r.get_icmpv6_type() != Icmpv6Types::EchoReply
            || r.get_icmpv6_code() != Icmpv6Codes::NoCode
        {
            return None;
        }
        Some((r.get_identifier(), r.get_sequence_number()))
    } else {
        use pnet_packet::icmp::IcmpTypes;
        use pnet_packet::icmp::echo_reply::{EchoReplyPacket, IcmpCodes};
        use pnet_packet::ipv4::Ipv4Packet;
        // the header length as the header says, not as pnet's payload bounds it
        let ihl = usize::from(Ipv4Packet::new(packet)?.get_header_length()) * 4;
        let r = EchoReplyPacket::new(packet.get(ihl..)?)?;
        if r.get_icmp_type() != IcmpTypes::EchoReply || r.get_icmp_code() != IcmpCodes::NoCode {
            return None;
        }
        Some((r.get_identifier(), r.get_sequence_number()))
    }
}

fn sockaddr(ip: IpAddr) -> nix::sys::socket::SockaddrStorage {
    nix::sys::socket::SockaddrStorage::from(SocketAddr::new(ip, 0))
}

fn open(v6: bool, src: Option<IpAddr>) -> std::io::Result<OwnedFd> {
    let (domain, proto) = if v6 {
        (libc::AF_INET6, libc::IPPROTO_ICMPV6)
    } else {
        (libc::AF_INET, libc::IPPROTO_ICMP)
    };
    // SAFETY: plain socket(2); the fd is owned at once.
    let fd = unsafe { libc::socket(domain, libc::SOCK_RAW | libc::SOCK_CLOEXEC, proto) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd is fresh and ours.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    if let Some(src) = src {
        nix::sys::socket::bind(fd.as_raw_fd(), &sockaddr(src)).map_err(std::io::Error::from)?;
    }
    Ok(fd)
}

/// Sends probes from namespace `ns` and collects replies.
pub fn run(ns: Option<&str>, p: Probe) -> Result<Outcome, RunError> {
    run_with(ns, p, &mut |_| {})
}

/// `run`, calling `on_reply` for each reply as it comes. A pending signal (Ctrl-C) ends the
/// probing at once, with `interrupted` set.
pub fn run_with(
    ns: Option<&str>,
    p: Probe,
    on_reply: &mut (dyn FnMut(Reply) + Send),
) -> Result<Outcome, RunError> {
    netns::run_in(ns, move || probe(p, on_reply))?
}

fn probe(p: Probe, on_reply: &mut (dyn FnMut(Reply) + Send)) -> Result<Outcome, RunError> {
    let v6 = p.target.is_ipv6();
    if p.src.is_some_and(|s| s.is_ipv6() != v6) {
        return Err(RunError::new(format!(
            "the source address and {} are of different address families",
            p.target
        )));
    }
    let fd = open(v6, p.src).map_err(|e| {
        RunError::new(format!(
            "cannot open an ICMP socket: {}",
            crate::base::error::io_text(&e)
        ))
    })?;
    let id = (std::process::id() as u16)
        .wrapping_add(NEXT_ID.fetch_add(1, Ordering::Relaxed).wrapping_mul(7919));
    let dest = sockaddr(p.target);
    let mut out = Outcome::default();
    let mut sent_at: Vec<Instant> = Vec::new();
    let mut next_send = Instant::now();
    let mut buf = [0u8; 2048];
    loop {
        if crate::sys::signals::pending().is_some() {
            out.interrupted = true;
            break;
        }
        let now = Instant::now();
        if out.sent < p.count && now >= next_send {
            let pkt = echo_request(v6, id, out.sent as u16 + 1);
            if let Err(e) = nix::sys::socket::sendto(
                fd.as_raw_fd(),
                &pkt,
                &dest,
                nix::sys::socket::MsgFlags::empty(),
            ) {
                out.send_error = Some(e.desc().to_string());
                // no route: nothing will change while probing, so the answer is known now
                if e == nix::errno::Errno::ENETUNREACH && p.until_reply {
                    out.sent += 1;
                    break;
                }
            }
            out.sent += 1;
            sent_at.push(now);
            next_send = now + p.interval;
        }
        // after the last probe, wait `wait` for replies; before it, until the next probe is due
        let until = match sent_at.last() {
            Some(last) if out.sent >= p.count => *last + p.wait,
            _ => next_send,
        };
        let now = Instant::now();
        if out.sent >= p.count && now >= until {
            break;
        }
        // a signal wakes the poll at once (it may be handled on another thread)
        let mut pfd = [libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        match crate::sys::signals::poll(&mut pfd, until.saturating_duration_since(now)) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(_) => {
                out.interrupted = true;
                break;
            }
        }
        let (n, from) = match nix::sys::socket::recvfrom::<nix::sys::socket::SockaddrStorage>(
            fd.as_raw_fd(),
            &mut buf,
        ) {
            Ok(r) => r,
            Err(_) => continue,
        };
        let from_ip = from.and_then(|a| {
            a.as_sockaddr_in()
                .map(|s| IpAddr::V4(s.ip()))
                .or_else(|| a.as_sockaddr_in6().map(|s| IpAddr::V6(s.ip())))
        });
        if from_ip != Some(p.target) {
            continue;
        }
        if let Some((rid, seq)) = parse_reply(v6, &buf[..n])
            && rid == id
            && seq >= 1
            && (seq as usize) <= sent_at.len()
        {
            out.received += 1;
            let rtt = sent_at[seq as usize - 1].elapsed();
            out.rtts.push(rtt);
            on_reply(Reply {
                from: p.target,
                seq,
                rtt,
            });
            if p.until_reply {
                break;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Echo requests as the hand-written builder made them (id 0x1234, sequence 7): the bytes on
    /// the wire stay the same.
    const KNOWN_V4: [u8; 40] = [
        8, 0, 0x2c, 0xfc, 0x12, 0x34, 0, 7, b'a', b'b', b'c', b'd', b'e', b'f', b'g', b'h', b'i',
        b'j', b'k', b'l', b'm', b'n', b'o', b'p', b'q', b'r', b's', b't', b'u', b'v', b'w', b'x',
        b'y', b'z', b'a', b'b', b'c', b'd', b'e', b'f',
    ];

    #[test]
    fn echo_requests_are_the_known_good_bytes() {
        assert_eq!(echo_request(false, 0x1234, 7), KNOWN_V4.to_vec());
        let mut v6 = KNOWN_V4;
        v6[0] = 128;
        v6[2..4].copy_from_slice(&[0, 0]);
        assert_eq!(echo_request(true, 0x1234, 7), v6.to_vec());
    }

    #[test]
    fn replies_parse_and_other_packets_do_not() {
        let mut reply = vec![0x45u8; 20];
        let mut icmp = echo_request(false, 0x1234, 7);
        icmp[0] = 0;
        reply.extend(icmp);
        assert_eq!(parse_reply(false, &reply), Some((0x1234, 7)));
        // the request itself is no reply
        let mut request = vec![0x45u8; 20];
        request.extend(echo_request(false, 0x1234, 7));
        assert_eq!(parse_reply(false, &request), None);
        let mut v6 = echo_request(true, 9, 1);
        v6[0] = 129;
        assert_eq!(parse_reply(true, &v6), Some((9, 1)));
        assert_eq!(parse_reply(true, &echo_request(true, 9, 1)), None);
        assert_eq!(parse_reply(true, &[129, 0]), None);
        assert_eq!(parse_reply(false, &[]), None);
        // a header length past the packet's end
        assert_eq!(parse_reply(false, &[0x4f; 30]), None);
    }
}
