//! The interactive shell. Every input (one line, or several while a block is open) becomes one
//! source file `<repl:N>` of a single session, so variables, procedures and the `in` context
//! carry from one input to the next; it is checked (nothing runs on an error) and then run.
//! Errors are reported and the shell goes on; `exit`, `quit` and Ctrl-D leave it. Ctrl-C while an
//! input runs stops it (a `ping`, an `expect`, a `wait`) and the prompt comes back.

pub mod completion;
mod context;
mod helper;
mod history;
mod prompt;

use crate::app::cli::{Cli, report};
use crate::app::session::Session;
use crate::interp::world::{DryRun, World};
use crate::syntax::chunker::is_incomplete;
use context::ContextLine;
use helper::NetshHelper;
use rustyline::config::{CompletionType, Config};
use rustyline::error::ReadlineError;
use rustyline::history::{FileHistory, History};
use rustyline::{Editor, EventHandler, KeyEvent, Modifiers};
use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

type Shell = Editor<NetshHelper, FileHistory>;

/// What one turn of reading produced.
enum Read {
    Input(String),
    /// Ctrl-C: the input so far is dropped.
    Cancelled,
    /// Ctrl-D.
    Eof,
    Failed(ReadlineError),
}

pub fn run(cli: &Cli) -> i32 {
    let world = Rc::new(RefCell::new(world(cli)));
    let mut editor = match editor(world.clone()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("netsh: cannot start the interactive shell: {e}");
            return 1;
        }
    };
    // `?` shows what may come next; without an external printer (no terminal) it stays a character
    let asked = Arc::new(Mutex::new(helper::Asked::default()));
    if let Ok(printer) = editor.create_external_printer() {
        editor.bind_sequence(
            KeyEvent::new('?', Modifiers::NONE),
            EventHandler::Conditional(Box::new(helper::QuestionMark {
                asked: asked.clone(),
                printer: Mutex::new(Box::new(printer)),
            })),
        );
    }
    let history = history::path();
    if let Some(path) = &history {
        load_history(&mut editor, path);
    }
    eprintln!(
        "netsh interactive shell: `help` lists the statements, Tab completes, Ctrl-D or `exit` leaves"
    );
    let mut session = Session::new(Vec::new());
    // a check typed at the prompt prints its line (no summary: each input is its own run)
    session.interp.checks.sink = Some(Box::new(crate::app::report::Reporter::new(
        crate::app::report::Options {
            quiet: cli.quiet,
            json: cli.json,
            ..Default::default()
        },
    )));
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let mut inputs = 0usize;
    loop {
        let text = match read(&mut editor, session.interp.context(), &asked) {
            Read::Input(text) => text,
            Read::Cancelled => continue,
            Read::Eof => return 0,
            Read::Failed(e) => {
                eprintln!("netsh: cannot read the terminal: {e}");
                return 1;
            }
        };
        // from here until the next prompt, Ctrl-C stops the input (not the shell); a SIGTERM
        // ends the shell once the input has stopped
        let running = crate::sys::signals::Running::start();
        if text.trim().is_empty() {
            continue;
        }
        remember(&mut editor, &text, history.as_deref());
        if matches!(text.trim(), "exit" | "quit") {
            return 0;
        }
        match context::parse(&text) {
            Some(Ok(ContextLine::Enter(ns))) => session.interp.set_base_context(Some(ns)),
            Some(Ok(ContextLine::Leave)) => session.interp.set_base_context(None),
            Some(Err(message)) => eprintln!("netsh: {message}"),
            None => {
                inputs += 1;
                evaluate(
                    &mut session,
                    &format!("<repl:{inputs}>"),
                    &cwd,
                    text,
                    &world,
                    cli.json,
                );
            }
        }
        drop(running);
        if let Some(sig) = crate::sys::signals::pending() {
            eprintln!("netsh: stopped by {}", crate::sys::signals::name(sig));
            return 128 + sig;
        }
        if let Some(h) = editor.helper_mut() {
            h.known.procs = session.interp.procs.keys().cloned().collect();
            h.known.vars = session.checker.variables().map(str::to_string).collect();
            h.known.context = session.interp.context().map(str::to_string);
            if let Ok(mut a) = asked.lock() {
                a.known = h.known.clone();
            }
        }
    }
}

