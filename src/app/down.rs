//! `netsh down FILE`: undoes what FILE's runs made, from their journal (engine/journal.rs).

use crate::app::session::Session;
use crate::base::error::Kind;
use crate::engine::journal::{path_for, read_trusted};
use crate::engine::real::{Options, RealWorld};
use std::path::Path;

/// `netsh down FILE`: runs the journal's steps newest first. A step whose object is already gone
/// (deleted by hand, or with its namespace) counts as done. The journal is removed when every step
/// succeeded, and kept (for another try) otherwise.
pub fn down(script: &str, json: bool) -> i32 {
    let path = match path_for(Path::new(script)) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("netsh down: {e}");
            return 2;
        }
    };
    // the steps run as root: a journal others could have written is refused, and nothing runs
    let steps = match read_trusted(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("netsh down: refusing the journal: {e}");
            return 2;
        }
    };
    if steps.is_empty() {
        eprintln!("netsh down: no journal for {script}: nothing to undo");
        return 0;
    }
    let mut world = match RealWorld::new(Options {
        strict: false,
        json,
        sandbox: false,
    }) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("netsh down: {e}");
            return 1;
        }
    };
    let (mut done, mut gone, mut failed) = (0, 0, Vec::new());
    for step in steps.iter().rev().filter(|s| !s.starts_with('#')) {
        let mut session = Session::new(Vec::new());
        let Ok(file) = session.add("<journal>", Path::new("/"), step.clone()) else {
            failed.push(step.clone());
            continue;
        };
        if !session.check(file).is_empty() {
            eprintln!("netsh down: not a statement in the journal: {step}");
            failed.push(step.clone());
            continue;
        }
        match session.run(file, &mut world) {
            Ok(()) => done += 1,
            Err(d) if d.kind == Some(Kind::Gone) => gone += 1,
            Err(d) => {
                eprintln!("netsh down: {step}: {}", d.message);
                failed.push(step.clone());
            }
        }
    }
    eprintln!(
        "netsh down: {done} undone, {gone} already gone, {} failed",
        failed.len()
    );
    if failed.is_empty() {
        let _ = std::fs::remove_file(&path);
        0
    } else {
        1
    }
}
