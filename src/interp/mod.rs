//! The evaluator: walks checked statements, keeps variables, runs loops, conditions and procedures,
//! and turns each built-in statement into Ops that the world applies (or a dry run prints).

pub mod args;
pub mod build;
pub mod checks;
pub mod sketch;
pub mod value;
pub mod world;

use crate::base::diag::{Code, Diag};
use crate::base::error::RunError;
use crate::base::source::SourceMap;
use crate::check::bind::{self, Slot};
use crate::check::signatures::{Id, TABLE, lookup};
use crate::check::tape::Tape;
use crate::check::{EXISTS_KINDS, Procs};
use crate::syntax::ast::*;
use crate::syntax::loader::Loader;
use crate::syntax::parser::PlainLine;
use args::Args;
use build::{Ctx, Names};
use std::collections::HashSet;
use std::ops::ControlFlow;
use value::{Frame, Value};
use world::{Rollback, World};

/// How deep procedure calls may nest before the run stops (the check pass rejects recursion that
/// never ends; this catches recursion whose end is too far away).
pub const MAX_DEPTH: usize = 200;

/// What a statement needs from its surroundings.
pub struct Env<'a> {
    pub map: &'a mut SourceMap,
    pub loader: &'a mut Loader,
    pub world: &'a mut dyn World,
}

pub struct Interp {
    pub procs: Procs,
    /// Procedures defined so far at the top level: a call there must follow its `fn`.
    defined: HashSet<String>,
    globals: Frame,
    calls: Vec<Frame>,
    /// The `in NS { }` blocks around the statement being run, innermost last.
    contexts: Vec<Option<String>>,
    /// The Ops of the statement being performed (a buffer kept to save an allocation per statement).
    ops: Vec<crate::ops::Op>,
    /// The namespace the REPL's `in NS` line entered, under every block's context.
    base: Option<String>,
    args: Vec<String>,
    names: Names,
    prefix: String,
    /// Statements that changed something, for the summary.
    pub changes: usize,
    /// The checks made so far, and who hears of them.
    pub checks: checks::Checks,
}

type Res<T = ()> = Result<T, Diag>;

/// A run-time error as a diagnostic on its statement: `span`, unless the error names an earlier one
/// (a pipelined request whose answer came late).
/// The items a walked value stands for (ranges expanded), or why a range in it is not one.
fn walked(v: Value, span: Span) -> Res<Vec<Value>> {
    v.items().map_err(|e| {
        Diag::new(e.code, span, e.message)
            .label("walked here")
            .help(e.help)
    })
}

/// Stops a list past `MAX_ITEMS` strings (a list doubled in a loop grows without end).
fn too_many(count: usize, span: Span) -> Res {
    if count > value::MAX_ITEMS {
        return Err(Diag::new(
            Code::TooLarge,
            span,
            format!("this list grows past {} items", value::MAX_ITEMS),
        )
        .label("too many items")
        .help("a list holds at most 1,000,000 items"));
    }
    Ok(())
}

pub(crate) fn fail(span: Span, e: RunError) -> Diag {
    let span = e.stmt.unwrap_or(span);
    labelled(span, "this statement failed".into(), e)
}

/// A statement's run-time failure, on the argument it names when the statement has it.
fn fail_in(span: Span, args: &Args, e: RunError) -> Diag {
    // an argument is only this statement's when the error is not a late one of an earlier statement
    match (e.stmt, e.at.as_ref().and_then(|at| args.span_of(at))) {
        (None, Some(at)) => labelled(at, "this is why".into(), e),
        _ => fail(span, e),
    }
}

fn labelled(span: Span, label: String, e: RunError) -> Diag {
    let mut d = Diag::new(e.code, span, e.message)
        .label(label)
        .help_opt(e.help);
    d.kind = Some(e.kind);
    d
}

