//! `exec "CMD" in NS`, like `ip netns exec`: the child enters NS, gets a mount namespace of its own
//! and a fresh /sys, so /sys/class/net lists NS's links (a bare setns would leave the old sysfs).

use crate::base::error::RunError;
use crate::sys::netns;
use std::ffi::CString;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// What the child needs, prepared before fork (no allocation happens after it).
struct Enter {
    ns: std::fs::File,
    root: CString,
    sys: CString,
    sysfs: CString,
    /// A hosts file naming the run's containers, bind-mounted over /etc/hosts (Docker's name
    /// resolution, the simple way): `(source, /etc/hosts)`.
    hosts: Option<(CString, CString)>,
}

fn command(ns: Option<&str>, argv: &[String], hosts: Option<&Path>) -> Result<Command, RunError> {
    let Some((prog, args)) = argv.split_first() else {
        return Err(RunError::new("`exec` needs a program to run"));
    };
    let mut cmd = Command::new(prog);
    cmd.args(args);
    if let Some(name) = ns {
        let enter = Enter {
            ns: netns::open(name)?,
            root: CString::from(c"/"),
            sys: CString::from(c"/sys"),
            sysfs: CString::from(c"sysfs"),
            hosts: hosts
                .and_then(|p| CString::new(p.as_os_str().as_bytes()).ok())
                .map(|p| (p, CString::from(c"/etc/hosts"))),
        };
        // SAFETY: only async-signal-safe system calls run between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                let e = &enter;
                if libc::setns(e.ns.as_raw_fd(), libc::CLONE_NEWNET) != 0
                    || libc::unshare(libc::CLONE_NEWNS) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                // keep the parent's mounts from seeing ours, then mount a sysfs of NS over /sys
                libc::mount(
                    std::ptr::null(),
                    e.root.as_ptr(),
                    std::ptr::null(),
                    libc::MS_SLAVE | libc::MS_REC,
                    std::ptr::null(),
                );
                libc::umount2(e.sys.as_ptr(), libc::MNT_DETACH);
                if libc::mount(
                    e.sysfs.as_ptr(),
                    e.sys.as_ptr(),
                    e.sysfs.as_ptr(),
                    0,
                    std::ptr::null(),
                ) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                if let Some((src, dst)) = &e.hosts {
                    libc::mount(
                        src.as_ptr(),
                        dst.as_ptr(),
                        std::ptr::null(),
                        libc::MS_BIND,
                        std::ptr::null(),
                    );
                }
                Ok(())
            });
        }
    }
    Ok(cmd)
}

fn shown(argv: &[String]) -> String {
    argv.iter()
        .map(|a| crate::ops::shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

fn spawn_error(argv: &[String], e: &std::io::Error) -> RunError {
    let err = RunError::new(format!(
        "cannot run `{}`: {}",
        shown(argv),
        crate::base::error::io_text(e)
    ))
    .with_os(e);
    if e.kind() == std::io::ErrorKind::NotFound {
        err.help("is the program installed and on PATH?")
    } else {
        err
    }
}

fn status_error(argv: &[String], status: std::process::ExitStatus, stderr: &str) -> RunError {
    let how = match status.code() {
        Some(c) => format!("exited with status {c}"),
        None => "was killed by a signal".to_string(),
    };
    let mut msg = format!("`{}` {how}", shown(argv));
    let stderr = stderr.trim();
    if !stderr.is_empty() {
        msg += &format!(": {stderr}");
    }
    RunError::new(msg)
}

/// Runs a program with netsh's own stdout and stderr.
pub fn run(ns: Option<&str>, argv: &[String], hosts: Option<&Path>) -> Result<(), RunError> {
    let _ = std::io::stdout().flush();
    let status = command(ns, argv, hosts)?
        .stdin(Stdio::null())
        .status()
        .map_err(|e| spawn_error(argv, &e))?;
    if status.success() {
        Ok(())
    } else {
        Err(status_error(argv, status, ""))
    }
}

/// Runs a program and returns what it printed (`let out = exec ...`).
pub fn capture(
    ns: Option<&str>,
    argv: &[String],
    hosts: Option<&Path>,
) -> Result<String, RunError> {
    let Output {
        status,
        stdout,
        stderr,
    } = command(ns, argv, hosts)?
        .stdin(Stdio::null())
        .output()
        .map_err(|e| spawn_error(argv, &e))?;
    if !status.success() {
        return Err(status_error(
            argv,
            status,
            &String::from_utf8_lossy(&stderr),
        ));
    }
    Ok(String::from_utf8_lossy(&stdout).into_owned())
}
