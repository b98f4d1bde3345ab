//! TTL handling and the ICMP "net unreachable" flannel answers a packet for an unleased subnet with.
//!
//! The ICMP error is built and its offender parsed with `pnet_packet` (rare packets: clarity over
//! speed). The TTL decrement runs on every forwarded packet and stays hand-written: one byte and
//! an RFC 1624 incremental checksum update, no parsing.

use super::wire;
use pnet_packet::Packet;
use pnet_packet::icmp::destination_unreachable::{IcmpCodes, MutableDestinationUnreachablePacket};
use pnet_packet::icmp::{self as picmp, IcmpPacket, IcmpType, IcmpTypes};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv4::{self as pipv4, Ipv4Packet, MutableIpv4Packet};
use std::net::Ipv4Addr;

/// Decrements the TTL of the IPv4 header at the start of `pkt`, patching its checksum
/// incrementally (RFC 1624). Returns false, leaving the packet alone, when the TTL would reach
/// zero (the packet must then be dropped), or when there is no header.
pub fn decrement_ttl(pkt: &mut [u8]) -> bool {
    if pkt.len() < wire::IPV4_MIN_HEADER || pkt[8] <= 1 {
        return false;
    }
    let old = wire::be16(pkt, 8);
    pkt[8] -= 1;
    let new = wire::be16(pkt, 8);
    let hc = wire::be16(pkt, 10);
    // HC' = ~(~HC + ~m + m')
    let sum = u64::from(!hc) + u64::from(!old) + u64::from(new);
    wire::put16(pkt, 10, !wire::csum_fold(sum));
    true
}

/// The offender's IPv4 header, its length, and its header plus first 8 data bytes as RFC 792
/// quotes them; None when it is no IPv4 packet with a whole header.
fn quote(offender: &[u8]) -> Option<(Ipv4Packet<'_>, usize, &[u8])> {
    let ip = Ipv4Packet::new(offender)?;
    let ihl = usize::from(ip.get_header_length()) * 4;
    if ip.get_version() != 4 || ihl < wire::IPV4_MIN_HEADER || ihl > offender.len() {
        return None;
    }
    Some((ip, ihl, offender.get(..offender.len().min(ihl + 8))?))
}

/// Is this packet one that must not be answered with an ICMP error (RFC 1812 4.3.2.7): an ICMP
/// error itself, a fragment other than the first, or from an unspecified/broadcast/multicast source?
fn must_not_answer(ip: &Ipv4Packet<'_>, ihl: usize) -> bool {
    if ip.get_fragment_offset() != 0 {
        return true;
    }
    let src = ip.get_source();
    if src.is_unspecified() || src.is_broadcast() || src.is_multicast() {
        return true;
    }
    if ip.get_next_level_protocol() != IpNextHeaderProtocols::Icmp {
        return false;
    }
    // queries (echo, timestamp, information, address mask) may be answered; the rest are errors,
    // and so is an ICMP packet too short to have a type
    let kind = ip.packet().get(ihl).map(|&t| IcmpType(t));
    !matches!(
        kind,
        Some(
            IcmpTypes::EchoReply
                | IcmpTypes::EchoRequest
                | IcmpTypes::Timestamp
                | IcmpTypes::TimestampReply
                | IcmpTypes::InformationRequest
                | IcmpTypes::InformationReply
                | IcmpTypes::AddressMaskRequest
                | IcmpTypes::AddressMaskReply
        )
    )
}

