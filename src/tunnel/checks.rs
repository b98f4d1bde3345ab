//! What a datagram must pass before its payload reaches the TUN: it comes from a PublicIP that
//! holds a lease, it is one whole IPv4 packet no larger than the tunnel's MTU, its inner source
//! lies in that peer's subnet, and it has TTL left to forward. Anything else is dropped and
//! counted under the reason returned here. Works on any bytes without panicking.

use super::counters::Counter;
use super::peers::PeerSnapshot;
use super::wire::{self, Ipv4Info, Malformed};
use std::net::Ipv4Addr;

impl From<Malformed> for Counter {
    fn from(m: Malformed) -> Counter {
        match m {
            Malformed::NotIpv4 => Counter::DropNotIpv4,
            Malformed::Truncated => Counter::DropTruncated,
            Malformed::Oversized => Counter::DropOversized,
        }
    }
}

/// Checks one received payload from `from`; `max_len` is the largest packet the TUN takes.
pub fn check_rx(
    peers: &PeerSnapshot,
    from: Ipv4Addr,
    payload: &[u8],
    max_len: usize,
) -> Result<Ipv4Info, Counter> {
    if !peers.is_peer(from) {
        return Err(Counter::DropUnknownPeer);
    }
    if payload.len() > max_len {
        return Err(Counter::DropOversized);
    }
    let info = wire::parse_ipv4(payload)?;
    if !peers.owns(from, info.src) {
        return Err(Counter::DropBadSource);
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
        let peer2: Ipv4Addr = "192.168.1.2".parse().unwrap();
        let good = packet("10.5.2.7", "10.5.1.1", 64);
        assert_eq!(check_rx(&s, peer2, &good, 1472).map(|i| i.ttl), Ok(64));
        // a stranger, even with a plausible packet
        let stranger: Ipv4Addr = "192.168.1.99".parse().unwrap();
        assert_eq!(
            check_rx(&s, stranger, &good, 1472),
            Err(Counter::DropUnknownPeer)
        );
        // peer 2 spoofing peer 3's subnet
        let spoof = packet("10.5.3.7", "10.5.1.1", 64);
        assert_eq!(
            check_rx(&s, peer2, &spoof, 1472),
            Err(Counter::DropBadSource)
        );
        // spoofing an address outside the network altogether
        let outside = packet("8.8.8.8", "10.5.1.1", 64);
        assert_eq!(
            check_rx(&s, peer2, &outside, 1472),
            Err(Counter::DropBadSource)
        );
        assert_eq!(
            check_rx(&s, peer2, &good[..25], 1472),
            Err(Counter::DropTruncated)
        );
        assert_eq!(check_rx(&s, peer2, &good, 27), Err(Counter::DropOversized));
        let mut v6 = good.clone();
        v6[0] = 0x60;
        assert_eq!(check_rx(&s, peer2, &v6, 1472), Err(Counter::DropNotIpv4));
        let dying = packet("10.5.2.7", "10.5.1.1", 1);
        assert_eq!(check_rx(&s, peer2, &dying, 1472), Err(Counter::DropTtl));
        assert_eq!(check_tx(&dying), Err(Counter::DropTtl));
        assert!(check_tx(&good).is_ok());
    }
}
