//! The fast data path: two threads (one per direction, which suits this 2-core machine: the
//! kernel's TCP work runs on the other core).
//!
//! TUN → UDP: non-blocking reads with a virtio_net_hdr; a TSO/USO super-packet has its TTL
//! decremented once, is cut into segments (`offload::split`) and leaves in one `UDP_SEGMENT`
//! sendmsg per ≤64 segments; without UDP GSO (refused by the kernel or the device) a `sendmmsg`.
//! UDP → TUN: `recvmmsg` batches on a `UDP_GRO` socket (one buffer can hold dozens of datagrams);
//! every datagram is checked (`checks::check_rx`), its TTL decremented, and consecutive segments
//! of one TCP flow are merged (`offload::Coalescer`) into one TUN write.
//! Buffers are allocated when a thread starts; the loops allocate nothing.

use super::counters::{Counter, Local};
use super::offload::{self, Coalescer, VNET_HDR_LEN, VnetHdr};
use super::peers::PeerSnapshot;
use super::udp::{self, RecvBatch, SendBatch};
use super::{Shared, checks, device, icmp, wire};
use std::io::{self, IoSlice};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, RawFd};

/// Largest UDP GSO send we make (the UDP length field and IP total length cap it near 64 KiB).
const GSO_BYTES: usize = 65000;
/// Buffers per recvmmsg.
const RX_BATCH: usize = 8;

