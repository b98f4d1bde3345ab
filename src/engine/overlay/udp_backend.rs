//! The udp backend's kernel side: `flannel0`, the TUN device the userspace tunnel (src/tunnel/)
//! reads and writes. As flanneld sets it up: MTU = external MTU − 28, the lease's network address
//! with the whole flannel Network's prefix length (so the kernel routes the Network through it), up.

use crate::base::error::RunError;
use crate::engine::overlay::external::External;
use crate::netlink::addrs;
use crate::netlink::handle::Netlink;
use crate::netlink::links;
use crate::tunnel::peers::PeerTable;
use crate::tunnel::{UdpBackend, UdpConfig, spawn_udp_backend, wire};
use ipnet::{IpNet, Ipv4Net};

pub const DEVICE: &str = "flannel0";

/// Starts the tunnel for a host and configures flannel0; the tunnel runs until the backend is dropped.
pub async fn setup(
    ns: Option<&str>,
    nl: &Netlink,
    port: u16,
    ext: &External,
    own: Ipv4Net,
    network: Ipv4Net,
    peers: PeerTable,
) -> Result<UdpBackend, RunError> {
    let mtu = ext.mtu.saturating_sub(wire::OVERHEAD).max(68);
    let config = UdpConfig {
        tun: DEVICE.into(),
        port,
        mtu,
        // the tunnel delivers only into this host's lease
        local_subnet: Some(own.trunc()),
        ..UdpConfig::default()
    };
    let backend = spawn_udp_backend(ns, config, peers)?;
    let change = crate::ops::LinkChange {
        up: Some(true),
        mtu: Some(mtu),
        ..Default::default()
    };
    links::set(nl, DEVICE, &change, None).await?;
    let addr = Ipv4Net::new(own.network(), network.prefix_len()).unwrap_or(own);
    addrs::add(nl, DEVICE, IpNet::V4(addr), false, false).await?;
    Ok(backend)
}
