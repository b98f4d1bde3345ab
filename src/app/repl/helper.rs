//! The rustyline helper: completion from completion.rs, and the Validator that keeps a multi-line
//! buffer open while a block, list or string in it is unfinished.

use super::completion::{self, Known};
use crate::interp::world::World;
use crate::syntax::chunker::is_incomplete;
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};
use std::cell::RefCell;
use std::rc::Rc;

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
        let mut live = || match self.world.try_borrow_mut() {
            Ok(mut w) => w.names(),
            Err(_) => Vec::new(),
        };
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