impl Interp {
    pub fn new(args: Vec<String>) -> Interp {
        Interp {
            procs: Procs::default(),
            defined: HashSet::new(),
            globals: Frame::default(),
            calls: Vec::new(),
            contexts: Vec::new(),
            ops: Vec::new(),
            base: None,
            args,
            names: Names::default(),
            prefix: build::flannel_ops::DEFAULT_PREFIX.to_string(),
            changes: 0,
            checks: checks::Checks::default(),
        }
    }

    /// The namespace statements act in when they name none.
    pub fn context(&self) -> Option<&str> {
        self.contexts
            .iter()
            .rev()
            .flatten()
            .next()
            .or(self.base.as_ref())
            .map(String::as_str)
    }

    /// Sets (or, with `None`, clears) the namespace statements act in when neither they nor a
    /// block around them name one: the REPL's `in NS` line.
    pub fn set_base_context(&mut self, ns: Option<String>) {
        self.base = ns;
    }

    /// Runs one top-level statement.
    pub fn run(&mut self, s: &Stmt, env: &mut Env) -> Res {
        match &s.kind {
            StmtKind::Command(words) => self.command(words, s.span, env),
            StmtKind::Let { name, value } => {
                let v = match value {
                    LetValue::Word(w) => self.expand(w, env.map)?,
                    LetValue::Exec(words) => Value::Str(self.capture(words, s.span, env)?),
                };
                let name = env.map.text(*name).to_string();
                self.set(name, v);
                Ok(())
            }
            StmtKind::For { var, items, body } => {
                let name = env.map.text(*var).to_string();
                let mut list = Vec::new();
                for w in items.iter() {
                    list.extend(walked(self.expand(w, env.map)?, w.span)?);
                    too_many(list.len(), w.span)?;
                }
                for item in list {
                    self.set(name.clone(), item);
                    self.block(body, env)?;
                }
                Ok(())
            }
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => {
                if self.cond(cond, env)? {
                    self.block(then, env)
                } else if let Some(b) = otherwise {
                    self.block(b, env)
                } else {
                    Ok(())
                }
            }
            StmtKind::Fn(def) => {
                let name = env.map.text(def.name).to_string();
                self.procs
                    .entry(name.clone())
                    .or_insert_with(|| def.clone());
                self.defined.insert(name);
                Ok(())
            }
            StmtKind::In { ns, body } => {
                let ns = self.typed_text(ns, crate::check::types::Ty::Ns, env.map)?;
                self.contexts.push(Some(ns));
                let r = self.block(body, env);
                self.contexts.pop();
                r
            }
            StmtKind::Transaction(body) => {
                // undone on failure even with --no-rollback or at the REPL (docs/GUARANTEES.md)
                // answers still due belong before the block; the block's own are awaited in it
                env.world.settle().map_err(|e| fail(s.span, e))?;
                let mark = env.world.mark();
                let r = self
                    .block(body, env)
                    .and_then(|()| env.world.settle().map_err(|e| fail(s.span, e)));
                if r.is_err()
                    && let Some(rb) = env.world.rollback(mark)
                {
                    if crate::base::json_stream::json() {
                        crate::base::json_stream::record(
                            crate::base::json_stream::Type::Rollback,
                            rb.record(false, true),
                        );
                    }
                    if let Some(said) = rb.summary() {
                        eprintln!("{}", said.replacen("netsh:", "netsh: transaction:", 1));
                    }
                }
                r
            }
            StmtKind::ExpectError { text, body } => self.expect_error(text, body, s.span, env),
            StmtKind::Expect(cond) => {
                if env.world.is_dry() {
                    let text = self.cond_text(cond, env);
                    env.world.say(&format!("# expect {text}"));
                    return Ok(());
                }
                let started = std::time::Instant::now();
                let held = self.cond(cond, env)?;
                let failure = (!held).then(|| self.expect_failed(cond, s.span, env));
                let f = env.map.file_of(s.span);
                self.checks.finished(checks::CheckOutcome {
                    what: self.cond_text(cond, env),
                    file: f.name.to_string(),
                    line: f.line_col(s.span.start).0,
                    elapsed: started.elapsed(),
                    from: None,
                    target: None,
                    failure: failure.as_ref().map(checks::failure_text),
                });
                match failure {
                    Some(d) if self.checks.keep_going => {
                        self.checks.failures.push(d);
                        Ok(())
                    }
                    Some(d) => Err(d),
                    None => Ok(()),
                }
            }
        }
    }

