//! The command line: `netsh FILE [ARGS]`, `netsh -c '...'`, `netsh -` (stdin), bare `netsh` (REPL),
//! and the commands that describe netsh (`help`, `completions`, `man`; see manual.rs).

use crate::app::manual::Topic;
use crate::app::session::Session;
use crate::base::diag::Diag;
use crate::base::json_stream::{self, Type};
use crate::interp::world::{DryRun, World};
use crate::syntax::loader::decode;
use clap::{Parser, Subcommand};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

pub const EXAMPLES: &str = "\
Examples:
  netsh --sandbox examples/ch09-macvlan-bridge.netsh   run a lab in a private network namespace
  netsh --dry-run examples/ch08-flannel-vxlan.netsh    print the equivalent ip/etcdctl commands
  netsh -c 'netns add ns1; veth v1 peer v2 peer-in ns1' --dry-run
  netsh lab.netsh docker1 10.10.10.101/24              script arguments are $1, $2, $@
  netsh                                                interactive shell (`help` lists statements)

A script may start with `#!/usr/bin/env netsh` and run as a program; one named like a
command (help, completions, man, down) runs as `netsh ./help`.
Each check (`expect`) prints a line as it finishes, and a run with checks ends with a summary;
--quiet keeps only failures, --keep-going runs every check, --report tap|junit=FILE reports for CI.
Exit status: 0 success, 1 a statement failed at run time (or an `expect` failed),
2 the script does not parse or check (then nothing was applied).";

#[derive(Parser, Debug)]
#[command(
    name = "netsh",
    version,
    about = "A scriptable network shell: namespaces, links, addresses, routes, flannel overlays and Docker-style networks in a small language",
    after_help = EXAMPLES,
    trailing_var_arg = true,
    // a command is only a first word: `netsh lab.netsh help` and `netsh -n help` run scripts
    args_conflicts_with_subcommands = true,
    // `help` is netsh's own: the statements, not clap's help for subcommands
    disable_help_subcommand = true
)]
pub struct Cli {
    /// Run these statements instead of a file (`;` or newlines separate them)
    #[arg(short = 'c', value_name = "STATEMENTS")]
    pub command: Option<String>,
    /// Print what would be done, as the equivalent ip/bridge/sysctl/etcdctl commands; touch nothing
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Only parse and check the script; run nothing
    #[arg(long)]
    pub check: bool,
    /// Run in a fresh, private network and mount namespace: nothing outside is touched, and
    /// everything made is gone when netsh exits
    #[arg(long)]
    pub sandbox: bool,
    /// Standard output as JSON records, one object with a `type` per line: checks, show, echo,
    /// exec, changes, rollback, errors (the diagnostics drawn for people stay on standard error)
    #[arg(long)]
    pub json: bool,
    /// Keep what a failing script did instead of undoing it
    #[arg(long)]
    pub no_rollback: bool,
    /// Fail on what already exists, as ip(8) does
    #[arg(long)]
    pub strict: bool,
    /// Stop a run that would create more than N namespaces and links (each costs kernel memory)
    #[arg(long, value_name = "N", default_value_t = crate::engine::real::MAX_OBJECTS)]
    pub max_objects: usize,
    /// Show only the checks that fail (and errors); passing checks print nothing
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Run every check and report every failure (exit 1 at the end) instead of stopping at the
    /// first failed check; any other failing statement still stops the run
    #[arg(long)]
    pub keep_going: bool,
    /// Report the checks for CI as well: `tap` (TAP 14 on standard output) or `junit=FILE`
    /// (JUnit XML); may be given more than once
    #[arg(long, value_name = "tap|junit=FILE", value_parser = crate::app::report::parse_report)]
    pub report: Vec<crate::app::report::ReportKind>,
    /// The script to run (`-` reads standard input); without one, netsh starts its interactive shell
    #[arg(value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub file: Option<String>,
    /// Arguments for the script: $1, $2, ... and $@
    #[arg(value_name = "ARGS", allow_hyphen_values = true)]
    pub args: Vec<String>,
    #[command(subcommand)]
    pub tool: Option<Tool>,
}

/// The commands that describe netsh rather than run a script.
#[derive(Subcommand, Debug)]
pub enum Tool {
    /// Print the statements, or one statement's usage and example, as the interactive `help` does
    Help {
        /// A statement (`macvlan`, `link set`) or language keyword; none lists them all
        #[arg(value_name = "STATEMENT", value_parser = Topic, hide_possible_values = true)]
        topic: Vec<String>,
    },
    /// Print a completion script for SHELL to standard output
    Completions {
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the manual page netsh(1), in roff
    #[command(alias = "manpage")]
    Man,
    /// Draw the lab a script builds (its namespaces, links and overlays) from a dry run of it,
    /// without touching the kernel
    Graph {
        /// The script to draw (`-` reads standard input)
        #[arg(value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
        file: String,
        /// svg (laid out, the default), dot (for Graphviz), json or text
        #[arg(long, value_name = "FORMAT", default_value = "svg", value_parser = ["svg", "dot", "json", "text"])]
        format: String,
        /// Arguments for the script: $1, $2, ... and $@
        #[arg(
            value_name = "ARGS",
            allow_hyphen_values = true,
            trailing_var_arg = true
        )]
        args: Vec<String>,
    },
}

