//! The fast path: most lines of a big script are one command of plain words (`addr add 10.0.0.1/24
//! dev eth0`). Such a chunk is split here without the PEG machinery; anything else (keywords,
//! strings, variables, lists, blocks, continuations) goes to the pest grammar. Both paths build the
//! same tree: a test and the fuzz target compare them.

use crate::base::source::Span;
use crate::syntax::ast::{Stmt, StmtKind, Word, WordKind, Words};

/// Words the grammar gives a form of its own: these always take the full parser. (A match, not a
/// table: it compiles to a length switch and integer compares, for every line of a script.)
fn is_keyword(word: &[u8]) -> bool {
    matches!(
        word,
        b"let" | b"for" | b"if" | b"fn" | b"transaction" | b"else" | b"expect"
    )
}

/// What one line of a file is, as far as the fast path can tell.
pub enum Line<'t> {
    /// Only blanks and a comment.
    Blank,
    /// One command of plain words.
    Command(PlainWords<'t>),
    /// Anything else: the scanner and the grammar take it.
    Other,
}

/// The longest command the fast path takes; longer ones go to the grammar.
const MAX_WORDS: usize = 16;
/// The longest line the fast path takes, in bytes: its words' offsets are 16-bit.
pub const MAX_LINE: usize = u16::MAX as usize;

/// A line's command of plain words, as spans on the stack: the check pass binds and types them
/// without building a syntax tree.
pub struct PlainWords<'t> {
    line: &'t str,
    /// The map offset of the line's first byte.
    base: u32,
    /// Each word, as offsets in the line (kept small: a line is handed on by value).
    spans: [(u16, u16); MAX_WORDS],
    n: usize,
}

impl<'t> PlainWords<'t> {
    pub fn len(&self) -> usize {
        self.n
    }
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }
    /// Word `i`'s text.
    pub fn text(&self, i: usize) -> &'t str {
        let (s, e) = self.spans[i];
        &self.line[s as usize..e as usize]
    }
    /// Word `i`'s span in the source map.
    pub fn span(&self, i: usize) -> Span {
        let (s, e) = self.spans[i];
        Span::new(self.base + s as u32, self.base + e as u32)
    }
    /// The whole command's span.
    pub fn command_span(&self) -> Span {
        Span::new(self.span(0).start, self.span(self.n - 1).end)
    }
    /// The command as the syntax tree has it, in `stmt`, a buffer the caller reuses.
    pub fn stmt<'s>(&self, stmt: &'s mut Stmt) -> &'s Stmt {
        stmt.span = self.command_span();
        match &mut stmt.kind {
            StmtKind::Command(words) => self.fill(words),
            kind => {
                let mut words = Words::new();
                self.fill(&mut words);
                *kind = StmtKind::Command(words);
            }
        }
        stmt
    }

    /// The words as the syntax tree has them, into `words` (cleared first).
    pub fn fill(&self, words: &mut Words) {
        words.clear();
        words.extend((0..self.n).map(|i| {
            let span = self.span(i);
            Word {
                span,
                kind: WordKind::Plain {
                    text: span,
                    quoted: false,
                },
            }
        }));
    }
}

/// What each byte is to the fast path's scanner.
const WORD: u8 = 0;
const BLANK: u8 = 1;
/// Bytes a plain word may not hold (they start strings, variables, blocks, lists, escapes), and a
/// `\r` inside a line, which separates statements as the grammar reads it.
const SPECIAL: u8 = 2;
const COMMENT: u8 = 3;

static CLASS: [u8; 256] = {
    let mut t = [WORD; 256];
    t[b' ' as usize] = BLANK;
    t[b'\t' as usize] = BLANK;
    t[b'#' as usize] = COMMENT;
    let s = b";{}[]()\"'$\\\r";
    let mut i = 0;
    while i < s.len() {
        t[s[i] as usize] = SPECIAL;
        i += 1;
    }
    t
};

