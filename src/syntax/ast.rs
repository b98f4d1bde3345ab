//! The syntax tree. Every node keeps its span; text is not copied out of the source but read through
//! the source map, which keeps a parsed statement small (a plain word is 12 bytes of span and tag).

use std::rc::Rc;

pub use crate::base::source::Span;

/// One word of a command: a bare word, a string, or a list.
#[derive(Clone, Debug)]
pub struct Word {
    pub span: Span,
    pub kind: WordKind,
}

#[derive(Clone, Debug)]
pub enum WordKind {
    /// Literal text with nothing to expand: a bare word, or the inside of a quoted string.
    Plain { text: Span, quoted: bool },
    /// Text with `$var` interpolation or escapes.
    Parts { parts: Box<[Part]>, quoted: bool },
    /// `[a, b, c]`
    List(Box<[Word]>),
}

#[derive(Clone, Debug)]
pub enum Part {
    Text(Span),
    /// A backslash escape inside a `"..."` string, already decoded.
    Escaped(char),
    /// `$name`, `${name}`, `$1`, `$@`, `$#`: the span covers the whole reference.
    Var(Span),
}

impl Word {
    /// The literal text of a plain, bare word, or None when it is quoted, interpolated or a list.
    pub fn bare_span(&self) -> Option<Span> {
        match self.kind {
            WordKind::Plain {
                text,
                quoted: false,
            } => Some(text),
            _ => None,
        }
    }
    /// The literal text span when the word has nothing to expand (bare or quoted).
    pub fn literal_span(&self) -> Option<Span> {
        match self.kind {
            WordKind::Plain { text, .. } => Some(text),
            _ => None,
        }
    }
    pub fn is_quoted(&self) -> bool {
        matches!(
            self.kind,
            WordKind::Plain { quoted: true, .. } | WordKind::Parts { quoted: true, .. }
        )
    }
}

/// The name of a variable reference span (`$name`, `${name}`, `$1`, `$@`): without `$` and braces.
pub fn var_name(reference: &str) -> &str {
    let name = &reference[1..];
    name.strip_prefix('{')
        .and_then(|n| n.strip_suffix('}'))
        .unwrap_or(name)
}

#[derive(Clone, Debug)]
pub struct Stmt {
    pub span: Span,
    pub kind: StmtKind,
}

pub type Block = Box<[Stmt]>;

/// A command's words, inline for the usual command: a big script's statements are parsed one at a
/// time, twice (check pass and run), and an allocation per statement was a tenth of the work.
pub type Words = smallvec::SmallVec<[Word; 8]>;

#[derive(Clone, Debug)]
pub enum StmtKind {
    /// A statement of the table (`veth a peer b`), a procedure call, or `source FILE`.
    Command(Words),
    Let {
        name: Span,
        value: LetValue,
    },
    For {
        var: Span,
        items: Box<[Word]>,
        body: Block,
    },
    If {
        cond: Cond,
        then: Block,
        otherwise: Option<Block>,
    },
    Fn(Rc<FnDef>),
    In {
        ns: Word,
        body: Block,
    },
    Transaction(Block),
    Expect(Cond),
    /// `expect error "TEXT" { ... }`: the block must fail with a message containing `text`.
    ExpectError {
        text: Word,
        body: Block,
    },
}

#[derive(Clone, Debug)]
pub enum LetValue {
    Word(Word),
    /// `let out = exec "cmd" [in NS]`: the words after `exec`.
    Exec(Box<[Word]>),
}

#[derive(Debug)]
pub struct FnDef {
    pub name: Span,
    pub params: Box<[Span]>,
    pub body: Block,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Cond {
    Or(Box<Cond>, Box<Cond>),
    And(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
    /// `exists link|netns|addr|route X [in NS]`
    Exists {
        kind: Word,
        target: Word,
        ns: Option<Word>,
        span: Span,
    },
    Compare {
        lhs: Word,
        op: CmpOp,
        rhs: Word,
    },
    /// A lone word: true when it expands to something other than "", "0" or "false".
    Truthy(Word),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Contains,
}

impl Cond {
    pub fn span(&self) -> Span {
        match self {
            Cond::Or(a, b) | Cond::And(a, b) => a.span().to(b.span()),
            Cond::Not(c) => c.span(),
            Cond::Exists { span, .. } => *span,
            Cond::Compare { lhs, rhs, .. } => lhs.span.to(rhs.span),
            Cond::Truthy(w) => w.span,
        }
    }
}
