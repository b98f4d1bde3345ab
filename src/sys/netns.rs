//! Named network namespaces, as ip-netns(8) keeps them: a file under /run/netns that a namespace
//! is bind-mounted on. Creating one needs no fork: a helper thread unshares its network namespace
//! and bind-mounts /proc/thread-self/ns/net (a thread may do this; the rest of the process stays
//! where it was). Work inside a namespace also happens on a helper thread that `setns`ed into it,
//! never on the main thread or a tokio worker. An empty file with nothing mounted on it (left by a
//! process killed between making the file and mounting on it) is no namespace: `add` replaces it,
//! `del` removes it.

use crate::base::error::{Kind, RunError};
use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};
use std::fs::File;
use std::path::{Path, PathBuf};

pub const NETNS_RUN_DIR: &str = "/run/netns";

pub fn path(name: &str) -> PathBuf {
    Path::new(NETNS_RUN_DIR).join(name)
}

/// A name ip(8) would accept: no path separators, not `.`/`..`, not empty.
fn check_name(name: &str) -> Result<(), RunError> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.len() > 255 {
        return Err(RunError::new(format!(
            "`{name}` is not a usable namespace name"
        )));
    }
    Ok(())
}

/// Opens a namespace's file (the handle `setns` and IFLA_NET_NS_FD take).
pub fn open(name: &str) -> Result<File, RunError> {
    check_name(name)?;
    File::open(path(name)).map_err(|e| {
        let err = RunError::os(format!("cannot open network namespace \"{name}\""), &e);
        if e.kind() == std::io::ErrorKind::NotFound {
            err.help(format!(
                "create it first with `netns add {name}` (or `host {name} ...`)"
            ))
        } else {
            err
        }
    })
}

/// A namespace of that name is mounted (a leftover empty file is none).
pub fn exists(name: &str) -> bool {
    check_name(name).is_ok() && is_netns_mount(&path(name))
}

/// A netlink socket made by `make` inside `ns` (`None`: the namespace netsh runs in): a socket
/// acts in the namespace of the thread that created it.
pub fn socket_in(
    ns: Option<&str>,
    make: fn() -> std::io::Result<rtnetlink::sys::Socket>,
) -> Result<rtnetlink::sys::Socket, RunError> {
    match ns {
        None => make(),
        Some(_) => run_in(ns, make)?,
    }
    .map_err(|e| RunError::os("cannot open a netlink socket", &e))
}

/// Runs `f` on a new thread inside namespace `ns` (or here when `None`) and returns its result.
pub fn run_in<T: Send>(ns: Option<&str>, f: impl FnOnce() -> T + Send) -> Result<T, RunError> {
    let file = match ns {
        Some(n) => Some(open(n)?),
        None => None,
    };
    std::thread::scope(|s| {
        s.spawn(move || {
            if let Some(file) = file {
                setns(&file, CloneFlags::CLONE_NEWNET).map_err(|e| {
                    RunError::new(format!(
                        "cannot enter network namespace \"{}\": {}",
                        ns.unwrap_or(""),
                        e.desc()
                    ))
                    .with_errno(e as i32)
                })?;
            }
            Ok(f())
        })
        .join()
        .map_err(|_| RunError::new("a helper thread failed unexpectedly"))?
    })
}

