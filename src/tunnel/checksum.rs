//! The Internet checksum's one's-complement sum (RFC 1071), fast: the TSO splitter sums every
//! payload byte it sends, so this is the data path's hottest loop in user space. With AVX2 it
//! adds 32-bit words into 64-bit lanes, 32 bytes a step, and `copy_and_sum` stores each 32 bytes
//! it has loaded (one pass instead of a copy and a sum; the store is written in asm because
//! `_mm256_storeu_si256` compiled to a memcpy call per 32 bytes). Words are read in native byte
//! order and the folded
//! sum swapped once at the end, which RFC 1071 §2(B) allows: the sum does not depend on byte
//! order. Results are big-endian 16-bit sums, folded, not complemented.

/// The folded sum of `data` as big-endian 16-bit words (an odd tail byte padded with zero).
pub fn sum(data: &[u8]) -> u16 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is present.
        return to_big_endian(unsafe { avx2::sum(data) });
    }
    to_big_endian(portable_sum(data))
}

/// Copies `src` into `dst` (both cut to the shorter length) and returns the folded sum of the
/// bytes copied, as `sum` would.
pub fn copy_and_sum(dst: &mut [u8], src: &[u8]) -> u16 {
    let n = dst.len().min(src.len());
    let (dst, src) = (&mut dst[..n], &src[..n]);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is present; dst and src have the same length.
        return to_big_endian(unsafe { avx2::copy_and_sum(dst, src) });
    }
    dst.copy_from_slice(src);
    to_big_endian(portable_sum(src))
}

/// A sum of native-endian words, folded, as the big-endian sum the protocols define.
fn to_big_endian(native: u64) -> u16 {
    u16::from_be_bytes(fold(native).to_ne_bytes())
}

fn fold(mut sum: u64) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// `a + b` in one's-complement arithmetic, kept well below overflow.
fn fold_add(a: u64, b: u64) -> u64 {
    let (s, carry) = a.overflowing_add(b);
    let s = s + u64::from(carry);
    (s & 0xffff_ffff) + (s >> 32)
}

/// The native-endian sum without SIMD: 32-bit words into four 64-bit lanes (no carry can be lost
/// below 2^32 words per lane), then 16-bit words and the odd byte.
fn portable_sum(data: &[u8]) -> u64 {
    let mut lanes = [0u64; 4];
    let mut blocks = data.chunks_exact(16);
    for b in &mut blocks {
        for (lane, w) in lanes.iter_mut().zip(b.chunks_exact(4)) {
            *lane += u64::from(u32::from_ne_bytes([w[0], w[1], w[2], w[3]]));
        }
    }
    let mut native = lanes.iter().fold(0u64, |a, &l| fold_add(a, l));
    let mut pairs = blocks.remainder().chunks_exact(2);
    for p in &mut pairs {
        native += u64::from(u16::from_ne_bytes([p[0], p[1]]));
    }
    if let [last] = pairs.remainder() {
        native += u64::from(u16::from_ne_bytes([*last, 0]));
    }
    native
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// The native-endian sum of `data`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn sum(data: &[u8]) -> u64 {
        let mut acc = Lanes::new();
        let mut blocks = data.chunks_exact(32);
        for b in &mut blocks {
            // SAFETY: b is 32 bytes; an unaligned load.
            acc.add(unsafe { _mm256_loadu_si256(b.as_ptr() as *const __m256i) });
        }
        // the tail starts at a multiple of 32, so its 16-bit words line up with the rest
        acc.finish(blocks.remainder())
    }

    /// The native-endian sum of `src`, copied into `dst` on the way (same lengths).
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn copy_and_sum(dst: &mut [u8], src: &[u8]) -> u64 {
        let mut acc = Lanes::new();
        let mut blocks = src.chunks_exact(32);
        let mut outs = dst.chunks_exact_mut(32);
        for (b, o) in (&mut blocks).zip(&mut outs) {
            // SAFETY: b and o are 32 bytes each; unaligned load and store.
            unsafe {
                let v = _mm256_loadu_si256(b.as_ptr() as *const __m256i);
                std::arch::asm!(
                    "vmovdqu ymmword ptr [{p}], {v}",
                    p = in(reg) o.as_mut_ptr(),
                    v = in(ymm_reg) v,
                    options(nostack, preserves_flags)
                );
                acc.add(v);
            }
        }
        let tail = blocks.remainder();
        outs.into_remainder().copy_from_slice(tail);
        acc.finish(tail)
    }

    /// 32-bit words summed into 64-bit lanes, low and high halves apart (no carry is lost).
    struct Lanes {
        lo: __m256i,
        hi: __m256i,
    }

    impl Lanes {
        #[target_feature(enable = "avx2")]
        fn new() -> Lanes {
            Lanes {
                lo: _mm256_setzero_si256(),
                hi: _mm256_setzero_si256(),
            }
        }

        #[target_feature(enable = "avx2")]
        fn add(&mut self, v: __m256i) {
            let low32 = _mm256_set1_epi64x(0xffff_ffff);
            self.lo = _mm256_add_epi64(self.lo, _mm256_and_si256(v, low32));
            self.hi = _mm256_add_epi64(self.hi, _mm256_srli_epi64(v, 32));
        }

        /// The lanes folded, plus the sum of the bytes after the last whole block.
        #[target_feature(enable = "avx2")]
        fn finish(self, tail: &[u8]) -> u64 {
            let mut lanes = [0u64; 4];
            // SAFETY: lanes is 32 bytes; an unaligned store.
            unsafe {
                _mm256_storeu_si256(
                    lanes.as_mut_ptr() as *mut __m256i,
                    _mm256_add_epi64(self.lo, self.hi),
                )
            };
            let wide = lanes.iter().fold(0u64, |a, &l| super::fold_add(a, l));
            super::fold_add(wide, super::portable_sum(tail))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain RFC 1071 loop, to check the fast ones against.
    fn reference(data: &[u8]) -> u16 {
        let mut sum = 0u64;
        for p in data.chunks(2) {
            sum += u64::from(u16::from_be_bytes([p[0], *p.get(1).unwrap_or(&0)]));
        }
        fold(sum)
    }

    #[test]
    fn fast_sums_equal_the_plain_one_at_every_length_and_offset() {
        let data: Vec<u8> = (0..3000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let mut out = vec![0u8; 3000];
        for start in 0..9 {
            for len in (0..200).chain([1399, 1400, 1432, 2990]) {
                let d = &data[start..start + len];
                let want = reference(d);
                assert_eq!(sum(d), want, "{start}+{len}");
                assert_eq!(
                    to_big_endian(portable_sum(d)),
                    want,
                    "portable {start}+{len}"
                );
                out.fill(0);
                assert_eq!(copy_and_sum(&mut out[..len], d), want, "copy {start}+{len}");
                assert_eq!(&out[..len], d);
            }
        }
        let ones = vec![0xffu8; 70000];
        assert_eq!(sum(&ones), reference(&ones));
        // lengths that differ copy the shorter one
        assert_eq!(
            copy_and_sum(&mut out[..10], &data[..20]),
            reference(&data[..10])
        );
    }
}
