//! Standard output as one stream. Every line netsh writes there during a run goes through this file:
//! `text` for what a person reads (an echo, a table, a check's line) and `record` for data. Under
//! `--json` (`set_json`) both become one JSON object per line (NDJSON), each with a `type` from the
//! closed set `Type`, so no path can put a raw line among the records. docs/JSON.md is the schema.

use serde_json::{Map, Value};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether this process writes records (`--json`); set once by the program before it runs anything.
static JSON: AtomicBool = AtomicBool::new(false);

/// What a record is: its `type`. A new kind of line is a new variant (and a row of docs/JSON.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    /// A finished check (`expect ...`).
    Check,
    /// The run's check summary.
    Summary,
    /// `show ...`, `netns list`: rows.
    Show,
    /// `echo TEXT`.
    Echo,
    /// What a program run with `exec` printed.
    Exec,
    /// `ping`'s result.
    Ping,
    /// One packet of a `capture` with no file.
    Capture,
    /// `sysctl show`.
    Sysctl,
    /// `dump`: the script that rebuilds a namespace.
    Dump,
    /// `help` run as a statement.
    Help,
    /// What netsh tells a person as it goes (`Lease acquired: ...`, `wait`'s notes).
    Note,
    /// The `DOCKER_OPTS` line `docker-opts` wrote.
    DockerOpts,
    /// A TAP line (`--report tap` with `--json`).
    Tap,
    /// One line of a dry run (`--dry-run --json`).
    DryRun,
    /// How many changes a run made.
    Changes,
    /// What a rollback undid.
    Rollback,
    /// A diagnostic or an error that stopped the run.
    Error,
}

impl Type {
    /// Every type, in the order docs/JSON.md lists them.
    pub const ALL: &[Type] = &[
        Type::Check,
        Type::Summary,
        Type::Show,
        Type::Echo,
        Type::Exec,
        Type::Ping,
        Type::Capture,
        Type::Sysctl,
        Type::Dump,
        Type::Help,
        Type::Note,
        Type::DockerOpts,
        Type::Tap,
        Type::DryRun,
        Type::Changes,
        Type::Rollback,
        Type::Error,
    ];

    /// The record's `type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Type::Check => "check",
            Type::Summary => "summary",
            Type::Show => "show",
            Type::Echo => "echo",
            Type::Exec => "exec",
            Type::Ping => "ping",
            Type::Capture => "capture",
            Type::Sysctl => "sysctl",
            Type::Dump => "dump",
            Type::Help => "help",
            Type::Note => "note",
            Type::DockerOpts => "docker-opts",
            Type::Tap => "tap",
            Type::DryRun => "dry-run",
            Type::Changes => "changes",
            Type::Rollback => "rollback",
            Type::Error => "error",
        }
    }
}

/// Turns records on (`--json`) or off for the rest of the process.
pub fn set_json(on: bool) {
    JSON.store(on, Ordering::Relaxed);
}

/// Whether standard output carries records.
pub fn json() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// The record of `ty` with `fields` (an object; anything else is kept under `value`), `type` first.
pub fn object(ty: Type, fields: Value) -> Value {
    let mut o = Map::new();
    o.insert("type".into(), Value::from(ty.as_str()));
    match fields {
        Value::Object(f) => o.extend(f.into_iter().filter(|(k, _)| k != "type")),
        Value::Null => {}
        other => {
            o.insert("value".into(), other);
        }
    }
    Value::Object(o)
}

/// Writes a record (its caller decided that records are wanted: `--json`).
pub fn record(ty: Type, fields: Value) {
    line(&object(ty, fields).to_string());
}

/// Writes text for a person: as it is, or under `--json` as `{"type": ty, "text": TEXT}` (one
/// record for the whole text, its lines kept in the string; a final newline is left out).
pub fn text(ty: Type, text: &str) {
    let text = text.strip_suffix('\n').unwrap_or(text);
    if json() {
        record(ty, serde_json::json!({ "text": text }));
    } else {
        line(text);
    }
}

