//! The fast path: most lines of a big script are one command of plain words (`addr add 10.0.0.1/24
//! dev eth0`). Such a chunk is split here without the PEG machinery; anything else (keywords,
//! strings, variables, lists, blocks, continuations) goes to the pest grammar. Both paths build the
//! same tree: a test and the fuzz target compare them.

use super::ast::{Stmt, StmtKind, Word, WordKind};
use super::source::Span;

/// Words the grammar gives a form of its own: these always take the full parser.
const KEYWORDS: &[&[u8]] = &[
    b"let",
    b"for",
    b"if",
    b"fn",
    b"transaction",
    b"else",
    b"expect",
];

/// What one line of a file is, as far as the fast path can tell.
pub enum Line {
    /// Only blanks and a comment.
    Blank,
    /// One command of plain words.
    Command(Stmt),
    /// Anything else: the scanner and the grammar take it.
    Other,
}

/// Bytes a plain word may not hold (they start strings, variables, blocks, lists, escapes).
static SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let s = b";{}[]()\"'$\\";
    let mut i = 0;
    while i < s.len() {
        t[s[i] as usize] = true;
        i += 1;
    }
    t
};

fn blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t')
}

/// Reads one line (without its newline) that starts at map offset `base`.
pub fn plain_line(line: &str, base: u32) -> Line {
    // a CRLF file's lines end in `\r`; a `\r` anywhere else separates statements (the grammar's way)
    let bytes = line.as_bytes();
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    if memchr::memchr(b'\r', bytes).is_some() {
        return Line::Other;
    }
    let mut spans: [(u32, u32); 16] = [(0, 0); 16];
    let mut n = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if blank(b) {
            i += 1;
            continue;
        }
        if b == b'#' {
            break; // a comment to the end of the line
        }
        let start = i;
        while i < bytes.len() && !blank(bytes[i]) {
            if SPECIAL[bytes[i] as usize] {
                return Line::Other;
            }
            i += 1;
        }
        if n == spans.len() {
            return Line::Other; // a long command: the general path handles it
        }
        spans[n] = (start as u32, i as u32);
        n += 1;
    }
    if n == 0 {
        return Line::Blank;
    }
    let first = &bytes[spans[0].0 as usize..spans[0].1 as usize];
    if KEYWORDS.contains(&first) {
        return Line::Other;
    }
    let words: Box<[Word]> = spans[..n]
        .iter()
        .map(|&(s, e)| {
            let span = Span::new(base + s, base + e);
            Word {
                span,
                kind: WordKind::Plain {
                    text: span,
                    quoted: false,
                },
            }
        })
        .collect();
    let span = words[0].span.to(words[n - 1].span);
    Line::Command(Stmt {
        span,
        kind: StmtKind::Command(words),
    })
}

/// A chunk that is exactly one command of plain words, or None.
pub fn plain_command(text: &str, base: u32) -> Option<Stmt> {
    if text.contains('\n') {
        return None;
    }
    match plain_line(text, base) {
        Line::Command(stmt) => Some(stmt),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::plain_command;
    use crate::syntax::parser::parse_chunk;

    /// The fast path and the grammar build the same tree, or the fast path declines.
    pub fn agrees(text: &str) -> bool {
        match plain_command(text, 7) {
            None => true,
            Some(fast) => match parse_chunk(text, 7) {
                Ok(full) => full.len() == 1 && format!("{:?}", full[0]) == format!("{fast:?}"),
                Err(_) => false,
            },
        }
    }

    #[test]
    fn fast_and_full_parsers_agree() {
        for text in [
            "addr add 10.0.0.1/24 dev eth0",
            "  netns   add\tdocker1  ",
            "echo foo#bar # a comment",
            "macvlan bridge on eth0 in ns1\r",
            "store etcd http://a:2379,http://b:2379",
            "sysctl net.ipv4.ip_forward = 1",
            "echo ü→x",
            "echo ==",
        ] {
            assert!(
                plain_command(text, 7).is_some(),
                "fast path declined {text:?}"
            );
            assert!(agrees(text), "parsers disagree on {text:?}");
        }
        for text in [
            "let x = 1",
            "echo $x",
            "echo \"a\"",
            "for i in 1..2 { echo }",
            "echo a \\\n b",
            "expect reach a",
            "echo [a]",
            "fn f() {}",
            "#only",
        ] {
            assert!(plain_command(text, 7).is_none(), "fast path took {text:?}");
        }
    }
}
