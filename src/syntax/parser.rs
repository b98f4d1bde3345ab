//! From text to syntax tree: the chunker splits, pest parses each chunk, and the pairs become AST nodes
//! whose spans are offsets in the source map.

use crate::base::diag::{Code, Diag};
use crate::syntax::ast::*;
use crate::syntax::chunker::{self, ChunkError};
use crate::syntax::plain;
use pest::Parser;
use pest::iterators::Pair;
use std::ops::ControlFlow;
use std::rc::Rc;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/netsh.pest"]
struct Grammar;

/// Parses a whole file, calling `each` with every top-level statement, or the error that stopped one,
/// in order. Parsing goes on after an error, so a file's mistakes are all reported together.
/// `each` returns `ControlFlow::Break` to stop early (the evaluator stops at the first failure).
pub fn parse_file(text: &str, base: u32, each: impl FnMut(Result<&Stmt, Diag>) -> ControlFlow<()>) {
    parse_lines(text, base, 0..text.len(), each);
}

/// Where a statement that is a whole line of plain words lies in its file's text: the line starts at
/// `start`, and the next line at `next`. Such a line is all the run needs to find it again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlainLine {
    pub start: usize,
    pub next: usize,
}

/// A top-level statement as `parse_items` hands it out.
pub enum Parsed<'a, 't> {
    /// A whole line of plain words, not yet a syntax tree, and where it lies.
    Plain(&'a plain::PlainWords<'t>, PlainLine),
    Stmt(&'a Stmt),
    Err(Diag),
}

/// `parse_file` over the part `range` of `text`, which must start and end where the parse of the
/// whole file would: at the start of a line it reached.
pub fn parse_lines(
    text: &str,
    base: u32,
    range: std::ops::Range<usize>,
    mut each: impl FnMut(Result<&Stmt, Diag>) -> ControlFlow<()>,
) {
    // plain lines are read into this one statement, so most lines cost no allocation
    let mut line = Stmt {
        span: Span::default(),
        kind: StmtKind::Command(Words::new()),
    };
    parse_items(text, base, range, |item| match item {
        Parsed::Plain(plain, _) => each(Ok(plain.stmt(&mut line))),
        Parsed::Stmt(s) => each(Ok(s)),
        Parsed::Err(d) => each(Err(d)),
    });
}

/// `parse_lines`, with lines of plain words handed out as they are (see `plain::PlainWords`).
pub fn parse_items<'t>(
    text: &'t str,
    base: u32,
    range: std::ops::Range<usize>,
    mut each: impl FnMut(Parsed<'_, 't>) -> ControlFlow<()>,
) {
    let bytes = text.as_bytes();
    let stop = range.end.min(bytes.len());
    let mut i = range.start;
    while i < stop {
        let (end, line) = plain::line_at(text, i, base);
        let flow = match line {
            plain::Line::Blank => ControlFlow::Continue(()),
            plain::Line::Command(plain) => {
                let next = (end + 1).min(bytes.len());
                each(Parsed::Plain(&plain, PlainLine { start: i, next }))
            }
            plain::Line::Other => {
                // strings, blocks, lists, `;`, `\`: the scanner finds where this statement ends
                let (items, next) = chunker::Scanner::at(text, i).one();
                i = next;
                let flow = items.into_iter().try_for_each(|item| match item {
                    Err(e) => each(Parsed::Err(chunk_error(&e, base))),
                    Ok(chunk) if chunk.broken => ControlFlow::Continue(()),
                    Ok(chunk) => {
                        match parse_chunk(&text[chunk.start..chunk.end], base + chunk.start as u32)
                        {
                            Ok(stmts) => stmts.iter().try_for_each(|s| each(Parsed::Stmt(s))),
                            Err(d) => each(Parsed::Err(d)),
                        }
                    }
                });
                if flow.is_break() {
                    return;
                }
                continue;
            }
        };
        if flow.is_break() {
            return;
        }
        i = end + 1;
    }
}

