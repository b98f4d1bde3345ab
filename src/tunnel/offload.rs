//! TUN offloads, the way wireguard-go and tun-rs use them. With `IFF_VNET_HDR` every packet to or
//! from the TUN starts with a `virtio_net_hdr`; with TSO enabled (`TUNSETOFFLOAD`) the kernel hands
//! us TCP "super-packets" of up to 64 KiB, which `split` cuts into MTU-sized segments (fixing IP
//! ids, lengths, sequence numbers and checksums) right before they go out as one UDP GSO send.
//! The other way, `Coalescer` glues consecutive in-order TCP segments of one flow back into a
//! super-packet (GRO), so the kernel's TCP stack sees one 64 KiB packet instead of 45 small ones.
//! Everything here works on untrusted bytes: bounds are checked and nothing panics.

use super::checksum;
use super::wire::{self, PROTO_TCP, PROTO_UDP};

pub const VNET_HDR_LEN: usize = 10;
pub const F_NEEDS_CSUM: u8 = 1;
pub const GSO_NONE: u8 = 0;
pub const GSO_TCPV4: u8 = 1;
pub const GSO_UDP_L4: u8 = 5;
pub const GSO_ECN: u8 = 0x80;
/// Most segments we make of, or merge into, one packet (UDP GSO allows 64 per send).
pub const MAX_SEGMENTS: usize = 64;

/// `struct virtio_net_hdr` (legacy layout, native endian as the TUN uses it by default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VnetHdr {
    pub flags: u8,
    pub gso_type: u8,
    pub hdr_len: u16,
    pub gso_size: u16,
    pub csum_start: u16,
    pub csum_offset: u16,
}

impl VnetHdr {
    pub fn read(b: &[u8]) -> Option<VnetHdr> {
        let b = b.get(..VNET_HDR_LEN)?;
        let u = |i: usize| u16::from_ne_bytes([b[i], b[i + 1]]);
        Some(VnetHdr {
            flags: b[0],
            gso_type: b[1],
            hdr_len: u(2),
            gso_size: u(4),
            csum_start: u(6),
            csum_offset: u(8),
        })
    }

    pub fn write(&self, b: &mut [u8]) {
        b[0] = self.flags;
        b[1] = self.gso_type;
        b[2..4].copy_from_slice(&self.hdr_len.to_ne_bytes());
        b[4..6].copy_from_slice(&self.gso_size.to_ne_bytes());
        b[6..8].copy_from_slice(&self.csum_start.to_ne_bytes());
        b[8..10].copy_from_slice(&self.csum_offset.to_ne_bytes());
    }
}

/// Why a packet from the TUN cannot be processed (counted as a bad-offload drop).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadOffload;

/// Completes a checksum the kernel left for us (`NEEDS_CSUM`: the field at
/// csum_start+csum_offset holds the pseudo-header sum; the sum from csum_start on goes there).
pub fn finish_checksum(pkt: &mut [u8], h: &VnetHdr) -> Result<(), BadOffload> {
    if h.flags & F_NEEDS_CSUM == 0 {
        return Ok(());
    }
    let start = usize::from(h.csum_start);
    let field = start + usize::from(h.csum_offset);
    if field + 2 > pkt.len() {
        return Err(BadOffload);
    }
    let c = !wire::csum_fold(wire::csum_add(0, &pkt[start..]));
    wire::put16(pkt, field, c);
    Ok(())
}

/// The IPv4 header length of a packet from the TUN, checked to fit.
fn ipv4_header_len(pkt: &[u8]) -> Result<usize, BadOffload> {
    let first = *pkt.first().ok_or(BadOffload)?;
    let ihl = usize::from(first & 0x0f) * 4;
    if first >> 4 != 4 || ihl < wire::IPV4_MIN_HEADER || pkt.len() < ihl {
        return Err(BadOffload);
    }
    Ok(ihl)
}

/// The largest IPv4 + TCP header a segment can have (60 + 60 bytes).
pub const MAX_HEADER: usize = 120;