    /// `expect error "TEXT" { ... }`: the block must fail with a message containing TEXT; whatever
    /// it did is undone either way, and the script goes on when it failed as expected.
    fn expect_error(&mut self, text: &Word, body: &Block, span: Span, env: &mut Env) -> Res {
        let want = self.expand(text, env.map)?.flat();
        if env.world.is_dry() {
            // its Ops would be undone at once: a dry run shows the check, not them
            env.world.say(&format!(
                "# netsh: expect error {want:?} {{ ... }} (the block runs and is undone)"
            ));
            return Ok(());
        }
        env.world.settle().map_err(|e| fail(span, e))?;
        let started = std::time::Instant::now();
        let mark = env.world.mark();
        let r = self
            .block(body, env)
            .and_then(|()| env.world.settle().map_err(|e| fail(span, e)));
        let rb = env.world.rollback(mark);
        if let Some(said) = rb
            .as_ref()
            .filter(|rb| !rb.failed.is_empty())
            .and_then(Rollback::summary)
        {
            eprintln!("{}", said.replacen("netsh:", "netsh: expect error:", 1));
        }
        let f = env.map.file_of(span);
        let (file, line) = (f.name.to_string(), f.line_col(span.start).0);
        // the check's line or record, by the run's reporter
        let mut report = |failure: Option<&Diag>| {
            self.checks.finished(checks::CheckOutcome {
                what: format!("error {want:?}"),
                file: file.clone(),
                line,
                elapsed: started.elapsed(),
                from: None,
                target: Some("error".to_string()),
                failure: failure.map(checks::failure_text),
            })
        };
        let outcome = match r {
            Ok(()) => {
                // on the statement that was meant to fail: the block's last
                let at = body.last().map_or(span, |s| s.span);
                Err(Diag::new(
                    Code::ExpectFailed,
                    at,
                    format!("expected an error containing {want:?}, but this succeeded"),
                )
                .label("this was expected to fail")
                .help("`expect error` holds when a statement of its block fails with that text"))
            }
            Err(d) if d.kind == Some(crate::base::error::Kind::Interrupted) => return Err(d),
            Err(d) if d.message.contains(&want) => Ok(()),
            Err(d) => {
                let mut e = Diag::new(
                    Code::ExpectFailed,
                    d.span,
                    format!(
                        "expected an error containing {want:?}, but this failed with: {}",
                        d.message
                    ),
                )
                .label("this failed otherwise");
                e.kind = Some(crate::base::error::Kind::Expect);
                Err(e)
            }
        };
        report(outcome.as_ref().err());
        match outcome {
            Err(d) if self.checks.keep_going => {
                self.checks.failures.push(d);
                Ok(())
            }
            other => other,
        }
    }

    fn block(&mut self, body: &Block, env: &mut Env) -> Res {
        body.iter().try_for_each(|s| self.run(s, env))
    }

    fn set(&mut self, name: String, v: Value) {
        match self.calls.last_mut() {
            Some(frame) => frame.vars.insert(name, v),
            None => self.globals.vars.insert(name, v),
        };
    }

    fn lookup(&self, name: &str) -> Option<Value> {
        if let Some(v) = self.calls.last().and_then(|f| f.vars.get(name)) {
            return Some(v.clone());
        }
        if let Some(v) = self.globals.vars.get(name) {
            return Some(v.clone());
        }
        match name {
            "@" => {
                return Some(Value::List(
                    self.args.iter().cloned().map(Value::Str).collect(),
                ));
            }
            "#" => return Some(Value::Str(self.args.len().to_string())),
            _ => {}
        }
        if let Ok(n) = name.parse::<usize>() {
            return match n {
                0 => Some(Value::Str("netsh".into())),
                n => self.args.get(n - 1).cloned().map(Value::Str),
            };
        }
        std::env::var(name).ok().map(Value::Str)
    }

