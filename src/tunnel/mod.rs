//! The userspace UDP tunnel of `overlay udp`: flannel's udp backend data path, compatible on the
//! wire (the UDP payload is the raw IPv4 packet) and much faster (TUN offloads, UDP GSO/GRO,
//! batches, two threads). `spawn_udp_backend` opens the TUN and the socket inside a host's
//! namespace and starts the data path; the caller (the overlay service) configures the link
//! (address, MTU, route) and keeps the `PeerTable` in step with the leases.
//!
//! Files: device.rs (TUN), udp.rs (socket, GSO/GRO, mmsg), wire.rs (format, header arithmetic),
//! checksum.rs (fast one's-complement sums, copy-and-sum),
//! checks.rs (what a datagram must pass), peers.rs (subnet → PublicIP), icmp.rs (TTL, net
//! unreachable), offload.rs (TSO split, GRO coalescing), counters.rs, fast.rs and simple.rs (the
//! two data paths), tunrs.rs (the fast path's TUN side on the tun-rs crate, cargo feature
//! `tun-rs`, for measuring against offload.rs).

pub mod checks;
pub mod checksum;
pub mod counters;
pub mod device;
pub mod fast;
pub mod fuzz;
pub mod icmp;
pub mod offload;
pub mod peers;
pub mod simple;
#[cfg(feature = "tun-rs")]
mod tunrs;
pub mod udp;
pub mod wire;

/// The fast path's TUN device and offloads: by hand (device.rs, offload.rs), or with the cargo
/// feature `tun-rs` the crate's (tunrs.rs), kept for measuring the two (docs/TUNNEL.md). The one
/// place that chooses.
#[cfg(not(feature = "tun-rs"))]
use fast::FastTun;
#[cfg(feature = "tun-rs")]
use tunrs::FastTun;

pub use counters::{Counter, Counters, Snapshot};
pub use peers::PeerTable;

use crate::base::error::RunError;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// Which data path moves the packets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DataPath {
    /// Offloads, batches, one thread per direction.
    #[default]
    Fast,
    /// flannel's design: one thread, one packet per syscall (for benchmarking against).
    Simple,
}

#[derive(Clone, Debug)]
pub struct UdpConfig {
    /// The TUN device (flannel's `flannel0`).
    pub tun: String,
    /// The UDP port, the same on every host (flannel's 8285).
    pub port: u16,
    /// The address the socket binds (0.0.0.0: all).
    pub bind: Ipv4Addr,
    /// The TUN's MTU: received packets larger than this are dropped as oversized.
    pub mtu: u32,
    /// The source of ICMP net-unreachable answers. By default the unreachable destination
    /// itself, as if the far side of flannel0 answered: the host's own flannel0 address would not
    /// do, its kernel drops packets arriving with a local source address as martians.
    pub icmp_source: Option<Ipv4Addr>,
    pub path: DataPath,
    /// Socket send and receive buffer size.
    pub socket_buffer: usize,
    /// This host's own subnet (its lease): received packets are delivered only when their inner
    /// destination lies in it. None delivers nothing (counted as `drop_foreign_dst`).
    pub local_subnet: Option<ipnet::Ipv4Net>,
}

impl Default for UdpConfig {
    fn default() -> Self {
        UdpConfig {
            tun: "flannel0".into(),
            port: wire::DEFAULT_PORT,
            bind: Ipv4Addr::UNSPECIFIED,
            mtu: 1500 - wire::OVERHEAD,
            icmp_source: None,
            path: DataPath::Fast,
            socket_buffer: 4 << 20,
            local_subnet: None,
        }
    }
}

impl UdpConfig {
    pub(crate) fn max_packet(&self) -> usize {
        (self.mtu as usize).clamp(wire::IPV4_MIN_HEADER, wire::MAX_PACKET)
    }

    /// What the receive path checks datagrams against.
    pub(crate) fn rx_rules(&self) -> checks::RxRules {
        checks::RxRules::new(self.max_packet(), self.local_subnet)
    }
}

/// Tells the data-path threads to stop: a flag, and an eventfd their polls include.
pub(crate) struct Stopper {
    flag: AtomicBool,
    efd: OwnedFd,
}

impl Stopper {
    fn new() -> std::io::Result<Stopper> {
        // SAFETY: eventfd returns a new fd or -1.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Stopper {
            flag: AtomicBool::new(false),
            // SAFETY: fd is a new, owned descriptor.
            efd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    pub(crate) fn stopping(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    pub(crate) fn fd(&self) -> RawFd {
        self.efd.as_raw_fd()
    }

    fn stop(&self) {
        self.flag.store(true, Ordering::Relaxed);
        let one: u64 = 1;
        // SAFETY: writing 8 bytes to an eventfd. It stays readable, waking every poller.
        unsafe { libc::write(self.fd(), &one as *const u64 as *const libc::c_void, 8) };
    }
}

/// What the data-path threads share.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) config: Arc<UdpConfig>,
    pub(crate) peers: PeerTable,
    pub(crate) counters: Arc<Counters>,
    pub(crate) stop: Arc<Stopper>,
}

/// What the kernel granted the tunnel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features {
    pub vnet_hdr: bool,
    pub tso: bool,
    pub uso: bool,
    pub udp_gso: bool,
    pub udp_gro: bool,
    /// The fast path's TUN offloads are tun-rs's (cargo feature `tun-rs`), not the hand-written ones.
    pub tun_rs: bool,
}

