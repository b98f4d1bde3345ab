//! The tunnel's UDP socket: large buffers, UDP GRO on receive (`UDP_GRO`: the kernel hands one
//! buffer of many same-sized datagrams and their size in a control message), UDP GSO on send
//! (`UDP_SEGMENT`: one sendmsg for up to 64 datagrams, gathered from header and payload slices), `recvmmsg`/`sendmmsg` batches, and
//! fallbacks when the kernel or device refuses an offload. All buffers are allocated once.

use std::io::{self, IoSlice};
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};

const SOL_UDP: libc::c_int = 17;
const UDP_SEGMENT: libc::c_int = 103;
const UDP_GRO: libc::c_int = 104;

fn setsockopt_int(fd: RawFd, level: libc::c_int, name: libc::c_int, v: libc::c_int) -> bool {
    // SAFETY: passing a pointer to an int of the stated size.
    unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            &v as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        ) == 0
    }
}

/// What the socket got.
#[derive(Clone, Copy, Debug, Default)]
pub struct SocketInfo {
    pub gso: bool,
    pub gro: bool,
}

/// Binds the tunnel socket (in the calling thread's namespace), non-blocking, with `buffer`-byte
/// send and receive buffers (forced past rmem_max when we may), and GRO if `offload`.
pub fn bind(
    addr: SocketAddrV4,
    buffer: usize,
    offload: bool,
) -> io::Result<(UdpSocket, SocketInfo)> {
    let sock = UdpSocket::bind(addr)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot bind udp {addr}: {e}")))?;
    sock.set_nonblocking(true)?;
    let fd = sock.as_raw_fd();
    let size = buffer.min(i32::MAX as usize) as libc::c_int;
    for (force, plain) in [
        (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF),
        (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF),
    ] {
        if !setsockopt_int(fd, libc::SOL_SOCKET, force, size) {
            setsockopt_int(fd, libc::SOL_SOCKET, plain, size);
        }
    }
    let mut info = SocketInfo::default();
    if offload {
        info.gro = setsockopt_int(fd, SOL_UDP, UDP_GRO, 1);
        // a zero segment size is accepted where UDP_SEGMENT exists; sends set it per message
        info.gso = setsockopt_int(fd, SOL_UDP, UDP_SEGMENT, 0);
    }
    Ok((sock, info))
}

fn sockaddr(dst: SocketAddrV4) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: dst.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*dst.ip()).to_be(),
        },
        sin_zero: [0; 8],
    }
}

