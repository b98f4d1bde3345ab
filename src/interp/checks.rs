//! The checks a run makes, as they finish: what each checked, from where, on which line, how long
//! it took and, when it failed, why. The interpreter hands each to a `CheckSink` (the program's
//! reporters, app/report.rs) and counts them; `--keep-going` goes on after a failed one.

use crate::base::diag::Diag;
use crate::base::source::{SourceMap, Span};
use std::time::Duration;

/// One finished check.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    /// The statement as it ran, without its `expect` (`reach 10.0.0.2 from h1`).
    pub what: String,
    /// The file the statement is in, and its line.
    pub file: String,
    pub line: usize,
    pub elapsed: Duration,
    /// The namespace it looked from and what it looked at, when the check has them.
    pub from: Option<String>,
    pub target: Option<String>,
    /// Why it failed: the diagnostic's message (and help); `None` when it held.
    pub failure: Option<String>,
}

impl CheckOutcome {
    pub fn ok(&self) -> bool {
        self.failure.is_none()
    }
}

/// Who hears of each check as it starts and as it finishes.
pub trait CheckSink {
    /// A check starts (`what` as in its outcome); `finished` or `abandoned` follows.
    fn started(&mut self, _what: &str) {}
    fn finished(&mut self, check: &CheckOutcome);
    /// The check was cut short by what is not its own failure (a signal, an earlier statement's
    /// error): no outcome follows.
    fn abandoned(&mut self) {}
}

/// The run's record of its checks.
#[derive(Default)]
pub struct Checks {
    pub sink: Option<Box<dyn CheckSink>>,
    /// Go on after a failed check (`--keep-going`); its diagnostic is kept in `failures`.
    pub keep_going: bool,
    pub passed: usize,
    pub failed: usize,
    /// The diagnostics of the failed checks the run went on after.
    pub failures: Vec<Diag>,
}

impl Checks {
    /// Tells the sink that a check starts.
    pub fn started(&mut self, what: &str) {
        if let Some(s) = self.sink.as_mut() {
            s.started(what);
        }
    }

    /// Tells the sink that the check started last ends without an outcome.
    pub fn abandoned(&mut self) {
        if let Some(s) = self.sink.as_mut() {
            s.abandoned();
        }
    }

    /// Records a finished check and tells the sink.
    pub fn finished(&mut self, c: CheckOutcome) {
        if c.ok() {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        if let Some(s) = self.sink.as_mut() {
            s.finished(&c);
        }
    }
}

/// The failure text of a diagnostic: its message, then its help.
pub fn failure_text(d: &Diag) -> String {
    match &d.help {
        Some(h) => format!("{}\n{h}", d.message),
        None => d.message.clone(),
    }
}

/// What a check statement checked, read from its source with the values its variables had:
/// `expect reach $ip from h1` with `ip = 10.0.0.2` is `reach 10.0.0.2 from h1`. `words` are the
/// statement's words written with a `$` and their values. A check made from a namespace named
/// only by an `in NS { }` around it says so: `from NS` for a probe sent from there, `in NS` for
/// state read there (`state`).
pub fn describe(
    map: &SourceMap,
    span: Span,
    words: &[(Span, String)],
    from: Option<&str>,
    state: bool,
) -> String {
    let text = map.text(span);
    let mut out = String::new();
    let mut at = span.start;
    let mut sorted: Vec<&(Span, String)> = words
        .iter()
        .filter(|(s, _)| s.start >= span.start && s.end <= span.end)
        .collect();
    sorted.sort_by_key(|(s, _)| s.start);
    for (s, v) in sorted {
        if s.start < at {
            continue;
        }
        out += text
            .get((at - span.start) as usize..(s.start - span.start) as usize)
            .unwrap_or_default();
        out += v;
        at = s.end;
    }
    out += text.get((at - span.start) as usize..).unwrap_or_default();
    let mut what = out.split_whitespace().collect::<Vec<_>>();
    if what.first() == Some(&"expect") {
        what.remove(0);
    }
    let mut what = what.join(" ");
    if let Some(ns) = from
        && !what.split(' ').any(|w| w == "from" || w == "in")
    {
        what += &format!(" {} {ns}", if state { "in" } else { "from" });
    }
    what
}
