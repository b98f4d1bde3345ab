//! What a captured frame holds, read with pnet_packet: the addresses, the protocol and a few words
//! about it (`10.100.93.2 > 10.100.5.2 ICMP echo request`). A tunnel packet (VXLAN on UDP 8472 or
//! 4789, flannel's udp backend on UDP 8285) is read on into the packet it carries, shown as
//! outer → inner.

use pnet_packet::Packet;
use pnet_packet::arp::{ArpOperations, ArpPacket};
use pnet_packet::ethernet::{EtherTypes, EthernetPacket};
use pnet_packet::icmp::{IcmpPacket, IcmpTypes};
use pnet_packet::icmpv6::{Icmpv6Packet, Icmpv6Types};
use pnet_packet::ip::{IpNextHeaderProtocol, IpNextHeaderProtocols};
use pnet_packet::ipv4::Ipv4Packet;
use pnet_packet::ipv6::Ipv6Packet;
use pnet_packet::tcp::TcpPacket;
use pnet_packet::udp::UdpPacket;
use pnet_packet::vlan::VlanPacket;
use pnet_packet::vxlan::VxlanPacket;
use serde::Serialize;
use std::net::IpAddr;

/// How frames on a link begin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkType {
    /// An Ethernet header (Ethernet, veth, bridges, VXLAN devices, loopback).
    Ethernet,
    /// The IP packet itself (tun devices such as flannel0).
    RawIp,
}

/// VXLAN's ports: Linux's historical one (flannel's default) and IANA's.
const VXLAN_PORTS: [u16; 2] = [8472, 4789];
/// flannel's udp backend: IP packets carried in UDP as they are.
const FLANNEL_UDP_PORT: u16 = 8285;
/// A tunnel inside a tunnel inside ... is read this deep, no deeper.
const MAX_NESTING: u8 = 4;

/// One packet (or the packet a tunnel carries), as far as it could be read.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Decoded {
    /// `ip`, `ip6`, `arp`, or the ethertype in hex.
    pub network: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst: Option<IpAddr>,
    /// `icmp`, `icmp6`, `udp`, `tcp`, or the IP protocol number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proto: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sport: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dport: Option<u16>,
    /// The words after the addresses: `ICMP echo request`, `UDP VXLAN vni 1`.
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vni: Option<u32>,
    /// The packet a tunnel carries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inner: Option<Box<Decoded>>,
}

impl Decoded {
    /// One line: `SRC > DST SUMMARY`, then ` → ` and the inner packet's line.
    pub fn line(&self) -> String {
        let mut s = String::new();
        self.put_line(&mut s);
        s
    }

    fn put_line(&self, s: &mut String) {
        use std::fmt::Write;
        let end = |a: IpAddr, p: Option<u16>| match (a, p) {
            (IpAddr::V6(a), Some(p)) => format!("[{a}]:{p}"),
            (a, Some(p)) => format!("{a}:{p}"),
            (a, None) => a.to_string(),
        };
        if let (Some(src), Some(dst)) = (self.src, self.dst) {
            let _ = write!(s, "{} > {} ", end(src, self.sport), end(dst, self.dport));
        }
        s.push_str(&self.summary);
        if let Some(inner) = &self.inner {
            s.push_str(" → ");
            inner.put_line(s);
        }
    }
}

/// Reads a frame of a link of type `link`.
pub fn decode(frame: &[u8], link: LinkType) -> Decoded {
    match link {
        LinkType::Ethernet => ethernet(frame, 0),
        LinkType::RawIp => raw_ip(frame, 0),
    }
}

fn ethernet(frame: &[u8], depth: u8) -> Decoded {
    let Some(eth) = EthernetPacket::new(frame) else {
        return short(frame.len());
    };
    let (mut ethertype, mut payload) = (eth.get_ethertype(), eth.payload());
    // 802.1Q tags, one or two (QinQ)
    let mut vlans = Vec::new();
    while ethertype == EtherTypes::Vlan || ethertype == EtherTypes::QinQ {
        let Some(tag) = VlanPacket::new(payload) else {
            return short(frame.len());
        };
        vlans.push(tag.get_vlan_identifier());
        ethertype = tag.get_ethertype();
        payload = &payload[payload.len() - tag.payload().len()..];
        if vlans.len() > 2 {
            break;
        }
    }
    let mut d = match ethertype {
        EtherTypes::Ipv4 => ipv4(payload, depth),
        EtherTypes::Ipv6 => ipv6(payload, depth),
        EtherTypes::Arp => arp(payload),
        other => Decoded {
            network: format!("0x{:04x}", other.0),
            summary: format!(
                "{} > {} ethertype 0x{:04x}, {} bytes",
                eth.get_source(),
                eth.get_destination(),
                other.0,
                frame.len()
            ),
            ..Default::default()
        },
    };
    for id in vlans.iter().rev() {
        d.summary = format!("vlan {id} {}", d.summary);
    }
    d
}