/// What `show WHAT [json]` prints: under `--json` the record `{"type":"show","what":WHAT,"ns":NS,
/// "rows":[...]}`; with the statement's own `json` the rows as one JSON array (as `ip -j` prints
/// them); else `text` of the rows, when it is not empty.
pub fn show(
    what: &str,
    ns: Option<&str>,
    as_json: bool,
    rows: Vec<Value>,
    text: impl FnOnce(&[Value]) -> String,
) {
    if json() {
        record(
            Type::Show,
            serde_json::json!({ "what": what, "ns": ns, "rows": rows }),
        );
    } else if as_json {
        line(&Value::Array(rows).to_string());
    } else {
        let t = text(&rows);
        if !t.is_empty() {
            self::text(Type::Show, &t);
        }
    }
}

/// One line to standard output, flushed (a check's line shows as it finishes). The escape codes of
/// coloured text go only to a terminal, and not with NO_COLOR (`anstream` decides).
/// Is standard output a terminal (where a status line can be shown and taken back)?
pub fn is_terminal() -> bool {
    std::io::IsTerminal::is_terminal(&std::io::stdout())
}

/// A status line on a terminal (a check that is running): written without its line break, to be
/// taken back by `clear_status`. Never under `--json`.
pub fn status(text: &str) {
    if json() {
        return;
    }
    let mut o = anstream::stdout().lock();
    let _ = o.write_all(text.as_bytes());
    let _ = o.flush();
}

/// Takes back the status line: to the line's start, and erased (not colour, so written as is).
pub fn clear_status() {
    if json() {
        return;
    }
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(b"\r\x1b[K");
    let _ = o.flush();
}

fn line(s: &str) {
    let mut o = anstream::stdout().lock();
    let _ = o.write_all(s.as_bytes());
    let _ = o.write_all(b"\n");
    let _ = o.flush();
}

/// Writes a dry run's lines to `W`: as they are, or under `--json` each as
/// `{"type":"dry-run","text":LINE}`. A line is written once it is complete.
pub struct DryRunLines<W: Write> {
    out: W,
    json: bool,
    partial: Vec<u8>,
}

impl<W: Write> DryRunLines<W> {
    pub fn new(out: W) -> DryRunLines<W> {
        DryRunLines {
            out,
            json: json(),
            partial: Vec::new(),
        }
    }
}

impl<W: Write> Write for DryRunLines<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.json {
            return self.out.write(buf);
        }
        self.partial.extend_from_slice(buf);
        if let Some(end) = self.partial.iter().rposition(|b| *b == b'\n') {
            let complete: Vec<u8> = self.partial.drain(..=end).collect();
            let mut records = String::new();
            for l in String::from_utf8_lossy(&complete).lines() {
                records += &object(Type::DryRun, serde_json::json!({ "text": l })).to_string();
                records.push('\n');
            }
            self.out.write_all(records.as_bytes())?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.json && !self.partial.is_empty() {
            self.partial.push(b'\n');
            return self.write(&[]).and_then(|_| self.out.flush());
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_has_its_type_first_and_keeps_its_fields() {
        let v = object(
            Type::Echo,
            serde_json::json!({"text": "hi", "type": "other"}),
        );
        assert_eq!(v.to_string(), r#"{"type":"echo","text":"hi"}"#);
        let v = object(Type::Show, serde_json::json!([1, 2]));
        assert_eq!(v["value"], serde_json::json!([1, 2]));
    }

    #[test]
    fn every_type_has_its_own_name() {
        let mut names: Vec<_> = Type::ALL.iter().map(|t| t.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Type::ALL.len());
    }

    #[test]
    fn dry_run_lines_become_records_line_by_line() {
        let mut w = DryRunLines {
            out: Vec::new(),
            json: true,
            partial: Vec::new(),
        };
        w.write_all(b"ip netns add a\nip -n a li").unwrap();
        w.write_all(b"nk set lo up\n# a \"comment\"").unwrap();
        w.flush().unwrap();
        let out = String::from_utf8(w.out).unwrap();
        let lines: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let texts: Vec<&str> = lines.iter().map(|v| v["text"].as_str().unwrap()).collect();
        assert_eq!(
            texts,
            [
                "ip netns add a",
                "ip -n a link set lo up",
                "# a \"comment\""
            ]
        );
        assert!(lines.iter().all(|v| v["type"] == "dry-run"));
    }
}