pub(super) fn read_fd(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: buf is valid for writes of its length.
    let r = unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

pub(super) fn write_fd(fd: RawFd, buf: &[u8]) -> io::Result<()> {
    // SAFETY: buf is valid for reads of its length.
    let r = unsafe { libc::write(fd, buf.as_ptr() as *const libc::c_void, buf.len()) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

pub(super) fn would_block(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

/// An error that means "this offload is not available here": fall back and stop trying it.
fn offload_refused(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EIO | libc::EINVAL | libc::ENOPROTOOPT | libc::EOPNOTSUPP)
    )
}

/// Other errors (no route to the peer, a full queue) lose the packet, not the thread; after one,
/// a short pause keeps a persistent error from spinning a core.
pub(super) fn backoff() {
    std::thread::sleep(std::time::Duration::from_millis(1));
}

/// UDP sends of the segments of one packet: one `UDP_SEGMENT` sendmsg per ≤64, or `sendmmsg`.
pub(super) struct Sender {
    fd: RawFd,
    wake: RawFd,
    gso: bool,
    batch: SendBatch,
}

impl Sender {
    /// Sends on socket `fd`, giving up a full socket's wait when `wake` is readable.
    pub(super) fn new(fd: RawFd, wake: RawFd, gso: bool) -> Sender {
        Sender {
            fd,
            wake,
            gso,
            batch: SendBatch::new(2 * offload::MAX_SEGMENTS),
        }
    }

    /// Sends with a retry while the socket buffer is full. False when the tunnel is stopping.
    fn retry(&self, mut f: impl FnMut() -> io::Result<()>) -> Result<io::Result<()>, ()> {
        loop {
            match f() {
                Err(e) if would_block(&e) => {
                    if !udp::wait(self.fd, libc::POLLOUT, self.wake) {
                        return Err(());
                    }
                }
                r => return Ok(r),
            }
        }
    }

    /// Sends the segments `out[..lens[0]]`, the next `lens[1]` bytes, ... to `dst`; returns how
    /// many left.
    pub(super) fn send(
        &mut self,
        out: &[u8],
        lens: &[usize],
        dst: SocketAddrV4,
        local: &mut Local,
    ) -> usize {
        let fd = self.fd;
        let mut sent = 0;
        let mut at = 0;
        let mut i = 0;
        while i < lens.len() {
            let seg = lens[i];
            let mut j = i;
            let mut bytes = 0;
            while j < lens.len() && j - i < offload::MAX_SEGMENTS && bytes + lens[j] <= GSO_BYTES {
                bytes += lens[j];
                j += 1;
            }
            if j == i {
                // a single segment larger than a GSO send: cannot happen with split's output
                local.add(Counter::DropBadOffload, 1);
                at += seg;
                i += 1;
                continue;
            }
            let Some(chunk) = out.get(at..at + bytes) else {
                local.add(Counter::DropBadOffload, (lens.len() - i) as u64);
                return sent;
            };
            let whole = [IoSlice::new(chunk)];
            let r = if j - i == 1 {
                self.retry(|| udp::send_gathered(fd, &whole, None, dst))
            } else if self.gso {
                match self.retry(|| udp::send_gathered(fd, &whole, Some(seg as u16), dst)) {
                    Ok(Err(e)) if offload_refused(&e) => {
                        self.gso = false;
                        continue; // the same chunk again, without GSO
                    }
                    r => r,
                }
            } else {
                // one slice per datagram, one sendmmsg for all
                let mut iov = [IoSlice::new(&[]); offload::MAX_SEGMENTS];
                let mut from = 0;
                for (slot, &l) in iov.iter_mut().zip(&lens[i..j]) {
                    *slot = IoSlice::new(&chunk[from..from + l]);
                    from += l;
                }
                let (batch, count) = (&mut self.batch, j - i);
                let mut done = 0;
                loop {
                    match batch.send(fd, &iov[done..count], 1, dst) {
                        Ok(n) if done + n >= count => break Ok(Ok(())),
                        Ok(n) => done += n,
                        Err(e) if would_block(&e) => {
                            if !udp::wait(fd, libc::POLLOUT, self.wake) {
                                break Err(());
                            }
                        }
                        Err(e) => break Ok(Err(e)),
                    }
                }
            };
            match r {
                Ok(Ok(())) => sent += j - i,
                Ok(Err(_)) => {
                    local.add(Counter::DropSendError, (j - i) as u64);
                    backoff();
                }
                Err(()) => return sent,
            }
            at += bytes;
            i = j;
        }
        sent
    }
}

/// The fast path's TUN as device.rs opens it: `IFF_VNET_HDR` and offloads, split and merged
/// by offload.rs. (Unused, not removed, when the cargo feature `tun-rs` swaps in the crate's.)
#[cfg_attr(feature = "tun-rs", allow(dead_code))]
pub(crate) struct FastTun(device::Tun);

#[cfg_attr(feature = "tun-rs", allow(dead_code))]
impl FastTun {
    /// Is this tun-rs's (tunrs.rs)?
    pub(crate) const TUN_RS: bool = false;

    /// Opens (creating) TUN `name` in the calling thread's namespace, with offloads, non-blocking.
    pub(crate) fn open(name: &str) -> io::Result<FastTun> {
        let flags = crate::sys::tun::TunFlags {
            vnet_hdr: true,
            multi_queue: false,
        };
        device::open(name, flags).map(FastTun)
    }

    /// (vnet_hdr, tso, uso) as the kernel granted them.
    pub(crate) fn offloads(&self) -> (bool, bool, bool) {
        (self.0.vnet_hdr, self.0.tso, self.0.uso)
    }

    pub(crate) fn tx_loop(&self, sock: RawFd, sh: Shared, gso: bool) {
        tx_loop(self.0.file.as_raw_fd(), sock, sh, gso)
    }

    pub(crate) fn rx_loop(&self, sock: RawFd, sh: Shared, vnet: bool) {
        rx_loop(sock, self.0.file.as_raw_fd(), sh, vnet)
    }
}

/// TUN → UDP.
fn tx_loop(tun: RawFd, sock: RawFd, sh: Shared, gso: bool) {
    let cfg = &sh.config;
    let mut peers = sh.peers.reader();
    let mut local = Local::default();
    let mut rbuf = vec![0u8; VNET_HDR_LEN + wire::MAX_PACKET];
    // segments of one super-packet: its payload plus one header (≤120 bytes) per segment
    let mut out = vec![0u8; wire::MAX_PACKET + 2 * offload::MAX_SEGMENTS * offload::MAX_HEADER];
    let mut lens: Vec<usize> = Vec::with_capacity(2 * offload::MAX_SEGMENTS);
    let mut icmp_buf = [0u8; VNET_HDR_LEN + 128];
    let mut sender = Sender::new(sock, sh.stop.fd(), gso);
    while !sh.stop.stopping() {
        let n = match read_fd(tun, &mut rbuf) {
            Ok(n) => n,
            Err(e) if would_block(&e) => {
                local.flush(&sh.counters);
                udp::wait(tun, libc::POLLIN, sh.stop.fd());
                continue;
            }
            Err(_) => {
                local.add(Counter::DropTunError, 1);
                backoff();
                continue;
            }
        };
        let Some(h) = VnetHdr::read(&rbuf[..n]) else {
            local.add(Counter::DropBadOffload, 1);
            continue;
        };
        let pkt = &mut rbuf[VNET_HDR_LEN..n];
        match pkt.first() {
            Some(b) if b >> 4 == 4 && pkt.len() >= wire::IPV4_MIN_HEADER => {}
            Some(b) if b >> 4 != 4 => {
                local.add(Counter::DropNotIpv4, 1);
                continue;
            }
            _ => {
                local.add(Counter::DropTruncated, 1);
                continue;
            }
        }
        let Some(peer) = peers.refresh().route(wire::be32(pkt, 16)) else {
            local.add(Counter::DropNoRoute, 1);
            let from = cfg
                .icmp_source
                .unwrap_or(std::net::Ipv4Addr::from(wire::be32(pkt, 16)));
            if let Some(len) = icmp::net_unreachable(pkt, from, &mut icmp_buf[VNET_HDR_LEN..]) {
                icmp_buf[..VNET_HDR_LEN].fill(0);
                match write_fd(tun, &icmp_buf[..VNET_HDR_LEN + len]) {
                    Ok(()) => local.add(Counter::UnreachableSent, 1),
                    Err(_) => local.add(Counter::DropTunError, 1),
                }
            }
            continue;
        };
        let dst = SocketAddrV4::new(peer, cfg.port);
        if h.gso_type == offload::GSO_NONE {
            if offload::finish_checksum(pkt, &h).is_err() {
                local.add(Counter::DropBadOffload, 1);
                continue;
            }
            if let Err(c) = checks::check_tx(pkt) {
                local.add(c, 1);
                continue;
            }
            icmp::decrement_ttl(pkt);
            let len = pkt.len();
            lens.clear();
            lens.push(len);
            if sender.send(pkt, &lens, dst, &mut local) == 1 {
                local.add(Counter::TxPackets, 1);
                local.add(Counter::TxBytes, len as u64);
            }
        } else {
            // a super-packet: its IP total length may not match; the TTL is checked once
            if !icmp::decrement_ttl(pkt) {
                local.add(Counter::DropTtl, 1);
                continue;
            }
            if offload::split(pkt, &h, &mut out, &mut lens).is_err() {
                local.add(Counter::DropBadOffload, 1);
                continue;
            }
            let sent = sender.send(&out, &lens, dst, &mut local);
            let bytes: usize = lens[..sent].iter().sum();
            local.add(Counter::TxPackets, sent as u64);
            local.add(Counter::TxBytes, bytes as u64);
        }
    }
    local.flush(&sh.counters);
}

/// A TUN write gathered from slices; true when it went through.
pub type TunWrite<'w> = dyn FnMut(&[IoSlice<'_>]) -> bool + 'w;