/// Cuts a GSO super-packet (TCPv4 or UDP L4) into segments written back to back into `out`;
/// their lengths go to `lens` (cleared first). All but the last have the same length.
/// Each payload is copied and summed in one pass (`checksum::copy_and_sum`): one contiguous
/// buffer makes the send cheaper than gathering a header and a payload slice per segment (on
/// this machine each extra iovec costs the kernel ~0.1 µs, more than the copy).
pub fn split(
    pkt: &[u8],
    h: &VnetHdr,
    out: &mut [u8],
    lens: &mut Vec<usize>,
) -> Result<(), BadOffload> {
    lens.clear();
    let ihl = ipv4_header_len(pkt)?;
    let gso = h.gso_type & !GSO_ECN;
    let (proto, l4_hdr) = match gso {
        GSO_TCPV4 => {
            let doff = usize::from(*pkt.get(ihl + 12).ok_or(BadOffload)? >> 4) * 4;
            (PROTO_TCP, doff)
        }
        GSO_UDP_L4 => (PROTO_UDP, 8),
        _ => return Err(BadOffload),
    };
    let hlen = ihl + l4_hdr;
    let mss = usize::from(h.gso_size);
    // a TCP header is at least 20 bytes (a smaller data offset would put the checksum field
    // past the header: found by the fuzzer), a UDP header exactly 8
    let min_l4 = if proto == PROTO_TCP { 20 } else { 8 };
    if pkt[9] != proto || l4_hdr < min_l4 || pkt.len() <= hlen || mss == 0 {
        return Err(BadOffload);
    }
    let payload = &pkt[hlen..];
    let count = payload.len().div_ceil(mss);
    if count > MAX_SEGMENTS * 2 || hlen + mss.min(payload.len()) > wire::MAX_PACKET {
        return Err(BadOffload);
    }
    let (src, dst) = (wire::be32(pkt, 12), wire::be32(pkt, 16));
    let id0 = wire::be16(pkt, 4);
    let seq0 = if proto == PROTO_TCP {
        wire::be32(pkt, ihl + 4)
    } else {
        0
    };
    let mut at = 0;
    for (i, chunk) in payload.chunks(mss).enumerate() {
        let len = hlen + chunk.len();
        let seg = out.get_mut(at..at + len).ok_or(BadOffload)?;
        let (head, body) = seg.split_at_mut(hlen);
        head.copy_from_slice(&pkt[..hlen]);
        let body_sum = checksum::copy_and_sum(body, chunk);
        wire::put16(head, 2, len as u16);
        wire::put16(head, 4, id0.wrapping_add(i as u16));
        wire::fix_ipv4_checksum(&mut head[..ihl]);
        let l4 = &mut head[ihl..];
        let l4_len = len - ihl;
        let field = if proto == PROTO_TCP {
            wire::put32(l4, 4, seq0.wrapping_add((i * mss) as u32));
            if i + 1 < count {
                l4[13] &= !0x09; // FIN and PSH only on the last segment
            }
            if i > 0 {
                l4[13] &= !0x80; // CWR only on the first
            }
            16
        } else {
            wire::put16(l4, 4, l4_len as u16);
            6
        };
        wire::put16(l4, field, 0);
        // the header's length is even (IHL and data offset count 4-byte words), so the
        // payload's 16-bit words line up with the segment's
        let sum = wire::csum_add(wire::pseudo_header(src, dst, proto, l4_len), l4);
        let mut c = !wire::csum_fold(sum + u64::from(body_sum));
        if proto == PROTO_UDP && c == 0 {
            c = 0xffff;
        }
        wire::put16(l4, field, c);
        lens.push(len);
        at += len;
    }
    Ok(())
}

/// GRO for the TUN: merges consecutive in-order segments of one TCP flow (same addresses, ports,
/// ACK, window, options and TTL; only ACK/PSH flags; full-size segments but the last) into one
/// super-packet with a `virtio_net_hdr` asking the kernel to treat it as TSO (GSO_TCPV4).
/// Nothing is copied but the first header: the packet is a list of slices of the receive buffers
/// (lifetime `'a`), written with one `writev`. So a `Coalescer` lives for one receive batch.
pub struct Coalescer<'a> {
    /// virtio_net_hdr + the first segment's IP and TCP headers (patched when finished).
    head: [u8; VNET_HDR_LEN + MAX_HEADER],
    head_len: usize,
    /// The payloads (or, for a packet that cannot merge, the whole packet).
    parts: [&'a [u8]; MAX_SEGMENTS],
    /// IP packet length so far.
    len: usize,
    segments: usize,
    mss: usize,
    hlen: usize,
    next_seq: u32,
    open: bool,
}