/// A running tunnel. Dropping it stops the threads and closes the TUN (the device disappears).
pub struct UdpBackend {
    shared: Shared,
    threads: Vec<JoinHandle<()>>,
    features: Features,
    local: SocketAddrV4,
    // kept open until the threads are gone
    _tun: Arc<dyn Send + Sync>,
    _sock: Arc<std::net::UdpSocket>,
}

impl UdpBackend {
    pub fn counters(&self) -> Snapshot {
        self.shared.counters.snapshot()
    }

    pub fn features(&self) -> Features {
        self.features
    }

    pub fn config(&self) -> &UdpConfig {
        &self.shared.config
    }

    /// The socket's bound address (its port, when the config asked for port 0).
    pub fn local_addr(&self) -> SocketAddrV4 {
        self.local
    }

    pub fn peers(&self) -> &PeerTable {
        &self.shared.peers
    }

    /// Stops the threads and waits for them.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.shared.stop.stop();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for UdpBackend {
    fn drop(&mut self) {
        self.halt();
    }
}

/// The TUN as opened inside the namespace: with offloads for the fast path, bare for the simple.
enum OpenTun {
    Fast(FastTun),
    Simple(std::fs::File),
}

/// Opens the TUN `config.tun` and the UDP socket inside namespace `ns` (the current one when
/// None) and starts the data path. The TUN is left down and unaddressed: the caller sets its
/// address, MTU (the external MTU − 28), state and the route for the network.
pub fn spawn_udp_backend(
    ns: Option<&str>,
    config: UdpConfig,
    peers: PeerTable,
) -> Result<UdpBackend, RunError> {
    let fast = config.path == DataPath::Fast;
    let (name, bind, port, buffer) = (
        config.tun.clone(),
        config.bind,
        config.port,
        config.socket_buffer,
    );
    let opened = crate::sys::netns::run_in(ns, move || {
        let tun = if fast {
            OpenTun::Fast(FastTun::open(&name)?)
        } else {
            OpenTun::Simple(device::open(&name, crate::sys::tun::TunFlags::default())?.file)
        };
        let (sock, info) = udp::bind(SocketAddrV4::new(bind, port), buffer, fast)?;
        Ok::<_, std::io::Error>((tun, sock, info))
    })?;
    let (tun, sock, info) = opened.map_err(|e| {
        RunError::new(format!("cannot start the udp tunnel: {e}"))
            .help("the udp backend needs /dev/net/tun (CONFIG_TUN) and a free UDP port")
    })?;
    let local = match sock.local_addr() {
        Ok(std::net::SocketAddr::V4(a)) => a,
        _ => SocketAddrV4::new(bind, port),
    };
    let (vnet_hdr, tso, uso) = match &tun {
        OpenTun::Fast(t) => t.offloads(),
        OpenTun::Simple(_) => (false, false, false),
    };
    let features = Features {
        vnet_hdr,
        tso,
        uso,
        udp_gso: info.gso,
        udp_gro: info.gro,
        tun_rs: fast && FastTun::TUN_RS,
    };
    let stop = Arc::new(
        Stopper::new().map_err(|e| RunError::new(format!("cannot create an eventfd: {e}")))?,
    );
    let shared = Shared {
        config: Arc::new(config),
        peers,
        counters: Arc::new(Counters::default()),
        stop,
    };
    let sock = Arc::new(sock);
    let sfd = sock.as_raw_fd();
    let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
        std::thread::Builder::new()
            .name(name.into())
            .stack_size(256 << 10)
            .spawn(f)
            .map_err(|e| RunError::new(format!("cannot start a tunnel thread: {e}")))
    };
    let mut threads = Vec::new();
    let tun: Arc<dyn Send + Sync> = match tun {
        OpenTun::Fast(t) => {
            let t = Arc::new(t);
            let (sh, tx) = (shared.clone(), t.clone());
            threads.push(spawn(
                "tunnel-tx",
                Box::new(move || tx.tx_loop(sfd, sh, features.udp_gso)),
            )?);
            let (sh, rx) = (shared.clone(), t.clone());
            match spawn(
                "tunnel-rx",
                Box::new(move || rx.rx_loop(sfd, sh, features.vnet_hdr)),
            ) {
                Ok(th) => threads.push(th),
                Err(e) => {
                    // do not leave the first thread running with nobody to stop it
                    shared.stop.stop();
                    for th in threads {
                        let _ = th.join();
                    }
                    return Err(e);
                }
            }
            t
        }
        OpenTun::Simple(file) => {
            let tfd = file.as_raw_fd();
            let sh = shared.clone();
            threads.push(spawn(
                "tunnel",
                Box::new(move || simple::run(tfd, sfd, sh)),
            )?);
            Arc::new(file)
        }
    };
    Ok(UdpBackend {
        shared,
        threads,
        features,
        local,
        _tun: tun,
        _sock: sock,
    })
}
