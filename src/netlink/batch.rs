//! The socket pipelined requests go out on (pipeline.rs): one blocking NETLINK_ROUTE socket per
//! namespace, outside tokio and rtnetlink's connection task. Requests queue in one buffer and go
//! out together in one `send`: the kernel's rtnetlink_rcv walks every message of the datagram in
//! order, each with its own sequence number and ACK, exactly as if each had been sent alone (a
//! failing one is answered with its error and the next is still carried out). The kernel does
//! each request inside that `send`, so once it returns every answer is in the receive buffer;
//! they are read back by hand, matched by sequence number, and kept until asked for.
//!
//! Every request carries NLM_F_ACK, so each one's answers end with exactly one NLMSG_ERROR (code
//! 0 or the error). A `link add` also asks for NLM_F_ECHO: the kernel sends the new link back,
//! with its interface index, which later statements on that link use (`IfIndexes`) instead of
//! asking for it.

use crate::base::error::RunError;
use crate::netlink::errors::KernelError;
use crate::netlink::ifindex::IfIndexes;
use crate::netlink::inbox::Inbox;
use crate::sys::netns;
use nix::errno::Errno;
use rtnetlink::packet_core::{NLM_F_ACK, NetlinkMessage};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::sys::{Socket, protocols::NETLINK_ROUTE};
use rustc_hash::FxHashMap;
use std::os::fd::AsRawFd;

/// A datagram of queued requests goes out before it grows past this (the socket's send buffer
/// is ~200 KiB; a window of 64 requests is a few KiB).
const MAX_DATAGRAM: usize = 32 * 1024;
/// The receive buffer: a window's answers (ACKs, a link message per lookup or echo, a few KiB of
/// kernel memory each) must never overflow it, or the kernel drops them (ENOBUFS).
const RCVBUF: usize = 4 * 1024 * 1024;
/// The kernel has answered everything before `send` returns; a read that waits this long means
/// an answer was lost.
const READ_TIMEOUT_S: libc::time_t = 30;

const NLMSG_HDRLEN: usize = 16;
const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLMSG_OVERRUN: u16 = 4;
pub const RTM_NEWLINK: u16 = 16;

/// One message a request was answered with (not its ACK): the type and what follows the header.
#[derive(Debug, Clone)]
pub struct Reply {
    pub kind: u16,
    pub body: Vec<u8>,
}

/// A request's answers, or the kernel's error.
pub type Answer = Result<Vec<Reply>, KernelError>;

/// A request sent (or queued) whose ACK has not been read.
struct Pending {
    replies: Vec<Reply>,
    /// The link a `link add` made or a lookup asked for: learned from the answer.
    learns: Option<String>,
}

pub struct Wire {
    socket: Socket,
    next_seq: u32,
    /// Requests queued, not yet sent, and their sequence numbers.
    out: Vec<u8>,
    queued: Vec<u32>,
    pending: FxHashMap<u32, Pending>,
    done: FxHashMap<u32, Answer>,
    /// Where answers are read into (taken out while its datagrams are filed).
    inbox: Option<Inbox>,
    /// Interface indexes by name in this namespace, learned from answers.
    pub names: IfIndexes,
}

fn new_socket() -> std::io::Result<Socket> {
    let mut s = Socket::new(NETLINK_ROUTE)?;
    s.set_ext_ack(true)?;
    s.set_cap_ack(true)?;
    let fd = s.as_raw_fd();
    // netsh runs as root: SO_RCVBUFFORCE goes past net.core.rmem_max; otherwise take what is allowed
    if setsockopt_int(fd, libc::SO_RCVBUFFORCE, RCVBUF as libc::c_int).is_err() {
        let _ = s.set_rx_buf_sz(RCVBUF);
    }
    let timeout = libc::timeval {
        tv_sec: READ_TIMEOUT_S,
        tv_usec: 0,
    };
    // SAFETY: a valid fd and a timeval that lives across the call.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&timeout as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    s.bind_auto()?;
    Ok(s)
}

