//! SIGINT and SIGTERM during a real run: the handler only notes the signal; the run stops before its
//! next Op, rolls back what it did, and exits 128 + the signal's number (130, 143). A second signal
//! during the rollback changes nothing (the rollback finishes).
//!
//! The interactive shell installs the handlers only while an input runs (`Running`): there a
//! SIGINT (Ctrl-C) stops the statement and the shell goes back to its prompt; at the prompt the
//! terminal is raw (Ctrl-C is a key) and SIGTERM ends the shell as it would any program.

use crate::base::error::{Kind, RunError};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use std::sync::atomic::{AtomicI32, Ordering};

static PENDING: AtomicI32 = AtomicI32::new(0);

extern "C" fn note(sig: libc::c_int) {
    PENDING.store(sig, Ordering::SeqCst);
}

/// Installs the handlers (no SA_RESTART: a blocking wait returns early with EINTR).
pub fn install() {
    let action = SigAction::new(SigHandler::Handler(note), SaFlags::empty(), SigSet::empty());
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        let _ = unsafe { sigaction(sig, &action) };
    }
}

/// The handlers of one input at the interactive prompt: installed on creation, the dispositions
/// before them put back on drop. A SIGINT noted while it ran is consumed; a SIGTERM is left for
/// `pending`.
pub struct Running {
    before: Vec<(Signal, SigAction)>,
}

impl Running {
    pub fn start() -> Running {
        let action = SigAction::new(SigHandler::Handler(note), SaFlags::empty(), SigSet::empty());
        let mut before = Vec::new();
        for sig in [Signal::SIGINT, Signal::SIGTERM] {
            // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
            if let Ok(old) = unsafe { sigaction(sig, &action) } {
                before.push((sig, old));
            }
        }
        Running { before }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        for (sig, old) in &self.before {
            // SAFETY: putting back the disposition sigaction returned.
            let _ = unsafe { sigaction(*sig, old) };
        }
        take_interrupt();
    }
}

/// The error of a statement stopped by `sig`.
pub fn stopped(sig: i32) -> RunError {
    RunError::of(Kind::Interrupted, format!("interrupted by {}", name(sig)))
}

/// The error to stop with when a signal is pending.
pub fn check() -> Result<(), RunError> {
    match pending() {
        Some(sig) => Err(stopped(sig)),
        None => Ok(()),
    }
}

/// The signal received, if any.
pub fn pending() -> Option<i32> {
    match PENDING.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// Consumes a pending SIGINT (Ctrl-C): `wait` ends on it and the script goes on.
pub fn take_interrupt() -> bool {
    PENDING
        .compare_exchange(libc::SIGINT, 0, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
}

pub fn name(sig: i32) -> &'static str {
    match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}