pub fn main() -> i32 {
    // Off a terminal (pipes, CI logs, tests) diagnostics are not wrapped, so each stays greppable.
    if !std::io::stderr().is_terminal() {
        let _ = miette::set_hook(Box::new(|_| {
            Box::new(
                miette::MietteHandlerOpts::new()
                    .wrap_lines(false)
                    .color(false)
                    .build(),
            )
        }));
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match cli.tool {
        Some(Tool::Graph { file, format, args }) => {
            return crate::app::graph::run(&file, &format, args, cli.json);
        }
        Some(tool) => return crate::app::manual::run(tool),
        None => {}
    }
    run(cli)
}

/// A script to run: what diagnostics call it, the directory `source` paths start from, its bytes,
/// and its arguments.
type Input = (String, PathBuf, Vec<u8>, Vec<String>);

/// Where the script text comes from, and the script's arguments; `None` means the REPL.
fn input(cli: &Cli) -> Result<Option<Input>, String> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    if let Some(cmd) = &cli.command {
        let args = cli.file.iter().chain(&cli.args).cloned().collect();
        return Ok(Some(("-c".into(), cwd, cmd.clone().into_bytes(), args)));
    }
    let read_stdin = || {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map(|_| buf)
            .map_err(|e| format!("cannot read standard input: {e}"))
    };
    match cli.file.as_deref() {
        Some("-") => Ok(Some((
            "<stdin>".into(),
            cwd,
            read_stdin()?,
            cli.args.clone(),
        ))),
        Some(path) => {
            let bytes = crate::syntax::loader::read_whole(Path::new(path))
                .map_err(|e| format!("cannot read {path}: {e}"))?;
            let dir = Path::new(path)
                .parent()
                .map(Path::to_path_buf)
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(cwd);
            Ok(Some((path.to_string(), dir, bytes, cli.args.clone())))
        }
        None if !std::io::stdin().is_terminal() => {
            Ok(Some(("<stdin>".into(), cwd, read_stdin()?, Vec::new())))
        }
        None => Ok(None),
    }
}

fn run(cli: Cli) -> i32 {
    // before anything is written: with --json standard output carries records only
    json_stream::set_json(cli.json);
    // first, while netsh is still one thread: a sandbox cannot be entered once threads exist
    if cli.sandbox
        && !cli.dry_run
        && !cli.check
        && let Err(e) = crate::sys::sandbox::enter()
    {
        failed(&e.to_string());
        return 1;
    }
    // `netsh down FILE`; a script named `down` runs as `./down`
    if cli.command.is_none() && cli.file.as_deref() == Some("down") {
        return match cli.args.as_slice() {
            [script] => crate::app::down::down(script, cli.json),
            _ => {
                eprintln!(
                    "netsh: usage: netsh down FILE (to run a script named down: netsh ./down)"
                );
                2
            }
        };
    }
    let (name, dir, bytes, args) = match input(&cli) {
        Ok(Some(i)) => i,
        Ok(None) => return crate::app::repl::run(&cli),
        Err(e) => {
            failed(&e);
            return 2;
        }
    };
    let text = match decode(bytes) {
        Ok(t) => t,
        Err(bad) => {
            failed(&format!(
                "{name}:{}:{}: the script is not UTF-8 text (invalid byte at offset {}); nothing was run",
                bad.line, bad.column, bad.offset
            ));
            return 2;
        }
    };
    let mut session = Session::new(args);
    if name != "-c" && name != "<stdin>" {
        session.loader.set_main(Path::new(&name));
    }
    let file = match session.add(&name, &dir, text) {
        Ok(f) => f,
        Err(e) => {
            failed(&e.to_string());
            return 2;
        }
    };
    if cli.check {
        session.check_only();
    }
    let errors = session.check(file);
    if !errors.is_empty() {
        report(&errors, &session, cli.json);
        eprintln!(
            "netsh: {} error{} found; nothing was run",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        );
        return 2;
    }
    if cli.check {
        return 0;
    }
    let stdout = std::io::stdout();
    let mut world: Box<dyn World> = if cli.dry_run {
        let out = json_stream::DryRunLines::new(std::io::BufWriter::new(stdout.lock()));
        if session.checker.asks_exists {
            Box::new(DryRun::new(out))
        } else {
            Box::new(DryRun::unmodelled(out))
        }
    } else {
        match crate::app::real_world(&cli) {
            Ok(w) => w,
            Err(e) => {
                failed(&e.to_string());
                return 1;
            }
        }
    };
    if !cli.dry_run {
        crate::sys::signals::install();
    }
    // a dry run makes no checks: it reports none
    let reporter = (!cli.dry_run).then(|| {
        let r = crate::app::report::Reporter::shared(report_options(&cli));
        r.borrow().begin();
        session.interp.checks.sink = Some(Box::new(crate::app::report::Shared(r.clone())));
        r
    });
    session.interp.checks.keep_going = cli.keep_going;
    let mut result = session.run(file, world.as_mut());
    // captures end with the script, before a rollback takes their links away
    world.end_recordings();
    let _ = std::io::stdout().flush();
    // with --keep-going, the failed checks the run went on after fail it now
    let kept = std::mem::take(&mut session.interp.checks.failures);
    if result.is_ok() && !kept.is_empty() {
        report(&kept, &session, cli.json);
        result = Err(kept[0].clone());
    } else if !kept.is_empty() {
        report(&kept, &session, cli.json);
    }
    let changes = world.changes();
    let code = match &result {
        Ok(()) => 0,
        Err(d) => {
            if kept.is_empty() {
                report(std::slice::from_ref(d), &session, cli.json);
            }
            // the whole script is one transaction (see docs/GUARANTEES.md)
            if !cli.no_rollback
                && let Some(r) = world.rollback(0)
            {
                if cli.json {
                    json_stream::record(Type::Rollback, r.record(cli.sandbox, false));
                }
                let said = if cli.sandbox {
                    r.sandbox_summary()
                } else {
                    r.summary()
                };
                if let Some(said) = said {
                    eprintln!("{said}");
                }
            }
            match crate::sys::signals::pending() {
                Some(sig) => 128 + sig,
                None => 1,
            }
        }
    };
    if let Some(n) = changes
        && (result.is_ok() || cli.no_rollback)
    {
        if cli.json {
            json_stream::record(Type::Changes, serde_json::json!({ "count": n }));
        }
        eprintln!("netsh: {n} change{}", if n == 1 { "" } else { "s" });
    }
    drop(world);
    let finished = reporter.map_or(Ok(()), |r| r.borrow().finish(changes));
    match finished {
        Ok(()) => code,
        Err(e) => {
            failed(&e);
            code.max(1)
        }
    }
}

