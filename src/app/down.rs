//! `netsh down FILE`: undoes what FILE's runs made, from their journal (engine/journal.rs).

use crate::app::session::Session;
use crate::base::error::Kind;
use crate::engine::journal::{path_for, read_locked, take_out};
use crate::engine::real::{Options, RealWorld};
use std::path::Path;

/// `netsh down FILE`: runs the journal's steps newest first. A step whose object is already gone
/// (deleted by hand, or with its namespace) counts as done. The steps done are taken out of the
/// journal, which goes when none is left; a step that failed stays for another try (as do steps a
/// run still going appended meanwhile).
pub fn down(script: &str, json: bool) -> i32 {
    let path = match path_for(Path::new(script)) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("netsh down: {e}");
            return 2;
        }
    };
    // the steps run as root: a journal others could have written is refused, and nothing runs
    let steps = match read_locked(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("netsh down: refusing the journal: {e}");
            return 2;
        }
    };
    if steps.is_empty() {
        // a run killed as it made its journal can leave the file without a step
        let _ = take_out(&path, &[]);
        eprintln!("netsh down: no journal for {script}: nothing to undo");
        return 0;
    }
    let mut world = match RealWorld::new(Options {
        strict: false,
        json,
        sandbox: false,
        // `down` removes; the few objects it makes (a link moved back) are the run's own
        max_objects: usize::MAX,
    }) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("netsh down: {e}");
            return 1;
        }
    };
    let (mut done, mut gone, mut failed) = (0, 0, Vec::new());
    // what is taken out of the journal at the end: the steps done and the comments
    let mut finished: Vec<String> = steps
        .iter()
        .filter(|s| s.starts_with('#'))
        .cloned()
        .collect();
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
                continue;
            }
        }
        finished.push(step.clone());
    }
    eprintln!(
        "netsh down: {done} undone, {gone} already gone, {} failed",
        failed.len()
    );
    if let Err(e) = take_out(&path, &finished) {
        eprintln!("netsh down: {e}");
        return 1;
    }
    if failed.is_empty() {
        0
    } else {
        eprintln!(
            "netsh down: the journal keeps the {} step{} that failed: run `netsh down {script}` again",
            failed.len(),
            if failed.len() == 1 { "" } else { "s" }
        );
        1
    }
}