/// Builds, into `out`, an ICMP destination-unreachable/net-unreachable (type 3, code 0) from `from`
/// back to the offender's source. Returns its length, or None when none must be sent or `out` is
/// too small.
pub fn net_unreachable(offender: &[u8], from: Ipv4Addr, out: &mut [u8]) -> Option<usize> {
    let (ip, ihl, q) = quote(offender)?;
    if must_not_answer(&ip, ihl) {
        return None;
    }
    let len = 20 + 8 + q.len();
    let out = out.get_mut(..len)?;
    out.fill(0);
    let (head, body) = out.split_at_mut(20);
    let mut icmp = MutableDestinationUnreachablePacket::new(body)?;
    icmp.set_icmp_type(IcmpTypes::DestinationUnreachable);
    icmp.set_icmp_code(IcmpCodes::DestinationNetworkUnreachable);
    icmp.set_payload(q);
    let sum = picmp::checksum(&IcmpPacket::new(icmp.packet())?);
    icmp.set_checksum(sum);
    let mut hdr = MutableIpv4Packet::new(head)?;
    hdr.set_version(4);
    hdr.set_header_length(5);
    hdr.set_total_length(len as u16);
    hdr.set_ttl(64);
    hdr.set_next_level_protocol(IpNextHeaderProtocols::Icmp);
    hdr.set_source(from);
    hdr.set_destination(ip.get_source());
    let sum = pipv4::checksum(&hdr.to_immutable());
    hdr.set_checksum(sum);
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(ttl: u8) -> Vec<u8> {
        let mut h = vec![
            0x45, 0x00, 0x00, 0x1c, 0x12, 0x34, 0x40, 0x00, ttl, 0x11, 0, 0, 10, 5, 1, 2, 10, 9, 9,
            9, 0x30, 0x39, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00,
        ];
        wire::fix_ipv4_checksum(&mut h[..20]);
        h
    }

    #[test]
    fn ttl_decrement_keeps_the_checksum_right() {
        for ttl in [2u8, 3, 64, 128, 255] {
            let mut p = header(ttl);
            assert!(decrement_ttl(&mut p));
            assert_eq!(p[8], ttl - 1);
            let mut fresh = p.clone();
            wire::fix_ipv4_checksum(&mut fresh[..20]);
            assert_eq!(wire::be16(&p, 10), wire::be16(&fresh, 10), "ttl {ttl}");
        }
        for ttl in [0u8, 1] {
            let mut p = header(ttl);
            assert!(!decrement_ttl(&mut p));
            assert_eq!(p[8], ttl);
        }
        assert!(!decrement_ttl(&mut [0x45; 10]));
    }

    #[test]
    fn unreachable_quotes_the_offender() {
        let p = header(64);
        let mut out = [0u8; 128];
        let n = net_unreachable(&p, "10.5.1.0".parse().unwrap(), &mut out).unwrap();
        assert_eq!(n, 20 + 8 + 28);
        let r = Ipv4Packet::new(&out[..n]).expect("an IPv4 packet");
        assert_eq!(usize::from(r.get_total_length()), n);
        assert_eq!(r.get_next_level_protocol(), IpNextHeaderProtocols::Icmp);
        assert_eq!(r.get_destination(), Ipv4Addr::new(10, 5, 1, 2));
        assert_eq!(r.get_source(), Ipv4Addr::new(10, 5, 1, 0));
        assert_eq!(r.get_checksum(), pipv4::checksum(&r));
        let icmp = IcmpPacket::new(r.payload()).expect("an ICMP message");
        assert_eq!(icmp.get_icmp_type(), IcmpTypes::DestinationUnreachable);
        assert_eq!(
            icmp.get_icmp_code().0,
            IcmpCodes::DestinationNetworkUnreachable.0
        );
        assert_eq!(icmp.get_checksum(), picmp::checksum(&icmp));
        assert_eq!(&r.payload()[8..], &p[..]);
        // the hand-written sums agree with pnet's
        assert_eq!(wire::csum_fold(wire::csum_add(0, &out[..20])), 0xffff);
        assert_eq!(wire::csum_fold(wire::csum_add(0, &out[20..n])), 0xffff);
        // never about an ICMP error, nor about a later fragment
        let mut err = p.clone();
        err[9] = wire::PROTO_ICMP;
        err[20] = 3;
        assert_eq!(net_unreachable(&err, Ipv4Addr::LOCALHOST, &mut out), None);
        let mut frag = p;
        frag[7] = 1;
        assert_eq!(net_unreachable(&frag, Ipv4Addr::LOCALHOST, &mut out), None);
        assert_eq!(
            net_unreachable(&[0x45], Ipv4Addr::LOCALHOST, &mut out),
            None
        );
    }

    /// UDP 10.5.1.2:12345 → 10.5.9.9:53 with 5 bytes of payload: more than RFC 792's quote.
    fn udp_offender() -> Vec<u8> {
        let mut h = vec![
            0x45, 0x00, 0x00, 0x21, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0, 0, 10, 5, 1, 2, 10, 5,
            9, 9, 0x30, 0x39, 0x00, 0x35, 0x00, 0x0d, 0xab, 0xcd, b'h', b'e', b'l', b'l', b'o',
        ];
        wire::fix_ipv4_checksum(&mut h[..20]);
        h
    }

    /// An echo request with a 24-byte header (IP options) and TTL 1.
    fn echo_offender_with_options() -> Vec<u8> {
        let mut h = vec![
            0x46, 0x00, 0x00, 0x25, 0xbe, 0xef, 0x00, 0x00, 0x01, 0x01, 0, 0, 10, 5, 1, 3, 10, 6,
            0, 1, 0x01, 0x01, 0x01, 0x00, 0x08, 0x00, 0xf7, 0xfe, 0x00, 0x01, 0x00, 0x00, 1, 2, 3,
            4, 5,
        ];
        wire::fix_ipv4_checksum(&mut h[..24]);
        h
    }

    #[test]
    fn unreachable_bytes_are_the_known_good_ones() {
        // captured from the hand-written builder this module had before it used pnet_packet
        let want_udp: [u8; 56] = [
            0x45, 0x00, 0x00, 0x38, 0x00, 0x00, 0x00, 0x00, 0x40, 0x01, 0x5c, 0xb1, 0x0a, 0x05,
            0x09, 0x09, 0x0a, 0x05, 0x01, 0x02, 0x03, 0x00, 0x20, 0xb7, 0x00, 0x00, 0x00, 0x00,
            0x45, 0x00, 0x00, 0x21, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x0a, 0x84, 0x0a, 0x05,
            0x01, 0x02, 0x0a, 0x05, 0x09, 0x09, 0x30, 0x39, 0x00, 0x35, 0x00, 0x0d, 0xab, 0xcd,
        ];
        let want_echo: [u8; 60] = [
            0x45, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x00, 0x00, 0x40, 0x01, 0x5c, 0xac, 0x0a, 0x05,
            0x09, 0x09, 0x0a, 0x05, 0x01, 0x03, 0x03, 0x00, 0xfc, 0xff, 0x00, 0x00, 0x00, 0x00,
            0x46, 0x00, 0x00, 0x25, 0xbe, 0xef, 0x00, 0x00, 0x01, 0x01, 0xe2, 0xd9, 0x0a, 0x05,
            0x01, 0x03, 0x0a, 0x06, 0x00, 0x01, 0x01, 0x01, 0x01, 0x00, 0x08, 0x00, 0xf7, 0xfe,
            0x00, 0x01, 0x00, 0x00,
        ];
        let from: Ipv4Addr = "10.5.9.9".parse().unwrap();
        for (offender, want) in [
            (udp_offender(), &want_udp[..]),
            (echo_offender_with_options(), &want_echo[..]),
        ] {
            // a buffer larger than needed, dirty: only the returned length counts
            let mut out = [0xeeu8; 128];
            let n = net_unreachable(&offender, from, &mut out).expect("an answer");
            assert_eq!(&out[..n], want);
            // too small a buffer is no answer, not a panic
            assert_eq!(net_unreachable(&offender, from, &mut out[..n - 1]), None);
        }
    }
}
