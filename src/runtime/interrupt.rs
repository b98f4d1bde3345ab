//! Ctrl-C during `wait`: the signal only sets a flag, and `wait` returns when it sees it, so the run
//! ends the ordinary way (services stopped, files of the run removed) instead of being killed.

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: nix::libc::c_int) {
    // async-signal-safe: one atomic store
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Blocks until SIGINT or SIGTERM arrives. Returns the signal's name.
pub fn wait_for_interrupt() -> &'static str {
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handler only stores to an atomic.
    let installed = unsafe {
        sigaction(Signal::SIGINT, &action).is_ok() && sigaction(Signal::SIGTERM, &action).is_ok()
    };
    loop {
        if installed && INTERRUPTED.swap(false, Ordering::SeqCst) {
            return "interrupted";
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
