//! `--sandbox`: the whole run in a fresh network namespace and a private mount namespace, with its
//! own /run/netns and state directories, so a lab lives and dies with the process. This must run
//! before any thread starts: unshare(CLONE_NEWNS) fails in a process whose threads share a
//! filesystem context.

use crate::base::error::RunError;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, unshare};
use std::os::fd::AsRawFd;

/// Directories that hold state netsh or flannel would otherwise share with the machine.
pub const PRIVATE_DIRS: &[&str] = &["/run/netns", "/run/flannel", "/run/netsh", "/var/lib/netsh"];

pub fn enter() -> Result<(), RunError> {
    // store connections (an etcd on the machine's loopback) are still dialled from here
    crate::store::dial::remember_origin().map_err(|e| {
        RunError::new(format!(
            "cannot keep the starting network namespace: {}",
            crate::base::error::io_text(&e)
        ))
    })?;
    unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWNET).map_err(|e| {
        let hint = if e == nix::errno::Errno::EPERM {
            " (--sandbox needs root: CAP_SYS_ADMIN)"
        } else {
            ""
        };
        RunError::new(format!(
            "cannot create the sandbox's namespaces: {}{hint}",
            e.desc()
        ))
    })?;
    // nothing mounted from here on may reach the machine's mount namespace
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| {
        RunError::new(format!(
            "cannot make the sandbox's mounts private: {}",
            e.desc()
        ))
    })?;
    for dir in PRIVATE_DIRS {
        std::fs::create_dir_all(dir).map_err(|e| {
            RunError::new(format!(
                "cannot create {dir}: {}",
                crate::base::error::io_text(&e)
            ))
        })?;
        mount(
            Some("tmpfs"),
            *dir,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some("mode=0755"),
        )
        .map_err(|e| RunError::new(format!("cannot mount a tmpfs on {dir}: {}", e.desc())))?;
    }
    // a sysfs of the new namespace, so /sys/class/net shows the sandbox's links to programs netsh runs
    let _ = umount2("/sys", MntFlags::MNT_DETACH);
    let _ = mount(
        Some("sysfs"),
        "/sys",
        Some("sysfs"),
        MsFlags::empty(),
        None::<&str>,
    );
    loopback_up().map_err(|e| {
        RunError::new(format!(
            "cannot bring up lo in the sandbox: {}",
            crate::base::error::io_text(&e)
        ))
    })
}

/// Brings `lo` up with the SIOCSIFFLAGS ioctl (no netlink connection exists yet).
fn loopback_up() -> std::io::Result<()> {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").or_else(|_| {
        // lo is down, so 127.0.0.1 cannot be bound yet; any AF_INET socket will do for the ioctl
        // SAFETY: plain socket(2); the fd is wrapped at once.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh, owned socket.
        Ok(unsafe { <std::net::UdpSocket as std::os::fd::FromRawFd>::from_raw_fd(fd) })
    })?;
    // SAFETY: ifreq is plain old data.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(b"lo") {
        *d = *s as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write an ifreq.
    unsafe {
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
