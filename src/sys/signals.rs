//! SIGINT and SIGTERM during a real run: the handler only notes the signal; the run stops before its
//! next Op, rolls back what it did, and exits 128 + the signal's number (130, 143). A second signal
//! during the rollback changes nothing (the rollback finishes).

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
