//! Entry points for the fuzz targets (fuzz/), kept in the library so they build with it.

use crate::app::session::Session;
use crate::interp::Env;
use crate::interp::world::DryRun;
use std::path::Path;

/// Parses and checks arbitrary bytes as a script, as `netsh --check` would. Panics only on an
/// internal inconsistency: the fast path building a different tree than the grammar, its wide and
/// scalar scanners reading a line differently, or the tape changing a dry run.
pub fn parse_and_check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.split('\n') {
        if let Some(fast) = crate::syntax::plain::plain_command(line, 0) {
            let full = crate::syntax::parser::parse_chunk(line, 0);
            let same = matches!(&full, Ok(stmts) if stmts.len() == 1 && format!("{:?}", stmts[0]) == format!("{fast:?}"));
            assert!(
                same,
                "fast path and grammar disagree on {line:?}: {fast:?} vs {full:?}"
            );
        }
    }
    crate::syntax::plain::scanners_agree(text);
    let mut session = Session::new(vec!["a".into(), "b".into()]);
    if let Ok(file) = session.add("fuzz.netsh", Path::new("/nonexistent"), text.to_string()) {
        let errors = session.check(file);
        for d in errors.iter().take(3) {
            // rendering reads the span back from the source: it must lie inside it
            let _ = format!("{:?}", miette::Report::new(d.render(&session.map)));
        }
    }
    // loops and procedures could run for ever; straight-line scripts run in a blink
    if !text.contains("for")
        && !text.contains("fn")
        && !text.contains("..")
        && let Some((taped, untaped)) = dry_runs(text)
    {
        assert_eq!(taped, untaped, "the tape changed the dry run of {text:?}");
    }
}

/// A checked script's dry run (its output, then how it ended) twice: run from the check pass's tape
/// of typed lines, as netsh runs it, and parsed again in full. None if the script does not check.
pub fn dry_runs(text: &str) -> Option<(String, String)> {
    let run = |taped: bool| {
        let mut session = Session::new(vec!["a".into(), "b".into()]);
        let file = session
            .add("t.netsh", Path::new("/nonexistent"), text.to_string())
            .ok()?;
        if !session.check(file).is_empty() {
            return None;
        }
        let mut world = DryRun::new(Vec::new());
        let ended = if taped {
            session.run(file, &mut world)
        } else {
            let base = session.map.file(file).base;
            let mut env = Env {
                map: &mut session.map,
                loader: &mut session.loader,
                world: &mut world,
            };
            session.interp.run_text(text, base, &mut env)
        };
        let ended = match ended {
            Ok(()) => "ok".to_string(),
            Err(d) => format!("{:?}: {} at {:?} ({})", d.code, d.message, d.span, d.label),
        };
        Some(String::from_utf8_lossy(&world.into_output()).into_owned() + &ended)
    };
    Some((run(true)?, run(false)?))
}
