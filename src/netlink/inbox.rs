//! Reading a netlink socket's answers many at a time. The kernel queues each answer (an ACK, a
//! link message) as a datagram of its own and a `recv` takes one; `recvmmsg` takes every one that
//! is there in one call, so reading a window's answers costs a few system calls, not one each.

use std::os::fd::RawFd;

/// Datagrams taken per call.
const SLOTS: usize = 32;
/// Room for one datagram: an answer to a single (non-dump) request is an ACK of a few dozen bytes
/// or one object's message (a link's is 1–3 KiB).
const SLOT: usize = 16 * 1024;

pub struct Inbox {
    buf: Vec<u8>,
    /// Per slot filled by the last read: bytes received, and whether the datagram was cut.
    got: Vec<(usize, bool)>,
}

impl Default for Inbox {
    fn default() -> Inbox {
        Inbox {
            buf: vec![0; SLOTS * SLOT],
            got: Vec::with_capacity(SLOTS),
        }
    }
}

impl Inbox {
    /// Waits for a datagram (up to the socket's SO_RCVTIMEO), then takes every one already
    /// queued behind it, up to `SLOTS`. Returns how many were read.
    pub fn read(&mut self, fd: RawFd) -> std::io::Result<usize> {
        let base = self.buf.as_mut_ptr();
        // SAFETY: every iovec points at its own SLOT-byte part of `buf`, which outlives the call;
        // an all-zero mmsghdr is valid (null name and control), and each is then given its iovec.
        let rc = unsafe {
            let mut iovs: [libc::iovec; SLOTS] = std::mem::zeroed();
            let mut msgs: [libc::mmsghdr; SLOTS] = std::mem::zeroed();
            for i in 0..SLOTS {
                iovs[i] = libc::iovec {
                    iov_base: base.add(i * SLOT).cast(),
                    iov_len: SLOT,
                };
                msgs[i].msg_hdr.msg_iov = &mut iovs[i];
                msgs[i].msg_hdr.msg_iovlen = 1;
            }
            let rc = libc::recvmmsg(
                fd,
                msgs.as_mut_ptr(),
                SLOTS as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            );
            self.got.clear();
            for m in msgs.iter().take(rc.max(0) as usize) {
                let cut = m.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
                self.got.push(((m.msg_len as usize).min(SLOT), cut));
            }
            rc
        };
        if rc < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(self.got.len())
    }

    /// Datagram `i` of the last read, and whether it was cut short (it did not fit its slot).
    pub fn datagram(&self, i: usize) -> (&[u8], bool) {
        match self.got.get(i) {
            Some(&(len, cut)) => (&self.buf[i * SLOT..i * SLOT + len], cut),
            None => (&[], false),
        }
    }
}
