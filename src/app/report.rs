//! The reporters of a run's checks: a line per check as it finishes (`✓ reach 10.0.0.2 from h1
//! 0.3 ms`, coloured on a terminal only), a JSON record per check with `--json`, TAP on standard
//! output with `--report tap`, a JUnit XML file with `--report junit=FILE`, and the run's summary
//! (`2 checks passed, 0 failed · 5 changes · 0.31 s`). See docs/REPORTS.md.

use crate::base::json_stream::{self, Type};
use crate::interp::checks::{CheckOutcome, CheckSink};
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// One `--report` value: `tap`, or `junit=FILE`.
#[derive(Clone, Debug, PartialEq)]
pub enum ReportKind {
    Tap,
    Junit(PathBuf),
}

/// Reads a `--report` value (clap calls it, so a malformed one stops netsh before anything runs).
pub fn parse_report(s: &str) -> Result<ReportKind, String> {
    match s.split_once('=') {
        None if s == "tap" => Ok(ReportKind::Tap),
        Some(("tap", _)) => Err("`tap` takes no file: TAP goes to standard output".into()),
        Some(("junit", f)) if !f.is_empty() => Ok(ReportKind::Junit(PathBuf::from(f))),
        Some(("junit", _)) | None if s == "junit" || s == "junit=" => {
            Err("`junit` needs a file to write: --report junit=FILE".into())
        }
        _ => Err(format!(
            "unknown report `{s}`: expected `tap` or `junit=FILE`"
        )),
    }
}

/// How a run's checks are shown.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Only failed checks (and a summary when something failed).
    pub quiet: bool,
    pub json: bool,
    pub tap: bool,
    pub junit: Option<PathBuf>,
}

pub struct Reporter {
    opts: Options,
    started: Instant,
    /// Every check so far, for the summary, the TAP plan and the JUnit file.
    done: Vec<CheckOutcome>,
    /// Standard output is a terminal: a running check shows there that it is waiting.
    terminal: bool,
    /// The line of a running check is on the terminal, to be replaced by its outcome.
    waiting: bool,
}

/// `0.3 ms`, `12.5 ms`, `3.0 s`.
pub fn duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

const PASS: anstyle::Style = anstyle::AnsiColor::Green.on_default().bold();
const FAIL: anstyle::Style = anstyle::AnsiColor::Red.on_default().bold();
const DIM: anstyle::Style = anstyle::Style::new().dimmed();

impl Reporter {
    pub fn new(opts: Options) -> Reporter {
        Reporter {
            opts,
            started: Instant::now(),
            done: Vec::new(),
            terminal: json_stream::is_terminal(),
            waiting: false,
        }
    }

    /// Shared between the interpreter, which tells it of each check, and the program, which ends
    /// the run with `finish`.
    pub fn shared(opts: Options) -> Rc<RefCell<Reporter>> {
        Rc::new(RefCell::new(Reporter::new(opts)))
    }

    /// The start of the run's output: TAP's version line.
    pub fn begin(&self) {
        if self.opts.tap {
            json_stream::text(Type::Tap, "TAP version 14");
        }
    }

    fn passed(&self) -> usize {
        self.done.iter().filter(|c| c.ok()).count()
    }

    /// The summary (and the TAP plan), and the JUnit file; `changes` is how many Ops changed
    /// something. An error is the JUnit file that could not be written.
    pub fn finish(&self, changes: Option<usize>) -> Result<(), String> {
        let (passed, failed) = (self.passed(), self.done.len() - self.passed());
        let secs = self.started.elapsed().as_secs_f64();
        if self.opts.tap {
            json_stream::text(Type::Tap, &format!("1..{}", self.done.len()));
        }
        if self.opts.json {
            json_stream::record(
                Type::Summary,
                serde_json::json!({"passed": passed, "failed": failed, "changes": changes, "seconds": secs}),
            );
        } else if !self.done.is_empty() && (!self.opts.quiet || failed > 0) {
            let s = |n: usize| if n == 1 { "" } else { "s" };
            let mut line = format!("{passed} check{} passed, {failed} failed", s(passed));
            if let Some(n) = changes {
                line += &format!(" · {n} change{}", s(n));
            }
            line += &format!(" · {secs:.2} s");
            let style = if failed > 0 { FAIL } else { PASS };
            if self.opts.tap {
                json_stream::text(Type::Tap, &format!("# {line}"));
            } else {
                json_stream::text(Type::Summary, &format!("{style}{line}{style:#}"));
            }
        }
        match &self.opts.junit {
            Some(path) => self.write_junit(path),
            None => Ok(()),
        }
    }

