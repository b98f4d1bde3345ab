//! The world the interpreter acts on. A real run applies Ops to the kernel and the store (the
//! runtime); a dry run prints them as commands and keeps a model of what the script made, so that
//! `if exists link ...` after creating the link sees it.

use crate::diag::Code;
use crate::ops::Op;
use std::collections::HashSet;
use std::io::Write;

/// A failure while running, in words; the interpreter adds the statement's span.
#[derive(Debug, Clone)]
pub struct RunError {
    pub code: Code,
    pub message: String,
    pub help: Option<String>,
}

impl RunError {
    pub fn new(message: impl Into<String>) -> RunError {
        RunError {
            code: Code::RunFailed,
            message: message.into(),
            help: None,
        }
    }
    pub fn with_code(mut self, code: Code) -> RunError {
        self.code = code;
        self
    }
    pub fn help(mut self, help: impl Into<String>) -> RunError {
        self.help = Some(help.into());
        self
    }
}

pub trait World {
    /// Carries out one Op (a dry run prints it).
    fn apply(&mut self, op: &Op) -> Result<(), RunError>;
    /// `exists link|netns|addr|route TARGET [in NS]`
    fn exists(&mut self, kind: &str, target: &str, ns: Option<&str>) -> Result<bool, RunError>;
    /// Runs a program and returns what it printed (`let out = exec ...`).
    fn capture(&mut self, ns: Option<&str>, argv: &[String]) -> Result<String, RunError>;
    /// Prints text for the user (help, echo in a real run).
    fn say(&mut self, text: &str);
    /// A dry run: checks are shown, not made.
    fn is_dry(&self) -> bool;
    /// Names of live interfaces and namespaces, for REPL completion.
    fn names(&mut self) -> Vec<String> {
        Vec::new()
    }
}

/// `--dry-run`: prints every Op as a command and touches nothing.
pub struct DryRun<W: Write> {
    out: W,
    /// What the script has made so far: (kind, namespace, name).
    made: HashSet<(&'static str, Option<String>, String)>,
}

impl<W: Write> DryRun<W> {
    pub fn new(out: W) -> DryRun<W> {
        DryRun {
            out,
            made: HashSet::new(),
        }
    }
    pub fn into_inner(self) -> W {
        self.out
    }
    fn note(&mut self, op: &Op) {
        let mut add = |kind, ns: &Option<String>, name: String| {
            self.made.insert((kind, ns.clone(), name));
        };
        match op {
            Op::NetnsAdd { name } => add("netns", &None, name.clone()),
            Op::LinkAdd { ns, name, kind } => {
                add("link", ns, name.clone());
                if let crate::ops::LinkKind::Veth { peer, peer_ns } = kind {
                    add(
                        "link",
                        if peer_ns.is_some() { peer_ns } else { ns },
                        peer.clone(),
                    );
                }
            }
            Op::LinkSet { ns, name, change } => {
                if change.netns.is_some() || change.rename.is_some() {
                    self.made.remove(&("link", ns.clone(), name.clone()));
                    let to = if change.netns.is_some() {
                        &change.netns
                    } else {
                        ns
                    };
                    let new = change.rename.clone().unwrap_or_else(|| name.clone());
                    self.made.insert(("link", to.clone(), new));
                }
            }
            Op::AddrAdd { ns, addr, .. } => add("addr", ns, addr.addr().to_string()),
            Op::Route { ns, action, route } => {
                let dest = match &route.dest {
                    crate::ops::Dest::Default(_) => "default".to_string(),
                    crate::ops::Dest::Net(n) => n.to_string(),
                };
                if *action == crate::ops::RouteAction::Del {
                    self.made.remove(&("route", ns.clone(), dest));
                } else {
                    add("route", ns, dest);
                }
            }
            Op::NetnsDel { name } => {
                self.made.remove(&("netns", None, name.clone()));
            }
            Op::LinkDel { ns, name } => {
                self.made.remove(&("link", ns.clone(), name.clone()));
            }
            Op::AddrDel { ns, addr, .. } => {
                self.made
                    .remove(&("addr", ns.clone(), addr.addr().to_string()));
            }
            _ => {}
        }
    }
}

impl<W: Write> World for DryRun<W> {
    fn apply(&mut self, op: &Op) -> Result<(), RunError> {
        self.note(op);
        writeln!(self.out, "{op}")
            .map_err(|e| RunError::new(format!("cannot write the dry run: {e}")))
    }

    fn exists(&mut self, kind: &str, target: &str, ns: Option<&str>) -> Result<bool, RunError> {
        let kind = match kind {
            "link" => "link",
            "netns" => "netns",
            "addr" => "addr",
            _ => "route",
        };
        let target = target
            .split('/')
            .next()
            .filter(|_| kind == "addr")
            .unwrap_or(target);
        let ns = if kind == "netns" {
            None
        } else {
            ns.map(str::to_string)
        };
        Ok(self.made.contains(&(kind, ns, target.to_string())))
    }

    fn capture(&mut self, ns: Option<&str>, argv: &[String]) -> Result<String, RunError> {
        self.apply(&Op::Exec {
            ns: ns.map(str::to_string),
            argv: argv.to_vec(),
        })?;
        Ok(String::new())
    }

    fn say(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
    }

    fn is_dry(&self) -> bool {
        true
    }
}
