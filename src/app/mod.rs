//! The program around the language: the command line, the REPL, sessions (check then run),
//! `help`/`completions`/`man` for the shell, `graph` (a picture of a script's lab), and the fuzzing
//! entry points.
pub mod cli;
pub mod down;
pub mod fuzzing;
pub mod graph;
pub mod manual;
pub mod repl;
pub mod report;
pub mod session;

use crate::base::error::RunError;
use crate::engine::{journal, real};
use crate::interp::world::World;
use cli::Cli;

/// The world a real (not dry) run acts on.
pub fn real_world(cli: &Cli) -> Result<Box<dyn World>, RunError> {
    let mut w = real::RealWorld::new(real::Options {
        strict: cli.strict,
        json: cli.json,
        sandbox: cli.sandbox,
        max_objects: cli.max_objects,
    })?;
    // a script file's runs keep a journal for `netsh down FILE`
    if let (None, Some(file)) = (&cli.command, cli.file.as_deref().filter(|f| *f != "-")) {
        match journal::Journal::open(std::path::Path::new(file)) {
            Ok(j) => w.keep_journal(j),
            Err(e) => eprintln!("netsh: warning: no journal for `netsh down` ({e})"),
        }
    }
    Ok(Box::new(w))
}