/// Hands the coalescer's packet (with or without its vnet header) to `write`.
fn flush_coalesced(co: &mut Coalescer<'_>, vnet: bool, local: &mut Local, write: &mut TunWrite) {
    let (segments, len, ok) = co.finish(|iov| {
        if vnet {
            write(iov)
        } else {
            // without IFF_VNET_HDR the TUN takes the bare packet (only single ones get here)
            let head = iov
                .first()
                .map_or(&[][..], |h| &h[VNET_HDR_LEN.min(h.len())..]);
            let mut bare = [IoSlice::new(&[]); offload::MAX_SEGMENTS + 1];
            bare[0] = IoSlice::new(head);
            bare[1..iov.len()].copy_from_slice(&iov[1..]);
            write(&bare[..iov.len()])
        }
    });
    if ok {
        local.add(Counter::RxPackets, segments as u64);
        local.add(Counter::RxBytes, len as u64);
    } else {
        local.add(Counter::DropTunError, segments as u64);
    }
}

/// The receive path for one received buffer, without the syscalls: `data` from `from`, holding
/// datagrams of `segment` bytes (0: one datagram). Each is checked and has its TTL decremented;
/// what passes goes to `write` as TUN writes, merged by `co` when `vnet` (the merged packet
/// points into `data`, so `co` lives no longer than the buffers). The caller flushes `co` at the
/// end of a batch (`finish_rx`).
#[allow(clippy::too_many_arguments)]
pub fn deliver<'a>(
    snap: &PeerSnapshot,
    from: Ipv4Addr,
    data: &'a mut [u8],
    segment: usize,
    rules: &checks::RxRules,
    vnet: bool,
    co: &mut Coalescer<'a>,
    local: &mut Local,
    write: &mut TunWrite,
) {
    if data.is_empty() {
        // a 0-byte datagram has no chunk below, but it is still checked and counted
        if let Err(c) = checks::check_rx(snap, from, data, rules) {
            local.add(c, 1);
        }
        return;
    }
    let seg = if segment == 0 {
        data.len().max(1)
    } else {
        segment
    };
    for d in data.chunks_mut(seg) {
        if let Err(c) = checks::check_rx(snap, from, d, rules) {
            local.add(c, 1);
            continue;
        }
        icmp::decrement_ttl(d);
        let d: &'a [u8] = d;
        if !vnet {
            if write(&[IoSlice::new(d)]) {
                local.add(Counter::RxPackets, 1);
                local.add(Counter::RxBytes, d.len() as u64);
            } else {
                local.add(Counter::DropTunError, 1);
            }
            continue;
        }
        if !co.is_empty() && co.append(d) {
            continue;
        }
        if !co.is_empty() {
            flush_coalesced(co, vnet, local, write);
        }
        co.start(d);
    }
}

