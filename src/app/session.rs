//! A session: the source map, the check pass and the evaluator, carried from one input to the next.
//! A script is one input; at the REPL every entered statement is one.

use crate::base::diag::Diag;
use crate::base::error::RunError;
use crate::base::source::{FileId, SourceMap, Span};
use crate::check::Checker;
use crate::check::tape::Tape;
use crate::interp::world::World;
use crate::interp::{Env, Interp};
use crate::syntax::ast::{Stmt, StmtKind, Words};
use crate::syntax::loader::Loader;
use crate::syntax::parser::{Parsed, parse_items};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

pub struct Session {
    pub map: SourceMap,
    pub loader: Loader,
    pub checker: Checker,
    pub interp: Interp,
    /// The plain lines of the input checked last, typed for its run (see tape.rs).
    tape: Option<(FileId, Tape)>,
}

impl Session {
    pub fn new(args: Vec<String>) -> Session {
        Session {
            map: SourceMap::new(),
            loader: Loader::new(),
            checker: Checker::new(args.len()),
            interp: Interp::new(args),
            tape: None,
        }
    }

    /// For a check that no run follows (`--check`): the check pass writes no tape for a run.
    pub fn check_only(&mut self) {
        self.checker.tape = None;
    }

    pub fn add(&mut self, name: &str, dir: &Path, text: String) -> Result<FileId, RunError> {
        self.map.add(name, dir, Arc::new(text))
    }

    /// The check pass over a whole input: every error, in source order. Nothing has run.
    pub fn check(&mut self, file: FileId) -> Vec<Diag> {
        let (text, base) = {
            let f = self.map.file(file);
            (f.text.clone(), f.base)
        };
        let mut errors = Vec::new();
        let (checker, map, loader) = (&mut self.checker, &mut self.map, &mut self.loader);
        // the statement a plain line becomes when it needs its syntax tree, reused
        let mut buf = Stmt {
            span: Span::default(),
            kind: StmtKind::Command(Words::new()),
        };
        parse_items(&text, base, 0..text.len(), |item| {
            match item {
                Parsed::Plain(words, line) => {
                    checker.plain(words, line, base, map, loader, &mut buf)
                }
                Parsed::Stmt(s) => checker.stmt(s, map, loader),
                Parsed::Err(d) => errors.push(d),
            }
            ControlFlow::Continue(())
        });
        errors.extend(checker.finish(map, loader));
        if let Some(tape) = self.checker.tape.as_deref_mut() {
            self.tape = Some((file, std::mem::take(tape).finish()));
        }
        errors.sort_by_key(|d| (d.span.start, d.span.end));
        for (name, def) in &self.checker.procs {
            self.interp
                .procs
                .entry(name.clone())
                .or_insert_with(|| def.clone());
        }
        errors
    }

    /// Runs a checked input against `world`, stopping at the first failure.
    pub fn run(&mut self, file: FileId, world: &mut dyn World) -> Result<(), Diag> {
        let (text, base) = {
            let f = self.map.file(file);
            (f.text.clone(), f.base)
        };
        let mut env = Env {
            map: &mut self.map,
            loader: &mut self.loader,
            world,
        };
        let r = match self.tape.take() {
            Some((checked, tape)) if checked == file => {
                self.interp.run_taped(&text, base, tape, &mut env)
            }
            _ => self.interp.run_text(&text, base, &mut env),
        };
        // requests still in flight belong to earlier statements: their failure came first
        let start = Span {
            start: base,
            end: base,
        };
        match env.world.settle() {
            Ok(()) => r,
            Err(e) => Err(crate::interp::fail(start, e)),
        }
    }
}