fn setsockopt_int(fd: i32, opt: libc::c_int, value: libc::c_int) -> std::io::Result<()> {
    // SAFETY: a valid fd and an int that lives across the call.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl Wire {
    /// Opens the socket for `ns` (`None`: the namespace netsh runs in) on a thread inside it.
    pub fn open(ns: Option<&str>) -> Result<Wire, RunError> {
        let socket = netns::socket_in(ns, new_socket)?;
        Ok(Wire {
            socket,
            next_seq: 1,
            out: Vec::with_capacity(4096),
            queued: Vec::new(),
            pending: FxHashMap::default(),
            done: FxHashMap::default(),
            inbox: Some(Inbox::default()),
            names: IfIndexes::default(),
        })
    }

    /// Queues a request (sent with the next `flush`, or when an answer is asked for) and returns
    /// its sequence number. `learns`: the link name its answer tells the index of.
    pub fn queue(&mut self, msg: RouteNetlinkMessage, flags: u16, learns: Option<&str>) -> u32 {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1).max(1);
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = flags | NLM_F_ACK;
        req.header.sequence_number = seq;
        req.finalize();
        let len = req.buffer_len();
        if !self.out.is_empty() && self.out.len() + len > MAX_DATAGRAM {
            self.flush();
        }
        let start = self.out.len();
        // messages in one datagram start on 4-byte boundaries (NLMSG_ALIGN)
        self.out.resize(start + ((len + 3) & !3), 0);
        req.serialize(&mut self.out[start..start + len]);
        self.queued.push(seq);
        self.pending.insert(
            seq,
            Pending {
                replies: Vec::new(),
                learns: learns.map(str::to_string),
            },
        );
        seq
    }

    /// Sends every queued request in one datagram. A send that fails fails each of them.
    pub fn flush(&mut self) {
        if self.out.is_empty() {
            return;
        }
        let sent = loop {
            match self.socket.send(&self.out, 0) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        self.out.clear();
        let queued = std::mem::take(&mut self.queued);
        if let Err(e) = sent {
            let errno = e.raw_os_error().unwrap_or(Errno::EIO as i32);
            for seq in queued {
                self.finish(seq, Err(KernelError::from_errno(errno)));
            }
        }
    }

    /// The answers to request `seq`, read from the socket if they have not been yet (what was
    /// queued goes out first). Each answer is handed out once.
    pub fn answer(&mut self, seq: u32) -> Answer {
        self.read_until(seq);
        self.done
            .remove(&seq)
            .unwrap_or_else(|| Err(KernelError::from_errno(Errno::ENOMSG as i32)))
    }

    /// The index of the link `name` made by a request still unanswered, once its answer is read
    /// (`None`: no such request, or it failed).
    pub fn learn_pending(&mut self, name: &str) -> Option<u32> {
        let seq = self
            .pending
            .iter()
            .find(|(_, p)| p.learns.as_deref() == Some(name))
            .map(|(s, _)| *s)?;
        self.read_until(seq);
        self.names.get(name)
    }

    fn read_until(&mut self, seq: u32) {
        self.flush();
        while self.pending.contains_key(&seq) {
            if let Err(e) = self.receive() {
                // answers were lost (the receive buffer overflowed) or never came: none of the
                // requests still waiting can be said to have succeeded
                let waiting: Vec<u32> = self.pending.keys().copied().collect();
                for s in waiting {
                    self.finish(s, Err(e.clone()));
                }
            }
        }
    }

    /// Reads the answers waiting (at least one) and files each message under its request.
    fn receive(&mut self) -> Result<(), KernelError> {
        let Some(mut inbox) = self.inbox.take() else {
            return Err(KernelError::from_errno(Errno::EBUSY as i32));
        };
        let fd = self.socket.as_raw_fd();
        let n = loop {
            match inbox.read(fd) {
                Ok(n) => break Ok(n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    break Err(KernelError::from_errno(Errno::ETIMEDOUT as i32));
                }
                Err(e) => {
                    break Err(KernelError::from_errno(
                        e.raw_os_error().unwrap_or(Errno::EIO as i32),
                    ));
                }
            }
        };
        if let Ok(n) = n {
            for i in 0..n {
                let (datagram, cut) = inbox.datagram(i);
                self.file(datagram, cut);
            }
        }
        self.inbox = Some(inbox);
        n.map(drop)
    }

    /// Files the messages of one datagram under their requests. A message cut short (too big
    /// for its slot) fails its request.
    fn file(&mut self, data: &[u8], cut: bool) {
        let mut at = 0;
        while at + NLMSG_HDRLEN <= data.len() {
            let len = u32_at(data, at) as usize;
            let kind = u16_at(data, at + 4);
            let seq = u32_at(data, at + 8);
            if len < NLMSG_HDRLEN || at + len > data.len() {
                if cut {
                    self.finish(seq, Err(KernelError::from_errno(Errno::EMSGSIZE as i32)));
                }
                break;
            }
            let body = &data[at + NLMSG_HDRLEN..at + len];
            match kind {
                NLMSG_ERROR if body.len() >= 4 => {
                    let code = u32_at(body, 0) as i32;
                    let result = match code {
                        0 => Ok(()),
                        c => Err(KernelError::from_raw(c, &body[4..])),
                    };
                    self.finish(seq, result);
                }
                NLMSG_DONE => self.finish(seq, Ok(())),
                NLMSG_NOOP | NLMSG_OVERRUN | NLMSG_ERROR => {}
                _ => {
                    if let Some(p) = self.pending.get_mut(&seq) {
                        p.replies.push(Reply {
                            kind,
                            body: body.to_vec(),
                        });
                    }
                }
            }
            at += (len + 3) & !3;
        }
    }

    /// Request `seq` is answered: keep the answer, and learn the index of the link it names.
    fn finish(&mut self, seq: u32, result: Result<(), KernelError>) {
        let Some(p) = self.pending.remove(&seq) else {
            return;
        };
        if let (Some(name), Ok(())) = (&p.learns, &result)
            && let Some(link) = p
                .replies
                .iter()
                .filter(|r| r.kind == RTM_NEWLINK)
                .find_map(|r| crate::netlink::link_reply::parse(&r.body))
            && link.name.as_deref() == Some(name.as_str())
        {
            self.names.insert(name, link.index);
        }
        self.done.insert(seq, result.map(|()| p.replies));
    }
}