/// The world statements act on: the kernel's, or a dry run when asked for or when there is no
/// runtime (said once, here).
fn world(cli: &Cli) -> Box<dyn World> {
    if !cli.dry_run {
        match crate::app::real_world(cli) {
            Ok(w) => return w,
            Err(e) => eprintln!(
                "netsh: {e}\nnetsh: the shell runs as a dry run: statements print their commands and change nothing"
            ),
        }
    }
    Box::new(DryRun::new(crate::base::json_stream::DryRunLines::new(
        std::io::stdout(),
    )))
}

fn editor(world: Rc<RefCell<Box<dyn World>>>) -> rustyline::Result<Shell> {
    let config = Config::builder()
        .auto_add_history(false)
        .history_ignore_dups(true)?
        .history_ignore_space(true)
        .max_history_size(10_000)?
        .completion_type(CompletionType::List)
        .build();
    let mut editor = Shell::with_config(config)?;
    editor.set_helper(Some(NetshHelper::new(world)));
    Ok(editor)
}

fn load_history(editor: &mut Shell, path: &std::path::Path) {
    if let Err(e) = history::prepare(path) {
        eprintln!(
            "netsh: history will not be kept: cannot create the directory of {}: {e}",
            path.display()
        );
        return;
    }
    if path.exists()
        && let Err(e) = editor.load_history(path)
    {
        eprintln!("netsh: cannot read the history in {}: {e}", path.display());
    }
}

/// Adds an input to the history and appends it to the file at once, so a crash loses nothing.
/// A password typed in the input is kept as `********` (history::redacted); when the input passes
/// a variable as a password, the `let` that gave it its value is hidden too, in the history and
/// in the file, which is then written again.
fn remember(editor: &mut Shell, text: &str, path: Option<&std::path::Path>) {
    let secrets = history::password_variables(text);
    let rewritten = !secrets.is_empty() && hide_earlier_secrets(editor, &secrets);
    match editor.add_history_entry(history::redacted(text)) {
        Ok(true) => {}
        _ if !rewritten => return,
        _ => {}
    }
    let Some(path) = path else { return };
    let saved = if rewritten {
        editor.save_history(path)
    } else {
        editor.append_history(path)
    };
    if let Err(e) = saved {
        eprintln!("netsh: cannot save the history to {}: {e}", path.display());
    }
}

/// Hides the value of each earlier `let` of one of `variables`; true when an entry changed.
fn hide_earlier_secrets(editor: &mut Shell, variables: &[String]) -> bool {
    let entries: Vec<String> = editor.history().iter().cloned().collect();
    let kept: Vec<String> = entries
        .iter()
        .map(|e| history::hidden(e, variables))
        .collect();
    if kept == entries {
        return false;
    }
    let history = editor.history_mut();
    let _ = history.clear();
    for entry in kept {
        let _ = history.add_owned(entry);
    }
    true
}

/// Reads one input: a line, plus continuation lines while a block, list or string is open.
fn read(editor: &mut Shell, context: Option<&str>, asked: &Mutex<helper::Asked>) -> Read {
    let mut text = String::new();
    loop {
        let prompt = if text.is_empty() {
            prompt::primary(context)
        } else {
            prompt::continuation(context)
        };
        if let Some(h) = editor.helper_mut() {
            h.pending.clone_from(&text);
        }
        if let Ok(mut a) = asked.lock() {
            a.prompt.clone_from(&prompt);
        }
        match editor.readline(&prompt) {
            Ok(line) => {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(&line);
                if !is_incomplete(&text) {
                    return Read::Input(text);
                }
            }
            Err(ReadlineError::Interrupted) => return Read::Cancelled,
            Err(ReadlineError::Eof) => return Read::Eof,
            Err(e) => return Read::Failed(e),
        }
    }
}

/// Checks an input and, when it has no error, runs it. Procedures of an input that does not check
/// are forgotten, so the corrected `fn` can be entered again.
fn evaluate(
    session: &mut Session,
    name: &str,
    dir: &std::path::Path,
    text: String,
    world: &Rc<RefCell<Box<dyn World>>>,
    json: bool,
) {
    let file = match session.add(name, dir, text) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("netsh: {e}");
            return;
        }
    };
    let procs = (session.checker.procs.clone(), session.interp.procs.clone());
    let errors = session.check(file);
    if !errors.is_empty() {
        (session.checker.procs, session.interp.procs) = procs;
        report(&errors, session, json);
        return;
    }
    let result = match world.try_borrow_mut() {
        Ok(mut w) => session.run(file, w.as_mut()),
        Err(_) => return,
    };
    let _ = std::io::stdout().flush();
    if let Err(d) = result {
        report(std::slice::from_ref(&d), session, json);
    }
}
