//! vxlan: the device `flannel.<VNI>` (MTU of the external interface − 50, the lease's network
//! address as /32, no learning), and per remote lease a permanent neighbour
//! (remote subnet address → its VtepMAC), an FDB entry (VtepMAC → its PublicIP) and the route
//! `remote-subnet via remote-subnet-address dev flannel.<VNI> onlink`.

use crate::base::error::RunError;
use crate::engine::overlay::external::External;
use crate::netlink::addrs;
use crate::netlink::errors;
use crate::netlink::handle::{CHANGE, Netlink, REPLACE};
use crate::netlink::links;
use crate::netlink::neigh;
use crate::netlink::routes;
use crate::ops::{Dest, LinkChange, LinkKind, Route, Vxlan};
use ipnet::{IpNet, Ipv4Net};
use nix::errno::Errno;
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::address::AddressMessage;
use rtnetlink::packet_route::link::{
    InfoData, InfoKind, InfoVxlan, LinkAttribute, LinkInfo, LinkMessage,
};
use std::net::{IpAddr, Ipv4Addr};

/// VXLAN's encapsulation: outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14).
pub const OVERHEAD: u32 = 50;

pub fn device(vni: u32) -> String {
    format!("flannel.{vni}")
}

fn is_vxlan(l: &LinkMessage) -> bool {
    l.attributes.iter().any(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos
            .iter()
            .any(|i| matches!(i, LinkInfo::Kind(InfoKind::Vxlan))),
        _ => false,
    })
}

fn mac_of(l: &LinkMessage) -> Option<[u8; 6]> {
    l.attributes.iter().find_map(|a| match a {
        LinkAttribute::Address(b) if b.len() == 6 => {
            let mut m = [0u8; 6];
            m.copy_from_slice(b);
            Some(m)
        }
        _ => None,
    })
}

/// The VXLAN device an overlay runs on, as flanneld makes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Device {
    pub vni: u32,
    pub port: u16,
    /// The external interface (its index and name), which carries the encapsulated traffic.
    pub dev_index: u32,
    pub dev: String,
    /// This host's PublicIP, the tunnel's source address.
    pub local: Ipv4Addr,
    pub mtu: u32,
    /// The lease's network address as /32.
    pub addr: Ipv4Net,
}

impl Device {
    pub fn new(vni: u32, port: u16, ext: &External, public_ip: Ipv4Addr, own: Ipv4Net) -> Device {
        Device {
            vni,
            port,
            dev_index: ext.index,
            dev: ext.name.clone(),
            local: public_ip,
            mtu: ext.mtu.saturating_sub(OVERHEAD).max(68),
            addr: Ipv4Net::new(own.network(), 32).unwrap_or(own),
        }
    }

    pub fn name(&self) -> String {
        device(self.vni)
    }

    /// Whether the link `l` (with the namespace's addresses `addrs`) is this device as `setup`
    /// makes it: named `flannel.<VNI>`, that VNI, port, source and parent, learning off, the MTU,
    /// up, holding the address. Its MAC is whatever it has (flanneld keeps it too).
    pub fn is(&self, l: &LinkMessage, addrs: &[AddressMessage]) -> bool {
        let mut vni = None;
        let mut port = None;
        let mut local = None;
        let mut parent = None;
        let mut learning = None;
        for x in vxlan_data(l) {
            match x {
                InfoVxlan::Id(i) => vni = Some(*i),
                InfoVxlan::Port(p) => port = Some(*p),
                InfoVxlan::Local(ip) => local = Some(*ip),
                InfoVxlan::Link(i) => parent = Some(*i),
                InfoVxlan::Learning(b) => learning = Some(*b),
                _ => {}
            }
        }
        let mtu = l.attributes.iter().find_map(|a| match a {
            LinkAttribute::Mtu(m) => Some(*m),
            _ => None,
        });
        let holds_addr = addrs.iter().any(|a| {
            a.header.index == l.header.index && addrs::net_of(a) == Some(IpNet::V4(self.addr))
        });
        links::name_of(l) == Some(self.name().as_str())
            && is_vxlan(l)
            && vni == Some(self.vni)
            && port == Some(self.port)
            && local == Some(self.local)
            && parent == Some(self.dev_index)
            && learning == Some(false)
            && mtu == Some(self.mtu)
            && links::is_up(l)
            && holds_addr
    }
}

fn vxlan_data(l: &LinkMessage) -> &[InfoVxlan] {
    l.attributes
        .iter()
        .find_map(|a| match a {
            LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
                LinkInfo::Data(InfoData::Vxlan(d)) => Some(d.as_slice()),
                _ => None,
            }),
            _ => None,
        })
        .unwrap_or(&[])
}

/// The `flannel.N` VXLAN devices that are not `keep` as `setup` would make it: those of another
/// VNI (flannel leaves them behind), one of the same name with other settings, and every one
/// when there is nothing to keep (an overlay of another backend: a vxlan overlay's leftover).
pub async fn misfits(nl: &Netlink, keep: Option<&Device>) -> Result<Vec<String>, RunError> {
    let kernel = |e| errors::kernel("cannot read the links", &e);
    let addrs = addrs::dump(nl).await.map_err(kernel)?;
    Ok(links::dump(nl)
        .await
        .map_err(kernel)?
        .iter()
        .filter(|l| is_vxlan(l) && !keep.is_some_and(|d| d.is(l, &addrs)))
        .filter_map(|l| links::name_of(l).filter(|n| n.starts_with("flannel.")))
        .map(str::to_string)
        .collect())
}

