//! TUN devices: the one place /dev/net/tun is opened. The kernel does not create them over
//! rtnetlink (it answers EOPNOTSUPP): open /dev/net/tun in the namespace, TUNSETIFF with a name and
//! flags. `add` (the `tun` statement, like `ip tuntap add`) makes the device persistent so it
//! outlives the fd; the udp tunnel (src/tunnel/device.rs) keeps its fd instead, so the device goes
//! away with it.

use crate::base::error::RunError;
use crate::sys::netns;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const TUNSETPERSIST: libc::c_ulong = 0x4004_54cb;
const IFF_TUN: libc::c_short = 0x0001;
const IFF_NO_PI: libc::c_short = 0x1000;
const IFF_MULTI_QUEUE: libc::c_short = 0x0100;
const IFF_VNET_HDR: libc::c_short = 0x4000;

/// What a TUN queue is opened with besides `IFF_TUN|IFF_NO_PI`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TunFlags {
    /// A virtio_net_hdr before each packet (`IFF_VNET_HDR`), for offloads.
    pub vnet_hdr: bool,
    pub multi_queue: bool,
}

/// Opens (creating if needed) TUN device `name` in the calling thread's namespace.
pub fn open(name: &str, flags: TunFlags) -> io::Result<File> {
    if name.is_empty() || name.len() > crate::ops::IFNAMSIZ_MAX {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{name}` is not a usable interface name (1 to 15 bytes)"),
        ));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/net/tun")
        .map_err(|e| io::Error::new(e.kind(), format!("cannot open /dev/net/tun: {e}")))?;
    // SAFETY: ifreq is plain old data; all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    let mut bits = IFF_TUN | IFF_NO_PI;
    if flags.vnet_hdr {
        bits |= IFF_VNET_HDR;
    }
    if flags.multi_queue {
        bits |= IFF_MULTI_QUEUE;
    }
    req.ifr_ifru.ifru_flags = bits;
    // SAFETY: TUNSETIFF reads and writes an ifreq, which `req` is; the fd is open.
    if unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF, &mut req as *mut libc::ifreq) } < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            e.kind(),
            format!("cannot create tun device {name}: {e}"),
        ));
    }
    Ok(file)
}

/// `ip tuntap add dev NAME mode tun` inside `ns`.
pub fn add(ns: Option<&str>, name: &str) -> Result<(), RunError> {
    if name.is_empty() || name.len() > crate::ops::IFNAMSIZ_MAX {
        return Err(RunError::new(format!(
            "`{name}` is not a usable interface name (1 to 15 bytes)"
        )));
    }
    netns::run_in(ns, move || {
        let file = open(name, TunFlags::default()).map_err(|e| {
            let err = RunError::new(crate::base::error::io_text(&e)).with_os(&e);
            match e.kind() {
                io::ErrorKind::NotFound => {
                    err.help("this kernel may lack TUN support (CONFIG_TUN)")
                }
                _ => err,
            }
        })?;
        // SAFETY: TUNSETPERSIST takes an integer argument.
        if unsafe { libc::ioctl(file.as_raw_fd(), TUNSETPERSIST, 1 as libc::c_ulong) } < 0 {
            let e = std::io::Error::last_os_error();
            return Err(RunError::new(format!(
                "cannot make tun device {name} persistent: {}",
                crate::base::error::io_text(&e)
            ))
            .with_os(&e));
        }
        Ok(())
    })?
}
