//! Flannel's udp backend wire format, and the IPv4/TCP/UDP header arithmetic the data path needs.
//!
//! The format is no format at all: the UDP payload *is* the raw IPv4 packet, with no header of ours
//! in front (flannel's `proxy.c` does `sendto(sock, ip_packet, len, peer:8285)`). So a flanneld udp
//! node and a netsh node interoperate as long as both put whole IPv4 packets in datagrams.

/// Flannel's default udp backend port.
pub const DEFAULT_PORT: u16 = 8285;
/// Outer IPv4 (20) + UDP (8) headers: flannel0's MTU is the external interface's MTU minus this.
pub const OVERHEAD: u32 = 28;
/// The largest IPv4 packet.
pub const MAX_PACKET: usize = 65535;
/// The smallest IPv4 header.
pub const IPV4_MIN_HEADER: usize = 20;

pub const PROTO_ICMP: u8 = 1;
pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;

/// Big-endian u16 at `off`; the caller has checked the length.
#[inline]
pub fn be16(b: &[u8], off: usize) -> u16 {
    u16::from_be_bytes([b[off], b[off + 1]])
}

#[inline]
pub fn be32(b: &[u8], off: usize) -> u32 {
    u32::from_be_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

#[inline]
pub fn put16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_be_bytes());
}

#[inline]
pub fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_be_bytes());
}

/// The facts about one IPv4 packet the data path uses, read from a header it has validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Info {
    pub header_len: usize,
    pub total_len: usize,
    pub protocol: u8,
    pub ttl: u8,
    pub src: u32,
    pub dst: u32,
}

/// Why a payload is not an IPv4 packet we can forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// Not version 4 (IPv6, garbage).
    NotIpv4,
    /// Empty, or shorter than its header or than its own total length.
    Truncated,
    /// Bytes after the end its total length gives: not one whole packet either, whatever its size.
    Trailing,
}

/// Reads and validates an IPv4 header: version 4, a header length of at least 20 bytes that fits,
/// and a total length equal to the bytes we have (flannel sends exactly one packet per datagram).
pub fn parse_ipv4(pkt: &[u8]) -> Result<Ipv4Info, Malformed> {
    let Some(&first) = pkt.first() else {
        return Err(Malformed::Truncated);
    };
    if first >> 4 != 4 {
        return Err(Malformed::NotIpv4);
    }
    if pkt.len() < IPV4_MIN_HEADER {
        return Err(Malformed::Truncated);
    }
    let header_len = usize::from(first & 0x0f) * 4;
    let total_len = usize::from(be16(pkt, 2));
    if header_len < IPV4_MIN_HEADER || total_len < header_len {
        return Err(Malformed::Truncated);
    }
    if pkt.len() < total_len {
        return Err(Malformed::Truncated);
    }
    if pkt.len() > total_len {
        return Err(Malformed::Trailing);
    }
    Ok(Ipv4Info {
        header_len,
        total_len,
        protocol: pkt[9],
        ttl: pkt[8],
        src: be32(pkt, 12),
        dst: be32(pkt, 16),
    })
}

/// Adds `data` to a running one's-complement sum (big-endian 16-bit words; an odd tail byte is
/// padded with zero). The summing itself is `checksum::sum`'s.
pub fn csum_add(sum: u64, data: &[u8]) -> u64 {
    sum + u64::from(super::checksum::sum(data))
}

/// Folds a running sum to 16 bits (not complemented).
pub fn csum_fold(mut sum: u64) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The IPv4 pseudo-header's contribution to a TCP/UDP checksum.
pub fn pseudo_header(src: u32, dst: u32, protocol: u8, l4_len: usize) -> u64 {
    u64::from(src >> 16)
        + u64::from(src & 0xffff)
        + u64::from(dst >> 16)
        + u64::from(dst & 0xffff)
        + u64::from(protocol)
        + l4_len as u64
}

/// Recomputes an IPv4 header's checksum in place (`hdr` is the whole header).
pub fn fix_ipv4_checksum(hdr: &mut [u8]) {
    put16(hdr, 10, 0);
    let c = !csum_fold(csum_add(0, hdr));
    put16(hdr, 10, c);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(total: u16) -> Vec<u8> {
        let mut p = vec![0u8; usize::from(total)];
        p[0] = 0x45;
        put16(&mut p, 2, total);
        p[8] = 64;
        p[9] = PROTO_UDP;
        p
    }

    #[test]
    fn lengths_are_checked() {
        assert_eq!(parse_ipv4(&[]), Err(Malformed::Truncated));
        assert_eq!(parse_ipv4(&[0x60; 40]), Err(Malformed::NotIpv4));
        assert_eq!(parse_ipv4(&[0x45; 19]), Err(Malformed::Truncated));
        let p = packet(28);
        assert_eq!(parse_ipv4(&p).map(|i| i.total_len), Ok(28));
        assert_eq!(parse_ipv4(&p[..27]), Err(Malformed::Truncated));
        let mut longer = p.clone();
        longer.push(0);
        assert_eq!(parse_ipv4(&longer), Err(Malformed::Trailing));
        let mut bad_ihl = p.clone();
        bad_ihl[0] = 0x44;
        assert_eq!(parse_ipv4(&bad_ihl), Err(Malformed::Truncated));
        let mut ihl_past_total = p;
        ihl_past_total[0] = 0x4f; // 60-byte header in a 28-byte packet
        assert_eq!(parse_ipv4(&ihl_past_total), Err(Malformed::Truncated));
    }

    #[test]
    fn checksum_matches_a_known_header() {
        // RFC 1071-style example: a real header whose checksum is 0xb861
        let mut h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        fix_ipv4_checksum(&mut h);
        assert_eq!(be16(&h, 10), 0xb861);
        // odd-length data pads with a zero byte
        assert_eq!(csum_fold(csum_add(0, &[0x01, 0x02, 0x03])), 0x0402);
    }
}