    /// Expands a word: its variables replaced, a list's items expanded (ranges included).
    pub fn expand(&self, w: &Word, map: &SourceMap) -> Res<Value> {
        match &w.kind {
            WordKind::Plain { text, .. } => Ok(Value::Str(map.text(*text).to_string())),
            WordKind::List(items) => {
                let mut out = Vec::new();
                let mut leaves = 0;
                for i in items.iter() {
                    let v = self.expand(i, map)?;
                    match (&i.kind, v) {
                        (WordKind::List(_), v) => {
                            leaves += v.leaves();
                            out.push(v);
                        }
                        (_, v) => {
                            let items = walked(v, i.span)?;
                            leaves += items.iter().map(Value::leaves).sum::<usize>();
                            out.extend(items);
                        }
                    }
                    too_many(leaves, w.span)?;
                }
                Ok(Value::List(out))
            }
            WordKind::Parts { parts, quoted } => {
                // a word that is exactly one variable keeps the variable's value, list or not
                if let ([Part::Var(span)], false) = (&parts[..], quoted) {
                    return self.var(*span, map);
                }
                let mut s = String::new();
                for p in parts.iter() {
                    match p {
                        Part::Text(span) => s.push_str(map.text(*span)),
                        Part::Escaped(c) => s.push(*c),
                        Part::Var(span) => s.push_str(&self.var(*span, map)?.flat()),
                    }
                }
                if s.len() > value::MAX_WORD {
                    return Err(Diag::new(
                        Code::TooLarge,
                        w.span,
                        format!("this word grows to {} bytes", s.len()),
                    )
                    .label("too long")
                    .help("a word holds at most 16 MiB"));
                }
                Ok(Value::Str(s))
            }
        }
    }

    fn var(&self, span: Span, map: &SourceMap) -> Res<Value> {
        let name = var_name(map.text(span));
        self.lookup(name).ok_or_else(|| {
            Diag::new(
                Code::UnknownVariable,
                span,
                format!("variable `{name}` has no value here"),
            )
            .label("not set when this ran")
            .help(
                "it is set on a path that did not run; set it before this statement on every path",
            )
        })
    }

    fn typed_text(&self, w: &Word, ty: crate::check::types::Ty, map: &SourceMap) -> Res<String> {
        let text = self.expand(w, map)?.flat();
        ty.parse(&text, "namespace").map(|v| v.text()).map_err(|e| {
            Diag::new(e.code, w.span, e.message)
                .label(format!("expanded to `{text}`"))
                .help_opt(e.help)
        })
    }

    fn cond(&mut self, c: &Cond, env: &mut Env) -> Res<bool> {
        Ok(match c {
            Cond::Or(a, b) => self.cond(a, env)? || self.cond(b, env)?,
            Cond::And(a, b) => self.cond(a, env)? && self.cond(b, env)?,
            Cond::Not(c) => !self.cond(c, env)?,
            Cond::Exists {
                kind,
                target,
                ns,
                span,
            } => {
                let kind = self.expand(kind, env.map)?.flat();
                let Some(kind) = crate::ops::ObjectKind::from_word(&kind) else {
                    return Err(Diag::new(
                        Code::BadChoice,
                        *span,
                        format!("cannot test whether a `{kind}` exists"),
                    )
                    .help(format!("`exists` takes one of {}", EXISTS_KINDS.join(", "))));
                };
                let target = self.expand(target, env.map)?.flat();
                let ns = match ns {
                    Some(w) => Some(self.expand(w, env.map)?.flat()),
                    None => self.context().map(str::to_string),
                };
                env.world
                    .exists(kind, &target, ns.as_deref())
                    .map_err(|e| fail(*span, e))?
            }
            Cond::Compare { lhs, op, rhs } => {
                let l = self.expand(lhs, env.map)?;
                let r = self.expand(rhs, env.map)?.flat();
                match op {
                    CmpOp::Eq => l.flat() == r,
                    CmpOp::Ne => l.flat() != r,
                    CmpOp::Contains => match &l {
                        Value::List(items) => items.iter().any(|i| i.flat() == r),
                        Value::Str(s) => s.contains(&r),
                    },
                }
            }
            Cond::Truthy(w) => self.expand(w, env.map)?.truthy(),
        })
    }

