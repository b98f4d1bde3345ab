//! Where store connections are dialled from: the network namespace netsh started in. Under
//! `--sandbox` netsh moves itself into a fresh namespace before anything else runs, yet an etcd
//! given as `http://127.0.0.1:2379` lives in the machine's namespace. `remember_origin` keeps that
//! namespace (sandbox.rs calls it before unsharing); a socket belongs to the namespace of the
//! thread that creates it, so each connection's socket (and its name lookup) is made on a short
//! helper thread inside the origin, then connected from tokio as usual.

use hyper_util::rt::TokioIo;
use nix::sched::{CloneFlags, setns};
use std::future::Future;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{FromRawFd, OwnedFd};
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use tokio::net::{TcpSocket, TcpStream};
use tonic::transport::Uri;

static ORIGIN: OnceLock<OwnedFd> = OnceLock::new();

/// Keeps the current network namespace as the one store connections are made from.
pub fn remember_origin() -> io::Result<()> {
    let file = std::fs::File::open("/proc/thread-self/ns/net")?;
    let _ = ORIGIN.set(OwnedFd::from(file));
    Ok(())
}

/// An unconnected, non-blocking TCP socket for `addr`'s family.
fn tcp_socket(addr: &SocketAddr) -> io::Result<TcpSocket> {
    let family = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain socket(2); the fd is owned by the TcpSocket at once.
    let fd = unsafe {
        libc::socket(
            family,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh socket nothing else owns.
    Ok(unsafe { TcpSocket::from_raw_fd(fd) })
}

/// Resolves `host:port` and makes a socket per address, inside `origin` when there is one.
fn sockets(host: &str, port: u16) -> io::Result<Vec<(SocketAddr, TcpSocket)>> {
    let make = || -> io::Result<Vec<(SocketAddr, TcpSocket)>> {
        (host, port)
            .to_socket_addrs()?
            .map(|a| Ok((a, tcp_socket(&a)?)))
            .collect()
    };
    let Some(origin) = ORIGIN.get() else {
        return make();
    };
    std::thread::scope(|s| {
        s.spawn(|| {
            setns(origin, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
            make()
        })
        .join()
        .map_err(|_| io::Error::other("the helper thread that dials the store failed"))?
    })
}

/// A TCP connection to `uri`'s host and port, from the origin namespace.
pub async fn connect(uri: Uri) -> io::Result<TcpStream> {
    let host = uri
        .host()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, format!("no host in {uri}")))?
        .trim_matches(|c| c == '[' || c == ']')
        .to_string();
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    let candidates = tokio::task::spawn_blocking(move || sockets(&host, port))
        .await
        .map_err(io::Error::other)??;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the name has no address");
    for (addr, socket) in candidates {
        match socket.connect(addr).await {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The connector tonic's channel dials through (see [`connect`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Dialer;

impl tower_service::Service<Uri> for Dialer {
    type Response = TokioIo<TcpStream>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        Box::pin(async move { connect(uri).await.map(TokioIo::new) })
    }
}
