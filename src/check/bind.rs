//! Binding: matching a command's words against its statement's signature. Positionals come first, in
//! order; keyword arguments follow in any order, as flags do on a command line. The same binding runs
//! in the checker (on the parsed words) and in the evaluator, so both agree on what each word means.

use super::signatures::{Keyword, OptKind, Sig};
use super::types::{Ty, Val};
use crate::base::diag::{Code, Diag, did_you_mean};
use crate::base::source::{SourceMap, Span};
use crate::syntax::ast::{Word, WordKind};
use crate::syntax::plain::PlainWords;
use smallvec::SmallVec;
use std::borrow::Cow;

/// Which argument of the signature a word fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Pos(u8),
    Opt(u8),
    Ns,
    Rest,
}

/// A command matched to its signature: for each argument given, its slot and the index of its word.
#[derive(Debug)]
pub struct Bound {
    pub sig: &'static Sig,
    /// On the stack for the usual statement: binding runs twice for every statement of a script.
    pub args: SmallVec<[(Slot, u32); 12]>,
}

impl Bound {
    /// The type a slot's word must have, and what it is called in messages.
    pub fn slot_type(&self, slot: Slot) -> Option<(Ty, &'static str)> {
        match slot {
            Slot::Pos(i) => self.sig.pos.get(i as usize).map(|p| (p.ty, p.name)),
            Slot::Opt(i) => match self.sig.opts[i as usize].kind {
                OptKind::Value(ty) => Some((ty, self.sig.opts[i as usize].what)),
                _ => None,
            },
            Slot::Ns => Some((Ty::Ns, "namespace")),
            Slot::Rest => None,
        }
    }
}

/// The value of a word in a slot without a type: a switch that is there, or a word of a one-of set
/// (a macvlan's `bridge`) as itself.
pub fn untyped<'a>(sig: &Sig, slot: Slot, text: Cow<'a, str>) -> Val<'a> {
    match slot {
        Slot::Opt(i) if matches!(sig.opts.get(i as usize), Some(o) if o.kind == OptKind::Switch) => {
            Val::Flag
        }
        _ => Val::Text(text),
    }
}

/// The text of a bare (unquoted, uninterpolated) word: only those can be keywords.
pub fn bare<'m>(w: &Word, map: &'m SourceMap) -> Option<&'m str> {
    w.bare_span().map(|s| map.text(s))
}

/// A command's words as binding and typing see them. The syntax tree's words are one kind; a line of
/// plain words still on the stack (`plain::PlainWords`) is the other, so the check pass's common case
/// builds no tree.
pub trait CommandWords {
    fn count(&self) -> usize;
    fn span(&self, i: usize) -> Span;
    /// The text of word `i` if it is bare: only those can be keywords.
    fn bare(&self, i: usize) -> Option<&str>;
    /// Word `i`'s text and where it lies, if it is literal (bare or quoted, nothing to expand).
    fn literal(&self, i: usize) -> Option<(Span, &str)>;
    fn is_list(&self, i: usize) -> bool;
}

/// Words of the syntax tree, read through the source map.
pub struct TreeWords<'w> {
    pub words: &'w [Word],
    pub map: &'w SourceMap,
}

impl CommandWords for TreeWords<'_> {
    fn count(&self) -> usize {
        self.words.len()
    }
    fn span(&self, i: usize) -> Span {
        self.words[i].span
    }
    fn bare(&self, i: usize) -> Option<&str> {
        bare(&self.words[i], self.map)
    }
    fn literal(&self, i: usize) -> Option<(Span, &str)> {
        let span = self.words[i].literal_span()?;
        Some((span, self.map.text(span)))
    }
    fn is_list(&self, i: usize) -> bool {
        matches!(self.words[i].kind, WordKind::List(_))
    }
}

impl CommandWords for PlainWords<'_> {
    fn count(&self) -> usize {
        self.len()
    }
    fn span(&self, i: usize) -> Span {
        PlainWords::span(self, i)
    }
    fn bare(&self, i: usize) -> Option<&str> {
        Some(self.text(i))
    }
    fn literal(&self, i: usize) -> Option<(Span, &str)> {
        Some((PlainWords::span(self, i), self.text(i)))
    }
    fn is_list(&self, _: usize) -> bool {
        false
    }
}

