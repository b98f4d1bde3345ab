//! Opening the tunnel's TUN device (through sys/tun.rs), and for the fast path `IFF_VNET_HDR` (a
//! virtio_net_hdr before each packet) plus `TUNSETOFFLOAD` so the kernel hands us
//! TSO (and, on kernels that have it, USO) super-packets. Must be called on a thread inside the
//! target namespace: the device is created in the namespace of the thread that opens it. The device
//! is not made persistent: it goes away with the fd, so a stopped tunnel leaves nothing behind.

use crate::sys::tun::TunFlags;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

const TUNSETOFFLOAD: libc::c_ulong = 0x4004_54d0;
const TUN_F_CSUM: libc::c_uint = 0x01;
const TUN_F_TSO4: libc::c_uint = 0x02;
const TUN_F_USO4: libc::c_uint = 0x20;

/// An open TUN queue and what the kernel agreed to.
#[derive(Debug)]
pub struct Tun {
    pub file: File,
    pub vnet_hdr: bool,
    pub tso: bool,
    pub uso: bool,
}

fn ioctl_err(what: &str, name: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("{what} {name}: {e}"))
}

/// Opens (creating if needed) TUN device `name` in the calling thread's namespace, non-blocking.
pub fn open(name: &str, opts: TunFlags) -> io::Result<Tun> {
    let file = crate::sys::tun::open(name, opts)?;
    let fd = file.as_raw_fd();
    let (mut tso, mut uso) = (false, false);
    if opts.vnet_hdr {
        // SAFETY: TUNSETOFFLOAD takes an unsigned int argument by value.
        let set = |f: libc::c_uint| unsafe { libc::ioctl(fd, TUNSETOFFLOAD, f as libc::c_ulong) };
        if set(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_USO4) == 0 {
            (tso, uso) = (true, true);
        } else if set(TUN_F_CSUM | TUN_F_TSO4) == 0 {
            tso = true;
        } else if set(TUN_F_CSUM) != 0 {
            return Err(ioctl_err("cannot set offloads on", name));
        }
    }
    set_nonblocking(fd)?;
    Ok(Tun {
        file,
        vnet_hdr: opts.vnet_hdr,
        tso,
        uso,
    })
}

pub fn set_nonblocking(fd: libc::c_int) -> io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL on an open fd.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl < 0 || libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