    fn cond_text(&self, c: &Cond, env: &Env) -> String {
        let w = |w: &Word| {
            self.expand(w, env.map)
                .map(|v| v.flat())
                .unwrap_or_else(|_| env.map.text(w.span).to_string())
        };
        match c {
            Cond::Or(a, b) => format!("{} or {}", self.cond_text(a, env), self.cond_text(b, env)),
            Cond::And(a, b) => format!("{} and {}", self.cond_text(a, env), self.cond_text(b, env)),
            Cond::Not(c) => format!("not {}", self.cond_text(c, env)),
            Cond::Exists {
                kind, target, ns, ..
            } => {
                let ns = match ns {
                    Some(n) => Some(w(n)),
                    None => self.context().map(str::to_string),
                };
                let ns = ns.map(|n| format!(" in {n}")).unwrap_or_default();
                format!("exists {} {}{ns}", w(kind), w(target))
            }
            Cond::Compare { lhs, op, rhs } => {
                let op = match op {
                    CmpOp::Eq => "==",
                    CmpOp::Ne => "!=",
                    CmpOp::Contains => "contains",
                };
                // as written: a value compared here may be a run-time result (`let out = exec ...`)
                let src = |x: &Word| env.map.text(x.span).to_string();
                format!("{} {op} {}", src(lhs), src(rhs))
            }
            Cond::Truthy(x) => env.map.text(x.span).to_string(),
        }
    }

    fn expect_failed(&self, c: &Cond, span: Span, env: &Env) -> Diag {
        let shown = |w: &Word| {
            let v = self
                .expand(w, env.map)
                .map(|v| v.flat())
                .unwrap_or_default();
            let short: String = v.chars().take(200).collect();
            if short.len() < v.len() {
                format!("{short:?}...")
            } else {
                format!("{short:?}")
            }
        };
        let what = match c {
            Cond::Compare { lhs, op, rhs } => {
                let verb = match op {
                    CmpOp::Eq => "to equal",
                    CmpOp::Ne => "to differ from",
                    CmpOp::Contains => "to contain",
                };
                format!(
                    "expected {} {verb} {}, but it is {}",
                    env.map.text(lhs.span),
                    shown(rhs),
                    shown(lhs)
                )
            }
            Cond::Truthy(w) => format!(
                "expected {} to be true, but it is {}",
                env.map.text(w.span),
                shown(w)
            ),
            _ => format!(
                "expected `{}` to hold, but it does not",
                env.map.text(c.span())
            ),
        };
        Diag::new(Code::ExpectFailed, span, what).label("this expectation failed")
    }

    fn command(&mut self, words: &[Word], span: Span, env: &mut Env) -> Res {
        let name = bind::bare(&words[0], env.map).unwrap_or("");
        if !self.procs.is_empty()
            && self.procs.contains_key(name)
            && (!self.calls.is_empty() || self.defined.contains(name))
        {
            let name = name.to_string();
            return self.call(&name, words, span, env);
        }
        let second = words.get(1).and_then(|w| bind::bare(w, env.map));
        let Some(sig) = lookup(name, second) else {
            return Err(Diag::new(
                Code::UnknownStatement,
                words[0].span,
                format!("unknown statement `{name}`"),
            ));
        };
        let b = bind_words(sig, words, span, env.map)?;
        match sig.id {
            Id::Source => return self.source(words, &b, span, env),
            Id::Help => {
                let topic = self.resolve(&b, words, env.map)?.rest_words().join(" ");
                env.world
                    .say(&crate::check::help::text(&topic, &self.procs, env.map));
                return Ok(());
            }
            _ => {}
        }
        let args = self.resolve(&b, words, env.map)?;
        self.perform(&args, span, env.world, env.map)
            .map_err(|e| fail_in(span, &args, e))
    }

