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
use rtnetlink::packet_route::link::{InfoKind, LinkAttribute, LinkInfo};
use std::net::{IpAddr, Ipv4Addr};

/// VXLAN's encapsulation: outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14).
pub const OVERHEAD: u32 = 50;

pub fn device(vni: u32) -> String {
    format!("flannel.{vni}")
}

fn is_vxlan(l: &rtnetlink::packet_route::link::LinkMessage) -> bool {
    l.attributes.iter().any(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos
            .iter()
            .any(|i| matches!(i, LinkInfo::Kind(InfoKind::Vxlan))),
        _ => false,
    })
}

fn mac_of(l: &rtnetlink::packet_route::link::LinkMessage) -> Option<[u8; 6]> {
    l.attributes.iter().find_map(|a| match a {
        LinkAttribute::Address(b) if b.len() == 6 => {
            let mut m = [0u8; 6];
            m.copy_from_slice(b);
            Some(m)
        }
        _ => None,
    })
}

/// Creates `flannel.<VNI>` afresh and returns its MAC (the VtepMAC to publish). Any other
/// `flannel.N` VXLAN device is a leftover of an earlier VNI and is removed (flannel leaves it).
/// Returns the names of the stale devices removed too.
pub async fn setup(
    nl: &Netlink,
    vni: u32,
    port: u16,
    ext: &External,
    public_ip: Ipv4Addr,
    own: Ipv4Net,
) -> Result<([u8; 6], Vec<String>), RunError> {
    let kernel = |e| errors::kernel("cannot read the links", &e);
    let name = device(vni);
    let mut stale = Vec::new();
    for l in links::dump(nl).await.map_err(kernel)? {
        let Some(n) = links::name_of(&l) else {
            continue;
        };
        if n.starts_with("flannel.") && is_vxlan(&l) {
            let n = n.to_string();
            links::del(nl, &n).await?;
            if n != name {
                stale.push(n);
            }
        }
    }
    let kind = LinkKind::Vxlan(Box::new(Vxlan {
        vni,
        port: Some(port),
        dev: Some(ext.name.as_str().into()),
        local: Some(IpAddr::V4(public_ip)),
        remote: None,
        group: None,
        learning: Some(false),
    }));
    links::add(nl, &name, &kind, None, true).await?;
    let change = LinkChange {
        up: Some(true),
        mtu: Some(ext.mtu.saturating_sub(OVERHEAD).max(68)),
        ..Default::default()
    };
    links::set(nl, &name, &change, None).await?;
    let addr = Ipv4Net::new(own.network(), 32).unwrap_or(own);
    addrs::add(nl, &name, IpNet::V4(addr), false, false).await?;
    let link = links::find(nl, &name)
        .await
        .map_err(kernel)?
        .ok_or_else(|| RunError::new(format!("{name} vanished right after it was made")))?;
    let mac = mac_of(&link).ok_or_else(|| RunError::new(format!("{name} has no MAC address")))?;
    Ok((mac, stale))
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
