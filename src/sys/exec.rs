//! `exec "CMD" in NS`, like `ip netns exec`: the child enters NS, gets a mount namespace of its own
//! and a fresh /sys, so /sys/class/net lists NS's links (a bare setns would leave the old sysfs).
//! A SIGINT or SIGTERM to netsh while a program runs is passed on to it, and the statement stops.

use crate::base::error::RunError;
use crate::sys::netns;
use crate::sys::signals;
use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

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

/// Waits for `child`. A signal to netsh stops the statement at once and goes on to the program
/// (`kill PID` reaches netsh alone, not the terminal's whole group).
fn wait_for(child: &mut Child, argv: &[String]) -> Result<ExitStatus, RunError> {
    // a pidfd is readable when the child exits; without one (old kernels) look every 20 ms
    // SAFETY: pidfd_open(2) with no flags returns a new fd or -1.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, child.id(), 0) };
    // SAFETY: the fd is fresh and ours.
    let pidfd = (raw >= 0).then(|| unsafe { OwnedFd::from_raw_fd(raw as i32) });
    loop {
        if let Some(status) = child.try_wait().map_err(|e| spawn_error(argv, &e))? {
            return Ok(status);
        }
        let mut fds: Vec<libc::pollfd> = pidfd
            .iter()
            .map(|fd| libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let slice = if pidfd.is_some() {
            Duration::from_secs(3600)
        } else {
            Duration::from_millis(20)
        };
        if let Err(e) = signals::poll(&mut fds, slice) {
            stop(child, signals::pending().unwrap_or(libc::SIGTERM));
            return Err(e);
        }
    }
}

/// Passes `sig` on to the program, and kills it when it has not ended a second later.
fn stop(child: &mut Child, sig: i32) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let sig = nix::sys::signal::Signal::try_from(sig).unwrap_or(nix::sys::signal::Signal::SIGTERM);
    let _ = nix::sys::signal::kill(pid, sig);
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Runs a program with netsh's own stdout and stderr.
pub fn run(ns: Option<&str>, argv: &[String], hosts: Option<&Path>) -> Result<(), RunError> {
    let _ = std::io::stdout().flush();
    let mut child = command(ns, argv, hosts)?
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| spawn_error(argv, &e))?;
    let status = wait_for(&mut child, argv)?;
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
    let (status, stdout, stderr) = collect(ns, argv, hosts, Stdio::piped())?;
    if !status.success() {
        return Err(status_error(
            argv,
            status,
            &String::from_utf8_lossy(&stderr),
        ));
    }
    Ok(String::from_utf8_lossy(&stdout).into_owned())
}

/// Runs a program whose standard output is kept (it goes into a `--json` record) and whose
/// standard error is netsh's: what it printed, and how it ended.
pub fn run_collected(
    ns: Option<&str>,
    argv: &[String],
    hosts: Option<&Path>,
) -> Result<(String, Result<(), RunError>), RunError> {
    let (status, stdout, _) = collect(ns, argv, hosts, Stdio::inherit())?;
    let output = String::from_utf8_lossy(&stdout).into_owned();
    if status.success() {
        Ok((output, Ok(())))
    } else {
        Ok((output, Err(status_error(argv, status, ""))))
    }
}

/// Runs a program with its standard output read into memory (and its standard error too, when
/// `stderr` is a pipe): its status and the bytes read.
fn collect(
    ns: Option<&str>,
    argv: &[String],
    hosts: Option<&Path>,
    stderr: Stdio,
) -> Result<(ExitStatus, Vec<u8>, Vec<u8>), RunError> {
    let mut child = command(ns, argv, hosts)?
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .map_err(|e| spawn_error(argv, &e))?;
    // both pipes are read while the program runs, so a full one never blocks it
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    // when a signal stops it, the readers are left to end with the pipes
    let status = wait_for(&mut child, argv)?;
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    Ok((status, stdout, stderr))
}
