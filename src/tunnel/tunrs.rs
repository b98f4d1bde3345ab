//! The fast path on the `tun-rs` crate (cargo feature `tun-rs`, off by default), built to measure
//! the crate's TUN offloads against the hand-written ones (device.rs, offload.rs; figures in
//! docs/TUNNEL.md). Only the TUN side differs: the device is opened by `tun_rs::DeviceBuilder`
//! with `offload(true)`, TSO super-packets are split by `recv_multiple` and received segments are
//! coalesced by `send_multiple` with a `GROTable`. The socket side (udp.rs, `Sender`), the checks,
//! TTL, ICMP errors and counters are the fast path's own.

use super::counters::{Counter, Local};
use super::fast::{Sender, backoff, would_block};
use super::udp::{self, RecvBatch};
use super::{Shared, checks, icmp, wire};
use std::io;
use std::net::SocketAddrV4;
use std::os::fd::{AsRawFd, RawFd};
use tun_rs::{GROTable, IDEAL_BATCH_SIZE, SyncDevice, VIRTIO_NET_HDR_LEN};

/// Buffers per recvmmsg (as the hand-written path).
const RX_BATCH: usize = 8;

/// The fast path's TUN, opened by tun-rs.
pub(crate) struct FastTun(SyncDevice);

impl FastTun {
    /// Is this tun-rs's (not fast.rs's)?
    pub(crate) const TUN_RS: bool = true;

    /// Opens (creating) TUN `name` in the calling thread's namespace, with offloads, non-blocking.
    /// The device is left down and unaddressed, as the hand-written open leaves it.
    pub(crate) fn open(name: &str) -> io::Result<FastTun> {
        let dev = tun_rs::DeviceBuilder::new()
            .name(name)
            .with(|b| {
                b.offload(true);
            })
            .build_sync()
            .map_err(|e| {
                io::Error::new(e.kind(), format!("cannot create tun device {name}: {e}"))
            })?;
        dev.set_nonblocking(true)?;
        Ok(FastTun(dev))
    }

    /// (vnet_hdr, tso, uso) as the kernel granted them.
    pub(crate) fn offloads(&self) -> (bool, bool, bool) {
        (self.0.tcp_gso(), self.0.tcp_gso(), self.0.udp_gso())
    }

    pub(crate) fn tx_loop(&self, sock: RawFd, sh: Shared, gso: bool) {
        tx_loop(&self.0, sock, sh, gso)
    }

    pub(crate) fn rx_loop(&self, sock: RawFd, sh: Shared, _vnet: bool) {
        rx_loop(sock, &self.0, sh)
    }
}

/// Moves the segments that passed (`keep`, in order, each `lens[i]` long at `i * stride`) back
/// to back to the front of `out`, as one UDP GSO send needs them. Full-size segments already
/// are (the stride is the MTU, which the kernel's MSS fills), so usually nothing moves.
fn pack(out: &mut [u8], stride: usize, keep: &[usize], lens: &[usize], packed: &mut Vec<usize>) {
    packed.clear();
    let mut at = 0;
    for &i in keep {
        let from = i * stride;
        if from != at {
            out.copy_within(from..from + lens[i], at);
        }
        at += lens[i];
        packed.push(lens[i]);
    }
}