/// Writes out what `co` still holds (end of a batch).
pub fn finish_rx(co: &mut Coalescer<'_>, vnet: bool, local: &mut Local, write: &mut TunWrite) {
    if !co.is_empty() {
        flush_coalesced(co, vnet, local, write);
    }
}

/// One `writev` to the TUN.
fn writev_fd(fd: RawFd, iov: &[IoSlice<'_>]) -> bool {
    // SAFETY: IoSlice is ABI-compatible with iovec; the slices are valid for reads.
    let r = unsafe {
        libc::writev(
            fd,
            iov.as_ptr() as *const libc::iovec,
            iov.len() as libc::c_int,
        )
    };
    r >= 0
}

/// UDP → TUN. With `vnet` the TUN takes virtio headers, so TCP segments are merged.
fn rx_loop(sock: RawFd, tun: RawFd, sh: Shared, vnet: bool) {
    let rules = sh.config.rx_rules();
    let mut peers = sh.peers.reader();
    let mut local = Local::default();
    let mut batch = RecvBatch::new(RX_BATCH, wire::MAX_PACKET + 1);
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
        let mut write = |iov: &[IoSlice<'_>]| writev_fd(tun, iov);
        let mut co = Coalescer::new();
        for r in batch.received(n) {
            if r.truncated {
                local.add(Counter::DropTruncated, 1);
                continue;
            }
            let from = *r.from.ip();
            deliver(
                snap, from, r.data, r.segment, &rules, vnet, &mut co, &mut local, &mut write,
            );
        }
        finish_rx(&mut co, vnet, &mut local, &mut write);
    }
    local.flush(&sh.counters);
}
