//! Splits a file into top-level statements ("chunks") at the newlines and `;` that stand outside
//! strings, blocks, lists and comments. The parser then works one chunk at a time: memory stays bounded
//! on huge scripts, and a mistake in one statement does not hide the mistakes in the next ones.
//! The same scan tells the REPL whether a line leaves a block or string open.

/// What can go wrong before the grammar even runs; offsets are local to the scanned text.
use std::collections::VecDeque;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkError {
    UnterminatedString {
        start: usize,
        quote: char,
    },
    UnterminatedBlock {
        open: usize,
        bracket: char,
    },
    UnexpectedClose {
        at: usize,
        bracket: char,
    },
    MismatchedClose {
        open: usize,
        at: usize,
        bracket: char,
    },
    /// Nesting past `MAX_DEPTH` at `at`: the parser, checker and evaluator recurse once per level.
    TooDeep {
        at: usize,
    },
}

/// How deep one statement may nest: blocks, lists and parentheses, plus the `not` and `else` words
/// (each is one more level of recursion in the parser). Far beyond what a person writes, far below
/// what overflows the stack (about 2,500 levels).
pub const MAX_DEPTH: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub start: usize,
    pub end: usize,
    /// The chunk is broken (see the error list); do not parse it.
    pub broken: bool,
}

#[derive(Default)]
pub struct Chunks {
    pub chunks: Vec<Chunk>,
    pub errors: Vec<ChunkError>,
}

fn closer(open: u8) -> u8 {
    match open {
        b'{' => b'}',
        b'[' => b']',
        _ => b')',
    }
}

/// `not` or `else` as a whole word at the start of `rest`.
fn is_nesting_word(rest: &[u8]) -> bool {
    let word = |w: &[u8]| {
        rest.starts_with(w)
            && rest
                .get(w.len())
                .is_none_or(|b| b" \t\r\n;{}[]()\"'\\".contains(b))
    };
    word(b"not") || word(b"else")
}

/// Scans `text` into chunks. Blank and comment-only stretches produce no chunk.
pub fn split(text: &str) -> Chunks {
    let mut out = Chunks::default();
    for item in Scanner::new(text) {
        match item {
            Ok(c) => out.chunks.push(c),
            Err(e) => out.errors.push(e),
        }
    }
    out
}

/// The chunks of a text one at a time, so a huge script never holds all of them at once. Errors
/// come just before the (broken) chunk they belong to.
pub struct Scanner<'t> {
    bytes: &'t [u8],
    i: usize,
    pending: VecDeque<Result<Chunk, ChunkError>>,
}

