//! A session: the source map, the check pass and the evaluator, carried from one input to the next.
//! A script is one input; at the REPL every entered statement is one.

use crate::check::Checker;
use crate::diag::Diag;
use crate::interp::world::World;
use crate::interp::{Env, Interp};
use crate::loader::Loader;
use crate::syntax::parser::parse_file;
use crate::syntax::source::{FileId, SourceMap, Span};
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

pub struct Session {
    pub map: SourceMap,
    pub loader: Loader,
    pub checker: Checker,
    pub interp: Interp,
}

impl Session {
    pub fn new(args: Vec<String>) -> Session {
        Session {
            map: SourceMap::new(),
            loader: Loader::new(),
            checker: Checker::new(args.len()),
            interp: Interp::new(args),
        }
    }

    pub fn add(&mut self, name: &str, dir: &Path, text: String) -> Result<FileId, String> {
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
        parse_file(&text, base, |r| {
            match r {
                Ok(s) => checker.stmt(s, map, loader),
                Err(d) => errors.push(d),
            }
            ControlFlow::Continue(())
        });
        errors.extend(checker.finish(map, loader));
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
        let r = self.interp.run_text(&text, base, &mut env);
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
