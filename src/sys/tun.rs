//! TUN devices. The kernel does not create them over rtnetlink (it answers EOPNOTSUPP): like
//! `ip tuntap add`, open /dev/net/tun inside the namespace, TUNSETIFF, and make it persistent so it
//! outlives the fd.

use crate::base::error::RunError;
use crate::sys::netns;
use std::os::fd::AsRawFd;

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const TUNSETPERSIST: libc::c_ulong = 0x4004_54cb;
const IFF_TUN: libc::c_short = 0x0001;
const IFF_NO_PI: libc::c_short = 0x1000;

/// The ifreq TUNSETIFF takes: a name and flags.
fn ifreq(name: &str) -> Result<libc::ifreq, RunError> {
    if name.is_empty() || name.len() > crate::ops::IFNAMSIZ_MAX {
        return Err(RunError::new(format!(
            "`{name}` is not a usable interface name (1 to 15 bytes)"
        )));
    }
    // SAFETY: ifreq is plain old data; all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    req.ifr_ifru.ifru_flags = IFF_TUN | IFF_NO_PI;
    Ok(req)
}

/// `ip tuntap add dev NAME mode tun` inside `ns`.
pub fn add(ns: Option<&str>, name: &str) -> Result<(), RunError> {
    ifreq(name)?;
    netns::run_in(ns, move || {
        let mut req = ifreq(name)?;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/net/tun")
            .map_err(|e| {
                RunError::new(format!(
                    "cannot open /dev/net/tun: {}",
                    crate::base::error::io_text(&e)
                ))
                .help("this kernel may lack TUN support (CONFIG_TUN)")
            })?;
        // SAFETY: TUNSETIFF reads and writes an ifreq, which `req` is; the fd is open.
        if unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF, &mut req as *mut libc::ifreq) } < 0 {
            let e = std::io::Error::last_os_error();
            return Err(RunError::new(format!(
                "cannot create tun device {name}: {}",
                crate::base::error::io_text(&e)
            )));
        }
        // SAFETY: TUNSETPERSIST takes an integer argument.
        if unsafe { libc::ioctl(file.as_raw_fd(), TUNSETPERSIST, 1 as libc::c_ulong) } < 0 {
            let e = std::io::Error::last_os_error();
            return Err(RunError::new(format!(
                "cannot make tun device {name} persistent: {}",
                crate::base::error::io_text(&e)
            )));
        }
        Ok(())
    })?
}