/// Binds `words` (the whole command, leading words included) to `sig`. Every problem found is
/// returned, not just the first.
pub fn bind(sig: &'static Sig, words: &impl CommandWords, stmt: Span) -> Result<Bound, Vec<Diag>> {
    let mut errors = Vec::new();
    let mut args: SmallVec<[(Slot, u32); 12]> = SmallVec::new();
    let mut i = sig.path.len();
    let end = Span::new(stmt.end, stmt.end);

    for (pi, param) in sig.pos.iter().enumerate() {
        if i >= words.count() {
            if !param.optional {
                errors.push(missing(
                    sig,
                    &format!("`{}`", param.name.to_uppercase()),
                    param.ty,
                    end,
                ));
            }
            continue;
        }
        let text = words.bare(i);
        if let Ty::Literal(lit) = param.ty {
            if text == Some(lit) {
                args.push((Slot::Pos(pi as u8), i as u32));
                i += 1;
            }
            continue;
        }
        if text.is_some_and(|t| sig.keyword(t).is_some()) {
            if !param.optional {
                errors.push(
                    missing(
                        sig,
                        &format!("`{}`", param.name.to_uppercase()),
                        param.ty,
                        words.span(i),
                    )
                    .label(format!("expected {} before this", param.ty.describe())),
                );
            }
            continue;
        }
        args.push((Slot::Pos(pi as u8), i as u32));
        i += 1;
    }

    while i < words.count() {
        let text = words.bare(i);
        if let Some(t) = text
            && let Some(kw) = sig.keyword(t)
        {
            // `in` takes a namespace as a valued option would
            let (slot, opt) = match kw {
                Keyword::Ns => (Slot::Ns, None),
                Keyword::Opt(oi) => (Slot::Opt(oi), Some(&sig.opts[oi as usize])),
            };
            match opt.map_or(OptKind::Value(Ty::Ns), |o| o.kind) {
                OptKind::Value(ty) => {
                    let repeat = opt.is_some_and(|o| o.repeat);
                    take_value(sig, words, i, slot, t, ty, repeat, &mut args, &mut errors);
                    i += 2;
                }
                OptKind::Switch => {
                    if args.iter().any(|(s, _)| *s == slot) {
                        errors.push(duplicate(t, words.span(i)));
                    }
                    args.push((slot, i as u32));
                    i += 1;
                }
                OptKind::OneOf(_) => {
                    if let Some(&(_, prev)) = args.iter().find(|(s, _)| *s == slot) {
                        let what = opt.map_or("namespace", |o| o.what);
                        errors.push(
                            Diag::new(
                                Code::DuplicateArgument,
                                words.span(i),
                                format!("a second {what} `{t}`"),
                            )
                            .label("given twice")
                            .related(words.span(prev as usize), "first given here"),
                        );
                    }
                    args.push((slot, i as u32));
                    i += 1;
                }
            }
            continue;
        }
        if sig.rest {
            args.push((Slot::Rest, i as u32));
            i += 1;
            continue;
        }
        errors.push(unexpected(sig, words.span(i), text));
        i += 1;
    }

    for (oi, opt) in sig.opts.iter().enumerate() {
        if opt.required && !args.iter().any(|(s, _)| *s == Slot::Opt(oi as u8)) {
            let ty = match opt.kind {
                OptKind::Value(ty) => ty,
                _ => Ty::Text,
            };
            errors.push(missing(
                sig,
                &format!("`{} {}`", opt.key, opt.key.to_uppercase()),
                ty,
                end,
            ));
        }
    }
    for &(a, b) in sig.conflicts {
        let at = |k: &str| {
            sig.opt(k)
                .and_then(|(oi, _)| args.iter().find(|(s, _)| *s == Slot::Opt(oi as u8)))
        };
        if let (Some(_), Some(&(_, wb))) = (at(a), at(b)) {
            errors.push(
                Diag::new(
                    Code::ConflictingArguments,
                    words.span(wb as usize),
                    format!("`{a}` and `{b}` cannot be given together"),
                )
                .label("conflicts with an earlier argument"),
            );
        }
    }
    if errors.is_empty() {
        Ok(Bound { sig, args })
    } else {
        Err(errors)
    }
}

#[allow(clippy::too_many_arguments)]
fn take_value(
    sig: &Sig,
    words: &impl CommandWords,
    i: usize,
    slot: Slot,
    key: &str,
    ty: Ty,
    repeat: bool,
    args: &mut SmallVec<[(Slot, u32); 12]>,
    errors: &mut Vec<Diag>,
) {
    let kw = words.span(i);
    if !repeat && let Some(&(_, prev)) = args.iter().find(|(s, _)| *s == slot) {
        errors.push(duplicate(key, kw).related(words.span(prev as usize - 1), "first given here"));
    }
    if i + 1 < words.count() {
        args.push((slot, (i + 1) as u32));
    } else {
        errors.push(
            Diag::new(
                Code::MissingArgument,
                kw,
                format!("`{key}` needs a value: {}", ty.describe()),
            )
            .label("nothing follows")
            .help(format!("usage: {}", sig.usage())),
        );
    }
}

fn missing(sig: &Sig, what: &str, ty: Ty, at: Span) -> Diag {
    Diag::new(
        Code::MissingArgument,
        at,
        format!("`{}` needs {what}: {}", sig.path.join(" "), ty.describe()),
    )
    .label("missing here")
    .help(format!("usage: {}", sig.usage()))
}

fn duplicate(key: &str, at: Span) -> Diag {
    Diag::new(
        Code::DuplicateArgument,
        at,
        format!("`{key}` is given twice"),
    )
    .label("given again here")
}

fn unexpected(sig: &Sig, at: Span, text: Option<&str>) -> Diag {
    let shown = text.map_or_else(|| "this word".to_string(), |t| format!("`{t}`"));
    let mut help = text.and_then(|t| did_you_mean(t, sig.keywords()));
    let usage = format!("usage: {}", sig.usage());
    help = Some(match help {
        Some(h) => format!("{h} {usage}"),
        None => usage,
    });
    Diag::new(
        Code::UnexpectedArgument,
        at,
        format!("`{}` does not take {shown}", sig.path.join(" ")),
    )
    .label("unexpected argument")
    .help_opt(help)
}