impl Default for Coalescer<'_> {
    fn default() -> Self {
        Coalescer::new()
    }
}

/// Can this segment start or join a merged packet? Returns its TCP header length.
fn mergeable(pkt: &[u8]) -> Option<usize> {
    // plain 20-byte IPv4 header, TCP, not a fragment
    if pkt.len() < 40 || pkt[0] != 0x45 || pkt[9] != PROTO_TCP || wire::be16(pkt, 6) & 0x3fff != 0 {
        return None;
    }
    let thl = usize::from(pkt[32] >> 4) * 4;
    let flags = pkt[33];
    if thl < 20 || pkt.len() <= 20 + thl || (flags != 0x10 && flags != 0x18) {
        return None;
    }
    Some(thl)
}

impl<'a> Coalescer<'a> {
    pub fn new() -> Coalescer<'a> {
        Coalescer {
            head: [0u8; VNET_HDR_LEN + MAX_HEADER],
            head_len: VNET_HDR_LEN,
            parts: [&[]; MAX_SEGMENTS],
            len: 0,
            segments: 0,
            mss: 0,
            hlen: 0,
            next_seq: 0,
            open: false,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.segments == 0
    }

    /// Starts a new packet with `pkt` (a checked IPv4 packet). Call only when empty.
    pub fn start(&mut self, pkt: &'a [u8]) {
        let pkt = &pkt[..pkt.len().min(wire::MAX_PACKET)];
        self.len = pkt.len();
        self.segments = 1;
        let thl = mergeable(pkt);
        self.hlen = thl.map_or(0, |t| 20 + t);
        // headers beyond MAX_HEADER cannot happen (IHL 5, data offset ≤ 60); checked anyway
        if self.hlen > MAX_HEADER {
            self.hlen = 0;
        }
        self.head_len = VNET_HDR_LEN + self.hlen;
        self.head[VNET_HDR_LEN..self.head_len].copy_from_slice(&pkt[..self.hlen]);
        self.parts[0] = &pkt[self.hlen..];
        if self.hlen == 0 {
            self.open = false;
            return;
        }
        self.mss = pkt.len() - self.hlen;
        self.next_seq = wire::be32(pkt, 24).wrapping_add(self.mss as u32);
        self.open = pkt[33] & 0x08 == 0;
    }

    /// Appends `pkt` when it continues the packet being built; false when it does not.
    pub fn append(&mut self, pkt: &'a [u8]) -> bool {
        if !self.open || self.segments >= MAX_SEGMENTS {
            return false;
        }
        let Some(thl) = mergeable(pkt) else {
            return false;
        };
        let head = &self.head[VNET_HDR_LEN..self.head_len];
        let payload = pkt.len() - 20 - thl;
        if 20 + thl != self.hlen
            || payload > self.mss
            || self.len + payload > wire::MAX_PACKET
            || wire::be32(pkt, 24) != self.next_seq
            // version/ihl/tos, DF/frag, TTL, protocol, addresses, ports
            || pkt[..2] != head[..2]
            || pkt[6..10] != head[6..10]
            || pkt[12..24] != head[12..24]
            // ack, data offset, window, options; flags other than PSH
            || pkt[28..33] != head[28..33]
            || pkt[34..36] != head[34..36]
            || pkt[40..self.hlen] != head[40..self.hlen]
        {
            return false;
        }
        let push = pkt[33] & 0x08 != 0;
        self.parts[self.segments] = &pkt[self.hlen..];
        self.len += payload;
        self.segments += 1;
        self.next_seq = self.next_seq.wrapping_add(payload as u32);
        if push {
            self.head[VNET_HDR_LEN + 33] |= 0x08;
        }
        if push || payload < self.mss {
            self.open = false;
        }
        true
    }