/// Parses the text of one chunk, whose first byte is at map offset `base`.
pub fn parse_chunk(text: &str, base: u32) -> Result<Vec<Stmt>, Diag> {
    let mut pairs = Grammar::parse(Rule::chunk, text).map_err(|e| {
        let stray_else = text
            .trim_start()
            .strip_prefix("else")
            .is_some_and(|r| r.starts_with([' ', '\t', '{']));
        if stray_else {
            let at = base + (text.len() - text.trim_start().len()) as u32;
            return Diag::new(
                Code::Syntax,
                Span::new(at, at + 4),
                "`else` without an `if` on the line before",
            )
            .label("this `else` starts a new statement")
            .help("put `else` on the same line as the `}` that closes the `if` block: `} else {`");
        }
        syntax_error(e, text, base)
    })?;
    let chunk = pairs.next().expect("the chunk rule always yields one pair");
    let b = Builder { base };
    Ok(chunk
        .into_inner()
        .filter(|p| p.as_rule() != Rule::EOI)
        .map(|p| b.stmt(p))
        .collect())
}

fn chunk_error(e: &ChunkError, base: u32) -> Diag {
    let at = |i: usize, len: u32| Span::new(base + i as u32, base + i as u32 + len);
    match *e {
        ChunkError::UnterminatedString { start, quote } => Diag::new(
            Code::UnterminatedString,
            at(start, 1),
            "this string is never closed",
        )
        .label(format!(
            "the string starts here; it needs a closing {quote}"
        )),
        ChunkError::UnterminatedBlock { open, bracket } => Diag::new(
            Code::UnterminatedBlock,
            at(open, 1),
            format!("this `{bracket}` is never closed"),
        )
        .label("opened here")
        .help(format!(
            "add the closing `{}` at the end of the block",
            match bracket {
                '{' => '}',
                '[' => ']',
                _ => ')',
            }
        )),
        ChunkError::UnexpectedClose { at: i, bracket } => Diag::new(
            Code::UnexpectedClose,
            at(i, 1),
            format!("unexpected `{bracket}`"),
        )
        .label("nothing is open here"),
        ChunkError::MismatchedClose {
            open,
            at: i,
            bracket,
        } => Diag::new(
            Code::UnexpectedClose,
            at(i, 1),
            format!("expected `{bracket}` here"),
        )
        .label("this does not close what is open")
        .related(at(open, 1), "opened here"),
        ChunkError::TooDeep { at: i } => Diag::new(
            Code::TooDeep,
            at(i, 1),
            format!(
                "this statement nests more than {} levels deep",
                chunker::MAX_DEPTH
            ),
        )
        .label("one level too many")
        .help("split it into procedures, or flatten the conditions"),
    }
}

fn syntax_error(e: pest::error::Error<Rule>, text: &str, base: u32) -> Diag {
    use pest::error::{ErrorVariant, InputLocation};
    let pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    // pest stops before the blanks that precede the offending word: point at the word itself
    let mut pos = pos.min(text.len());
    pos += text[pos..].len() - text[pos..].trim_start_matches([' ', '\t']).len();
    let rest = &text[pos..];
    let mut found: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && !"(){}[];,".contains(*c))
        .take(20)
        .collect();
    if found.is_empty() {
        found = rest
            .chars()
            .take(1)
            .filter(|c| !c.is_whitespace())
            .collect();
    }
    let len = found.len().max(1).min(rest.len().max(1)) as u32;
    let span = Span::new(base + pos as u32, base + pos as u32 + len);
    let expected = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => describe(positives),
        ErrorVariant::CustomError { message } => message.clone(),
    };
    let shown = if found.is_empty() {
        "end of statement".to_string()
    } else {
        format!("`{found}`")
    };
    let mut d = Diag::new(Code::Syntax, span, format!("unexpected {shown}"));
    d = d.label(if expected.is_empty() {
        "the statement is incomplete here".to_string()
    } else {
        format!("expected {expected}")
    });
    if found.starts_with('(') || found.ends_with('(') {
        d = d.help("a procedure is defined as `fn NAME(a, b) { ... }` and called as `NAME A B`");
    }
    d
}