/// One datagram to `dst`.
pub fn send_to(fd: RawFd, buf: &[u8], dst: SocketAddrV4) -> io::Result<()> {
    let sa = sockaddr(dst);
    // SAFETY: buf and sa are valid for the stated lengths.
    let r = unsafe {
        libc::sendto(
            fd,
            buf.as_ptr() as *const libc::c_void,
            buf.len(),
            0,
            &sa as *const libc::sockaddr_in as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The bytes gathered from `iov` to `dst` in one `sendmsg`: one datagram, or with `segment`
/// (`UDP_SEGMENT`) datagrams of that many bytes cut by the kernel (the last may be shorter).
pub fn send_gathered(
    fd: RawFd,
    iov: &[IoSlice<'_>],
    segment: Option<u16>,
    dst: SocketAddrV4,
) -> io::Result<()> {
    let mut sa = sockaddr(dst);
    // room for one cmsg holding a u16, 8-byte aligned
    let mut control = [0u64; 4];
    // SAFETY: msghdr is plain data; every pointer set below outlives the sendmsg call (IoSlice
    // is ABI-compatible with iovec), and the control buffer is large enough for CMSG_SPACE(2)
    // (checked by CMSG_FIRSTHDR being non-null).
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_name = &mut sa as *mut libc::sockaddr_in as *mut libc::c_void;
        msg.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        msg.msg_iov = iov.as_ptr() as *mut libc::iovec;
        msg.msg_iovlen = iov.len();
        if let Some(segment) = segment {
            msg.msg_control = control.as_mut_ptr() as *mut libc::c_void;
            msg.msg_controllen = libc::CMSG_SPACE(2) as usize;
            let cm = libc::CMSG_FIRSTHDR(&msg);
            if cm.is_null() {
                return Err(io::Error::from(io::ErrorKind::InvalidInput));
            }
            (*cm).cmsg_level = SOL_UDP;
            (*cm).cmsg_type = UDP_SEGMENT;
            (*cm).cmsg_len = libc::CMSG_LEN(2) as usize;
            std::ptr::write_unaligned(libc::CMSG_DATA(cm) as *mut u16, segment);
        }
        if libc::sendmsg(fd, &msg, 0) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Reused state for `sendmmsg` of many datagrams to one peer.
pub struct SendBatch {
    msgs: Vec<libc::mmsghdr>,
}

// SAFETY: the raw pointers inside are rebuilt before every use and point only into caller data.
unsafe impl Send for SendBatch {}

impl SendBatch {
    pub fn new(capacity: usize) -> SendBatch {
        SendBatch {
            msgs: Vec::with_capacity(capacity),
        }
    }

    /// Sends datagrams to `dst`, each gathered from `per_msg` consecutive slices of `iov`.
    /// Returns how many were sent (EAGAIN stops early with the count so far).
    pub fn send(
        &mut self,
        fd: RawFd,
        iov: &[IoSlice<'_>],
        per_msg: usize,
        dst: SocketAddrV4,
    ) -> io::Result<usize> {
        let mut sa = sockaddr(dst);
        self.msgs.clear();
        for parts in iov.chunks_exact(per_msg.max(1)) {
            // SAFETY: mmsghdr is plain data; all zeroes is valid.
            let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
            m.msg_hdr.msg_name = &mut sa as *mut libc::sockaddr_in as *mut libc::c_void;
            m.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            // IoSlice is ABI-compatible with iovec; the kernel only reads them
            m.msg_hdr.msg_iov = parts.as_ptr() as *mut libc::iovec;
            m.msg_hdr.msg_iovlen = parts.len();
            self.msgs.push(m);
        }
        let mut sent = 0;
        while sent < self.msgs.len() {
            // SAFETY: msgs[sent..] point at iovecs and sa, all alive for this call.
            let r = unsafe {
                libc::sendmmsg(
                    fd,
                    self.msgs[sent..].as_mut_ptr(),
                    (self.msgs.len() - sent) as libc::c_uint,
                    0,
                )
            };
            if r < 0 {
                let e = io::Error::last_os_error();
                if sent > 0 && e.kind() == io::ErrorKind::WouldBlock {
                    return Ok(sent);
                }
                return Err(e);
            }
            sent += r as usize;
        }
        Ok(sent)
    }
}

/// Reused buffers for `recvmmsg`, each with room for a GRO'd super-buffer and its control data.
pub struct RecvBatch {
    buf: Vec<u8>,
    size: usize,
    iovs: Vec<libc::iovec>,
    names: Vec<libc::sockaddr_in>,
    controls: Vec<[u64; 8]>,
    msgs: Vec<libc::mmsghdr>,
}

// SAFETY: the raw pointers inside point into the struct's own heap buffers, rebuilt on every call.
unsafe impl Send for RecvBatch {}

/// One received buffer: its sender, its bytes, and the GRO segment size (0: one datagram).
pub struct Received<'a> {
    pub from: SocketAddrV4,
    pub data: &'a mut [u8],
    pub segment: usize,
    /// Larger than our buffer: the kernel cut it (drop it as truncated).
    pub truncated: bool,
}

impl RecvBatch {
    pub fn new(count: usize, size: usize) -> RecvBatch {
        // SAFETY: these are plain data; zeroes are valid values.
        let zero_name: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        let zero_msg: libc::mmsghdr = unsafe { std::mem::zeroed() };
        RecvBatch {
            buf: vec![0u8; count * size],
            size,
            iovs: vec![
                libc::iovec {
                    iov_base: std::ptr::null_mut(),
                    iov_len: 0
                };
                count
            ],
            names: vec![zero_name; count],
            controls: vec![[0u64; 8]; count],
            msgs: vec![zero_msg; count],
        }
    }

    /// Receives up to the batch's count of buffers without blocking.
    pub fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        let n = self.msgs.len();
        for i in 0..n {
            let base = self.buf[i * self.size..].as_mut_ptr();
            self.iovs[i] = libc::iovec {
                iov_base: base as *mut libc::c_void,
                iov_len: self.size,
            };
            let h = &mut self.msgs[i].msg_hdr;
            h.msg_name = &mut self.names[i] as *mut libc::sockaddr_in as *mut libc::c_void;
            h.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            h.msg_iov = &mut self.iovs[i];
            h.msg_iovlen = 1;
            h.msg_control = self.controls[i].as_mut_ptr() as *mut libc::c_void;
            h.msg_controllen = std::mem::size_of::<[u64; 8]>();
            h.msg_flags = 0;
            self.msgs[i].msg_len = 0;
        }
        // SAFETY: every msghdr points at buffers owned by self, valid for their stated sizes.
        let r = unsafe {
            libc::recvmmsg(
                fd,
                self.msgs.as_mut_ptr(),
                n as libc::c_uint,
                0,
                std::ptr::null_mut(),
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(r as usize)
    }

    /// The first `n` buffers of the last `recv` (n: what it returned), all borrowed at once so
    /// that slices of several can be gathered into one TUN write.
    pub fn received(&mut self, n: usize) -> impl Iterator<Item = Received<'_>> {
        let size = self.size;
        self.buf
            .chunks_mut(size)
            .zip(self.msgs.iter().zip(&self.names))
            .take(n)
            .map(move |(buf, (m, sa))| {
                let len = (m.msg_len as usize).min(size);
                let truncated = m.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
                let from = SocketAddrV4::new(
                    Ipv4Addr::from(u32::from_be(sa.sin_addr.s_addr)),
                    u16::from_be(sa.sin_port),
                );
                Received {
                    from,
                    data: &mut buf[..len],
                    segment: gro_segment(&m.msg_hdr),
                    truncated,
                }
            })
    }
}

/// The `UDP_GRO` segment size in a received message's control data (0: one datagram).
fn gro_segment(h: &libc::msghdr) -> usize {
    let mut segment = 0;
    // SAFETY: walking the control data the kernel wrote, within msg_controllen.
    unsafe {
        let mut cm = libc::CMSG_FIRSTHDR(h);
        while !cm.is_null() {
            if (*cm).cmsg_level == SOL_UDP && (*cm).cmsg_type == UDP_GRO {
                segment = std::ptr::read_unaligned(libc::CMSG_DATA(cm) as *const libc::c_int).max(0)
                    as usize;
            }
            cm = libc::CMSG_NXTHDR(h, cm);
        }
    }
    segment
}

/// Waits until `fd` is ready for `events` or `wake` is readable. Returns false when woken.
pub fn wait(fd: RawFd, events: libc::c_short, wake: RawFd) -> bool {
    let mut p = [
        libc::pollfd {
            fd,
            events,
            revents: 0,
        },
        libc::pollfd {
            fd: wake,
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    // SAFETY: two valid pollfds.
    let r = unsafe { libc::poll(p.as_mut_ptr(), 2, -1) };
    !(r > 0 && p[1].revents != 0)
}