impl<'t> Scanner<'t> {
    pub fn new(text: &'t str) -> Scanner<'t> {
        Scanner::at(text, 0)
    }

    /// A scanner that starts at byte `offset` of `text` (which must be outside any statement).
    pub fn at(text: &'t str, offset: usize) -> Scanner<'t> {
        Scanner {
            bytes: text.as_bytes(),
            i: offset,
            pending: VecDeque::new(),
        }
    }

    /// Scans just the next chunk: its errors and the chunk itself, and where scanning stopped.
    pub fn one(mut self) -> (VecDeque<Result<Chunk, ChunkError>>, usize) {
        if self.i < self.bytes.len() {
            self.scan_chunk();
        }
        (self.pending, self.i)
    }

    /// Scans from `self.i` to the end of the next chunk with content, queueing it and its errors.
    fn scan_chunk(&mut self) {
        let bytes = self.bytes;
        let mut open: Vec<(usize, u8)> = Vec::new();
        let mut start = self.i;
        let mut content = false;
        let mut broken = false;
        let mut word_start = true;
        // `not` and `else` words seen in this statement: they nest without brackets
        let mut chained = 0;
        let mut too_deep = false;
        let mut i = self.i;
        while i < bytes.len() {
            let b = bytes[i];
            match b {
                b'#' if word_start => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                    continue;
                }
                b'"' | b'\'' => {
                    content = true;
                    let quote = b;
                    let begin = i;
                    i += 1;
                    while i < bytes.len() && bytes[i] != quote {
                        if quote == b'"' && bytes[i] == b'\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                    if i >= bytes.len() {
                        self.pending.push_back(Err(ChunkError::UnterminatedString {
                            start: begin,
                            quote: quote as char,
                        }));
                        self.pending.push_back(Ok(Chunk {
                            start,
                            end: bytes.len(),
                            broken: true,
                        }));
                        self.i = bytes.len();
                        return;
                    }
                    word_start = false;
                    i += 1;
                    continue;
                }
                b'{' | b'[' | b'(' => {
                    content = true;
                    open.push((i, b));
                    if open.len() + chained > MAX_DEPTH && !too_deep {
                        too_deep = true;
                        broken = true;
                        self.pending.push_back(Err(ChunkError::TooDeep { at: i }));
                    }
                }
                b'}' | b']' | b')' => {
                    content = true;
                    match open.pop() {
                        Some((_, o)) if closer(o) == b => {}
                        Some((at, o)) => {
                            self.pending.push_back(Err(ChunkError::MismatchedClose {
                                open: at,
                                at: i,
                                bracket: closer(o) as char,
                            }));
                            broken = true;
                        }
                        None => {
                            self.pending.push_back(Err(ChunkError::UnexpectedClose {
                                at: i,
                                bracket: b as char,
                            }));
                            broken = true;
                        }
                    }
                }
                b'\\' if bytes.get(i + 1) == Some(&b'\n') => {
                    i += 2;
                    word_start = true;
                    continue;
                }
                b'\\' if bytes.get(i + 1) == Some(&b'\r') && bytes.get(i + 2) == Some(&b'\n') => {
                    i += 3;
                    word_start = true;
                    continue;
                }
                b'\n' | b';' if open.is_empty() => {
                    if content {
                        self.pending.push_back(Ok(Chunk {
                            start,
                            end: i,
                            broken,
                        }));
                        self.i = i + 1;
                        return;
                    }
                    // nothing but blanks and comments so far: the next chunk starts after this
                    start = i + 1;
                    word_start = true;
                    i += 1;
                    continue;
                }
                b' ' | b'\t' | b'\r' | b'\n' | b';' => {}
                b'n' | b'e' if word_start && is_nesting_word(&bytes[i..]) => {
                    content = true;
                    chained += 1;
                    if open.len() + chained > MAX_DEPTH && !too_deep {
                        too_deep = true;
                        broken = true;
                        self.pending.push_back(Err(ChunkError::TooDeep { at: i }));
                    }
                }
                _ => content = true,
            }
            word_start = matches!(
                b,
                b' ' | b'\t' | b'\r' | b'\n' | b';' | b'{' | b'}' | b'[' | b'('
            );
            i += 1;
        }
        self.i = bytes.len();
        if let Some(&(at, b)) = open.first() {
            self.pending.push_back(Err(ChunkError::UnterminatedBlock {
                open: at,
                bracket: b as char,
            }));
            broken = true;
        }
        if content {
            self.pending.push_back(Ok(Chunk {
                start,
                end: bytes.len(),
                broken,
            }));
        }
    }
}

impl Iterator for Scanner<'_> {
    type Item = Result<Chunk, ChunkError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pending.is_empty() && self.i < self.bytes.len() {
            self.scan_chunk();
        }
        self.pending.pop_front()
    }
}

/// True when `text` ends inside an open block, list or string, or on a `\` continuation: the REPL
/// then asks for more lines.
pub fn is_incomplete(text: &str) -> bool {
    let trimmed = text.trim_end_matches([' ', '\t']);
    if trimmed.ends_with('\\') {
        return true;
    }
    split(text).errors.iter().any(|e| {
        matches!(
            e,
            ChunkError::UnterminatedString { .. } | ChunkError::UnterminatedBlock { .. }
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges(text: &str) -> Vec<&str> {
        split(text)
            .chunks
            .iter()
            .map(|c| text[c.start..c.end].trim())
            .collect()
    }

    #[test]
    fn splits_at_newlines_and_semicolons_outside_blocks() {
        let text = "netns add a; netns add b\nfor i in 1..2 {\n  echo $i; echo x\n}\n# c\n\n";
        assert_eq!(
            ranges(text),
            vec![
                "netns add a",
                "netns add b",
                "for i in 1..2 {\n  echo $i; echo x\n}"
            ]
        );
    }

    #[test]
    fn strings_comments_and_continuations_do_not_split() {
        let text = "echo \"a;b\n#c\" # x { ;\necho a \\\n b\necho foo#bar";
        assert_eq!(
            ranges(text),
            vec!["echo \"a;b\n#c\" # x { ;", "echo a \\\n b", "echo foo#bar"]
        );
    }

    #[test]
    fn reports_unterminated_and_stray_brackets() {
        let s = split("in a {\n echo x\n");
        assert_eq!(
            s.errors,
            vec![ChunkError::UnterminatedBlock {
                open: 5,
                bracket: '{'
            }]
        );
        assert!(s.chunks[0].broken);
        let s = split("echo }\necho ok");
        assert_eq!(
            s.errors,
            vec![ChunkError::UnexpectedClose {
                at: 5,
                bracket: '}'
            }]
        );
        assert_eq!(s.chunks.len(), 2);
        assert!(!s.chunks[1].broken);
        let s = split("echo \"abc");
        assert_eq!(
            s.errors,
            vec![ChunkError::UnterminatedString {
                start: 5,
                quote: '"'
            }]
        );
    }

    #[test]
    fn incomplete_input_for_the_repl() {
        assert!(is_incomplete("in ns1 {"));
        assert!(is_incomplete("echo 'abc"));
        assert!(is_incomplete("veth a \\"));
        assert!(!is_incomplete("in ns1 { echo a }"));
        assert!(!is_incomplete("echo }"));
    }
}
