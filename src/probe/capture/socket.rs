//! The capture's packet socket: an AF_PACKET socket bound to one link of the namespace the calling
//! thread is in, set up through pnet's datalink channel. netsh makes the socket itself first, so that
//! it can give it a large receive buffer (a burst waits there instead of being dropped) and read the
//! kernel's drop counter at the end.

use super::decode::LinkType;
use pnet_datalink::{Channel, DataLinkReceiver, DataLinkSender};
use std::os::fd::RawFd;
use std::time::Duration;

/// How long one wait for a packet lasts: the recording looks at its stop flag and deadline this often.
pub const POLL: Duration = Duration::from_millis(100);
/// The kernel-side queue of packets not read yet (SO_RCVBUFFORCE; netsh runs as root).
const RECEIVE_BUFFER: libc::c_int = 64 << 20;
/// The largest frame kept whole: a GSO packet on a veth is up to 64 KiB; tcpdump's snap length.
pub const SNAPLEN: usize = 262_144;

pub struct PacketSocket {
    pub rx: Box<dyn DataLinkReceiver>,
    /// The channel's other half: it shares the socket, which closes when both are gone.
    _tx: Box<dyn DataLinkSender>,
    pub fd: RawFd,
    pub link: LinkType,
}

/// Why the socket could not be opened.
pub enum OpenError {
    NoSuchLink,
    Os(String),
}

fn os(what: &str) -> OpenError {
    OpenError::Os(format!("{what}: {}", std::io::Error::last_os_error()))
}

/// Opens a packet socket on `dev` of the calling thread's namespace.
pub fn open(dev: &str) -> Result<PacketSocket, OpenError> {
    let iface = pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == dev)
        .ok_or(OpenError::NoSuchLink)?;
    // protocol 0: nothing is queued before pnet binds the socket to the link with ETH_P_ALL, so no
    // frame of another link gets in
    // SAFETY: plain socket(2); pnet's channel owns the descriptor from here on
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(os("cannot open a packet socket"));
    }
    let set = |opt, value: libc::c_int| {
        // SAFETY: value is a c_int alive for the call
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                opt,
                &value as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as u32,
            )
        }
    };
    if set(libc::SO_RCVBUFFORCE, RECEIVE_BUFFER) < 0 {
        set(libc::SO_RCVBUF, RECEIVE_BUFFER);
    }
    let link = match link_type(fd, dev) {
        Ok(l) => l,
        Err(e) => {
            // SAFETY: fd is ours and not handed to pnet yet
            unsafe { libc::close(fd) };
            return Err(e);
        }
    };
    let config = pnet_datalink::Config {
        read_buffer_size: SNAPLEN,
        write_buffer_size: 0,
        read_timeout: Some(POLL),
        promiscuous: true,
        socket_fd: Some(fd),
        ..Default::default()
    };
    // pnet closes the descriptor itself when it fails
    match pnet_datalink::channel(&iface, config) {
        Ok(Channel::Ethernet(tx, rx)) => Ok(PacketSocket {
            rx,
            _tx: tx,
            fd,
            link,
        }),
        Ok(_) => Err(OpenError::Os("pnet gave an unknown kind of channel".into())),
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Err(OpenError::NoSuchLink),
        Err(e) => Err(OpenError::Os(format!("cannot listen on {dev}: {e}"))),
    }
}

/// Ethernet-like links (ARPHRD_ETHER, loopback) or bare IP (tun: ARPHRD_NONE), from SIOCGIFHWADDR.
fn link_type(fd: RawFd, dev: &str) -> Result<LinkType, OpenError> {
    // SAFETY: an all-zero ifreq is valid
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req
        .ifr_name
        .iter_mut()
        .zip(dev.bytes().take(libc::IFNAMSIZ - 1))
    {
        *d = s as libc::c_char;
    }
    // SAFETY: req is a valid ifreq for SIOCGIFHWADDR
    if unsafe { libc::ioctl(fd, libc::SIOCGIFHWADDR, &mut req) } < 0 {
        return match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::ENODEV) => Err(OpenError::NoSuchLink),
            _ => Err(os(&format!("cannot read the link type of {dev}"))),
        };
    }
    // SAFETY: SIOCGIFHWADDR filled ifru_hwaddr
    let family = unsafe { req.ifr_ifru.ifru_hwaddr.sa_family };
    Ok(match family {
        libc::ARPHRD_NONE => LinkType::RawIp,
        _ => LinkType::Ethernet,
    })
}

impl PacketSocket {
    /// One packet already queued, without waiting: the rest of what arrived before a stop.
    pub fn queued(&self, buf: &mut [u8]) -> Option<usize> {
        // SAFETY: buf is valid for its length
        let n = unsafe {
            libc::recv(
                self.fd,
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                libc::MSG_DONTWAIT | libc::MSG_TRUNC,
            )
        };
        (n >= 0).then(|| (n as usize).min(buf.len()))
    }

    /// Packets the kernel dropped because the queue was full (PACKET_STATISTICS).
    pub fn dropped(&self) -> u64 {
        let mut stats = libc::tpacket_stats {
            tp_packets: 0,
            tp_drops: 0,
        };
        let mut len = std::mem::size_of::<libc::tpacket_stats>() as u32;
        // SAFETY: stats and len are valid for the sizes given
        let rc = unsafe {
            libc::getsockopt(
                self.fd,
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                &mut stats as *mut _ as *mut libc::c_void,
                &mut len,
            )
        };
        if rc < 0 { 0 } else { u64::from(stats.tp_drops) }
    }
}
