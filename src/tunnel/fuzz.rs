//! The fuzz target's body (fuzz/fuzz_targets/tunnel_rx.rs), kept in the library so it builds and
//! is unit-tested with it: the receive path on any bytes from any sender, and the TSO splitter on
//! any vnet header. Panics only when an invariant breaks: something other than a whole IPv4
//! packet from the sender's own subnet to this host's reaching the TUN, or a merged packet that
//! is not sound.

use super::checks::RxRules;
use super::counters::{Counter, Local};
use super::fast::{deliver, finish_rx};
use super::offload::{self, Coalescer, VNET_HDR_LEN, VnetHdr};
use super::peers::PeerTable;
use super::wire;
use std::net::Ipv4Addr;

const PEERS: [([u8; 4], u8, [u8; 4]); 3] = [
    ([10, 5, 2, 0], 24, [192, 168, 1, 2]),
    ([10, 5, 3, 0], 24, [192, 168, 1, 3]),
    ([10, 5, 4, 0], 23, [192, 168, 1, 4]),
];

/// `data`: byte 0 picks the sender (a peer or a stranger), bytes 1-2 a GRO segment size, byte 3
/// the MTU class, the rest is the received buffer. Then the same bytes go through `split`.
pub fn tunnel_rx(data: &[u8]) {
    if data.len() < 4 {
        return;
    }
    let table = PeerTable::new();
    for (net, len, public) in PEERS {
        if let Ok(n) = ipnet::Ipv4Net::new(Ipv4Addr::from(net), len) {
            table.set(n, Ipv4Addr::from(public));
        }
    }
    let snap = table.snapshot();
    let from = match data[0] % 4 {
        3 => Ipv4Addr::new(192, 168, 1, 99),
        i => Ipv4Addr::from(PEERS[usize::from(i)].2),
    };
    let segment = usize::from(u16::from_be_bytes([data[1], data[2]]));
    let max_len = [1472usize, 9000, 65535, 20][usize::from(data[3] % 4)];
    let own = ipnet::Ipv4Net::new(Ipv4Addr::new(10, 5, 1, 0), 24).ok();
    let rules = RxRules::new(max_len, own);
    let mut buf = data[4..].to_vec();
    for vnet in [true, false] {
        let mut data = buf.clone();
        let mut co = Coalescer::new();
        let mut local = Local::default();
        let mut written = 0u64;
        let mut write = |iov: &[std::io::IoSlice<'_>]| {
            let b: Vec<u8> = iov.iter().flat_map(|s| s.iter().copied()).collect();
            let ip = if vnet {
                let h = VnetHdr::read(&b).expect("every TUN write has its vnet header");
                let mut ip = b[VNET_HDR_LEN..].to_vec();
                if h.gso_type != offload::GSO_NONE {
                    assert_eq!(h.gso_type, offload::GSO_TCPV4);
                    assert!(usize::from(h.hdr_len) < ip.len() && h.gso_size > 0);
                    offload::finish_checksum(&mut ip, &h).expect("a sound checksum request");
                }
                ip
            } else {
                b
            };
            let info = wire::parse_ipv4(&ip).expect("only whole IPv4 packets reach the TUN");
            assert!(
                snap.owns(from, info.src),
                "a source outside the sender's subnet"
            );
            assert!(rules.is_own(info.dst), "a destination outside this host");
            assert!(info.ttl >= 1);
            written += 1;
            true
        };
        deliver(
            &snap, from, &mut data, segment, &rules, vnet, &mut co, &mut local, &mut write,
        );
        finish_rx(&mut co, vnet, &mut local, &mut write);
        let shared = super::Counters::default();
        local.flush(&shared);
        let c = shared.snapshot();
        assert!(c.get(Counter::RxPackets) >= written);
    }
    // the splitter, with the first ten bytes as a vnet header
    if let Some(h) = VnetHdr::read(&buf) {
        let pkt = &mut buf[VNET_HDR_LEN..];
        let mut out = vec![0u8; 70000];
        let mut lens = Vec::new();
        if offload::split(pkt, &h, &mut out, &mut lens).is_ok() {
            let total: usize = lens.iter().sum();
            assert!(total <= out.len());
            assert!(lens.iter().all(|&l| l <= wire::MAX_PACKET));
            assert!(
                lens.iter().rev().skip(1).all(|&l| l == lens[0]),
                "equal but the last"
            );
        }
        let _ = offload::finish_checksum(pkt, &h);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_fuzz_body_runs_on_odd_inputs() {
        super::tunnel_rx(&[]);
        super::tunnel_rx(&[0, 0, 0, 0]);
        super::tunnel_rx(&[0, 0, 0, 0, 0x45, 0, 0, 20]);
        super::tunnel_rx(&[
            1, 0, 1, 2, 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6, 0, 0, 10, 5, 3, 9,
        ]);
        // a whole packet from peer 0's own subnet, twice in one GRO buffer of 20-byte segments
        let mut ok = vec![0, 0, 20, 0];
        let mut h = [
            0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 5, 2, 9, 10, 5, 1, 1,
        ];
        crate::tunnel::wire::fix_ipv4_checksum(&mut h);
        ok.extend_from_slice(&h);
        ok.extend_from_slice(&h);
        super::tunnel_rx(&ok);
        let mut many = vec![3, 0, 40, 0];
        many.extend(std::iter::repeat_n(0x45u8, 400));
        super::tunnel_rx(&many);
    }

    #[test]
    fn fuzz_findings_stay_fixed() {
        // a TSO request for a TCP header with a data offset of 12 bytes
        super::tunnel_rx(&[
            1, 60, 217, 10, 5, 1, 0, 0, 255, 255, 255, 255, 0, 0, 69, 0, 0, 0, 20, 10, 5, 217, 3,
            6, 204, 204, 236, 204, 0, 255, 255, 255, 255, 0, 0, 187, 254, 0, 0, 20, 10, 5, 217,
            126, 6, 204, 51, 1, 1,
        ]);
    }
}