/// An error that is no diagnostic of the script (a file that cannot be read, a sandbox that
/// cannot be made): in words on standard error, and with --json as an `error` record too.
fn failed(message: &str) {
    eprintln!("netsh: {message}");
    if json_stream::json() {
        json_stream::record(
            Type::Error,
            serde_json::json!({
                "code": null, "message": message, "location": null, "span": null,
                "label": null, "help": null,
            }),
        );
    }
}

/// How the run's checks are shown, from the command line.
pub fn report_options(cli: &Cli) -> crate::app::report::Options {
    use crate::app::report::ReportKind;
    crate::app::report::Options {
        quiet: cli.quiet,
        json: cli.json,
        tap: cli.report.contains(&ReportKind::Tap),
        junit: cli.report.iter().find_map(|r| match r {
            ReportKind::Junit(p) => Some(p.clone()),
            ReportKind::Tap => None,
        }),
    }
}

/// How many diagnostics are shown in full; the rest are counted (rendering each one reads its file,
/// so thousands of them from a huge generated script would take minutes and help nobody).
pub const SHOWN_DIAGNOSTICS: usize = 50;

/// Prints diagnostics: miette's graphical report on standard error, and with --json an `error`
/// record per diagnostic on standard output too.
pub fn report(errors: &[Diag], session: &Session, json: bool) {
    let mut err = std::io::stderr().lock();
    if errors.len() > SHOWN_DIAGNOSTICS {
        let _ = writeln!(
            err,
            "netsh: showing the first {SHOWN_DIAGNOSTICS} of {} errors",
            errors.len()
        );
    }
    for d in errors.iter().take(SHOWN_DIAGNOSTICS) {
        if json {
            let base = session.map.file_of(d.span).base;
            let v = serde_json::json!({
                "code": d.code.as_str(),
                "message": d.message,
                "location": session.map.locate(d.span),
                "span": { "start": d.span.start - base, "end": d.span.end - base },
                "label": d.label,
                "help": d.help,
            });
            json_stream::record(Type::Error, v);
        }
        let _ = writeln!(err, "{}", render_safely(d, session));
    }
}

/// miette's graphical report, or a plain `file:line:col: message` when miette cannot draw it (it
/// panics on a label past column 65535, as in a line of 100 000 characters).
fn render_safely(d: &Diag, session: &Session) -> String {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let drawn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        format!("{:?}", miette::Report::new(d.render(&session.map)))
    }));
    std::panic::set_hook(hook);
    drawn.unwrap_or_else(|_| {
        let mut s = format!(
            "{}\n  × {}: {}",
            d.code.as_str(),
            session.map.locate(d.span),
            d.message
        );
        if let Some(h) = &d.help {
            s += &format!("\n  help: {h}");
        }
        s
    })
}