fn describe(rules: &[Rule]) -> String {
    let mut names: Vec<&str> = rules
        .iter()
        .filter_map(|r| match r {
            Rule::block => Some("a block `{ ... }`"),
            Rule::ident => Some("a name"),
            Rule::cmp_op => Some("`==`, `!=` or `contains`"),
            Rule::EOI => Some("the end of the statement"),
            Rule::open_paren => Some("`(`"),
            Rule::close_paren => Some("`)`"),
            Rule::comma => Some("`,`"),
            Rule::assign => Some("`=`"),
            Rule::cond | Rule::conj | Rule::compare | Rule::unary | Rule::exists => {
                Some("a condition")
            }
            Rule::list
            | Rule::bare
            | Rule::bare_item
            | Rule::dq_string
            | Rule::sq_string
            | Rule::exec_expr
            | Rule::kw_exec
            | Rule::var
            | Rule::text => Some("a word"),
            Rule::fn_def
            | Rule::let_stmt
            | Rule::for_stmt
            | Rule::if_stmt
            | Rule::in_block
            | Rule::transaction
            | Rule::expect_error
            | Rule::expect_cond
            | Rule::command => Some("a statement"),
            _ => None,
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    match names.len() {
        0 => String::new(),
        1 => names[0].to_string(),
        _ => {
            let last = names.pop().unwrap_or_default();
            format!("{} or {last}", names.join(", "))
        }
    }
}

struct Builder {
    base: u32,
}

impl Builder {
    fn span(&self, p: &Pair<Rule>) -> Span {
        let s = p.as_span();
        Span::new(self.base + s.start() as u32, self.base + s.end() as u32)
    }

    fn stmt(&self, p: Pair<Rule>) -> Stmt {
        let span = self.span(&p);
        let rule = p.as_rule();
        let mut inner = meaningful(p);
        let kind = match rule {
            Rule::command => {
                let words: Words = inner.map(|w| self.word(w)).collect();
                // pest's span takes in the blanks after the last word; a command ends at its last word
                if let (Some(first), Some(last)) = (words.first(), words.last()) {
                    return Stmt {
                        span: first.span.to(last.span),
                        kind: StmtKind::Command(words),
                    };
                }
                StmtKind::Command(words)
            }
            Rule::let_stmt => {
                let name = self.span(&inner.next().expect("let has a name"));
                let v = inner.next().expect("let has a value");
                let value = if v.as_rule() == Rule::exec_expr {
                    let words = v.into_inner().map(|w| match w.as_rule() {
                        // the `exec` keyword becomes the command's first word
                        Rule::kw_exec => {
                            let s = self.span(&w);
                            let text = Span::new(s.start, s.start + 4);
                            Word {
                                span: text,
                                kind: WordKind::Plain {
                                    text,
                                    quoted: false,
                                },
                            }
                        }
                        _ => self.word(w),
                    });
                    LetValue::Exec(words.collect())
                } else {
                    LetValue::Word(self.word(v))
                };
                StmtKind::Let { name, value }
            }
            Rule::for_stmt => {
                let var = self.span(&inner.next().expect("for has a variable"));
                let mut items = Vec::new();
                let mut body = None;
                for q in inner {
                    if q.as_rule() == Rule::block {
                        body = Some(self.block(q));
                    } else {
                        items.push(self.word(q));
                    }
                }
                StmtKind::For {
                    var,
                    items: items.into(),
                    body: body.unwrap_or_default(),
                }
            }
            Rule::if_stmt => self.if_stmt(inner),
            Rule::fn_def => {
                let name = self.span(&inner.next().expect("fn has a name"));
                let mut params = Vec::new();
                let mut body = None;
                for q in inner {
                    match q.as_rule() {
                        Rule::ident => params.push(self.span(&q)),
                        _ => body = Some(self.block(q)),
                    }
                }
                StmtKind::Fn(Rc::new(FnDef {
                    name,
                    params: params.into(),
                    body: body.unwrap_or_default(),
                    span,
                }))
            }
            Rule::in_block => {
                let ns = self.word(inner.next().expect("in has a namespace"));
                let body = self.block(inner.next().expect("in has a block"));
                StmtKind::In { ns, body }
            }
            Rule::transaction => StmtKind::Transaction(self.block(inner.next().expect("a block"))),
            Rule::expect_error => {
                let text = self.word(inner.next().expect("expect error has a text"));
                let body = self.block(inner.next().expect("expect error has a block"));
                StmtKind::ExpectError { text, body }
            }
            Rule::expect_cond => StmtKind::Expect(self.cond(inner.next().expect("a condition"))),
            other => unreachable!("not a statement rule: {other:?}"),
        };
        Stmt { span, kind }
    }

    fn if_stmt(&self, mut inner: Inner) -> StmtKind {
        let cond = self.cond(inner.next().expect("if has a condition"));
        let then = self.block(inner.next().expect("if has a block"));
        let otherwise = inner.next().map(|q| match q.as_rule() {
            Rule::if_stmt => {
                let span = self.span(&q);
                let kind = self.if_stmt(meaningful(q));
                vec![Stmt { span, kind }].into_boxed_slice()
            }
            _ => self.block(q),
        });
        StmtKind::If {
            cond,
            then,
            otherwise,
        }
    }

    fn block(&self, p: Pair<Rule>) -> Block {
        p.into_inner().map(|s| self.stmt(s)).collect()
    }

    fn cond(&self, p: Pair<Rule>) -> Cond {
        let span = self.span(&p);
        let rule = p.as_rule();
        let mut inner = meaningful(p);
        match rule {
            Rule::cond | Rule::conj => {
                let first = self.cond(inner.next().expect("one operand"));
                inner.fold(first, |acc, q| {
                    let rhs = Box::new(self.cond(q));
                    if rule == Rule::cond {
                        Cond::Or(Box::new(acc), rhs)
                    } else {
                        Cond::And(Box::new(acc), rhs)
                    }
                })
            }
            Rule::unary => {
                let first = inner.next().expect("unary has content");
                if first.as_rule() == Rule::kw_not {
                    Cond::Not(Box::new(
                        self.cond(inner.next().expect("not has an operand")),
                    ))
                } else {
                    self.cond(first)
                }
            }
            Rule::exists => {
                let kind = self.word(inner.next().expect("exists kind"));
                let target = self.word(inner.next().expect("exists target"));
                let ns = inner.next().map(|w| self.word(w));
                Cond::Exists {
                    kind,
                    target,
                    ns,
                    span,
                }
            }
            Rule::compare => {
                let lhs = self.word(inner.next().expect("an operand"));
                match inner.next() {
                    None => Cond::Truthy(lhs),
                    Some(op) => {
                        let op = match op.as_str().trim() {
                            "==" => CmpOp::Eq,
                            "!=" => CmpOp::Ne,
                            _ => CmpOp::Contains,
                        };
                        let rhs = self.word(inner.next().expect("a second operand"));
                        Cond::Compare { lhs, op, rhs }
                    }
                }
            }
            other => unreachable!("not a condition rule: {other:?}"),
        }
    }

    fn word(&self, p: Pair<Rule>) -> Word {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::list => Word {
                span,
                kind: WordKind::List(p.into_inner().map(|q| self.word(q)).collect()),
            },
            Rule::sq_string => {
                let text = self.span(&p.into_inner().next().expect("sq_text"));
                Word {
                    span,
                    kind: WordKind::Plain { text, quoted: true },
                }
            }
            Rule::dq_string => {
                let inner = Span::new(span.start + 1, span.end - 1);
                self.parts(p, span, inner, true)
            }
            Rule::bare | Rule::bare_item => self.parts(p, span, span, false),
            other => unreachable!("not a word rule: {other:?}"),
        }
    }

    /// A word made of text, escapes and variables; plain when it is only text.
    fn parts(&self, p: Pair<Rule>, span: Span, inner: Span, quoted: bool) -> Word {
        let mut parts = Vec::new();
        for q in p.into_inner() {
            let s = self.span(&q);
            match q.as_rule() {
                Rule::var => parts.push(Part::Var(s)),
                Rule::escape => parts.push(Part::Escaped(unescape(q.as_str()))),
                _ => parts.push(Part::Text(s)),
            }
        }
        let kind = match parts.as_slice() {
            [] => WordKind::Plain {
                text: inner,
                quoted,
            },
            [Part::Text(t)] => WordKind::Plain { text: *t, quoted },
            _ => WordKind::Parts {
                parts: parts.into(),
                quoted,
            },
        };
        Word { span, kind }
    }
}

type Inner<'i> = std::iter::Filter<pest::iterators::Pairs<'i, Rule>, fn(&Pair<'i, Rule>) -> bool>;

/// The inner pairs of `p` without the keywords that only shape the statement.
fn meaningful(p: Pair<'_, Rule>) -> Inner<'_> {
    p.into_inner().filter(|q| !is_punctuation(q.as_rule()))
}

/// Keywords that only shape a statement (`let`, `for`, `in`, `else`, ...): the builder skips them.
/// `not` and `exec` carry meaning and are kept.
fn is_punctuation(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::open_paren
            | Rule::close_paren
            | Rule::comma
            | Rule::assign
            | Rule::kw_fn
            | Rule::kw_let
            | Rule::kw_for
            | Rule::kw_in
            | Rule::kw_if
            | Rule::kw_else
            | Rule::kw_and
            | Rule::kw_or
            | Rule::kw_exists
            | Rule::kw_transaction
            | Rule::kw_expect
            | Rule::kw_error
    )
}

fn unescape(esc: &str) -> char {
    match esc.chars().nth(1).unwrap_or('\\') {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        '0' => '\0',
        c => c,
    }
}
