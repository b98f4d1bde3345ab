//! Flannel's overlays as running services of a host: a task per host follows the leases in the
//! store and converges the host's kernel state on them — a route per remote subnet (host-gw), or
//! neighbour, FDB and onlink route entries on `flannel.<VNI>` (vxlan). A lease that appears is
//! reached, one that goes away is withdrawn, and when the host's own lease goes the whole overlay is.
//!
//! - external.rs: the interface overlay traffic leaves by (flanneld's `--iface` choice)
//! - hostgw.rs, vxlan.rs: the kernel entries of each backend for one remote lease
//! - udp_backend.rs: flannel0 and the userspace tunnel (src/tunnel/) whose peer table the service keeps
//! - service.rs: the watch loop that converges

pub mod external;
pub mod hostgw;
pub mod service;
pub mod udp_backend;
pub mod vxlan;

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

/// What a host's overlay service is told to do by the run (flannel_runtime.rs) and by the host's
/// lease renewal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Follow the leases.
    Run,
    /// Take out every entry and stop: the host's lease was released or lost.
    Withdraw,
    /// Put the kernel back as the service found it when it started, and stop: a rollback.
    PutBack,
    /// Apply the leases as the store holds them now, and stop, leaving the entries: the run ends.
    Settle,
}

/// Host names by PublicIP, for messages that name peers as the user named them ("docker4").
pub type Names = Arc<Mutex<HashMap<Ipv4Addr, String>>>;

pub fn name_of(names: &Names, ip: Ipv4Addr) -> String {
    names
        .lock()
        .ok()
        .and_then(|n| n.get(&ip).cloned())
        .map_or_else(|| ip.to_string(), |n| format!("{n} ({ip})"))
}

/// The host's name alone (or its address when this run does not know it).
pub fn bare_name(names: &Names, ip: Ipv4Addr) -> String {
    names
        .lock()
        .ok()
        .and_then(|n| n.get(&ip).cloned())
        .unwrap_or_else(|| ip.to_string())
}

/// Which overlay a host runs, with its settings.
#[derive(Clone, Debug)]
pub enum Kind {
    HostGw,
    Vxlan {
        vni: u32,
        port: u16,
        direct_routing: bool,
    },
    /// flannel's udp backend: the tunnel's peer table maps each remote subnet to its PublicIP.
    Udp {
        peers: crate::tunnel::peers::PeerTable,
    },
}

impl Kind {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::HostGw => "host-gw",
            Kind::Vxlan { .. } => "vxlan",
            Kind::Udp { .. } => "udp",
        }
    }
}

/// A printed MAC (`aa:bb:cc:dd:ee:ff`), as flannel writes VtepMAC.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut parts = text.split(':');
    for b in out.iter_mut() {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_parse_as_flannel_writes_them() {
        assert_eq!(
            parse_mac("0e:8f:1a:2b:3c:4d"),
            Some([0x0e, 0x8f, 0x1a, 0x2b, 0x3c, 0x4d])
        );
        assert_eq!(parse_mac("0e:8f:1a:2b:3c"), None);
        assert_eq!(parse_mac("0e:8f:1a:2b:3c:4d:5e"), None);
        assert_eq!(parse_mac("zz:8f:1a:2b:3c:4d"), None);
    }

    #[test]
    fn peers_are_named_when_known() {
        let names: Names = Arc::default();
        let ip = Ipv4Addr::new(10, 10, 10, 102);
        assert_eq!(name_of(&names, ip), "10.10.10.102");
        names.lock().unwrap().insert(ip, "docker2".into());
        assert_eq!(name_of(&names, ip), "docker2 (10.10.10.102)");
    }
}