/// Makes `flannel.<VNI>` and returns its MAC (the VtepMAC to publish). A device that is already
/// what it would make is kept as it is, with its MAC and its entries (a re-run changes nothing);
/// any other `flannel.N` VXLAN device is removed first (a leftover of an earlier VNI, or one with
/// other settings). Returns the names of the devices removed too.
pub async fn setup(nl: &Netlink, device: &Device) -> Result<([u8; 6], Vec<String>), RunError> {
    let kernel = |e| errors::kernel("cannot read the links", &e);
    let name = device.name();
    let addrs = addrs::dump(nl).await.map_err(kernel)?;
    let mut kept = None;
    let mut removed = Vec::new();
    for l in links::dump(nl).await.map_err(kernel)? {
        let Some(n) = links::name_of(&l) else {
            continue;
        };
        if !(n.starts_with("flannel.") && is_vxlan(&l)) {
            continue;
        }
        if device.is(&l, &addrs) {
            kept = mac_of(&l);
            continue;
        }
        let n = n.to_string();
        links::del(nl, &n).await?;
        removed.push(n);
    }
    if let Some(mac) = kept {
        return Ok((mac, removed));
    }
    let kind = LinkKind::Vxlan(Box::new(Vxlan {
        vni: device.vni,
        port: Some(device.port),
        dev: Some(device.dev.as_str().into()),
        local: Some(IpAddr::V4(device.local)),
        remote: None,
        group: None,
        learning: Some(false),
    }));
    links::add(nl, &name, &kind, None, true).await?;
    let change = LinkChange {
        up: Some(true),
        mtu: Some(device.mtu),
        ..Default::default()
    };
    links::set(nl, &name, &change, None).await?;
    addrs::add(nl, &name, IpNet::V4(device.addr), false, false).await?;
    let link = links::find(nl, &name)
        .await
        .map_err(kernel)?
        .ok_or_else(|| RunError::new(format!("{name} vanished right after it was made")))?;
    let mac = mac_of(&link).ok_or_else(|| RunError::new(format!("{name} has no MAC address")))?;
    Ok((mac, removed))
}

/// The onlink route of a remote subnet through the VXLAN device.
pub fn route(subnet: Ipv4Net, vni: u32) -> Route {
    Route {
        dest: Dest::Net(IpNet::V4(subnet)),
        via: Some(IpAddr::V4(subnet.network())),
        dev: Some(device(vni).into()),
        onlink: true,
        metric: None,
        table: None,
        src: None,
    }
}

/// Installs (or updates) the entries for one remote lease.
pub async fn add(
    nl: &Netlink,
    vni: u32,
    subnet: Ipv4Net,
    mac: [u8; 6],
    public_ip: Ipv4Addr,
) -> Result<(), String> {
    let dev = device(vni);
    let idx = links::index(nl, &dev).await.map_err(|e| e.message)?;
    let gw = IpAddr::V4(subnet.network());
    let text = |what: &str, e: &errors::KernelError| errors::kernel(what, e).message;
    nl.ack(
        RouteNetlinkMessage::NewNeighbour(neigh::neigh_message(idx, gw, Some(mac), false)),
        REPLACE,
    )
    .await
    .map_err(|e| text(&format!("cannot add neighbour {gw} on {dev}"), &e))?;
    nl.ack(
        RouteNetlinkMessage::NewNeighbour(neigh::fdb_message(
            idx,
            mac,
            Some(IpAddr::V4(public_ip)),
        )),
        REPLACE,
    )
    .await
    .map_err(|e| {
        text(
            &format!("cannot add the fdb entry to {public_ip} on {dev}"),
            &e,
        )
    })?;
    let r = route(subnet, vni);
    let msg = routes::message(&r, crate::ops::RouteAction::Replace, Some(idx));
    nl.ack(RouteNetlinkMessage::NewRoute(msg), REPLACE)
        .await
        .map_err(|e| text(&format!("cannot add route {r}"), &e))
}

/// Removes one remote lease's entries; entries already gone are fine.
pub async fn del(
    nl: &Netlink,
    vni: u32,
    subnet: Ipv4Net,
    mac: [u8; 6],
    public_ip: Ipv4Addr,
) -> Result<(), String> {
    let dev = device(vni);
    let Ok(idx) = links::index(nl, &dev).await else {
        return Ok(()); // the device is gone, and its entries with it
    };
    let gone = |e: &errors::KernelError| e.is(Errno::ESRCH) || e.is(Errno::ENOENT);
    let mut problems = Vec::new();
    let r = route(subnet, vni);
    let msg = routes::message(&r, crate::ops::RouteAction::Del, Some(idx));
    if let Err(e) = nl.ack(RouteNetlinkMessage::DelRoute(msg), CHANGE).await
        && !gone(&e)
    {
        problems.push(errors::kernel(format!("cannot delete route {r}"), &e).message);
    }
    let gw = IpAddr::V4(subnet.network());
    if let Err(e) = nl
        .ack(
            RouteNetlinkMessage::DelNeighbour(neigh::neigh_message(idx, gw, None, false)),
            CHANGE,
        )
        .await
        && !gone(&e)
    {
        problems.push(errors::kernel(format!("cannot delete neighbour {gw}"), &e).message);
    }
    if let Err(e) = nl
        .ack(
            RouteNetlinkMessage::DelNeighbour(neigh::fdb_message(
                idx,
                mac,
                Some(IpAddr::V4(public_ip)),
            )),
            CHANGE,
        )
        .await
        && !gone(&e)
    {
        problems.push(errors::kernel("cannot delete an fdb entry", &e).message);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}
