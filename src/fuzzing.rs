//! Entry points for the fuzz targets (fuzz/), kept in the library so they build with it.

use crate::session::Session;
use std::path::Path;

/// Parses and checks arbitrary bytes as a script, as `netsh --check` would. Panics only on an
/// internal inconsistency: the fast path building a different tree than the grammar.
pub fn parse_and_check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.split('\n') {
        if let Some(fast) = crate::syntax::fast::plain_command(line, 0) {
            let full = crate::syntax::parser::parse_chunk(line, 0);
            let same = matches!(&full, Ok(stmts) if stmts.len() == 1 && format!("{:?}", stmts[0]) == format!("{fast:?}"));
            assert!(
                same,
                "fast path and grammar disagree on {line:?}: {fast:?} vs {full:?}"
            );
        }
    }
    let mut session = Session::new(vec!["a".into(), "b".into()]);
    if let Ok(file) = session.add("fuzz.netsh", Path::new("/nonexistent"), text.to_string()) {
        let errors = session.check(file);
        for d in errors.iter().take(3) {
            // rendering reads the span back from the source: it must lie inside it
            let _ = format!("{:?}", miette::Report::new(d.render(&session.map)));
        }
    }
}
