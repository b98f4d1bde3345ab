//! SIGINT and SIGTERM during a real run: the handler notes the signal and writes a byte to a pipe;
//! whatever blocks for long (`ping`, `expect`, `wait`, `exec`) polls that pipe with what it waits
//! for, so it stops at once; everything else stops after its Op. The run then rolls back what it
//! did and exits 128 + the signal's number (130, 143). A second signal during the rollback changes
//! nothing (the rollback finishes).
//!
//! The interactive shell installs the handlers only while an input runs (`Running`): there a
//! SIGINT (Ctrl-C) stops the statement and the shell goes back to its prompt; at the prompt the
//! terminal is raw (Ctrl-C is a key) and SIGTERM ends the shell as it would any program.

use crate::base::error::{Kind, RunError};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

static PENDING: AtomicI32 = AtomicI32::new(0);
/// The pipe the handler wakes pollers through (-1 until `wake_pipe` made it).
static WAKE_READ: AtomicI32 = AtomicI32::new(-1);
static WAKE_WRITE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn note(sig: libc::c_int) {
    PENDING.store(sig, Ordering::SeqCst);
    let fd = WAKE_WRITE.load(Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; a full pipe (EAGAIN) is readable already.
        unsafe { libc::write(fd, [1u8].as_ptr().cast(), 1) };
    }
}

/// Makes the wake pipe once, before a handler that writes to it is installed.
fn wake_pipe() {
    if WAKE_READ.load(Ordering::SeqCst) >= 0 {
        return;
    }
    let mut fds = [-1; 2];
    // SAFETY: pipe2 fills two fds, kept for the life of the process.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } == 0 {
        WAKE_WRITE.store(fds[1], Ordering::SeqCst);
        WAKE_READ.store(fds[0], Ordering::SeqCst);
    }
}

fn handler() -> SigAction {
    // no SA_RESTART: a blocking wait returns early with EINTR
    SigAction::new(SigHandler::Handler(note), SaFlags::empty(), SigSet::empty())
}

/// Installs the handlers.
pub fn install() {
    wake_pipe();
    for sig in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to an atomic and writes to a pipe, both
        // async-signal-safe.
        let _ = unsafe { sigaction(sig, &handler()) };
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
        wake_pipe();
        let mut before = Vec::new();
        for sig in [Signal::SIGINT, Signal::SIGTERM] {
            // SAFETY: as in `install`.
            if let Ok(old) = unsafe { sigaction(sig, &handler()) } {
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

/// The read end of the pipe that becomes readable when a signal arrives, for a `poll` that
/// waits for something else too (`None` before the handlers are installed).
pub fn wake_fd() -> Option<RawFd> {
    Some(WAKE_READ.load(Ordering::SeqCst)).filter(|fd| *fd >= 0)
}

/// Waits until one of `fds` is ready (its `revents` set), `timeout` passes, or a signal arrives
/// (the error). Gives `Ok(true)` when an fd is ready.
pub fn poll(fds: &mut [libc::pollfd], timeout: Duration) -> Result<bool, RunError> {
    let deadline = Instant::now() + timeout;
    let mut all: Vec<libc::pollfd> = fds.to_vec();
    if let Some(fd) = wake_fd() {
        all.push(libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        });
    }
    loop {
        check()?;
        let left = deadline.saturating_duration_since(Instant::now());
        // without the pipe, a signal is seen at the latest 50 ms after it came
        let ms = if wake_fd().is_some() {
            left.as_millis().min(i32::MAX as u128) as i32
        } else {
            left.as_millis().min(50) as i32
        };
        for p in &mut all {
            p.revents = 0;
        }
        // SAFETY: `all` is a valid array of pollfds of its length.
        let n = unsafe { libc::poll(all.as_mut_ptr(), all.len() as libc::nfds_t, ms) };
        check()?;
        if n > 0 {
            let ready = all[..fds.len()].iter().any(|p| p.revents != 0);
            if ready {
                for (f, a) in fds.iter_mut().zip(&all) {
                    f.revents = a.revents;
                }
                return Ok(true);
            }
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
    }
}

/// Sleeps for `d`, or less when a signal arrives (the error).
pub fn sleep(d: Duration) -> Result<(), RunError> {
    poll(&mut [], d).map(drop)
}

/// Consumes a pending SIGINT (Ctrl-C at the interactive prompt).
pub fn take_interrupt() -> bool {
    let taken = PENDING
        .compare_exchange(libc::SIGINT, 0, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok();
    if taken && let Some(fd) = wake_fd() {
        let mut buf = [0u8; 64];
        // SAFETY: a non-blocking read into a buffer of its size, until the pipe is empty.
        while unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
    }
    taken
}

pub fn name(sig: i32) -> &'static str {
    match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sleep_ends_when_a_signal_is_noted_and_a_consumed_interrupt_lets_it_run() {
        wake_pipe();
        let t = Instant::now();
        assert!(sleep(Duration::from_millis(30)).is_ok());
        assert!(t.elapsed() >= Duration::from_millis(30));
        let waker = std::thread::spawn(|| {
            std::thread::sleep(Duration::from_millis(20));
            note(libc::SIGINT);
        });
        let t = Instant::now();
        let e = sleep(Duration::from_secs(60)).expect_err("the signal ends the sleep");
        assert!(e.is(Kind::Interrupted), "{e}");
        // far below the minute asked for: the pipe woke the poll
        assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
        waker.join().unwrap();
        assert!(take_interrupt());
        assert_eq!(pending(), None);
        // the pipe was drained: the next sleep runs its time
        let t = Instant::now();
        assert!(sleep(Duration::from_millis(30)).is_ok());
        assert!(t.elapsed() >= Duration::from_millis(30));
    }
}
