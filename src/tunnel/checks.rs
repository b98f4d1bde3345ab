//! What a datagram must pass before its payload reaches the TUN: it comes from a PublicIP that
//! holds a lease, it is one whole IPv4 packet no larger than the tunnel's MTU, its inner source
//! lies in that peer's subnet, its inner destination in this host's own subnet, and it has TTL
//! left to forward. Anything else is dropped and counted under the reason returned here. Works on
//! any bytes without panicking.

use super::counters::Counter;
use super::peers::PeerSnapshot;
use super::wire::{self, Ipv4Info, Malformed};
use ipnet::Ipv4Net;
use std::net::Ipv4Addr;

/// What a received datagram is checked against besides the peer table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxRules {
    /// The largest packet the TUN takes (flannel0's MTU).
    pub max_len: usize,
    /// This host's own subnet as (network, mask); None when the host holds no lease.
    own: Option<(u32, u32)>,
}

impl RxRules {
    /// `own` is the subnet this host leases: the only inner destinations delivered, because
    /// PublicIPs can be spoofed and whatever reaches flannel0 is routed on by the kernel (to the
    /// underlay, the host itself). Without one nothing is delivered.
    pub fn new(max_len: usize, own: Option<Ipv4Net>) -> RxRules {
        let own = own.map(|n| {
            let n = n.trunc();
            (u32::from(n.network()), u32::from(n.netmask()))
        });
        RxRules { max_len, own }
    }

    /// Is `dst` in this host's own subnet?
    #[inline]
    pub fn is_own(&self, dst: u32) -> bool {
        self.own.is_some_and(|(net, mask)| dst & mask == net)
    }
}

impl From<Malformed> for Counter {
    fn from(m: Malformed) -> Counter {
        match m {
            Malformed::NotIpv4 => Counter::DropNotIpv4,
            Malformed::Truncated => Counter::DropTruncated,
            Malformed::Trailing => Counter::DropTrailing,
        }
    }
}

/// Checks one received payload from `from` (an empty one too: it counts as truncated).
pub fn check_rx(
    peers: &PeerSnapshot,
    from: Ipv4Addr,
    payload: &[u8],
    rules: &RxRules,
) -> Result<Ipv4Info, Counter> {
    if !peers.is_peer(from) {
        return Err(Counter::DropUnknownPeer);
    }
    if payload.len() > rules.max_len {
        return Err(Counter::DropOversized);
    }
    let info = wire::parse_ipv4(payload)?;
    if !peers.owns(from, info.src) {
        return Err(Counter::DropBadSource);
    }
    if !rules.is_own(info.dst) {
        return Err(Counter::DropForeignDst);
    }
    if info.ttl <= 1 {
        return Err(Counter::DropTtl);
    }
    Ok(info)
}