fn raw_ip(packet: &[u8], depth: u8) -> Decoded {
    match packet.first().map(|b| b >> 4) {
        Some(4) => ipv4(packet, depth),
        Some(6) => ipv6(packet, depth),
        _ => Decoded {
            network: "raw".into(),
            summary: format!("not an IP packet, {} bytes", packet.len()),
            ..Default::default()
        },
    }
}

fn short(len: usize) -> Decoded {
    Decoded {
        network: "short".into(),
        summary: format!("truncated frame, {len} bytes"),
        ..Default::default()
    }
}

fn ipv4(bytes: &[u8], depth: u8) -> Decoded {
    let Some(ip) = Ipv4Packet::new(bytes) else {
        return truncated("ip", bytes.len());
    };
    let header = usize::from(ip.get_header_length()) * 4;
    let total = usize::from(ip.get_total_length()).clamp(header, bytes.len().max(header));
    let payload = bytes.get(header..total.min(bytes.len())).unwrap_or(&[]);
    let mut d = Decoded {
        network: "ip".into(),
        src: Some(ip.get_source().into()),
        dst: Some(ip.get_destination().into()),
        ..Default::default()
    };
    // a fragment after the first holds no transport header
    if ip.get_fragment_offset() != 0 {
        d.proto = Some(proto_word(ip.get_next_level_protocol()));
        d.summary = format!("IP fragment, {} bytes", payload.len());
        return d;
    }
    transport(&mut d, ip.get_next_level_protocol(), payload, depth);
    d
}

fn ipv6(bytes: &[u8], depth: u8) -> Decoded {
    let Some(ip) = Ipv6Packet::new(bytes) else {
        return truncated("ip6", bytes.len());
    };
    let mut d = Decoded {
        network: "ip6".into(),
        src: Some(ip.get_source().into()),
        dst: Some(ip.get_destination().into()),
        ..Default::default()
    };
    let payload = &bytes[40..];
    let len = usize::from(ip.get_payload_length()).min(payload.len());
    transport(&mut d, ip.get_next_header(), &payload[..len], depth);
    d
}

fn truncated(network: &str, len: usize) -> Decoded {
    Decoded {
        network: network.into(),
        summary: format!("truncated packet, {len} bytes"),
        ..Default::default()
    }
}

fn proto_word(p: IpNextHeaderProtocol) -> String {
    match p {
        IpNextHeaderProtocols::Icmp => "icmp".into(),
        IpNextHeaderProtocols::Icmpv6 => "icmp6".into(),
        IpNextHeaderProtocols::Udp => "udp".into(),
        IpNextHeaderProtocols::Tcp => "tcp".into(),
        other => other.0.to_string(),
    }
}

fn transport(d: &mut Decoded, proto: IpNextHeaderProtocol, payload: &[u8], depth: u8) {
    d.proto = Some(proto_word(proto));
    d.summary = match proto {
        IpNextHeaderProtocols::Icmp => icmp(payload),
        IpNextHeaderProtocols::Icmpv6 => icmpv6(payload),
        IpNextHeaderProtocols::Tcp => match TcpPacket::new(payload) {
            Some(t) => {
                d.sport = Some(t.get_source());
                d.dport = Some(t.get_destination());
                let body = payload
                    .len()
                    .saturating_sub(usize::from(t.get_data_offset()) * 4);
                format!(
                    "TCP [{}] seq {} len {body}",
                    tcp_flags(t.get_flags()),
                    t.get_sequence()
                )
            }
            None => format!("TCP truncated, {} bytes", payload.len()),
        },
        IpNextHeaderProtocols::Udp => match UdpPacket::new(payload) {
            Some(u) => {
                d.sport = Some(u.get_source());
                d.dport = Some(u.get_destination());
                udp(d, &u, depth)
            }
            None => format!("UDP truncated, {} bytes", payload.len()),
        },
        other => format!("IP protocol {}, {} bytes", other.0, payload.len()),
    };
}

