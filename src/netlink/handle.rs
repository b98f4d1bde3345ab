//! One rtnetlink connection per namespace. A netlink socket acts in the namespace of the thread that
//! created it, so the socket for namespace X is created on a helper thread that `setns`ed into X and
//! handed back; the connection then runs as a task on RealWorld's tokio runtime. The sockets ask for
//! extended acks (the kernel's error text) and capped acks (errors echo only the request header).

use crate::base::error::RunError;
use crate::netlink::batch::Wire;
use crate::netlink::errors::KernelError;
use crate::sys::netns;
use futures::{Stream, StreamExt};
use rtnetlink::packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST, NetlinkMessage,
    NetlinkPayload,
};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::sys::{Socket, TokioSocket, protocols::NETLINK_ROUTE};
use std::collections::HashMap;
use std::os::fd::{FromRawFd, IntoRawFd};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tokio::runtime::Runtime;

/// Flags for a request that creates something and fails if it exists (ip's `add`).
pub const CREATE: u16 = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
/// Create or replace (ip's `replace`).
pub const REPLACE: u16 = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
/// A lookup (a get; no ACK: the answer is the reply).
pub const QUERY: u16 = NLM_F_REQUEST;
/// Change or delete something that exists.
pub const CHANGE: u16 = NLM_F_REQUEST | NLM_F_ACK;
/// `append` (a second FDB destination for the same MAC).
pub const APPEND: u16 =
    NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | rtnetlink::packet_core::NLM_F_APPEND;

/// A netlink connection into one namespace, with the interface indexes it has looked up.
#[derive(Clone)]
pub struct Netlink {
    handle: rtnetlink::Handle,
}

fn new_socket() -> std::io::Result<Socket> {
    let mut s = Socket::new(NETLINK_ROUTE)?;
    s.set_ext_ack(true)?;
    s.set_cap_ack(true)?;
    // a dump of thousands of links or routes arrives faster than one read at a time
    let _ = s.set_rx_buf_sz(4 * 1024 * 1024);
    s.bind_auto()?;
    Ok(s)
}

impl Netlink {
    /// Opens a connection into `ns` (`None`: the namespace netsh runs in).
    pub fn open(ns: Option<&str>, rt: &Runtime) -> Result<Netlink, RunError> {
        let socket = netns::socket_in(ns, new_socket)?;
        let _guard = rt.enter();
        // SAFETY: the fd was just taken out of a Socket that owned it; TokioSocket takes ownership.
        let socket = unsafe { TokioSocket::from_raw_fd(socket.into_raw_fd()) };
        let (conn, handle, _) = rtnetlink::from_socket(socket);
        rt.spawn(conn);
        Ok(Netlink { handle })
    }

    pub fn handle(&self) -> &rtnetlink::Handle {
        &self.handle
    }

    /// Puts one request on the socket and returns its answers to come, without waiting: requests
    /// sent one after another are pipelined (the kernel handles a socket's requests in order), and
    /// their answers are read later with `answers` (pipeline.rs).
    pub fn send(&self, msg: RouteNetlinkMessage, flags: u16) -> Result<Replies, KernelError> {
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = flags;
        let mut handle = self.handle.clone();
        let replies = handle
            .request(req)
            .map_err(|_| KernelError::from_errno(nix::errno::Errno::EIO as i32))?;
        Ok(Box::pin(replies))
    }

    /// Sends one request and waits for its ACK.
    pub async fn ack(&self, msg: RouteNetlinkMessage, flags: u16) -> Result<(), KernelError> {
        answers(self.send(msg, flags)?).await.map(drop)
    }

    /// Sends a request and collects every message it answers with (a dump, or a get).
    pub async fn query(
        &self,
        msg: RouteNetlinkMessage,
        dump: bool,
    ) -> Result<Vec<RouteNetlinkMessage>, KernelError> {
        let flags = QUERY | if dump { NLM_F_DUMP } else { 0 };
        answers(self.send(msg, flags)?).await
    }
}

/// The answers to one request, as they arrive.
pub type Replies = Pin<Box<dyn Stream<Item = NetlinkMessage<RouteNetlinkMessage>> + Send>>;

/// Reads a request's answers to the end: the messages it returned, or the kernel's error.
pub async fn answers(mut replies: Replies) -> Result<Vec<RouteNetlinkMessage>, KernelError> {
    let mut out = Vec::new();
    while let Some(reply) = replies.next().await {
        match reply.payload {
            NetlinkPayload::InnerMessage(m) => out.push(m),
            NetlinkPayload::Error(e) if e.code.is_some() => {
                return Err(KernelError::from_message(&e));
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The rtnetlink connections of one run, one per namespace, opened on first use and kept. The
/// engine and the flannel runtime share one cache (clones of it are the same cache).
#[derive(Clone, Default)]
pub struct Connections {
    by_ns: Arc<Mutex<HashMap<Option<String>, Netlink>>>,
}

impl Connections {
    pub fn get(&self, ns: Option<&str>, rt: &Runtime) -> Result<Netlink, RunError> {
        let key = ns.map(str::to_string);
        // a poisoned lock only means another thread panicked while holding a map of handles
        let mut by_ns = self.by_ns.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = by_ns.get(&key) {
            return Ok(h.clone());
        }
        let h = Netlink::open(ns, rt)?;
        by_ns.insert(key, h.clone());
        Ok(h)
    }

    /// A deleted namespace's connection points at a namespace that is gone.
    pub fn forget(&self, ns: &str) {
        let mut by_ns = self.by_ns.lock().unwrap_or_else(|p| p.into_inner());
        by_ns.remove(&Some(ns.to_string()));
    }
}

/// The connections of one run, one per namespace, opened on first use and kept: an rtnetlink
/// connection (shared with the flannel runtime), and the socket pipelined requests go out on
/// (batch.rs).
#[derive(Default)]
pub struct Handles {
    connections: Connections,
    wires: HashMap<Option<String>, Wire>,
}

impl Handles {
    pub fn get(&mut self, ns: Option<&str>, rt: &Runtime) -> Result<Netlink, RunError> {
        self.connections.get(ns, rt)
    }

    /// The rtnetlink connections, to share with another part of the run.
    pub fn connections(&self) -> Connections {
        self.connections.clone()
    }

    pub fn wire(&mut self, ns: Option<&str>) -> Result<&mut Wire, RunError> {
        let key = ns.map(str::to_string);
        if !self.wires.contains_key(&key) {
            let w = Wire::open(ns)?;
            self.wires.insert(key.clone(), w);
        }
        self.wires
            .get_mut(&key)
            .ok_or_else(|| RunError::new("the netlink socket was not kept"))
    }

    /// A deleted namespace's connection points at a namespace that is gone (or, after a new
    /// `netns add` of the same name, at the wrong one).
    pub fn forget(&mut self, ns: &str) {
        self.connections.forget(ns);
        self.wires.remove(&Some(ns.to_string()));
    }

    /// Forgets every interface index learned (ifindex.rs says when).
    pub fn forget_names(&mut self) {
        for w in self.wires.values_mut() {
            w.names.clear();
        }
    }
}