    /// Finishes the packet: its virtio_net_hdr, its headers and its payloads go to `write` as
    /// the slices of one TUN write; then the coalescer is empty again. Returns the number of
    /// segments it held, the IP packet's length and what `write` returned.
    pub fn finish<R>(
        &mut self,
        write: impl FnOnce(&[std::io::IoSlice<'_>]) -> R,
    ) -> (usize, usize, R) {
        let segments = self.segments;
        self.segments = 0;
        self.open = false;
        let mut h = VnetHdr::default();
        if segments > 1 {
            let total = self.len;
            let ip = &mut self.head[VNET_HDR_LEN..self.head_len];
            wire::put16(ip, 2, total as u16);
            wire::fix_ipv4_checksum(&mut ip[..20]);
            let (src, dst) = (wire::be32(ip, 12), wire::be32(ip, 16));
            let partial = wire::csum_fold(wire::pseudo_header(src, dst, PROTO_TCP, total - 20));
            wire::put16(ip, 36, partial);
            h = VnetHdr {
                flags: F_NEEDS_CSUM,
                gso_type: GSO_TCPV4,
                hdr_len: self.hlen as u16,
                gso_size: self.mss as u16,
                csum_start: 20,
                csum_offset: 16,
            };
        }
        h.write(&mut self.head);
        let mut iov = [std::io::IoSlice::new(&[]); MAX_SEGMENTS + 1];
        iov[0] = std::io::IoSlice::new(&self.head[..self.head_len]);
        for (slot, part) in iov[1..].iter_mut().zip(&self.parts[..segments]) {
            *slot = std::io::IoSlice::new(part);
        }
        let r = write(&iov[..segments + 1]);
        (segments, self.len, r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TCP/IPv4 packet with a correct checksum.
    pub fn tcp(seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0u8; 40 + payload.len()];
        p[0] = 0x45;
        let total = p.len() as u16;
        wire::put16(&mut p, 2, total);
        wire::put16(&mut p, 4, 7);
        p[6] = 0x40;
        p[8] = 64;
        p[9] = PROTO_TCP;
        p[12..16].copy_from_slice(&[10, 5, 1, 2]);
        p[16..20].copy_from_slice(&[10, 5, 2, 3]);
        wire::fix_ipv4_checksum(&mut p[..20]);
        wire::put16(&mut p, 20, 40000);
        wire::put16(&mut p, 22, 5201);
        wire::put32(&mut p, 24, seq);
        wire::put32(&mut p, 28, 99);
        p[32] = 5 << 4;
        p[33] = flags;
        wire::put16(&mut p, 34, 512);
        p[40..].copy_from_slice(payload);
        let l4 = p.len() - 20;
        let s = wire::csum_add(wire::pseudo_header(0x0a050102, 0x0a050203, 6, l4), &p[20..]);
        wire::put16(&mut p, 36, !wire::csum_fold(s));
        p
    }

    /// What a writev of these slices writes.
    fn gather(iov: &[std::io::IoSlice<'_>]) -> Vec<u8> {
        iov.iter().flat_map(|s| s.iter().copied()).collect()
    }

    fn l4_ok(p: &[u8]) -> bool {
        let l4 = p.len() - 20;
        let s = wire::csum_add(
            wire::pseudo_header(wire::be32(p, 12), wire::be32(p, 16), p[9], l4),
            &p[20..],
        );
        wire::csum_fold(s) == 0xffff
    }

    #[test]
    fn split_then_coalesce_gives_back_the_stream() {
        let data: Vec<u8> = (0..3000u32).map(|i| (i * 7) as u8).collect();
        let mut sup = tcp(1000, 0x18, &data);
        let h = VnetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: GSO_TCPV4,
            hdr_len: 40,
            gso_size: 1400,
            csum_start: 20,
            csum_offset: 16,
        };
        // the kernel leaves the pseudo-header sum in the field; split recomputes anyway
        wire::put16(&mut sup, 36, 0);
        let mut out = vec![0u8; 8192];
        let mut lens = Vec::new();
        split(&sup, &h, &mut out, &mut lens).unwrap();
        assert_eq!(lens, vec![1440, 1440, 240]);
        let mut at = 0;
        let mut segs = Vec::new();
        for (i, &l) in lens.iter().enumerate() {
            let s = &out[at..at + l];
            at += l;
            assert!(wire::parse_ipv4(s).is_ok());
            assert_eq!(wire::csum_fold(wire::csum_add(0, &s[..20])), 0xffff);
            assert!(l4_ok(s), "segment {i} checksum");
            assert_eq!(wire::be32(s, 24), 1000 + 1400 * i as u32);
            assert_eq!(wire::be16(s, 4), 7 + i as u16);
            assert_eq!(s[33] & 0x08 != 0, i == 2, "PSH only on the last");
            segs.push(s.to_vec());
        }
        let later = tcp(4000, 0x10, &[1; 10]);
        let mut c = Coalescer::new();
        c.start(&segs[0]);
        assert!(c.append(&segs[1]));
        assert!(c.append(&segs[2]));
        // after PSH nothing more joins
        assert!(!c.append(&later));
        let (n, _, merged) = c.finish(gather);
        let merged = &merged[..];
        assert_eq!(n, 3);
        let vh = VnetHdr::read(merged).unwrap();
        assert_eq!(
            (vh.gso_type, vh.gso_size, vh.hdr_len),
            (GSO_TCPV4, 1400, 40)
        );
        let ip = &merged[VNET_HDR_LEN..];
        assert_eq!(&ip[40..], &data[..]);
        assert_eq!(wire::parse_ipv4(ip).map(|i| i.total_len), Ok(3040));
        assert_eq!(ip[33], 0x18);
        // the field holds the pseudo-header sum, as NEEDS_CSUM wants: completing it gives a valid packet
        let mut done = ip.to_vec();
        finish_checksum(&mut done, &vh).unwrap();
        assert!(l4_ok(&done));
        assert!(c.is_empty());
    }

    #[test]
    fn out_of_order_or_foreign_segments_do_not_merge() {
        let (first, gap, fin) = (
            tcp(0, 0x10, &[0; 100]),
            tcp(50, 0x10, &[0; 100]),
            tcp(100, 0x11, &[0; 100]),
        );
        let mut other = tcp(100, 0x10, &[0; 100]);
        other[23] = 1; // another port
        let (short, after_short) = (tcp(100, 0x10, &[0; 60]), tcp(160, 0x10, &[0; 60]));
        let mut c = Coalescer::new();
        c.start(&first);
        assert!(!c.append(&gap), "gap");
        assert!(!c.append(&fin), "FIN");
        assert!(!c.append(&other));
        assert!(c.append(&short), "short last segment");
        assert!(!c.append(&after_short), "closed after a short one");
        // a single segment goes out with an empty vnet header, unchanged
        let mut c = Coalescer::new();
        let p = tcp(0, 0x02, &[1, 2, 3]);
        c.start(&p);
        let (n, len, out) = c.finish(gather);
        assert_eq!((n, len), (1, p.len()));
        assert_eq!(&out[..VNET_HDR_LEN], &[0; VNET_HDR_LEN]);
        assert_eq!(&out[VNET_HDR_LEN..], &p[..]);
    }

    #[test]
    fn hostile_vnet_headers_are_refused() {
        let p = tcp(0, 0x10, &[0; 100]);
        let mut out = vec![0u8; 4096];
        let mut lens = Vec::new();
        let bad = [
            VnetHdr {
                gso_type: GSO_TCPV4,
                gso_size: 0,
                ..Default::default()
            },
            VnetHdr {
                gso_type: 9,
                gso_size: 10,
                ..Default::default()
            },
            VnetHdr {
                gso_type: GSO_UDP_L4,
                gso_size: 10,
                ..Default::default()
            },
        ];
        for h in bad {
            assert_eq!(split(&p, &h, &mut out, &mut lens), Err(BadOffload));
        }
        let h = VnetHdr {
            flags: F_NEEDS_CSUM,
            csum_start: 130,
            csum_offset: 16,
            ..Default::default()
        };
        assert_eq!(finish_checksum(&mut p.clone(), &h), Err(BadOffload));
        // more segments than a super-packet may have is an error, not a panic
        let h = VnetHdr {
            gso_type: GSO_TCPV4,
            gso_size: 1,
            ..Default::default()
        };
        assert_eq!(
            split(&tcp(0, 0x10, &[0; 200]), &h, &mut out, &mut lens),
            Err(BadOffload)
        );
        // too small an output buffer is an error, not a panic
        let h = VnetHdr {
            gso_type: GSO_TCPV4,
            gso_size: 10,
            ..Default::default()
        };
        assert_eq!(split(&p, &h, &mut out[..100], &mut lens), Err(BadOffload));
    }
}