/// A UDP packet's words; a tunnel's is read on into what it carries.
fn udp(d: &mut Decoded, u: &UdpPacket, depth: u8) -> String {
    let body = u.payload();
    let ports = [u.get_source(), u.get_destination()];
    if depth < MAX_NESTING && ports.iter().any(|p| VXLAN_PORTS.contains(p)) {
        if let Some(v) = VxlanPacket::new(body) {
            // the I flag says the VNI is valid (RFC 7348)
            if v.get_flags() & 0x08 != 0 {
                let vni = v.get_vni();
                d.vni = Some(vni);
                d.inner = Some(Box::new(ethernet(v.payload(), depth + 1)));
                return format!("UDP VXLAN vni {vni}");
            }
        }
    }
    if depth < MAX_NESTING
        && ports.contains(&FLANNEL_UDP_PORT)
        && matches!(body.first().map(|b| b >> 4), Some(4 | 6))
    {
        d.inner = Some(Box::new(raw_ip(body, depth + 1)));
        return "UDP flannel".into();
    }
    format!("UDP, length {}", body.len())
}

fn icmp(payload: &[u8]) -> String {
    let Some(p) = IcmpPacket::new(payload) else {
        return format!("ICMP truncated, {} bytes", payload.len());
    };
    let t = p.get_icmp_type();
    let name = match t {
        IcmpTypes::EchoRequest => "echo request",
        IcmpTypes::EchoReply => "echo reply",
        IcmpTypes::DestinationUnreachable => "destination unreachable",
        IcmpTypes::TimeExceeded => "time exceeded",
        IcmpTypes::RedirectMessage => "redirect",
        IcmpTypes::ParameterProblem => "parameter problem",
        _ => return format!("ICMP type {} code {}", t.0, p.get_icmp_code().0),
    };
    format!("ICMP {name}")
}

fn icmpv6(payload: &[u8]) -> String {
    let Some(p) = Icmpv6Packet::new(payload) else {
        return format!("ICMP6 truncated, {} bytes", payload.len());
    };
    let t = p.get_icmpv6_type();
    // a solicitation's and an advertisement's target follows 4 reserved bytes
    let target = || {
        payload
            .get(8..24)
            .and_then(|b| <[u8; 16]>::try_from(b).ok())
            .map(|b| std::net::Ipv6Addr::from(b).to_string())
            .unwrap_or_default()
    };
    match t {
        Icmpv6Types::EchoRequest => "ICMP6 echo request".into(),
        Icmpv6Types::EchoReply => "ICMP6 echo reply".into(),
        Icmpv6Types::NeighborSolicit => {
            format!("ICMP6 neighbor solicitation, who has {}", target())
        }
        Icmpv6Types::NeighborAdvert => format!("ICMP6 neighbor advertisement, tgt is {}", target()),
        Icmpv6Types::RouterSolicit => "ICMP6 router solicitation".into(),
        Icmpv6Types::RouterAdvert => "ICMP6 router advertisement".into(),
        Icmpv6Types::DestinationUnreachable => "ICMP6 destination unreachable".into(),
        Icmpv6Types::PacketTooBig => "ICMP6 packet too big".into(),
        Icmpv6Types::TimeExceeded => "ICMP6 time exceeded".into(),
        _ => format!("ICMP6 type {} code {}", t.0, p.get_icmpv6_code().0),
    }
}

fn arp(payload: &[u8]) -> Decoded {
    let Some(a) = ArpPacket::new(payload) else {
        return truncated("arp", payload.len());
    };
    let (sender, target) = (a.get_sender_proto_addr(), a.get_target_proto_addr());
    let summary = match a.get_operation() {
        ArpOperations::Request => format!("ARP who-has {target} tell {sender}"),
        ArpOperations::Reply => format!("ARP {sender} is-at {}", a.get_sender_hw_addr()),
        other => format!("ARP operation {}", other.0),
    };
    Decoded {
        network: "arp".into(),
        src: Some(sender.into()),
        dst: Some(target.into()),
        summary,
        ..Default::default()
    }
}

