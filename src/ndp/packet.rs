//! Neighbour Solicitations in, Neighbour Advertisements out, as whole Ethernet frames (RFC 4861):
//! the responder reads frames from a packet socket because the solicited-node multicast groups of a
//! whole prefix cannot all be joined. Parsed and built with pnet_packet.

use pnet_packet::Packet;
use pnet_packet::ethernet::{EtherTypes, EthernetPacket, MutableEthernetPacket};
use pnet_packet::icmpv6::ndp::{
    Icmpv6Codes, MutableNdpOptionPacket, MutableNeighborAdvertPacket, NdpOptionTypes,
    NeighborAdvertFlags, NeighborSolicitPacket,
};
use pnet_packet::icmpv6::{Icmpv6Packet, Icmpv6Types, checksum};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv6::{Ipv6Packet, MutableIpv6Packet};
use std::net::Ipv6Addr;

pub const ETH_HDR: usize = 14;
pub const IP6_HDR: usize = 40;
/// An NS/NA without options: type, code, checksum, reserved/flags, target.
const ND_LEN: usize = 24;
/// One target link-layer address option for an Ethernet MAC: 8 bytes.
const OPT_LEN: usize = 8;
/// A proxy's answer: Solicited only. Override would let it replace the entry of a real host that
/// owns the target on the same link (RFC 4861 §7.2.8).
const FLAGS_PROXY: u8 = NeighborAdvertFlags::Solicited;

/// What the responder needs of a solicitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Solicitation {
    pub src_mac: [u8; 6],
    pub src: Ipv6Addr,
    pub target: Ipv6Addr,
}

/// The Ethernet address of `addr`'s solicited-node group ff02::1:ffXX:XXXX: 33:33:ff:XX:XX:XX.
fn solicited_node_mac(addr: &Ipv6Addr) -> [u8; 6] {
    let o = addr.octets();
    [0x33, 0x33, 0xff, o[13], o[14], o[15]]
}

/// A Neighbour Solicitation an answer can go to, as RFC 4861 §7.1.1 validates it: sent to `own_mac`
/// or to the target's solicited-node MAC; IPv6 with no extension headers, hop limit 255 (so it came
/// from this link), a payload length of at least 24 that fits the frame; ICMPv6 type 135, code 0, a
/// valid checksum, a unicast target, no option of length 0. The source must be unicast too: DAD
/// probes from :: are not answered (answering would make the prober give up its address).
pub fn parse_solicitation(frame: &[u8], own_mac: [u8; 6]) -> Option<Solicitation> {
    let eth = EthernetPacket::new(frame)?;
    if eth.get_ethertype() != EtherTypes::Ipv6 {
        return None;
    }
    let ip = Ipv6Packet::new(eth.payload())?;
    if ip.get_version() != 6
        || ip.get_next_header() != IpNextHeaderProtocols::Icmpv6
        || ip.get_hop_limit() != 255
    {
        return None;
    }
    let len = ip.get_payload_length() as usize;
    // Ethernet pads short frames, so the payload may end before the frame does, never after
    let icmp = eth.payload().get(IP6_HDR..IP6_HDR + len)?;
    if len < ND_LEN {
        return None;
    }
    let ns = NeighborSolicitPacket::new(icmp)?;
    if ns.get_icmpv6_type() != Icmpv6Types::NeighborSolicit
        || ns.get_icmpv6_code() != Icmpv6Codes::NoCode
    {
        return None;
    }
    let target = ns.get_target_addr();
    let dst_mac: [u8; 6] = frame[..6].try_into().ok()?;
    if dst_mac != own_mac && dst_mac != solicited_node_mac(&target) {
        return None;
    }
    let (src, dst) = (ip.get_source(), ip.get_destination());
    if src.is_unspecified() || target.is_multicast() {
        return None;
    }
    if checksum(&Icmpv6Packet::new(icmp)?, &src, &dst) != ns.get_checksum() {
        return None;
    }
    // options by hand: pnet's option iterator computes `length * 8` in a u8
    let mut opts = &icmp[ND_LEN..];
    while !opts.is_empty() {
        let units = *opts.get(1)? as usize;
        if units == 0 {
            return None;
        }
        opts = opts.get(units * 8..)?;
    }
    Some(Solicitation {
        src_mac: eth.get_source().octets(),
        src,
        target,
    })
}

