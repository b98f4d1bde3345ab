//! What netsh says about itself outside the REPL: `netsh help [TOPIC]`, `netsh completions SHELL`
//! and `netsh man`. All three come from the clap definition (cli.rs) and the statement table
//! (check/signatures.rs), so they cannot drift from what netsh accepts.

use crate::app::cli::{Cli, Tool};
use crate::base::source::SourceMap;
use crate::check::Procs;
use crate::check::help::{LANGUAGE, lookup};
use crate::check::signatures::{TABLE, statement_words};
use clap::CommandFactory;
use clap::builder::{PossibleValue, TypedValueParser};
use roff::{Roff, bold, roman};
use std::io::Write;

/// Parses a help topic: any word is accepted (the message for an unknown one, with its suggestion,
/// is help.rs's), but the statement names are its possible values, which is what the completion
/// scripts offer after `netsh help`.
#[derive(Clone, Debug)]
pub struct Topic;

impl TypedValueParser for Topic {
    type Value = String;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        Ok(value.to_string_lossy().into_owned())
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            statement_words().into_iter().map(PossibleValue::new),
        ))
    }
}

/// Runs one of the commands and returns the exit status.
pub fn run(tool: Tool) -> i32 {
    let (text, code) = match tool {
        Tool::Help { topic } => {
            match lookup(&topic.join(" "), &Procs::default(), &SourceMap::new()) {
                Ok(text) => (text + "\n", 0),
                Err(unknown) => {
                    eprintln!("netsh: {unknown}");
                    return 2;
                }
            }
        }
        Tool::Completions { shell } => (completions(shell), 0),
        Tool::Man => (man_page(), 0),
        Tool::Graph { .. } => unreachable!("cli.rs runs `graph` itself"),
    };
    // generated into memory first: clap_complete panics on a failed write, as into a closed pipe
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => code,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => code,
        Err(e) => {
            eprintln!("netsh: cannot write: {e}");
            1
        }
    }
}

/// The completion script for `shell`: flags and commands from clap, and after `netsh help` the
/// statement names (Topic's possible values).
pub fn completions(shell: clap_complete::Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "netsh", &mut out);
    let mut script = String::from_utf8_lossy(&out).into_owned();
    // clap_complete's fish script completes options only, not positionals: add the statements
    if shell == clap_complete::Shell::Fish {
        script += &format!(
            "complete -c netsh -n \"__fish_netsh_using_subcommand help\" -f -a \"{}\"\n",
            statement_words().join(" ")
        );
    }
    script
}

/// roff's definition of the string that escaped apostrophes use; every rendered part repeats it.
const APOSTROPHES: &str = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";

/// netsh(1): clap_mangen's sections, with the statements and the language in the description.
pub fn man_page() -> String {
    let cmd = Cli::command().long_about(
        "netsh runs scripts in a small network language: namespaces, links, addresses, routes, \
         neighbours, bridges, flannel overlays and Docker-style networks, checked before anything \
         runs and undone when a statement fails. Without FILE it starts an interactive shell.",
    );
    let man = clap_mangen::Man::new(cmd);
    let mut out = Vec::new();
    // writing into a Vec cannot fail
    let _ = render(&man, &mut out);
    // the page starts with its .TH header (what man(1) and file(1) look for), then defines the
    // apostrophe string once
    let page = String::from_utf8_lossy(&out).replace(APOSTROPHES, "");
    match page.split_once('\n') {
        Some((title, rest)) => format!("{title}\n{APOSTROPHES}{rest}"),
        None => page,
    }
}

fn render(man: &clap_mangen::Man, out: &mut Vec<u8>) -> std::io::Result<()> {
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    let mut roff = Roff::new();
    roff.control("SS", ["Statements"]);
    roff.text([
        roman("Each statement, from the statement table; "),
        bold("netsh help STATEMENT"),
        roman(" prints one with an example."),
    ]);
    // usage lines read best unjustified and unhyphenated
    roff.control("nh", []);
    roff.control("ad", ["l"]);
    for sig in TABLE {
        roff.control("TP", []);
        roff.text([bold(sig.usage())]);
        roff.text([roman(sig.about)]);
    }
    roff.control("ad", ["b"]);
    roff.control("hy", []);
    roff.control("SS", ["Language"]);
    roff.control("nf", []);
    for line in LANGUAGE.lines().skip(1) {
        roff.text([roman(line)]);
    }
    roff.control("fi", []);
    roff.to_writer(out)?;
    man.render_options_section(out)?;
    man.render_subcommands_section(out)?;
    let mut roff = Roff::new();
    roff.control("SH", ["EXAMPLES"]);
    roff.control("nf", []);
    for line in crate::app::cli::EXAMPLES.lines().skip(1) {
        roff.text([roman(line)]);
    }
    roff.control("fi", []);
    roff.to_writer(out)?;
    man.render_version_section(out)
}
