//! The check pass: the whole program is examined before anything runs. Unknown statements, arity,
//! argument types of literal words, unknown variables and procedures, duplicate procedures, endless
//! recursion and `source` problems are all collected, so one run reports every mistake of a file.
//!
//! Procedures are hoisted for calls made inside procedure bodies (a body is checked once the whole
//! program is known), but a call at the top level must come after the `fn`, as in a shell.

pub mod bind;
pub mod help;
pub mod iproute;
mod networks;
pub mod signatures;
pub mod tape;
pub mod types;

use crate::base::diag::{Code, Diag, did_you_mean};
use crate::base::source::SourceMap;
use crate::check::tape::Tape;
use crate::syntax::ast::*;
use crate::syntax::loader::Loader;
use crate::syntax::parser::PlainLine;
use crate::syntax::plain::PlainWords;
use bind::{CommandWords, Slot, TreeWords, bind};
use rustc_hash::{FxHashMap, FxHashSet};
use signatures::{Id, lookup, statement_words, subcommands};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use types::{Ty, Val};

pub const EXISTS_KINDS: &[&str] = crate::ops::ObjectKind::WORDS;

/// What the check pass learns that the evaluator needs: every procedure of the program.
pub type Procs = FxHashMap<String, Rc<FnDef>>;

pub struct Checker {
    pub procs: Procs,
    globals: FxHashSet<String>,
    /// Names bound by enclosing `for` loops and procedure parameters.
    scopes: Vec<FxHashSet<String>>,
    bodies: Vec<Rc<FnDef>>,
    /// Commands that named no statement and no procedure known at that point.
    /// Unknown statement names, where they stand, and the netsh form of an iproute2 command.
    unknown: Vec<(String, Span, Option<String>)>,
    argc: usize,
    in_body: bool,
    pub errors: Vec<Diag>,
    /// The top-level plain line being checked, when its typed arguments go on the tape, and the
    /// map offset of its file's first byte.
    pub armed: Option<(PlainLine, u32)>,
    /// Checked lines for the run (see tape.rs); boxed, so that a line can take it out of the
    /// checker and put it back for the cost of a pointer. Always there between statements.
    pub tape: Option<Box<Tape>>,
    /// Whether the program may ask `exists` (a condition does, a `network create` does about its
    /// parent link, or a file sourced through an interpolated path, unseen until the run, might):
    /// a dry run models what it made only then.
    pub asks_exists: bool,
}

impl Checker {
    /// `argc`: how many script arguments (`$1`...) the run has.
    pub fn new(argc: usize) -> Checker {
        Checker {
            procs: Procs::default(),
            globals: FxHashSet::default(),
            scopes: Vec::new(),
            bodies: Vec::new(),
            unknown: Vec::new(),
            argc,
            in_body: false,
            errors: Vec::new(),
            armed: None,
            tape: Some(Box::default()),
            asks_exists: false,
        }
    }

    /// A checker for a file sourced through an interpolated path, which could only be read once the
    /// script ran: it knows the variables and procedures the run has defined by then.
    pub fn for_sourced(argc: usize, vars: impl Iterator<Item = String>, procs: Procs) -> Checker {
        let mut c = Checker::new(argc);
        c.globals.extend(vars);
        c.procs = procs;
        c
    }