    /// Builds a typed statement's Ops and applies them.
    fn perform(
        &mut self,
        args: &Args,
        span: Span,
        world: &mut dyn World,
        map: &SourceMap,
    ) -> Result<(), RunError> {
        let outer: crate::ops::Ns = self.context().map(Into::into);
        let mut cx = Ctx {
            ns: args.ns.clone().or(outer.clone()),
            outer,
            names: &mut self.names,
            prefix: &mut self.prefix,
        };
        // the Ops go into one buffer, kept from statement to statement
        let mut ops = std::mem::take(&mut self.ops);
        ops.clear();
        let started = std::time::Instant::now();
        let built = build::ops(args.sig.id, args, &mut cx, &mut ops);
        // a check says what it checks before it runs (a terminal shows it waiting)
        let check = match (&built, world.is_dry()) {
            (Ok(()), false) => ops.iter().find(|o| o.is_check()).map(|check| {
                let subject = check.check_subject();
                let from = subject
                    .as_ref()
                    .and_then(|(f, _)| f.as_deref())
                    .map(str::to_string);
                let vars: Vec<(Span, String)> = args
                    .vals
                    .iter()
                    .zip(&args.spans)
                    .filter(|(_, s)| map.text(**s).contains('$'))
                    .map(|((_, v), s)| (*s, v.text()))
                    .chain(
                        args.ns
                            .iter()
                            .zip(args.ns_span)
                            .map(|(ns, s)| (s, ns.to_string())),
                    )
                    .collect();
                let what =
                    checks::describe(map, span, &vars, from.as_deref(), check.is_state_check());
                (what, from, subject.map(|(_, t)| t))
            }),
            _ => None,
        };
        if let Some((what, ..)) = &check {
            self.checks.started(what);
        }
        let mut applied = built.and_then(|()| {
            world.statement(span);
            ops.iter().try_for_each(|op| world.apply(op))?;
            world.stop_requested()
        });
        if applied.is_ok() && ops.iter().any(|o| o.changes_state()) {
            self.changes += 1;
        }
        // a check reports how it went; an error of an earlier statement answered late, or a
        // signal, is not the check's
        if let Some((what, from, target)) = check {
            let its_own = applied.as_ref().err().is_none_or(|e| {
                e.stmt.is_none_or(|s| s == span) && e.kind != crate::base::error::Kind::Interrupted
            });
            if !its_own {
                self.checks.abandoned();
            } else {
                let failure = applied
                    .as_ref()
                    .err()
                    .map(|e| fail_in(span, args, e.clone()));
                let f = map.file_of(span);
                self.checks.finished(checks::CheckOutcome {
                    what,
                    file: f.name.to_string(),
                    line: f.line_col(span.start).0,
                    elapsed: started.elapsed(),
                    from,
                    target,
                    failure: failure.as_ref().map(checks::failure_text),
                });
                if let Some(d) = failure
                    && self.checks.keep_going
                {
                    self.checks.failures.push(d);
                    applied = Ok(());
                }
            }
        }
        ops.clear();
        self.ops = ops;
        applied
    }