/// TUN → UDP: `recv_multiple` reads one packet and, for a super-packet, cuts it into segments
/// written at `stride` intervals of one buffer.
fn tx_loop(dev: &SyncDevice, sock: RawFd, sh: Shared, gso: bool) {
    let cfg = &sh.config;
    let mut peers = sh.peers.reader();
    let mut local = Local::default();
    let stride = cfg.max_packet();
    let mut raw = vec![0u8; VIRTIO_NET_HDR_LEN + wire::MAX_PACKET];
    let mut out = vec![0u8; IDEAL_BATCH_SIZE * stride];
    let mut sizes = vec![0usize; IDEAL_BATCH_SIZE];
    let (mut keep, mut lens) = (Vec::with_capacity(IDEAL_BATCH_SIZE), Vec::new());
    lens.reserve(IDEAL_BATCH_SIZE);
    let mut icmp_buf = [0u8; VIRTIO_NET_HDR_LEN + 128];
    let mut sender = Sender::new(sock, sh.stop.fd(), gso);
    while !sh.stop.stopping() {
        let n = {
            let mut bufs: smallvec::SmallVec<[&mut [u8]; IDEAL_BATCH_SIZE]> =
                out.chunks_mut(stride).collect();
            match dev.recv_multiple(&mut raw, &mut bufs, &mut sizes, 0) {
                Ok(n) => n,
                Err(e) if would_block(&e) => {
                    local.flush(&sh.counters);
                    udp::wait(dev.as_raw_fd(), libc::POLLIN, sh.stop.fd());
                    continue;
                }
                Err(e) if e.raw_os_error().is_some() => {
                    local.add(Counter::DropTunError, 1);
                    backoff();
                    continue;
                }
                // a header or super-packet the crate would not split
                Err(_) => {
                    local.add(Counter::DropBadOffload, 1);
                    continue;
                }
            }
        };
        if n == 0 {
            continue;
        }
        // every segment of one read has the first one's destination
        let first = &out[..sizes[0].min(stride)];
        match first.first() {
            Some(b) if b >> 4 == 4 && first.len() >= wire::IPV4_MIN_HEADER => {}
            Some(b) if b >> 4 != 4 => {
                local.add(Counter::DropNotIpv4, n as u64);
                continue;
            }
            _ => {
                local.add(Counter::DropTruncated, n as u64);
                continue;
            }
        }
        let Some(peer) = peers.refresh().route(wire::be32(first, 16)) else {
            local.add(Counter::DropNoRoute, n as u64);
            let from = cfg
                .icmp_source
                .unwrap_or(std::net::Ipv4Addr::from(wire::be32(first, 16)));
            if let Some(len) =
                icmp::net_unreachable(first, from, &mut icmp_buf[VIRTIO_NET_HDR_LEN..])
            {
                icmp_buf[..VIRTIO_NET_HDR_LEN].fill(0);
                match dev.send(&icmp_buf[..VIRTIO_NET_HDR_LEN + len]) {
                    Ok(_) => local.add(Counter::UnreachableSent, 1),
                    Err(_) => local.add(Counter::DropTunError, 1),
                }
            }
            continue;
        };
        keep.clear();
        for (i, &len) in sizes[..n].iter().enumerate() {
            let seg = &mut out[i * stride..i * stride + len];
            if let Err(c) = checks::check_tx(seg) {
                local.add(c, 1);
                continue;
            }
            icmp::decrement_ttl(seg);
            keep.push(i);
        }
        pack(&mut out, stride, &keep, &sizes, &mut lens);
        let sent = sender.send(&out, &lens, SocketAddrV4::new(peer, cfg.port), &mut local);
        let bytes: usize = lens[..sent].iter().sum();
        local.add(Counter::TxPackets, sent as u64);
        local.add(Counter::TxBytes, bytes as u64);
    }
    local.flush(&sh.counters);
}

/// Checked packets waiting for `send_multiple`, each behind room for a vnet header.
struct TunBatch {
    bufs: Vec<Vec<u8>>,
    used: usize,
    bytes: usize,
}

impl TunBatch {
    fn new(room: usize) -> TunBatch {
        TunBatch {
            bufs: (0..IDEAL_BATCH_SIZE)
                .map(|_| Vec::with_capacity(room))
                .collect(),
            used: 0,
            bytes: 0,
        }
    }

