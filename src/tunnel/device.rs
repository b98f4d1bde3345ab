//! Opening the tunnel's TUN device: /dev/net/tun with `IFF_TUN|IFF_NO_PI`, and for the fast path
//! `IFF_VNET_HDR` (a virtio_net_hdr before each packet) plus `TUNSETOFFLOAD` so the kernel hands us
//! TSO (and, on kernels that have it, USO) super-packets. Must be called on a thread inside the
//! target namespace: the device is created in the namespace of the thread that opens it. The device
//! is not made persistent: it goes away with the fd, so a stopped tunnel leaves nothing behind.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const TUNSETOFFLOAD: libc::c_ulong = 0x4004_54d0;
const IFF_TUN: libc::c_short = 0x0001;
const IFF_NO_PI: libc::c_short = 0x1000;
const IFF_MULTI_QUEUE: libc::c_short = 0x0100;
const IFF_VNET_HDR: libc::c_short = 0x4000;
const TUN_F_CSUM: libc::c_uint = 0x01;
const TUN_F_TSO4: libc::c_uint = 0x02;
const TUN_F_USO4: libc::c_uint = 0x20;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TunOptions {
    pub vnet_hdr: bool,
    pub multi_queue: bool,
}

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
pub fn open(name: &str, opts: TunOptions) -> io::Result<Tun> {
    if name.is_empty() || name.len() > 15 {
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
    let mut flags = IFF_TUN | IFF_NO_PI;
    if opts.vnet_hdr {
        flags |= IFF_VNET_HDR;
    }
    if opts.multi_queue {
        flags |= IFF_MULTI_QUEUE;
    }
    req.ifr_ifru.ifru_flags = flags;
    let fd = file.as_raw_fd();
    // SAFETY: TUNSETIFF reads and writes an ifreq, which `req` is; the fd is open.
    if unsafe { libc::ioctl(fd, TUNSETIFF, &mut req as *mut libc::ifreq) } < 0 {
        return Err(ioctl_err("cannot create tun device", name));
    }
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
