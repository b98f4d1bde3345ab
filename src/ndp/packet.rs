//! Neighbour Solicitations in, Neighbour Advertisements out, as whole Ethernet frames (RFC 4861):
//! the responder reads frames from a packet socket because the solicited-node multicast groups of a
//! whole prefix cannot all be joined.

use std::net::Ipv6Addr;

const ETH_HDR: usize = 14;
const IP6_HDR: usize = 40;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const NEXT_ICMPV6: u8 = 58;
const ND_SOLICIT: u8 = 135;
const ND_ADVERT: u8 = 136;
const OPT_TARGET_LLADDR: u8 = 2;
/// Solicited (0x40) and Override (0x20), the flags of a proxy's answer.
const FLAGS_SOLICITED_OVERRIDE: u8 = 0x60;

/// What the responder needs of a solicitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Solicitation {
    pub src_mac: [u8; 6],
    pub src: Ipv6Addr,
    pub target: Ipv6Addr,
}

fn addr(b: &[u8]) -> Option<Ipv6Addr> {
    let a: [u8; 16] = b.get(..16)?.try_into().ok()?;
    Some(Ipv6Addr::from(a))
}

/// A Neighbour Solicitation an answer can go to: IPv6, hop limit 255 (so it came from this link),
/// no extension headers, a unicast source (DAD probes from :: are not answered: answering them would
/// make the prober give up its address).
pub fn parse_solicitation(frame: &[u8]) -> Option<Solicitation> {
    let eth = frame.get(..ETH_HDR)?;
    if u16::from_be_bytes([eth[12], eth[13]]) != ETHERTYPE_IPV6 {
        return None;
    }
    let ip = frame.get(ETH_HDR..ETH_HDR + IP6_HDR)?;
    if ip[0] >> 4 != 6 || ip[6] != NEXT_ICMPV6 || ip[7] != 255 {
        return None;
    }
    let icmp = frame.get(ETH_HDR + IP6_HDR..)?;
    if icmp.len() < 24 || icmp[0] != ND_SOLICIT || icmp[1] != 0 {
        return None;
    }
    let src = addr(&ip[8..24])?;
    if src.is_unspecified() {
        return None;
    }
    Some(Solicitation {
        src_mac: eth[6..12].try_into().ok()?,
        src,
        target: addr(&icmp[8..24])?,
    })
}

/// The ones' complement sum of ICMPv6 over the IPv6 pseudo-header.
pub fn icmpv6_checksum(src: &Ipv6Addr, dst: &Ipv6Addr, icmp: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |b: &[u8]| {
        for pair in b.chunks(2) {
            let hi = pair[0] as u32;
            let lo = pair.get(1).copied().unwrap_or(0) as u32;
            sum += (hi << 8) | lo;
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&(icmp.len() as u32).to_be_bytes());
    add(&[0, 0, 0, NEXT_ICMPV6]);
    add(icmp);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The advertisement answering `ns` for its target, from `mac`: sent to the solicitor, from the
/// target address, hop limit 255, Solicited + Override, with the target link-layer address option.
pub fn advertisement(ns: &Solicitation, mac: [u8; 6]) -> Vec<u8> {
    let mut icmp = vec![0u8; 32];
    icmp[0] = ND_ADVERT;
    icmp[4] = FLAGS_SOLICITED_OVERRIDE;
    icmp[8..24].copy_from_slice(&ns.target.octets());
    icmp[24] = OPT_TARGET_LLADDR;
    icmp[25] = 1; // length in units of 8 bytes
    icmp[26..32].copy_from_slice(&mac);
    let sum = icmpv6_checksum(&ns.target, &ns.src, &icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());

    let mut f = Vec::with_capacity(ETH_HDR + IP6_HDR + icmp.len());
    f.extend_from_slice(&ns.src_mac);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
    f.extend_from_slice(&[0x60, 0, 0, 0]);
    f.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    f.push(NEXT_ICMPV6);
    f.push(255);
    f.extend_from_slice(&ns.target.octets());
    f.extend_from_slice(&ns.src.octets());
    f.extend_from_slice(&icmp);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A solicitation as docker2 sends it for web2 (ff02::1:ff11:3 is the solicited-node group).
    fn solicitation(hop_limit: u8, src: Ipv6Addr) -> Vec<u8> {
        let target: Ipv6Addr = "2003:ab11::8000:242:ac11:3".parse().unwrap();
        let dst: Ipv6Addr = "ff02::1:ff11:3".parse().unwrap();
        let mac = [0x0a, 0, 0, 0, 0, 2];
        let mut icmp = vec![0u8; 32];
        icmp[0] = ND_SOLICIT;
        icmp[8..24].copy_from_slice(&target.octets());
        icmp[24] = 1;
        icmp[25] = 1;
        icmp[26..32].copy_from_slice(&mac);
        let sum = icmpv6_checksum(&src, &dst, &icmp);
        icmp[2..4].copy_from_slice(&sum.to_be_bytes());
        let mut f = vec![0x33, 0x33, 0xff, 0x11, 0, 3];
        f.extend_from_slice(&mac);
        f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0, 0, 32, 58, hop_limit]);
        f.extend_from_slice(&src.octets());
        f.extend_from_slice(&dst.octets());
        f.extend_from_slice(&icmp);
        f
    }

    #[test]
    fn a_solicitation_is_answered_with_a_valid_advertisement() {
        let src: Ipv6Addr = "2003:ab11::2".parse().unwrap();
        let ns = parse_solicitation(&solicitation(255, src)).unwrap();
        assert_eq!(
            ns.target,
            "2003:ab11::8000:242:ac11:3".parse::<Ipv6Addr>().unwrap()
        );
        let mac = [2, 0x42, 0xaa, 0xbb, 0xcc, 0xdd];
        let na = advertisement(&ns, mac);
        assert_eq!(&na[..6], &[0x0a, 0, 0, 0, 0, 2]);
        assert_eq!(na[ETH_HDR + 7], 255, "hop limit");
        let icmp = &na[ETH_HDR + IP6_HDR..];
        assert_eq!(icmp[0], ND_ADVERT);
        assert_eq!(icmp[4], 0x60, "solicited + override");
        assert_eq!(&icmp[26..32], &mac);
        // summing a packet with its checksum in place gives zero
        let (from, to) = (addr(&na[22..38]).unwrap(), addr(&na[38..54]).unwrap());
        assert_eq!(to, src);
        assert_eq!(icmpv6_checksum(&from, &to, icmp), 0);
    }

    #[test]
    fn routed_and_dad_solicitations_are_ignored() {
        assert!(parse_solicitation(&solicitation(64, "2003:ab11::2".parse().unwrap())).is_none());
        assert!(parse_solicitation(&solicitation(255, Ipv6Addr::UNSPECIFIED)).is_none());
        assert!(parse_solicitation(&[0u8; 20]).is_none());
    }
}