    /// Expands and types every argument of a bound statement.
    fn resolve<'m>(&self, b: &bind::Bound, words: &[Word], map: &'m SourceMap) -> Res<Args<'m>> {
        let mut args = Args::new(b.sig);
        for &(slot, wi) in &b.args {
            let w = &words[wi as usize];
            // a literal word is read straight from the source: no copy to expand
            if let (WordKind::Plain { text, .. }, Some((ty, what))) = (&w.kind, b.slot_type(slot)) {
                let text = map.text(*text);
                let typed = ty.parse(text, what).map_err(|e| {
                    Diag::new(e.code, w.span, e.message)
                        .label(format!("expected {}", ty.describe()))
                        .help_opt(e.help)
                })?;
                if slot == Slot::Ns {
                    args.ns = Some(text.into());
                } else {
                    args.vals.push((Args::key(b.sig, slot), typed));
                    args.spans.push(w.span);
                }
                continue;
            }
            let v = self.expand(w, map)?;
            if slot == Slot::Rest {
                args.rest.push(v);
                continue;
            }
            let key = Args::key(b.sig, slot);
            let typed = match b.slot_type(slot) {
                Some((ty, what)) => {
                    let text = match v {
                        Value::Str(s) => s,
                        Value::List(_) => {
                            return Err(Diag::new(
                                Code::ListNotAllowed,
                                w.span,
                                "a list cannot stand here",
                            )
                            .label("this expanded to a list")
                            .help(
                                "to repeat a statement for each item, use `for x in $list { ... }`",
                            ));
                        }
                    };
                    match ty.parse(&text, what) {
                        Ok(typed) => typed.into_owned(),
                        Err(e) => {
                            return Err(Diag::new(e.code, w.span, e.message)
                                .label(format!("expanded to `{text}`"))
                                .help_opt(e.help));
                        }
                    }
                }
                None => bind::untyped(b.sig, slot, v.flat().into()),
            };
            if slot == Slot::Ns {
                args.ns = Some(typed.name());
                args.ns_span = Some(w.span);
            } else {
                args.vals.push((key, typed));
                args.spans.push(w.span);
            }
        }
        Ok(args)
    }

    fn call(&mut self, name: &str, words: &[Word], span: Span, env: &mut Env) -> Res {
        let def = self.procs[name].clone();
        if self.calls.len() >= MAX_DEPTH {
            return Err(Diag::new(
                Code::RecursionLimit,
                span,
                format!("procedure calls nest deeper than {MAX_DEPTH}"),
            )
            .label("called here")
            .help("a recursive procedure must reach its base case sooner"));
        }
        let mut args = &words[1..];
        let mut ns = None;
        if args.len() == def.params.len() + 2 {
            ns = Some(self.typed_text(
                &args[args.len() - 1],
                crate::check::types::Ty::Ns,
                env.map,
            )?);
            args = &args[..args.len() - 2];
        }
        let mut frame = Frame::default();
        for (p, w) in def.params.iter().zip(args) {
            frame
                .vars
                .insert(env.map.text(*p).to_string(), self.expand(w, env.map)?);
        }
        self.calls.push(frame);
        self.contexts.push(ns);
        let r = self.block(&def.body, env);
        self.contexts.pop();
        self.calls.pop();
        r
    }

    fn capture(&mut self, words: &[Word], span: Span, env: &mut Env) -> Res<String> {
        let sig = lookup("exec", None).expect("exec is a statement");
        let b = bind_words(sig, words, span, env.map)?;
        let args = self.resolve(&b, words, env.map)?;
        let argv = build::check_ops::argv(args.rest_words());
        let ns = args.ns.clone().or_else(|| self.context().map(Into::into));
        env.world
            .capture(ns.as_deref(), &argv)
            .map_err(|e| fail(span, e))
    }

    fn source(&mut self, words: &[Word], b: &bind::Bound, span: Span, env: &mut Env) -> Res {
        let path = self.resolve(b, words, env.map)?.must("file");
        let at = words.get(1).map_or(span, |w| w.span);
        // a literal path was checked with the script; an interpolated one is checked now
        let checked = b
            .args
            .first()
            .is_some_and(|&(_, wi)| words[wi as usize].literal_span().is_some());
        let (text, base) = env.loader.enter_source(&path, at, env.map)?;
        let r = if checked {
            Ok(())
        } else {
            self.check_sourced(&text, base, env)
        };
        let r = r.and_then(|()| self.run_text(&text, base, env));
        env.loader.leave_source();
        r
    }

    /// Checks a file sourced through an interpolated path before any of it runs, so that it too is
    /// applied whole or not at all. The first error is returned.
    fn check_sourced(&self, text: &str, base: u32, env: &mut Env) -> Res {
        let frame = self.calls.last().into_iter().flat_map(|f| f.vars.keys());
        let vars = self.globals.vars.keys().chain(frame).cloned();
        let mut checker =
            crate::check::Checker::for_sourced(self.args.len(), vars, self.procs.clone());
        let mut errors = Vec::new();
        crate::syntax::parser::parse_file(text, base, |r| {
            match r {
                Ok(s) => checker.stmt(s, env.map, env.loader),
                Err(d) => errors.push(d),
            }
            ControlFlow::Continue(())
        });
        errors.extend(checker.finish(env.map, env.loader));
        match errors
            .into_iter()
            .min_by_key(|d| (d.span.start, d.span.end))
        {
            Some(first) => Err(first),
            None => Ok(()),
        }
    }

    /// Parses and runs statements one at a time, stopping at the first failure.
    pub fn run_text(&mut self, text: &str, base: u32, env: &mut Env) -> Res {
        self.run_range(text, base, 0..text.len(), env)
    }

    /// `run_text` over the part `range` of `text` (see `parse_lines`).
    fn run_range(
        &mut self,
        text: &str,
        base: u32,
        range: std::ops::Range<usize>,
        env: &mut Env,
    ) -> Res {
        let mut result = Ok(());
        crate::syntax::parser::parse_lines(text, base, range, |s| {
            result = s.and_then(|s| self.run(s, env));
            if result.is_err() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        result
    }

    /// Runs a checked file whose plain lines the check pass put on `tape`: those run from their
    /// typed arguments, everything between them is parsed again.
    pub fn run_taped(&mut self, text: &str, base: u32, mut tape: Tape, env: &mut Env) -> Res {
        let mut at = 0;
        let mut args = Args::new(&TABLE[0]);
        while let Some(line) = tape.next_line(at, text, &mut args) {
            if at < line.plain.start {
                self.run_range(text, base, at..line.plain.start, env)?;
            }
            at = line.plain.next;
            // a procedure may share a statement's name; a call is decided as the line runs
            if !self.procs.is_empty() {
                self.run_range(text, base, line.plain.start..line.plain.next, env)?;
                continue;
            }
            let span = Span::new(base + line.start as u32, base + line.end as u32);
            if let Err(e) = self.perform(&args, span, env.world, env.map) {
                return Err(self.fail_taped(text, base, line.plain, e, env));
            }
        }
        self.run_range(text, base, at..text.len(), env)
    }

    /// The diagnostic of a taped line's run-time failure: the line is read again for where its
    /// arguments were written, so the error points where an untaped run's would.
    fn fail_taped(
        &mut self,
        text: &str,
        base: u32,
        line: PlainLine,
        e: RunError,
        env: &mut Env,
    ) -> Diag {
        let mut words = Words::new();
        let at = text.get(line.start..line.next).unwrap_or_default();
        let at = at.strip_suffix('\n').unwrap_or(at);
        let span = match crate::syntax::plain::plain_line(at, base + line.start as u32) {
            crate::syntax::plain::Line::Command(plain) => {
                plain.fill(&mut words);
                plain.command_span()
            }
            _ => {
                return fail(
                    Span::new(base + line.start as u32, base + line.next as u32),
                    e,
                );
            }
        };
        let name = bind::bare(&words[0], env.map).unwrap_or("");
        let second = words.get(1).and_then(|w| bind::bare(w, env.map));
        let args = lookup(name, second)
            .and_then(|sig| {
                bind::bind(
                    sig,
                    &bind::TreeWords {
                        words: &words,
                        map: env.map,
                    },
                    span,
                )
                .ok()
            })
            .and_then(|b| self.resolve(&b, &words, env.map).ok());
        match args {
            Some(args) => fail_in(span, &args, e),
            None => fail(span, e),
        }
    }
}

/// Binds a statement's syntax-tree words; the first problem is the run's error.
fn bind_words(
    sig: &'static crate::check::signatures::Sig,
    words: &[Word],
    span: Span,
    map: &SourceMap,
) -> Res<bind::Bound> {
    bind::bind(sig, &bind::TreeWords { words, map }, span).map_err(|mut e| e.remove(0))
}