/// Checks one packet read from the TUN before it is sent to a peer: an IPv4 packet (the kernel
/// hands us whole ones) with TTL left. The route lookup is the caller's.
pub fn check_tx(pkt: &[u8]) -> Result<Ipv4Info, Counter> {
    let info = wire::parse_ipv4(pkt)?;
    if info.ttl <= 1 {
        return Err(Counter::DropTtl);
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tunnel::peers::PeerTable;

    fn packet(src: &str, dst: &str, ttl: u8) -> Vec<u8> {
        let mut p = vec![0u8; 28];
        p[0] = 0x45;
        wire::put16(&mut p, 2, 28);
        p[8] = ttl;
        p[9] = wire::PROTO_UDP;
        p[12..16].copy_from_slice(&src.parse::<Ipv4Addr>().unwrap().octets());
        p[16..20].copy_from_slice(&dst.parse::<Ipv4Addr>().unwrap().octets());
        wire::fix_ipv4_checksum(&mut p[..20]);
        p
    }

    #[test]
    fn only_leaseholders_with_their_own_sources_get_through() {
        let t = PeerTable::new();
        t.set(
            "10.5.2.0/24".parse().unwrap(),
            "192.168.1.2".parse().unwrap(),
        );
        t.set(
            "10.5.3.0/24".parse().unwrap(),
            "192.168.1.3".parse().unwrap(),
        );
        let s = t.snapshot();
        let rules = RxRules::new(1472, Some("10.5.1.0/24".parse().unwrap()));
        let peer2: Ipv4Addr = "192.168.1.2".parse().unwrap();
        let good = packet("10.5.2.7", "10.5.1.1", 64);
        assert_eq!(check_rx(&s, peer2, &good, &rules).map(|i| i.ttl), Ok(64));
        // a stranger, even with a plausible packet
        let stranger: Ipv4Addr = "192.168.1.99".parse().unwrap();
        assert_eq!(
            check_rx(&s, stranger, &good, &rules),
            Err(Counter::DropUnknownPeer)
        );
        // peer 2 spoofing peer 3's subnet
        let spoof = packet("10.5.3.7", "10.5.1.1", 64);
        assert_eq!(
            check_rx(&s, peer2, &spoof, &rules),
            Err(Counter::DropBadSource)
        );
        // spoofing an address outside the network altogether
        let outside = packet("8.8.8.8", "10.5.1.1", 64);
        assert_eq!(
            check_rx(&s, peer2, &outside, &rules),
            Err(Counter::DropBadSource)
        );
        assert_eq!(
            check_rx(&s, peer2, &good[..25], &rules),
            Err(Counter::DropTruncated)
        );
        assert_eq!(
            check_rx(
                &s,
                peer2,
                &good,
                &RxRules {
                    max_len: 27,
                    ..rules
                }
            ),
            Err(Counter::DropOversized)
        );
        let mut v6 = good.clone();
        v6[0] = 0x60;
        assert_eq!(check_rx(&s, peer2, &v6, &rules), Err(Counter::DropNotIpv4));
        let dying = packet("10.5.2.7", "10.5.1.1", 1);
        assert_eq!(check_rx(&s, peer2, &dying, &rules), Err(Counter::DropTtl));
        assert_eq!(check_tx(&dying), Err(Counter::DropTtl));
        assert!(check_tx(&good).is_ok());
    }

    #[test]
    fn only_this_hosts_subnet_is_a_destination() {
        let t = PeerTable::new();
        t.set(
            "10.5.2.0/24".parse().unwrap(),
            "192.168.1.2".parse().unwrap(),
        );
        let s = t.snapshot();
        let peer: Ipv4Addr = "192.168.1.2".parse().unwrap();
        let rules = RxRules::new(1472, Some("10.5.1.0/24".parse().unwrap()));
        for dst in ["10.5.1.0", "10.5.1.77", "10.5.1.255"] {
            let p = packet("10.5.2.7", dst, 64);
            assert!(check_rx(&s, peer, &p, &rules).is_ok(), "{dst}");
        }
        // the underlay, the host's loopback, another host's subnet, the peer's own, elsewhere
        for dst in [
            "192.168.1.1",
            "127.0.0.1",
            "10.5.3.1",
            "10.5.2.9",
            "10.5.0.255",
            "10.5.2.0",
            "8.8.8.8",
            "255.255.255.255",
        ] {
            let p = packet("10.5.2.7", dst, 64);
            assert_eq!(
                check_rx(&s, peer, &p, &rules),
                Err(Counter::DropForeignDst),
                "{dst}"
            );
        }
        // a host that holds no lease delivers nothing
        let none = RxRules::new(1472, None);
        let p = packet("10.5.2.7", "10.5.1.1", 64);
        assert_eq!(check_rx(&s, peer, &p, &none), Err(Counter::DropForeignDst));
    }

    #[test]
    fn empty_and_overlong_datagrams_count_as_length_errors() {
        let t = PeerTable::new();
        t.set(
            "10.5.2.0/24".parse().unwrap(),
            "192.168.1.2".parse().unwrap(),
        );
        let s = t.snapshot();
        let peer: Ipv4Addr = "192.168.1.2".parse().unwrap();
        let rules = RxRules::new(1472, Some("10.5.1.0/24".parse().unwrap()));
        assert_eq!(check_rx(&s, peer, &[], &rules), Err(Counter::DropTruncated));
        // bytes past the total length, well under the MTU: not "oversized"
        let mut p = packet("10.5.2.7", "10.5.1.1", 64);
        p.extend_from_slice(&[0; 3]);
        assert_eq!(check_rx(&s, peer, &p, &rules), Err(Counter::DropTrailing));
    }
}
