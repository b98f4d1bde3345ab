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

/// Bytes a plain word may not hold (they start strings, variables, blocks, lists, escapes).
fn special(b: u8) -> bool {
    matches!(
        b,
        b';' | b'{' | b'}' | b'[' | b']' | b'(' | b')' | b'"' | b'\'' | b'$' | b'\\'
    )
}

/// A chunk that is exactly one command of plain words, or None.
pub fn plain_command(text: &str, base: u32) -> Option<Stmt> {
    let bytes = text.as_bytes();
    let mut words: Vec<Word> = Vec::with_capacity(8);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
            if b == b'\n' || (b == b'\r' && i + 1 < bytes.len()) {
                // a line break inside a chunk: only lists and blocks have those
                return None;
            }
            i += 1;
            continue;
        }
        if b == b'#' {
            // a comment to the end of the line; the chunk ends at the line's end
            if bytes[i..].contains(&b'\n') {
                return None;
            }
            break;
        }
        let start = i;
        while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n') {
            if special(bytes[i]) {
                return None;
            }
            i += 1;
        }
        let span = Span::new(base + start as u32, base + i as u32);
        words.push(Word {
            span,
            kind: WordKind::Plain {
                text: span,
                quoted: false,
            },
        });
    }
    let first = words.first()?;
    let first_text = &bytes[(first.span.start - base) as usize..(first.span.end - base) as usize];
    if KEYWORDS.contains(&first_text) {
        return None;
    }
    let span = first.span.to(words.last()?.span);
    Some(Stmt {
        span,
        kind: StmtKind::Command(words.into_boxed_slice()),
    })
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
