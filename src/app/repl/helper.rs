//! The rustyline helper: completion from completion.rs, the Validator that keeps a multi-line
//! buffer open while a block, list or string in it is unfinished, and `?` (what may come next).

use super::completion::{self, Known, Live};
use crate::interp::world::World;
use crate::syntax::chunker::is_incomplete;
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Cmd, ConditionalEventHandler, Event, EventContext, ExternalPrinter, RepeatCount};
use rustyline::{Context, Helper};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

pub struct NetshHelper {
    /// The session's procedures and variables, refreshed after every input.
    pub known: Known,
    /// The lines of this input already entered at earlier prompts (continuation lines).
    pub pending: String,
    /// Asked for live interface and namespace names while completing.
    world: Rc<RefCell<Box<dyn World>>>,
}

impl NetshHelper {
    pub fn new(world: Rc<RefCell<Box<dyn World>>>) -> NetshHelper {
        NetshHelper {
            known: Known::default(),
            pending: String::new(),
            world,
        }
    }
}

impl Completer for NetshHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let mut live = WorldNames(&self.world);
        let (start, words) = completion::complete(line, pos, &self.known, &mut live);
        let pairs = words
            .into_iter()
            .map(|w| Pair {
                replacement: format!("{w} "),
                display: w,
            })
            .collect();
        Ok((start, pairs))
    }
}

/// The world's names, for completion (none while the world is busy).
struct WorldNames<'a>(&'a RefCell<Box<dyn World>>);

impl Live for WorldNames<'_> {
    fn names(&mut self) -> Vec<String> {
        self.0
            .try_borrow_mut()
            .map(|mut w| w.names())
            .unwrap_or_default()
    }
    fn links(&mut self, ns: Option<&str>) -> Vec<String> {
        self.0
            .try_borrow_mut()
            .map(|mut w| w.links(ns))
            .unwrap_or_default()
    }
    fn namespaces(&mut self) -> Vec<String> {
        self.0
            .try_borrow_mut()
            .map(|mut w| w.namespaces())
            .unwrap_or_default()
    }
}

impl Validator for NetshHelper {
    /// rustyline shows no prompt on a buffer's later lines, so a single typed line that leaves a
    /// block open is accepted here and the loop asks for the rest with a continuation prompt.
    /// A buffer that already spans lines (pasted, or recalled from history) stays open in the
    /// editor until it is complete, so it can be edited as a whole.
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        if !input.contains('\n') {
            return Ok(ValidationResult::Valid(None));
        }
        let whole = if self.pending.is_empty() {
            input.to_string()
        } else {
            format!("{}\n{input}", self.pending)
        };
        Ok(if is_incomplete(&whole) {
            ValidationResult::Incomplete
        } else {
            ValidationResult::Valid(None)
        })
    }
}

impl Hinter for NetshHelper {
    type Hint = String;
}

impl Highlighter for NetshHelper {}

impl Helper for NetshHelper {}

/// What `?` needs to know, kept up to date by the shell's loop: the prompt shown and the session's
/// names.
#[derive(Default)]
pub struct Asked {
    pub prompt: String,
    pub known: Known,
}

/// `?` at the prompt: prints the line, the statement's usage and what may come next (as vtysh
/// does), then the prompt and the line again, unchanged. Inside a string or a comment, or within a
/// word such as a URL, `?` is just a character.
pub struct QuestionMark {
    pub asked: Arc<Mutex<Asked>>,
    pub printer: Mutex<Box<dyn ExternalPrinter + Send>>,
}

/// Whether a `?` typed at the end of `before` asks for help (rather than being text).
pub fn asks_help(before: &str) -> bool {
    let word = before
        .rsplit(|c: char| c.is_whitespace() || c == ';' || c == '{')
        .next()
        .unwrap_or("");
    before.matches('"').count().is_multiple_of(2)
        && before.matches('\'').count().is_multiple_of(2)
        && !before.contains('#')
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl ConditionalEventHandler for QuestionMark {
    fn handle(
        &self,
        _evt: &Event,
        _n: RepeatCount,
        _positive: bool,
        ctx: &EventContext,
    ) -> Option<Cmd> {
        let (line, pos) = (ctx.line(), ctx.pos());
        if !line.is_char_boundary(pos) || !asks_help(&line[..pos]) {
            return None;
        }
        let asked = self.asked.lock().ok()?;
        let help = completion::next_help(line, pos, &asked.known);
        // the terminal is raw: lines end with \r\n
        let mut text = format!("{}{line}?", asked.prompt);
        if help.is_empty() {
            text += "\r\n  (nothing netsh knows comes next here)";
        }
        for row in help {
            text += "\r\n";
            text += &row;
        }
        text += "\r\n";
        drop(asked);
        let mut printer = self.printer.lock().ok()?;
        let _ = printer.print(text);
        Some(Cmd::Noop)
    }
}

#[cfg(test)]
mod tests {
    use super::asks_help;

    #[test]
    fn a_question_mark_is_text_in_strings_comments_and_urls() {
        assert!(asks_help(""));
        assert!(asks_help("link set eth0 "));
        assert!(asks_help("link s"));
        assert!(!asks_help("echo \"what"));
        assert!(!asks_help("expect http http://10.0.0.2/"));
        assert!(!asks_help("netns add a # why"));
    }
}