    /// Adds `pkt`; a full batch goes out first.
    fn push(&mut self, pkt: &[u8], dev: &SyncDevice, gro: &mut GROTable, local: &mut Local) {
        if self.used == self.bufs.len() {
            self.flush(dev, gro, local);
        }
        let b = &mut self.bufs[self.used];
        b.clear();
        b.resize(VIRTIO_NET_HDR_LEN, 0);
        b.extend_from_slice(pkt);
        self.used += 1;
        self.bytes += pkt.len();
    }

    /// `send_multiple` merges the TCP segments of a flow and writes each result.
    fn flush(&mut self, dev: &SyncDevice, gro: &mut GROTable, local: &mut Local) {
        if self.used == 0 {
            return;
        }
        match dev.send_multiple(gro, &mut self.bufs[..self.used], VIRTIO_NET_HDR_LEN) {
            Ok(_) => {
                local.add(Counter::RxPackets, self.used as u64);
                local.add(Counter::RxBytes, self.bytes as u64);
            }
            // it writes on past a failed write and reports the last error: count the batch
            Err(_) => local.add(Counter::DropTunError, self.used as u64),
        }
        self.used = 0;
        self.bytes = 0;
    }
}

/// UDP → TUN: every datagram is checked and has its TTL decremented as in `fast::deliver`, then
/// copied behind a vnet header's room into one of `IDEAL_BATCH_SIZE` buffers for `send_multiple`.
fn rx_loop(sock: RawFd, dev: &SyncDevice, sh: Shared) {
    let rules = sh.config.rx_rules();
    let mut peers = sh.peers.reader();
    let mut local = Local::default();
    let mut batch = RecvBatch::new(RX_BATCH, wire::MAX_PACKET + 1);
    let mut gro = GROTable::new();
    // send_multiple merges into a packet's own buffer only when its capacity already holds
    // a 64 KiB packet (it never reallocates); pages are touched only as merges fill them
    let mut out = TunBatch::new(2 * VIRTIO_NET_HDR_LEN + wire::MAX_PACKET);
    while !sh.stop.stopping() {
        let n = match batch.recv(sock) {
            Ok(n) => n,
            Err(e) if would_block(&e) => {
                local.flush(&sh.counters);
                udp::wait(sock, libc::POLLIN, sh.stop.fd());
                continue;
            }
            Err(_) => {
                backoff();
                continue;
            }
        };
        let snap = peers.refresh();
        for r in batch.received(n) {
            if r.truncated {
                local.add(Counter::DropTruncated, 1);
                continue;
            }
            let from = *r.from.ip();
            if r.data.is_empty() {
                if let Err(c) = checks::check_rx(snap, from, r.data, &rules) {
                    local.add(c, 1);
                }
                continue;
            }
            let seg = if r.segment == 0 {
                r.data.len()
            } else {
                r.segment
            };
            for d in r.data.chunks_mut(seg) {
                if let Err(c) = checks::check_rx(snap, from, d, &rules) {
                    local.add(c, 1);
                    continue;
                }
                icmp::decrement_ttl(d);
                out.push(d, dev, &mut gro, &mut local);
            }
        }
        out.flush(dev, &mut gro, &mut local);
    }
    local.flush(&sh.counters);
}

#[cfg(test)]
mod tests {
    use super::pack;

    #[test]
    fn pack_moves_kept_segments_back_to_back() {
        // three slots of 4 bytes: a full segment, a dropped one, a short last one
        let mut out = *b"AAAAxxxxCC..";
        let lens = [4, 4, 2];
        let mut packed = Vec::new();
        pack(&mut out, 4, &[0, 2], &lens, &mut packed);
        assert_eq!(&out[..6], b"AAAACC");
        assert_eq!(packed, vec![4, 2]);
    }

    #[test]
    fn pack_leaves_full_segments_in_place() {
        let mut out = *b"AAAABBBBC...";
        let mut packed = Vec::new();
        pack(&mut out, 4, &[0, 1, 2], &[4, 4, 1], &mut packed);
        assert_eq!(&out[..9], b"AAAABBBBC");
        assert_eq!(packed, vec![4, 4, 1]);
    }
}