    fn write_junit(&self, path: &std::path::Path) -> Result<(), String> {
        use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
        let mut report = Report::new("netsh");
        let suite_name = self.done.first().map_or("netsh", |c| c.file.as_str());
        let mut suite = TestSuite::new(suite_name);
        for c in &self.done {
            let status = match &c.failure {
                None => TestCaseStatus::success(),
                Some(why) => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(why.lines().next().unwrap_or_default());
                    s.set_type("expect");
                    s.set_description(why.as_str());
                    s
                }
            };
            let mut case = TestCase::new(format!("{} (line {})", c.what, c.line), status);
            case.set_classname(c.file.as_str());
            case.set_time(c.elapsed);
            suite.add_test_case(case);
        }
        suite.set_time(self.started.elapsed());
        report.add_test_suite(suite);
        report.set_time(self.started.elapsed());
        let xml = report
            .to_string()
            .map_err(|e| format!("cannot write the JUnit report: {e}"))?;
        std::fs::write(path, xml)
            .map_err(|e| format!("cannot write the JUnit report {}: {e}", path.display()))
    }

    /// Writes a finished check: its TAP line, its record (`--json`) or its line for a person.
    fn show(&self, c: &CheckOutcome) {
        let n = self.done.len();
        if self.opts.tap {
            let mut s = format!(
                "{} {n} - {} (line {})",
                if c.ok() { "ok" } else { "not ok" },
                c.what,
                c.line
            );
            if let Some(why) = &c.failure {
                s += "\n  ---";
                s += &format!("\n  message: {}", yaml_string(why));
                s += &format!("\n  at: {}", yaml_string(&format!("{}:{}", c.file, c.line)));
                s += &format!("\n  duration_ms: {:.3}", c.elapsed.as_secs_f64() * 1000.0);
                s += "\n  ...";
            }
            json_stream::text(Type::Tap, &s);
            return;
        }
        if self.opts.quiet && c.ok() {
            return;
        }
        if self.opts.json {
            let mut v = serde_json::json!({
                "expect": c.target.as_deref().unwrap_or(c.what.as_str()),
                "from": c.from,
                "ok": c.ok(),
                "what": c.what,
                "file": c.file,
                "line": c.line,
                "ms": c.elapsed.as_secs_f64() * 1000.0,
            });
            if let Some(why) = &c.failure {
                v["error"] = why.as_str().into();
            }
            json_stream::record(Type::Check, v);
            return;
        }
        let (mark, style) = if c.ok() { ("✓", PASS) } else { ("✗", FAIL) };
        json_stream::text(
            Type::Check,
            &format!(
                "{style}{mark}{style:#} {}  {DIM}{}{DIM:#}",
                c.what,
                duration(c.elapsed)
            ),
        );
    }
}

/// A YAML string, double-quoted with JSON's escapes (JSON strings are YAML).
fn yaml_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

impl CheckSink for Reporter {
    fn started(&mut self, what: &str) {
        if self.terminal && !self.opts.json && !self.opts.tap && !self.opts.quiet {
            json_stream::status(&format!("{DIM}… {what}{DIM:#}"));
            self.waiting = true;
        }
    }

    fn finished(&mut self, c: &CheckOutcome) {
        self.done.push(c.clone());
        if std::mem::take(&mut self.waiting) {
            json_stream::clear_status();
        }
        self.show(c);
    }

    fn abandoned(&mut self) {
        if std::mem::take(&mut self.waiting) {
            json_stream::clear_status();
        }
    }
}

/// The interpreter's handle on a shared reporter.
pub struct Shared(pub Rc<RefCell<Reporter>>);

impl CheckSink for Shared {
    fn started(&mut self, what: &str) {
        if let Ok(mut r) = self.0.try_borrow_mut() {
            r.started(what);
        }
    }

    fn finished(&mut self, c: &CheckOutcome) {
        if let Ok(mut r) = self.0.try_borrow_mut() {
            r.finished(c);
        }
    }

    fn abandoned(&mut self) {
        if let Ok(mut r) = self.0.try_borrow_mut() {
            r.abandoned();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_values() {
        assert_eq!(parse_report("tap"), Ok(ReportKind::Tap));
        assert_eq!(
            parse_report("junit=out.xml"),
            Ok(ReportKind::Junit("out.xml".into()))
        );
        assert!(parse_report("junit").is_err());
        assert!(parse_report("junit=").is_err());
        assert!(parse_report("tap=x").is_err());
        assert!(parse_report("html").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(duration(Duration::from_micros(300)), "0.3 ms");
        assert_eq!(duration(Duration::from_secs(3)), "3.0 s");
    }
}