/// Makes /run/netns a shared mount point, as ip(8) does, so namespaces mounted later are seen by
/// mount namespaces made after them (`exec ... in NS` children).
fn prepare_run_dir() -> Result<(), RunError> {
    std::fs::create_dir_all(NETNS_RUN_DIR)
        .map_err(|e| RunError::os(format!("cannot create {NETNS_RUN_DIR}"), &e))?;
    let shared = || {
        mount(
            None::<&str>,
            NETNS_RUN_DIR,
            Some("none"),
            MsFlags::MS_SHARED | MsFlags::MS_REC,
            None::<&str>,
        )
    };
    match shared() {
        Ok(()) => Ok(()),
        Err(Errno::EINVAL) => mount(
            Some(NETNS_RUN_DIR),
            NETNS_RUN_DIR,
            Some("none"),
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .and_then(|_| shared())
        .map_err(|e| {
            RunError::new(format!(
                "cannot make {NETNS_RUN_DIR} a shared mount: {}",
                e.desc()
            ))
        }),
        Err(e) => Err(RunError::new(format!(
            "cannot make {NETNS_RUN_DIR} a shared mount: {}",
            e.desc()
        ))),
    }
}

/// `ip netns add NAME`. Returns false when it existed already (and `strict` is off).
pub fn add(name: &str, strict: bool) -> Result<bool, RunError> {
    check_name(name)?;
    prepare_run_dir()?;
    let target = path(name);
    let create = || {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&target)
    };
    let mut created = create();
    // a file left by a run killed between creating it and mounting the namespace on it is no
    // namespace: it goes, and the namespace is made
    if matches!(&created, Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists)
        && is_stale(&target)
    {
        let _ = std::fs::remove_file(&target);
        created = create();
    }
    match created {
        Ok(_) => {}
        Err(e)
            if e.kind() == std::io::ErrorKind::AlreadyExists
                && !strict
                && is_netns_mount(&target) =>
        {
            return Ok(false);
        }
        Err(e) => {
            return Err(RunError::os(
                format!("Cannot create namespace file \"{}\"", target.display()),
                &e,
            ));
        }
    }
    let made = std::thread::scope(|s| {
        s.spawn(|| {
            unshare(CloneFlags::CLONE_NEWNET)
                .map_err(|e| format!("cannot create a network namespace: {}", e.desc()))?;
            mount(
                Some("/proc/thread-self/ns/net"),
                &target,
                Some("none"),
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .map_err(|e| {
                format!(
                    "Bind /proc/thread-self/ns/net -> {} failed: {}",
                    target.display(),
                    e.desc()
                )
            })
        })
        .join()
        .unwrap_or_else(|_| Err("a helper thread failed unexpectedly".into()))
    });
    match made {
        Ok(()) => Ok(true),
        Err(msg) => {
            let _ = std::fs::remove_file(&target);
            Err(RunError::new(msg))
        }
    }
}

/// Is this file a mounted namespace (not a leftover empty file)?
fn is_netns_mount(p: &Path) -> bool {
    File::open(p)
        .ok()
        .and_then(|f| nix::sys::statfs::fstatfs(&f).ok())
        .is_some_and(|s| s.filesystem_type() == nix::sys::statfs::NSFS_MAGIC)
}

/// Is this a namespace file with nothing mounted on it: an empty regular file, on the file
/// system of /run/netns itself (a mounted namespace shows nsfs)?
fn is_stale(p: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let (Ok(meta), Ok(dir)) = (
        std::fs::symlink_metadata(p),
        std::fs::metadata(NETNS_RUN_DIR),
    ) else {
        return false;
    };
    meta.is_file() && meta.len() == 0 && meta.dev() == dir.dev() && !is_netns_mount(p)
}

/// `ip netns del NAME`.
pub fn del(name: &str) -> Result<(), RunError> {
    check_name(name)?;
    let target = path(name);
    if !target.exists() {
        return Err(RunError::of(
            Kind::Gone,
            format!(
                "Cannot remove namespace file \"{}\": No such file or directory",
                target.display()
            ),
        ));
    }
    // MNT_DETACH: processes and sockets still inside keep the namespace alive, as with ip(8)
    let _ = umount2(&target, MntFlags::MNT_DETACH);
    std::fs::remove_file(&target).map_err(|e| {
        RunError::os(
            format!("Cannot remove namespace file \"{}\"", target.display()),
            &e,
        )
    })
}

/// `ip netns list`: the names, sorted.
pub fn list() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(NETNS_RUN_DIR)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
