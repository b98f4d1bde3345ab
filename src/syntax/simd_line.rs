//! The fast path's scanner, sixteen bytes at a time (SSE2, which every x86-64 has): one pass finds
//! where a line ends and where its words lie. It takes only lines of plain words and blanks; any
//! byte the scalar scanner treats specially (strings, variables, blocks, lists, escapes, comments,
//! `\r`) makes it decline, and `plain::plain_line` reads the line instead.

use crate::syntax::plain::MAX_LINE;
use core::arch::x86_64::{
    __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
    _mm_set1_epi8, _mm_setzero_si128, _mm_sub_epi8,
};

/// Bytes that make the scanner decline: the scalar scanner's special and comment bytes. The
/// ranges (`"#$%&'()`, `[\]`, `{|}`) also hold a few word bytes (`%&|`), whose lines the scalar
/// scanner reads just as well.
const DECLINE_RANGES: [(u8, u8); 3] = [(b'"', b')'), (b'[', b']'), (b'{', b'}')];
const DECLINE_BYTES: [u8; 2] = [b';', b'\r'];

/// Scans the line that starts at `at`. With only plain words and blanks on it, returns where it ends
/// (its newline, or the end of `bytes`) and how many words it has, their spans (offsets from `at`)
/// in `spans`. Returns None for any other line, or one with more words than `spans` holds.
pub fn scan(bytes: &[u8], at: usize, spans: &mut [(u16, u16)]) -> Option<(usize, usize)> {
    let mut n = 0;
    let mut start = 0u16; // the open word's first byte, from `at`
    let mut in_word = 0u32; // 1 when the chunk before ended inside a word
    let mut pos = at;
    loop {
        let (newline, blank, decline) = classify(chunk(bytes, pos));
        // the bytes before the newline, if the chunk has one
        let live = if newline != 0 {
            (newline & newline.wrapping_neg()) - 1
        } else {
            0xffff
        };
        if decline & live != 0 {
            return None;
        }
        let word = !blank & live;
        let after_word = (word << 1 | in_word) & 0xffff; // bit j: byte j - 1 is in a word
        let starts = word & !after_word;
        let mut edges = starts | (after_word & !word);
        // offsets are 16-bit: a line of nearly 64 KiB or more is left to the scalar scanner
        let chunk_at = u16::try_from(pos - at)
            .ok()
            .filter(|&c| c as usize + 16 <= MAX_LINE)?;
        while edges != 0 {
            let j = edges.trailing_zeros();
            if starts >> j & 1 != 0 {
                start = chunk_at + j as u16;
            } else {
                *spans.get_mut(n)? = (start, chunk_at + j as u16);
                n += 1;
            }
            edges &= edges - 1;
        }
        if newline != 0 {
            return Some((pos + newline.trailing_zeros() as usize, n));
        }
        in_word = word >> 15;
        pos += 16;
    }
}

/// The sixteen bytes at `pos`; past the end of `bytes` they read as newlines, so the text's end
/// ends its last line.
fn chunk(bytes: &[u8], pos: usize) -> __m128i {
    let mut padded = [b'\n'; 16];
    let sixteen: &[u8; 16] = match bytes.get(pos..pos + 16) {
        Some(s) => s.try_into().expect("a range of sixteen bytes"),
        None => {
            let rest = &bytes[pos.min(bytes.len())..];
            padded[..rest.len()].copy_from_slice(rest);
            &padded
        }
    };
    // SAFETY: the pointer is to sixteen readable bytes; an unaligned load needs nothing more
    unsafe { _mm_loadu_si128(sixteen.as_ptr().cast()) }
}

/// Bit masks of a chunk's newlines, blanks, and bytes that make the scanner decline.
fn classify(c: __m128i) -> (u32, u32, u32) {
    // SAFETY: these intrinsics only compute on registers, and SSE2 is part of every x86-64 target
    unsafe {
        let eq = |b: u8| _mm_cmpeq_epi8(c, _mm_set1_epi8(b as i8));
        let mask = |v: __m128i| _mm_movemask_epi8(v) as u32;
        // `lo..=hi` holds a byte when byte - lo, unsigned, is at most hi - lo
        let within = |(lo, hi): (u8, u8)| {
            let off = _mm_sub_epi8(c, _mm_set1_epi8(lo as i8));
            _mm_cmpeq_epi8(_mm_min_epu8(off, _mm_set1_epi8((hi - lo) as i8)), off)
        };
        let decline = DECLINE_BYTES
            .map(eq)
            .into_iter()
            .chain(DECLINE_RANGES.map(within))
            .fold(_mm_setzero_si128(), |acc, v| _mm_or_si128(acc, v));
        (
            mask(eq(b'\n')),
            mask(_mm_or_si128(eq(b' '), eq(b'\t'))),
            mask(decline),
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::syntax::plain::scanners_agree as agree;

    #[test]
    fn the_wide_scanner_reads_lines_as_the_scalar_one_does() {
        let mut rng = crate::base::test_rng::Xorshift(0x2545_f491_4f6c_dd1d);
        // mostly word bytes and blanks, so long plain lines are common; the rest decline
        let alphabet: Vec<char> =
            "abcdefgh0123456789./:-=%&|aaaaaaaaaaaaaa        \t\t\n\n\n#;{}[]()\"'$\\\rüü"
                .chars()
                .collect();
        let mut plain = 0;
        for _ in 0..50_000 {
            let len = rng.below(120) as usize;
            let text: String = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize])
                .collect();
            plain += agree(&text);
        }
        assert!(plain > 20_000, "only {plain} plain lines were compared");
        for text in [
            "",
            "\n",
            "abcdefghijklmnop",
            "abcdefghijklmnop\n",
            "abcdefghijklmno x",
            "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopq",
            "               x",
            "                x",
            "a b c d e f g h i j k l m n o p",
            "a b c d e f g h i j k l m n o p q",
            "let x = 1",
            "addr add 10.0.0.1/24 dev eth0\r\nlink set eth0 up\r\n",
            "echo a#b\n# only a comment\n\t \n",
        ] {
            agree(text);
        }
        // offsets are 16-bit: the longest line the fast path takes, and one byte more
        for len in [
            crate::syntax::plain::MAX_LINE,
            crate::syntax::plain::MAX_LINE + 1,
        ] {
            let line = "echo a ".to_string() + &"x".repeat(len - 7);
            assert_eq!(
                agree(&line),
                (len == crate::syntax::plain::MAX_LINE) as usize
            );
        }
    }
}
