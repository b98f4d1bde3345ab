//! The one run-time error. Parse and check errors are diagnostics (diag.rs); everything that goes
//! wrong while a script runs is a `RunError`: words for the user, and a `Kind` (with the errno,
//! when the kernel or the OS gave one) that code decides on. Rollback, for one, treats an undo step
//! whose object is already `Gone` as done; that is a kind, never a substring of the message.

use crate::base::diag::Code;
use crate::base::source::Span;
use std::fmt;

/// What went wrong, for code that must decide on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The object is not there (a missing link, namespace, entry or file: ENODEV, ENOENT, ESRCH).
    Gone,
    /// It is there already (EEXIST, or a name taken by an object of another kind).
    Exists,
    /// The kernel or this build cannot do it (a missing module: EOPNOTSUPP).
    NotSupported,
    /// The store (embedded or etcd) failed.
    Store,
    /// An `expect` did not hold.
    Expect,
    /// The script asked for something that cannot be (found only at run time).
    Usage,
    /// Stopped by SIGINT or SIGTERM.
    Interrupted,
    /// Any other failure (the kernel's, with its errno, or the OS's).
    Failed,
}

/// A failure while running, in words; the interpreter adds the span: the argument's named by
/// `at` when the statement has it, else the whole statement's.
#[derive(Debug, Clone)]
pub struct RunError {
    pub kind: Kind,
    /// The errno the kernel or the OS answered with, when one did (positive: EEXIST = 17).
    pub errno: Option<i32>,
    pub code: Code,
    pub message: String,
    pub help: Option<String>,
    /// The argument the error is about, when the statement being run has it.
    pub at: Option<ArgAt>,
    /// The statement that failed, when it is not the one being run: a request pipelined by an
    /// earlier statement whose answer came late (engine/pipeline.rs).
    pub stmt: Option<Span>,
}

/// The argument a run-time error is about: its keyword, and its value (which of several `subnet`s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgAt {
    pub key: &'static str,
    pub value: String,
}

impl RunError {
    pub fn new(message: impl Into<String>) -> RunError {
        RunError {
            kind: Kind::Failed,
            errno: None,
            code: Code::RunFailed,
            message: message.into(),
            help: None,
            at: None,
            stmt: None,
        }
    }

    /// An error of a kind that code decides on.
    pub fn of(kind: Kind, message: impl Into<String>) -> RunError {
        let code = match kind {
            Kind::NotSupported => Code::NotSupported,
            Kind::Expect => Code::ExpectFailed,
            _ => Code::RunFailed,
        };
        RunError {
            kind,
            code,
            ..RunError::new(message)
        }
    }

    /// An error the kernel or the OS answered with `errno`; its kind follows from the errno.
    pub fn errno(errno: i32, message: impl Into<String>) -> RunError {
        let errno = errno.abs();
        RunError {
            errno: Some(errno),
            ..RunError::of(kind_of_errno(errno), message)
        }
    }

    /// An OS error outside netlink (files, sockets), in words: what netsh tried, then strerror's.
    pub fn os(what: impl fmt::Display, e: &std::io::Error) -> RunError {
        let message = format!("{what}: {}", io_text(e));
        let mut err = match e.raw_os_error() {
            Some(errno) => RunError::errno(errno, message),
            None if e.kind() == std::io::ErrorKind::NotFound => RunError::of(Kind::Gone, message),
            None => RunError::new(message),
        };
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            err = err.help("netsh needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) for this");
        }
        err
    }

    /// Points the diagnostic at the statement's `key` argument whose value is `value`.
    pub fn at(mut self, key: &'static str, value: impl Into<String>) -> RunError {
        self.at = Some(ArgAt {
            key,
            value: value.into(),
        });
        self
    }
    pub fn with_code(mut self, code: Code) -> RunError {
        self.code = code;
        self
    }
    pub fn help(mut self, help: impl Into<String>) -> RunError {
        self.help = Some(help.into());
        self
    }
    /// Takes the errno (and so the kind) of the OS error this one reports.
    pub fn with_os(mut self, e: &std::io::Error) -> RunError {
        if let Some(errno) = e.raw_os_error() {
            self = self.with_errno(errno);
        } else if e.kind() == std::io::ErrorKind::NotFound {
            self.kind = Kind::Gone;
        }
        self
    }
    /// Takes `errno`, and the kind it stands for.
    pub fn with_errno(mut self, errno: i32) -> RunError {
        self.errno = Some(errno.abs());
        self.kind = kind_of_errno(errno);
        if self.kind == Kind::NotSupported {
            self.code = Code::NotSupported;
        }
        self
    }
    pub fn is(&self, kind: Kind) -> bool {
        self.kind == kind
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RunError {}

/// The kind an errno stands for.
pub fn kind_of_errno(errno: i32) -> Kind {
    use nix::errno::Errno::*;
    match nix::errno::Errno::from_raw(errno.abs()) {
        ENODEV | ENOENT | ESRCH | ENXIO => Kind::Gone,
        EEXIST => Kind::Exists,
        EOPNOTSUPP | EAFNOSUPPORT | EPROTONOSUPPORT => Kind::NotSupported,
        EINTR => Kind::Interrupted,
        _ => Kind::Failed,
    }
}

/// An io::Error's words without Rust's ` (os error N)` suffix, as strerror(3) gives them.
pub fn io_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_errno_decides_the_kind() {
        assert_eq!(RunError::errno(19, "x").kind, Kind::Gone); // ENODEV
        assert_eq!(RunError::errno(-3, "x").kind, Kind::Gone); // ESRCH, as netlink sends it
        assert_eq!(RunError::errno(17, "x").kind, Kind::Exists);
        assert_eq!(RunError::errno(95, "x").kind, Kind::NotSupported);
        assert_eq!(RunError::errno(95, "x").code, Code::NotSupported);
        assert_eq!(RunError::errno(22, "x").kind, Kind::Failed);
        assert_eq!(RunError::errno(22, "x").errno, Some(22));
    }

    #[test]
    fn an_os_error_keeps_its_errno_and_loses_rusts_suffix() {
        let e = RunError::os(
            "cannot open /x",
            &std::io::Error::from_raw_os_error(libc::ENOENT),
        );
        assert_eq!(e.kind, Kind::Gone);
        assert_eq!(e.message, "cannot open /x: No such file or directory");
    }
}