    /// The variables set at the top level so far (for the REPL's completion).
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.globals.iter().map(String::as_str)
    }

    /// Checks one top-level statement.
    pub fn stmt(&mut self, s: &Stmt, map: &mut SourceMap, loader: &mut Loader) {
        match &s.kind {
            StmtKind::Command(words) => self.command(words, s.span, map, loader),
            StmtKind::Let { name, value } => {
                match value {
                    LetValue::Word(w) => self.word(w, map),
                    LetValue::Exec(words) => {
                        if let Some(sig) = lookup("exec", None) {
                            self.expansions(words, map);
                            self.bound(sig, &TreeWords { words, map }, s.span, None);
                        }
                    }
                }
                self.define(map.text(*name).to_string());
            }
            StmtKind::For { var, items, body } => {
                items.iter().for_each(|w| {
                    self.word(w, map);
                    self.walked(w, map);
                });
                self.scopes
                    .push(FxHashSet::from_iter([map.text(*var).to_string()]));
                self.block(body, map, loader);
                self.scopes.pop();
            }
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                self.cond(cond, map);
                self.block(then, map, loader);
                if let Some(b) = otherwise {
                    self.block(b, map, loader);
                }
            }
            StmtKind::Fn(def) => self.define_fn(def, s.span, map),
            StmtKind::In { ns, body } => {
                self.typed(ns, Ty::Ns, "namespace", map);
                self.block(body, map, loader);
            }
            StmtKind::Transaction(body) => self.block(body, map, loader),
            StmtKind::Expect(cond) => self.cond(cond, map),
            StmtKind::ExpectError { text, body } => {
                self.typed(text, Ty::Text, "error text", map);
                self.block(body, map, loader);
            }
        }
    }

    fn block(&mut self, body: &Block, map: &mut SourceMap, loader: &mut Loader) {
        for s in body.iter() {
            if let StmtKind::Fn(def) = &s.kind {
                self.errors.push(
                    Diag::new(
                        Code::Syntax,
                        def.name,
                        "procedures are defined at the top level of a script",
                    )
                    .label("inside a block")
                    .help("move this `fn` out of the block"),
                );
                continue;
            }
            self.stmt(s, map, loader);
        }
    }

    fn define(&mut self, name: String) {
        if self.in_body
            && let Some(scope) = self.scopes.last_mut()
        {
            scope.insert(name);
            return;
        }
        self.globals.insert(name);
    }

    fn define_fn(&mut self, def: &Rc<FnDef>, span: Span, map: &SourceMap) {
        let name = map.text(def.name).to_string();
        if let Some(first) = self.procs.get(&name) {
            self.errors.push(
                Diag::new(
                    Code::DuplicateProcedure,
                    def.name,
                    format!("procedure `{name}` is defined twice"),
                )
                .label("defined again here")
                .related(first.name, "first defined here")
                .help("rename one of them"),
            );
            return;
        }
        let mut seen = HashSet::new();
        for p in def.params.iter() {
            if !seen.insert(map.text(*p)) {
                self.errors.push(
                    Diag::new(
                        Code::DuplicateArgument,
                        *p,
                        "this parameter name is used twice",
                    )
                    .label("again here"),
                );
            }
        }
        let _ = span;
        self.procs.insert(name, def.clone());
        self.bodies.push(def.clone());
    }

    fn command(&mut self, words: &[Word], span: Span, map: &mut SourceMap, loader: &mut Loader) {
        let Some(first) = words.first() else { return };
        let Some(name) = bind::bare(first, map) else {
            self.errors.push(
                Diag::new(
                    Code::UnknownStatement,
                    first.span,
                    "a statement starts with its name, not a string or a variable",
                )
                .label("expected a statement name")
                .help("to print text, write `echo \"...\"`"),
            );
            words.iter().for_each(|w| self.word(w, map));
            return;
        };
        // most scripts define no procedures: then no statement needs hashing to find out
        if let Some(def) = (!self.procs.is_empty())
            .then(|| self.procs.get(name).cloned())
            .flatten()
        {
            self.call(&def, name, words, map);
            return;
        }
        if name == "in" {
            self.errors.push(
                Diag::new(
                    Code::BlockRequired,
                    span,
                    "`in NS` on its own needs a block",
                )
                .label("no block follows")
                .help("write `in NS { ... }`, or put `in NS` after a statement"),
            );
            return;
        }
        let second = words.get(1).and_then(|w| bind::bare(w, map));
        match lookup(name, second) {
            Some(sig) => {
                self.expansions(words, map);
                let bound = self.checked(sig, &TreeWords { words, map }, span);
                if let Some(b) = bound {
                    if sig.id == Id::NetworkCreate {
                        self.errors.extend(networks::check(&b, words, map));
                        // a dry run asks its model whether the script made the parent link
                        self.asks_exists = true;
                    }
                    if sig.id == Id::Source {
                        self.source(words, &b, map, loader);
                    }
                }
            }
            None => {
                let name = name.to_string();
                let subs = subcommands(&name);
                if !subs.is_empty() {
                    let (at, typed) = match words.get(1) {
                        Some(w) => (w.span, bind::bare(w, map).unwrap_or("").to_string()),
                        None => (first.span, String::new()),
                    };
                    let texts: Vec<&str> = words.iter().map(|w| map.text(w.span)).collect();
                    let help = match (
                        iproute::help(&texts),
                        did_you_mean(&typed, subs.iter().copied()),
                    ) {
                        (Some(h), _) => h,
                        (None, Some(d)) => {
                            format!("{d} `{name}` takes one of: {}", subs.join(", "))
                        }
                        (None, None) => format!("`{name}` takes one of: {}", subs.join(", ")),
                    };
                    let what = if typed.is_empty() {
                        "needs a subcommand".to_string()
                    } else {
                        format!("has no subcommand `{typed}`")
                    };
                    self.errors.push(
                        Diag::new(Code::UnknownSubcommand, at, format!("`{name}` {what}"))
                            .label("unknown subcommand")
                            .help(help),
                    );
                } else {
                    let texts: Vec<&str> = words.iter().map(|w| map.text(w.span)).collect();
                    self.unknown.push((name, first.span, iproute::help(&texts)));
                }
                words.iter().skip(1).for_each(|w| self.word(w, map));
            }
        }
    }

    /// Checks a top-level line of plain words. The usual statement is bound and typed from the
    /// words where they lie; one that needs more (a procedure call, `source`, an unknown name) gets
    /// its syntax tree built in `buf` and goes the general way.
    pub fn plain(
        &mut self,
        words: &PlainWords,
        line: PlainLine,
        base: u32,
        map: &mut SourceMap,
        loader: &mut Loader,
        buf: &mut Stmt,
    ) {
        self.armed = Some((line, base));
        let second = (words.len() > 1).then(|| words.text(1));
        match lookup(words.text(0), second) {
            Some(sig)
                if self.procs.is_empty() && !matches!(sig.id, Id::Source | Id::NetworkCreate) =>
            {
                self.checked(sig, words, words.command_span());
            }
            _ => self.stmt(words.stmt(buf), map, loader),
        }
        self.armed = None;
    }

    /// Interpolated words and lists can name unknown variables.
    fn expansions(&mut self, words: &[Word], map: &SourceMap) {
        for w in words.iter() {
            if !matches!(w.kind, WordKind::Plain { .. }) {
                self.word(w, map);
            }
        }
    }

    /// `bound`, with the typed values of a top-level plain line (`armed`) going on the tape.
    fn checked(
        &mut self,
        sig: &'static signatures::Sig,
        words: &impl CommandWords,
        span: Span,
    ) -> Option<bind::Bound> {
        let mut tape = None;
        if let Some((line, base)) = self.armed.take()
            && !matches!(sig.id, Id::Source | Id::Help)
        {
            tape = self.tape.take();
            if let Some(t) = tape.as_mut() {
                t.begin(line, base, span, sig);
            }
        }
        let bound = self.bound(sig, words, span, tape.as_deref_mut());
        if let Some(mut t) = tape {
            if let Some(b) = &bound {
                t.commit(b.args.len());
            }
            self.tape = Some(t);
        }
        bound
    }

    /// Binds a command to its signature and checks the types of its literal words. With `tape`,
    /// each argument's value goes on it when it has one now: all of them have, unless a word is
    /// interpolated, a list, or a further word of `echo`.
    fn bound(
        &mut self,
        sig: &'static signatures::Sig,
        words: &impl CommandWords,
        span: Span,
        mut tape: Option<&mut Tape>,
    ) -> Option<bind::Bound> {
        match bind(sig, words, span) {
            Ok(b) => {
                for &(slot, wi) in &b.args {
                    let wi = wi as usize;
                    if words.is_list(wi) {
                        if slot != Slot::Rest {
                            self.errors.push(
                                Diag::new(Code::ListNotAllowed, words.span(wi), "a list cannot stand here")
                                    .label("one value is expected")
                                    .help("to repeat a statement for each item, use `for x in [...] { ... }`"),
                            );
                        }
                        continue;
                    }
                    let literal = words.literal(wi).filter(|_| slot != Slot::Rest);
                    // values go to the tape by reference: moving one out of its Result first
                    // copied it in overlapping pieces, which stalled the load that read it back
                    match (b.slot_type(slot), literal) {
                        (Some((ty, what)), Some((at, text))) => match ty.parse(text, what) {
                            Ok(ref val) => {
                                if let Some(t) = tape.as_deref_mut() {
                                    t.arg(slot, words.span(wi), val);
                                }
                            }
                            Err(e) => self.errors.push(
                                Diag::new(e.code, inside(words.span(wi), at, e.at), e.message)
                                    .label(format!("expected {}", ty.describe()))
                                    .help_opt(e.help),
                            ),
                        },
                        (None, Some((_, text))) => {
                            if let Some(t) = tape.as_deref_mut() {
                                t.arg(slot, words.span(wi), &bind::untyped(sig, slot, text.into()));
                            }
                        }
                        _ => {}
                    }
                }
                if matches!(
                    sig.id,
                    Id::RouteAdd | Id::RouteReplace | Id::RouteDel | Id::Sysctl
                ) {
                    self.literal_rules(&b, words);
                }
                Some(b)
            }
            Err(errs) => {
                self.errors.extend(errs);
                None
            }
        }
    }

    /// What literal words already decide across arguments, so it fails before anything runs.
    fn literal_rules(&mut self, b: &bind::Bound, words: &impl CommandWords) {
        let word = |slot: Slot| {
            b.args
                .iter()
                .find(|(s, _)| *s == slot)
                .map(|&(_, wi)| wi as usize)
        };
        if b.sig.id == Id::Sysctl {
            // `sysctl KEY =` with nothing after the `=`
            if let (Some(eq), None) = (word(Slot::Pos(1)), word(Slot::Pos(2))) {
                self.errors.push(
                    Diag::new(
                        Code::MissingArgument,
                        words.span(eq),
                        "`sysctl KEY =` needs a value",
                    )
                    .label("nothing follows")
                    .help("write `sysctl KEY = VALUE`, or `sysctl KEY` to print it"),
                );
            }
            return;
        }
        let Some((via, _)) = b.sig.opt("via") else {
            return;
        };
        let (Some(dest), Some(gw)) = (word(Slot::Pos(0)), word(Slot::Opt(via as u8))) else {
            return;
        };
        let (Some((_, d)), Some((_, g))) = (words.literal(dest), words.literal(gw)) else {
            return;
        };
        // both were typed above; only well-formed ones are compared
        let (Ok(Val::Net(n)), Ok(Val::Ip(g))) = (
            Ty::RouteDest.parse(d, "destination"),
            Ty::Ip.parse(g, "gateway"),
        ) else {
            return;
        };
        if n.addr().is_ipv4() != g.is_ipv4() {
            let (dfam, gfam) = if n.addr().is_ipv4() {
                ("IPv4", "IPv6")
            } else {
                ("IPv6", "IPv4")
            };
            self.errors.push(
                Diag::new(
                    Code::BadAddress,
                    words.span(gw),
                    format!("the gateway `{g}` is {gfam} but the destination `{d}` is {dfam}"),
                )
                .label(format!("expected an {dfam} gateway"))
                .help("an IPv4 route needs an IPv4 gateway, an IPv6 route an IPv6 one"),
            );
        }
    }

    fn call(&mut self, def: &FnDef, name: &str, words: &[Word], map: &SourceMap) {
        let args = &words[1..];
        let with_ns = args.len() == def.params.len() + 2
            && args.get(args.len() - 2).and_then(|w| bind::bare(w, map)) == Some("in");
        if args.len() != def.params.len() && !with_ns {
            let params: Vec<&str> = def.params.iter().map(|p| map.text(*p)).collect();
            let at = args.get(def.params.len()).map_or(words[0].span, |w| w.span);
            self.errors.push(
                Diag::new(
                    Code::WrongArity,
                    at,
                    format!(
                        "procedure `{name}` takes {} argument{}, {} given",
                        params.len(),
                        if params.len() == 1 { "" } else { "s" },
                        args.len()
                    ),
                )
                .label(if args.len() > params.len() {
                    "extra argument"
                } else {
                    "arguments end here"
                })
                .related(def.name, "defined here")
                .help(format!(
                    "call it as: {name} {}",
                    params
                        .iter()
                        .map(|p| p.to_uppercase())
                        .collect::<Vec<_>>()
                        .join(" ")
                )),
            );
        }
        args.iter().for_each(|w| self.word(w, map));
    }

    fn source(
        &mut self,
        words: &[Word],
        b: &bind::Bound,
        map: &mut SourceMap,
        loader: &mut Loader,
    ) {
        let Some(&(_, wi)) = b.args.first() else {
            return;
        };
        let w = &words[wi as usize];
        let Some(path) = w.literal_span().map(|s| map.text(s).to_string()) else {
            // an interpolated path is loaded (and checked) when the script runs
            self.asks_exists = true;
            return;
        };
        match loader.enter_source(&path, w.span, map) {
            Ok((text, base)) => {
                crate::syntax::parser::parse_file(&text, base, |r| {
                    match r {
                        Ok(s) => self.stmt(s, map, loader),
                        Err(d) => self.errors.push(d),
                    }
                    std::ops::ControlFlow::Continue(())
                });
                loader.leave_source();
            }
            Err(d) => self.errors.push(d),
        }
    }

    fn cond(&mut self, c: &Cond, map: &SourceMap) {
        match c {
            Cond::Or(a, b) | Cond::And(a, b) => {
                self.cond(a, map);
                self.cond(b, map);
            }
            Cond::Not(c) => self.cond(c, map),
            Cond::Exists {
                kind, target, ns, ..
            } => {
                self.asks_exists = true;
                self.typed(kind, Ty::Choice(EXISTS_KINDS), "kind of object", map);
                self.word(target, map);
                if let Some(ns) = ns {
                    self.typed(ns, Ty::Ns, "namespace", map);
                }
            }
            Cond::Compare { lhs, rhs, .. } => {
                self.word(lhs, map);
                self.word(rhs, map);
            }
            Cond::Truthy(w) => self.word(w, map),
        }
    }

    fn typed(&mut self, w: &Word, ty: Ty, what: &str, map: &SourceMap) {
        self.word(w, map);
        if let Some(text) = w.literal_span()
            && let Err(e) = ty.parse(map.text(text), what)
        {
            self.errors.push(
                Diag::new(e.code, inside(w.span, text, e.at), e.message)
                    .label(format!("expected {}", ty.describe()))
                    .help_opt(e.help),
            );
        }
    }

    /// A literal word that is walked (a `for` item, a list item) and starts like a range must be one.
    fn walked(&mut self, w: &Word, map: &SourceMap) {
        if let Some(text) = w.literal_span()
            && let Err(e) = crate::syntax::range::range(map.text(text))
        {
            self.errors.push(
                Diag::new(e.code, w.span, e.message)
                    .label("not a range")
                    .help(e.help),
            );
        }
    }

    /// Checks that every variable a word refers to is known.
    fn word(&mut self, w: &Word, map: &SourceMap) {
        match &w.kind {
            WordKind::Plain { .. } => {}
            WordKind::List(items) => items.iter().for_each(|i| {
                self.word(i, map);
                self.walked(i, map);
            }),
            WordKind::Parts { parts, .. } => {
                for p in parts.iter() {
                    if let Part::Var(span) = p {
                        let name = var_name(map.text(*span));
                        if !self.known(name) {
                            let help = self.unknown_var_help(name);
                            self.errors.push(
                                Diag::new(
                                    Code::UnknownVariable,
                                    *span,
                                    format!("unknown variable `{name}`"),
                                )
                                .label("not defined")
                                .help(help),
                            );
                        }
                    }
                }
            }
        }
    }

    fn known(&self, name: &str) -> bool {
        if name == "@" || name == "#" {
            return true;
        }
        if let Ok(n) = name.parse::<usize>() {
            return n <= self.argc;
        }
        self.scopes.iter().any(|s| s.contains(name))
            || self.globals.contains(name)
            || std::env::var_os(name).is_some()
    }

    fn unknown_var_help(&self, name: &str) -> String {
        if let Ok(n) = name.parse::<usize>() {
            return format!(
                "the script was given {} argument{}; `${n}` needs at least {n}",
                self.argc,
                if self.argc == 1 { "" } else { "s" }
            );
        }
        let names = self
            .scopes
            .iter()
            .flatten()
            .chain(self.globals.iter())
            .map(String::as_str);
        did_you_mean(name, names).unwrap_or_else(|| format!("define it first: `let {name} = ...`"))
    }

    /// Ends the check: procedure bodies (now that every procedure is known), endless recursion, and
    /// statements that named nothing. Returns every diagnostic, in source order.
    pub fn finish(&mut self, map: &mut SourceMap, loader: &mut Loader) -> Vec<Diag> {
        let bodies = std::mem::take(&mut self.bodies);
        for def in &bodies {
            self.in_body = true;
            self.scopes.push(
                def.params
                    .iter()
                    .map(|p| map.text(*p).to_string())
                    .collect(),
            );
            self.block(&def.body, map, loader);
            self.scopes.pop();
            self.in_body = false;
        }
        self.recursion(&bodies, map);
        for (name, span, iproute) in std::mem::take(&mut self.unknown) {
            let d = match self.procs.get(&name) {
                Some(def) => Diag::new(
                    Code::UnknownStatement,
                    span,
                    format!("procedure `{name}` is called before it is defined"),
                )
                .label("called here")
                .related(def.name, "defined later, here")
                .help("define a procedure before the statements that call it"),
                None => {
                    let words = statement_words();
                    let procs: Vec<&str> = self.procs.keys().map(String::as_str).collect();
                    let help = iproute.unwrap_or_else(|| {
                        did_you_mean(&name, words.iter().copied().chain(procs.iter().copied()))
                            .unwrap_or_else(|| "`help` lists the statements".to_string())
                    });
                    Diag::new(
                        Code::UnknownStatement,
                        span,
                        format!("unknown statement `{name}`"),
                    )
                    .label("not a statement or procedure")
                    .help(help)
                }
            };
            self.errors.push(d);
        }
        let mut errors = std::mem::take(&mut self.errors);
        errors.sort_by_key(|d| (d.span.start, d.span.end));
        errors
    }

    /// A procedure that calls itself on every path (directly or through others) never ends.
    fn recursion(&mut self, bodies: &[Rc<FnDef>], map: &SourceMap) {
        let mut calls: HashMap<String, Vec<(String, Span)>> = HashMap::new();
        for def in bodies {
            let mut out = Vec::new();
            self.unconditional_calls(&def.body, map, &mut out);
            calls.insert(map.text(def.name).to_string(), out);
        }
        let mut reported = HashSet::new();
        for def in bodies {
            let start = map.text(def.name).to_string();
            // depth-first search for a path of unconditional calls back to `start`
            let mut stack: Vec<(String, Vec<String>, Span)> =
                vec![(start.clone(), vec![], def.name)];
            let mut seen = HashSet::new();
            while let Some((at, path, _)) = stack.pop() {
                for (callee, span) in calls.get(&at).into_iter().flatten() {
                    if *callee == start {
                        if !reported.contains(&start) {
                            reported.insert(start.clone());
                            reported.extend(path.iter().cloned());
                            let through = if path.is_empty() {
                                String::new()
                            } else {
                                format!(
                                    " (through {})",
                                    path.iter()
                                        .map(|p| format!("`{p}`"))
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                )
                            };
                            self.errors.push(
                                Diag::new(Code::EndlessRecursion, *span, format!("procedure `{start}` always calls itself{through}: it never ends"))
                                    .label("called on every path")
                                    .related(def.name, "procedure defined here")
                                    .help("put the recursive call under an `if` whose condition ends the recursion"),
                            );
                        }
                    } else if seen.insert(callee.clone()) {
                        let mut p = path.clone();
                        p.push(callee.clone());
                        stack.push((callee.clone(), p, *span));
                    }
                }
            }
        }
    }

    fn unconditional_calls(&self, body: &Block, map: &SourceMap, out: &mut Vec<(String, Span)>) {
        for s in body.iter() {
            match &s.kind {
                StmtKind::Command(words) => {
                    if let Some(name) = words.first().and_then(|w| bind::bare(w, map))
                        && self.procs.contains_key(name)
                    {
                        out.push((name.to_string(), words[0].span));
                    }
                }
                StmtKind::In { body, .. } | StmtKind::Transaction(body) => {
                    self.unconditional_calls(body, map, out)
                }
                _ => {}
            }
        }
    }
}

/// The span of one character inside a literal word's text (`at` bytes in), or the whole word.
fn inside(
    word: crate::base::source::Span,
    text: crate::base::source::Span,
    at: Option<usize>,
) -> crate::base::source::Span {
    match at.and_then(|a| u32::try_from(a).ok()) {
        Some(a) if text.start.saturating_add(a) < text.end => crate::base::source::Span {
            start: text.start + a,
            end: text.start + a + 1,
        },
        _ => word,
    }
}