/// Reads one line (without its newline) that starts at map offset `base`.
pub fn plain_line(line: &str, base: u32) -> Line<'_> {
    // a CRLF file's lines end in `\r`; a `\r` anywhere else separates statements (the grammar's way)
    let bytes = line.as_bytes();
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    if bytes.len() > MAX_LINE {
        return Line::Other;
    }
    let mut spans: [(u16, u16); MAX_WORDS] = [(0, 0); MAX_WORDS];
    let mut n = 0;
    let mut i = 0;
    while i < bytes.len() {
        match CLASS[bytes[i] as usize] {
            BLANK => {
                i += 1;
                continue;
            }
            COMMENT => {
                // a comment runs to the end of the line, unless a `\r` ends it first
                if memchr::memchr(b'\r', &bytes[i..]).is_some() {
                    return Line::Other;
                }
                break;
            }
            SPECIAL => return Line::Other,
            _ => {}
        }
        let start = i;
        while i < bytes.len() {
            match CLASS[bytes[i] as usize] {
                WORD | COMMENT => i += 1,
                BLANK => break,
                _ => return Line::Other,
            }
        }
        if n == spans.len() {
            return Line::Other; // a long command: the general path handles it
        }
        spans[n] = (start as u16, i as u16);
        n += 1;
    }
    words_line(line, base, spans, n)
}

/// The line that starts at offset `at` of `text` (map offset `base + at`): where it ends (its
/// newline, or the end of the text) and what it is.
pub fn line_at(text: &str, at: usize, base: u32) -> (usize, Line<'_>) {
    #[cfg(target_arch = "x86_64")]
    {
        let mut spans: [(u16, u16); MAX_WORDS] = [(0, 0); MAX_WORDS];
        if let Some((end, n)) = crate::syntax::simd_line::scan(text.as_bytes(), at, &mut spans) {
            return (end, words_line(&text[at..end], base + at as u32, spans, n));
        }
    }
    scalar_line_at(text, at, base)
}

/// `line_at` by the scalar scanner alone: the definition the wide scanner agrees with.
pub fn scalar_line_at(text: &str, at: usize, base: u32) -> (usize, Line<'_>) {
    let end = memchr::memchr(b'\n', &text.as_bytes()[at..]).map_or(text.len(), |n| at + n);
    (end, plain_line(&text[at..end], base + at as u32))
}

impl Line<'_> {
    /// What the line is, in a form to compare: None for the grammar's, else its words' spans.
    pub fn word_spans(&self) -> Option<Vec<Span>> {
        match self {
            Line::Blank => Some(Vec::new()),
            Line::Command(words) => Some((0..words.len()).map(|i| words.span(i)).collect()),
            Line::Other => None,
        }
    }
}

/// A line of `n` plain words at `spans`: blank, a command, or (led by a keyword) the grammar's.
fn words_line(line: &str, base: u32, spans: [(u16, u16); MAX_WORDS], n: usize) -> Line<'_> {
    if n == 0 {
        return Line::Blank;
    }
    let first = &line.as_bytes()[spans[0].0 as usize..spans[0].1 as usize];
    if is_keyword(first) {
        return Line::Other;
    }
    Line::Command(PlainWords {
        line,
        base,
        spans,
        n,
    })
}

/// A chunk that is exactly one command of plain words, or None.
pub fn plain_command(text: &str, base: u32) -> Option<Stmt> {
    if text.contains('\n') {
        return None;
    }
    match plain_line(text, base) {
        Line::Command(plain) => {
            let mut words = Words::new();
            plain.fill(&mut words);
            Some(Stmt {
                span: plain.command_span(),
                kind: StmtKind::Command(words),
            })
        }
        _ => None,
    }
}

/// Reads every line of `text` with the fast path's wide scanner and with its scalar one, and panics
/// unless both find the same end and the same words. Returns how many lines were plain commands.
pub fn scanners_agree(text: &str) -> usize {
    let mut commands = 0;
    let mut at = 0;
    while at < text.len() {
        let (end, scalar) = scalar_line_at(text, at, 100);
        let (wide_end, wide) = line_at(text, at, 100);
        assert_eq!(
            (wide_end, wide.word_spans()),
            (end, scalar.word_spans()),
            "the scanners disagree on the line at {at} of {text:?}"
        );
        commands += matches!(wide, Line::Command(_)) as usize;
        at = end + 1;
    }
    commands
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