/// TCP flags as tcpdump writes them: `S`, `S.`, `P.`, `F.`, `R`.
fn tcp_flags(f: u8) -> String {
    let mut s = String::new();
    for (bit, c) in [
        (0x02, 'S'),
        (0x01, 'F'),
        (0x08, 'P'),
        (0x04, 'R'),
        (0x20, 'U'),
    ] {
        if f & bit != 0 {
            s.push(c);
        }
    }
    if f & 0x10 != 0 {
        s.push('.');
    }
    s
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// An Ethernet frame around an IPv4 packet of `proto` with `body`.
    pub(crate) fn frame(src: [u8; 4], dst: [u8; 4], proto: u8, body: &[u8]) -> Vec<u8> {
        let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
        let total = (20 + body.len()) as u16;
        f.extend([
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            1,
            0,
            0,
            64,
            proto,
            0,
            0,
        ]);
        f.extend(src);
        f.extend(dst);
        f.extend(body);
        f
    }

    pub(crate) fn udp(sport: u16, dport: u16, body: &[u8]) -> Vec<u8> {
        let len = (8 + body.len()) as u16;
        let mut u = Vec::new();
        for n in [sport, dport, len, 0] {
            u.extend(n.to_be_bytes());
        }
        u.extend(body);
        u
    }

    pub(crate) const ECHO_REQUEST: [u8; 8] = [8, 0, 0, 0, 0, 1, 0, 1];

    #[test]
    fn an_echo_request_reads_as_tcpdump_would_say_it() {
        let f = frame([10, 100, 93, 2], [10, 100, 5, 2], 1, &ECHO_REQUEST);
        let d = decode(&f, LinkType::Ethernet);
        assert_eq!(d.line(), "10.100.93.2 > 10.100.5.2 ICMP echo request");
        assert_eq!(d.proto.as_deref(), Some("icmp"));
    }

    #[test]
    fn vxlan_shows_the_outer_packet_then_the_inner_one() {
        let inner = frame([10, 100, 93, 2], [10, 100, 5, 2], 1, &ECHO_REQUEST);
        let mut vxlan = vec![0x08, 0, 0, 0, 0, 0, 1, 0];
        vxlan.extend(&inner);
        let outer = frame(
            [10, 10, 10, 101],
            [192, 168, 50, 102],
            17,
            &udp(40000, 8472, &vxlan),
        );
        let d = decode(&outer, LinkType::Ethernet);
        assert_eq!(
            d.line(),
            "10.10.10.101:40000 > 192.168.50.102:8472 UDP VXLAN vni 1 → 10.100.93.2 > 10.100.5.2 ICMP echo request"
        );
        assert_eq!(d.vni, Some(1));
    }

    #[test]
    fn flannel_udp_carries_the_bare_ip_packet() {
        let inner = frame([10, 100, 93, 2], [10, 100, 5, 2], 1, &ECHO_REQUEST);
        let outer = frame(
            [10, 10, 10, 101],
            [192, 168, 50, 102],
            17,
            &udp(8285, 8285, &inner[14..]),
        );
        assert_eq!(
            decode(&outer, LinkType::Ethernet).line(),
            "10.10.10.101:8285 > 192.168.50.102:8285 UDP flannel → 10.100.93.2 > 10.100.5.2 ICMP echo request"
        );
        assert_eq!(
            decode(&inner[14..], LinkType::RawIp).line(),
            "10.100.93.2 > 10.100.5.2 ICMP echo request"
        );
    }

    #[test]
    fn short_and_odd_frames_are_described_not_refused() {
        for bytes in [&[][..], &[1, 2, 3], &[0u8; 14], &[0xff; 60]] {
            let _ = decode(bytes, LinkType::Ethernet).line();
            let _ = decode(bytes, LinkType::RawIp).line();
        }
        let mut f = frame([1, 1, 1, 1], [2, 2, 2, 2], 17, &udp(1, 8472, &[0x08, 0, 0]));
        f.truncate(f.len() - 1);
        assert!(
            decode(&f, LinkType::Ethernet)
                .line()
                .starts_with("1.1.1.1:1 > 2.2.2.2:8472 UDP")
        );
    }
}