/// The advertisement answering `ns` for its target, from `mac` and the interface's own address
/// `from` (RFC 4861 §4.4): sent to the solicitor, hop limit 255, Solicited, with the target
/// link-layer address option.
pub fn advertisement(ns: &Solicitation, mac: [u8; 6], from: Ipv6Addr) -> Vec<u8> {
    let icmp_len = ND_LEN + OPT_LEN;
    let mut f = vec![0u8; ETH_HDR + IP6_HDR + icmp_len];
    {
        let mut na = MutableNeighborAdvertPacket::new(&mut f[ETH_HDR + IP6_HDR..])
            .expect("the buffer is sized for an advertisement");
        na.set_icmpv6_type(Icmpv6Types::NeighborAdvert);
        na.set_icmpv6_code(Icmpv6Codes::NoCode);
        na.set_flags(FLAGS_PROXY);
        na.set_target_addr(ns.target);
    }
    {
        let mut opt = MutableNdpOptionPacket::new(&mut f[ETH_HDR + IP6_HDR + ND_LEN..])
            .expect("the buffer is sized for the option");
        opt.set_option_type(NdpOptionTypes::TargetLLAddr);
        opt.set_length(1); // in units of 8 bytes
        opt.set_data(&mac);
    }
    let sum = checksum(
        &Icmpv6Packet::new(&f[ETH_HDR + IP6_HDR..]).expect("sized above"),
        &from,
        &ns.src,
    );
    f[ETH_HDR + IP6_HDR + 2..ETH_HDR + IP6_HDR + 4].copy_from_slice(&sum.to_be_bytes());
    {
        let mut ip =
            MutableIpv6Packet::new(&mut f[ETH_HDR..]).expect("the buffer is sized for IPv6");
        ip.set_version(6);
        ip.set_payload_length(icmp_len as u16);
        ip.set_next_header(IpNextHeaderProtocols::Icmpv6);
        ip.set_hop_limit(255);
        ip.set_source(from);
        ip.set_destination(ns.src);
    }
    let mut eth = MutableEthernetPacket::new(&mut f).expect("the buffer is sized for Ethernet");
    eth.set_destination(ns.src_mac.into());
    eth.set_source(mac.into());
    eth.set_ethertype(EtherTypes::Ipv6);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN_MAC: [u8; 6] = [2, 0x42, 0xaa, 0xbb, 0xcc, 0xdd];
    const PEER_MAC: [u8; 6] = [0x0a, 0, 0, 0, 0, 2];

    fn ip(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    /// The ones' complement sum over the pseudo-header, written out as a reference independent of
    /// pnet.
    fn reference_checksum(src: &Ipv6Addr, dst: &Ipv6Addr, icmp: &[u8]) -> u16 {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&src.octets());
        bytes.extend_from_slice(&dst.octets());
        bytes.extend_from_slice(&(icmp.len() as u32).to_be_bytes());
        bytes.extend_from_slice(&[0, 0, 0, 58]);
        bytes.extend_from_slice(icmp);
        let mut sum: u32 = bytes
            .chunks(2)
            .map(|p| u32::from(p[0]) << 8 | u32::from(*p.get(1).unwrap_or(&0)))
            .sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    /// The parts of a solicitation a test may spoil.
    struct Ns {
        dst_mac: [u8; 6],
        hop_limit: u8,
        src: Ipv6Addr,
        target: Ipv6Addr,
        /// Options after the target (a source link-layer address option by default).
        options: Vec<u8>,
        /// Added to the correct checksum.
        checksum_delta: u16,
        /// Replaces the IPv6 payload length.
        payload_length: Option<u16>,
    }

    impl Default for Ns {
        /// A solicitation as docker2 sends it for web2 (ff02::1:ff11:3 is the solicited-node group).
        fn default() -> Ns {
            let mut options = vec![1, 1];
            options.extend_from_slice(&PEER_MAC);
            Ns {
                dst_mac: [0x33, 0x33, 0xff, 0x11, 0, 3],
                hop_limit: 255,
                src: ip("2003:ab11::2"),
                target: ip("2003:ab11::8000:242:ac11:3"),
                options,
                checksum_delta: 0,
                payload_length: None,
            }
        }
    }

    impl Ns {
        fn frame(&self) -> Vec<u8> {
            let dst = ip("ff02::1:ff11:3");
            let mut icmp = vec![135, 0, 0, 0, 0, 0, 0, 0];
            icmp.extend_from_slice(&self.target.octets());
            icmp.extend_from_slice(&self.options);
            let sum = reference_checksum(&self.src, &dst, &icmp).wrapping_add(self.checksum_delta);
            icmp[2..4].copy_from_slice(&sum.to_be_bytes());
            let len = self.payload_length.unwrap_or(icmp.len() as u16);
            let mut f = self.dst_mac.to_vec();
            f.extend_from_slice(&PEER_MAC);
            f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
            f.extend_from_slice(&len.to_be_bytes());
            f.extend_from_slice(&[58, self.hop_limit]);
            f.extend_from_slice(&self.src.octets());
            f.extend_from_slice(&dst.octets());
            f.extend_from_slice(&icmp);
            f
        }

        fn parse(&self) -> Option<Solicitation> {
            parse_solicitation(&self.frame(), OWN_MAC)
        }
    }

    /// The answer to `Ns::default()` from OWN_MAC and fe80::42:aaff:febb:ccdd, its checksum worked
    /// out apart from this code: Solicited only, from the link-local address.
    const KNOWN_GOOD_ANSWER: [u8; 86] = [
        0x0a, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x42, 0xaa, 0xbb, 0xcc, 0xdd, 0x86, 0xdd, 0x60,
        0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x42, 0xaa, 0xff, 0xfe, 0xbb, 0xcc, 0xdd, 0x20, 0x03, 0xab, 0x11, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x88, 0x00, 0x81, 0xe9, 0x40, 0x00,
        0x00, 0x00, 0x20, 0x03, 0xab, 0x11, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x02, 0x42, 0xac,
        0x11, 0x00, 0x03, 0x02, 0x01, 0x02, 0x42, 0xaa, 0xbb, 0xcc, 0xdd,
    ];

    #[test]
    fn a_solicitation_is_answered_with_the_known_good_frame() {
        let ns = Ns::default().parse().expect("a valid solicitation");
        assert_eq!(
            ns,
            Solicitation {
                src_mac: PEER_MAC,
                src: ip("2003:ab11::2"),
                target: ip("2003:ab11::8000:242:ac11:3"),
            }
        );
        let na = advertisement(&ns, OWN_MAC, ip("fe80::42:aaff:febb:ccdd"));
        assert_eq!(na, KNOWN_GOOD_ANSWER.to_vec());
        // and it checksums to zero with the reference routine
        let icmp = &na[ETH_HDR + IP6_HDR..];
        assert_eq!(
            reference_checksum(&ip("fe80::42:aaff:febb:ccdd"), &ns.src, icmp),
            0
        );
    }

    #[test]
    fn a_proxy_answer_is_solicited_without_override() {
        let ns = Ns::default().parse().unwrap();
        let na = advertisement(&ns, OWN_MAC, ip("fe80::1"));
        assert_eq!(na[ETH_HDR + IP6_HDR + 4], 0x40, "Solicited, not Override");
    }

    #[test]
    fn the_answer_comes_from_the_interface_address_not_the_target() {
        let ns = Ns::default().parse().unwrap();
        let na = advertisement(&ns, OWN_MAC, ip("fe80::1"));
        let ip6 = Ipv6Packet::new(&na[ETH_HDR..]).unwrap();
        assert_eq!(ip6.get_source(), ip("fe80::1"));
        assert_eq!(ip6.get_destination(), ns.src);
        assert_eq!(
            NeighborSolicitPacket::new(ip6.payload())
                .unwrap()
                .get_target_addr(),
            ns.target
        );
    }

    #[test]
    fn unicast_solicitations_to_this_link_and_padded_frames_are_accepted() {
        let unicast = Ns {
            dst_mac: OWN_MAC,
            ..Ns::default()
        };
        assert!(unicast.parse().is_some());
        let mut padded = Ns::default().frame();
        padded.extend_from_slice(&[0; 10]);
        assert!(parse_solicitation(&padded, OWN_MAC).is_some());
        let no_options = Ns {
            options: vec![],
            ..Ns::default()
        };
        assert!(no_options.parse().is_some());
    }

    #[test]
    fn a_bad_checksum_is_dropped() {
        let bad = Ns {
            checksum_delta: 1,
            ..Ns::default()
        };
        assert!(bad.parse().is_none());
    }

    #[test]
    fn an_option_of_length_zero_is_dropped() {
        let mut options = vec![14, 1, 0, 0, 0, 0, 0, 0]; // a nonce option, fine
        options.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]); // length 0: invalid
        let zero = Ns {
            options,
            ..Ns::default()
        };
        assert!(zero.parse().is_none());
        // an option running past the payload is dropped too
        let long = Ns {
            options: vec![1, 2, 0, 0, 0, 0, 0, 0],
            ..Ns::default()
        };
        assert!(long.parse().is_none());
    }

    #[test]
    fn a_payload_length_under_24_or_beyond_the_frame_is_dropped() {
        let short = Ns {
            options: vec![],
            payload_length: Some(20),
            ..Ns::default()
        };
        assert!(short.parse().is_none());
        let beyond = Ns {
            payload_length: Some(40),
            ..Ns::default()
        };
        assert!(beyond.parse().is_none());
    }

    #[test]
    fn a_frame_for_another_mac_is_dropped() {
        let other_host = Ns {
            dst_mac: [2, 0, 0, 0, 0, 9],
            ..Ns::default()
        };
        assert!(other_host.parse().is_none());
        // the solicited-node group of another address
        let other_group = Ns {
            dst_mac: [0x33, 0x33, 0xff, 0x11, 0, 4],
            ..Ns::default()
        };
        assert!(other_group.parse().is_none());
        let broadcast = Ns {
            dst_mac: [0xff; 6],
            ..Ns::default()
        };
        assert!(broadcast.parse().is_none());
    }

    #[test]
    fn routed_dad_and_multicast_target_solicitations_are_ignored() {
        let routed = Ns {
            hop_limit: 64,
            ..Ns::default()
        };
        assert!(routed.parse().is_none());
        let dad = Ns {
            src: Ipv6Addr::UNSPECIFIED,
            options: vec![],
            ..Ns::default()
        };
        assert!(dad.parse().is_none());
        let multicast = Ns {
            target: ip("ff02::1:ff11:3"),
            ..Ns::default()
        };
        assert!(multicast.parse().is_none());
        assert!(parse_solicitation(&[0u8; 20], OWN_MAC).is_none());
    }

    #[test]
    fn truncated_frames_never_panic() {
        let f = Ns::default().frame();
        for n in 0..f.len() {
            assert!(parse_solicitation(&f[..n], OWN_MAC).is_none(), "{n} bytes");
        }
    }
}
