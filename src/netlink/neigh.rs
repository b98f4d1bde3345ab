//! Neighbours (`ip neigh add|del`), kernel proxy-NDP entries (`ip -6 neigh add proxy`, NTF_PROXY)
//! and bridge/VXLAN forwarding entries (`bridge fdb add|append|del ... self`, NTF_SELF).

use crate::base::error::RunError;
use crate::netlink::errors::{self, KernelError};
use crate::netlink::handle::{APPEND, CHANGE, CREATE, Netlink};
use crate::netlink::links;
use crate::ops::FdbAction;
use crate::ops::format_mac;
use nix::errno::Errno;
use rtnetlink::packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use rtnetlink::packet_route::route::RouteType;
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};
use std::net::{IpAddr, Ipv6Addr};

fn address(ip: IpAddr) -> NeighbourAddress {
    match ip {
        IpAddr::V4(a) => NeighbourAddress::Inet(a),
        IpAddr::V6(a) => NeighbourAddress::Inet6(a),
    }
}

/// `ip neigh add ADDR lladdr MAC dev IF [router]`: permanent, as ip(8) makes it by default.
pub fn neigh_message(
    index: u32,
    ip: IpAddr,
    lladdr: Option<[u8; 6]>,
    router: bool,
) -> NeighbourMessage {
    let mut m = NeighbourMessage::default();
    m.header.family = crate::netlink::addrs::family(ip);
    m.header.ifindex = index;
    m.header.state = NeighbourState::Permanent;
    m.header.kind = RouteType::Unspec;
    if router {
        m.header.flags = NeighbourFlags::Router;
    }
    m.attributes
        .push(NeighbourAttribute::Destination(address(ip)));
    if let Some(mac) = lladdr {
        m.attributes
            .push(NeighbourAttribute::LinkLayerAddress(mac.to_vec()));
    }
    m
}

pub fn proxy_message(index: u32, ip: Ipv6Addr) -> NeighbourMessage {
    let mut m = neigh_message(index, IpAddr::V6(ip), None, false);
    m.header.flags = NeighbourFlags::Proxy;
    m
}

/// A forwarding entry on the device itself (NTF_SELF): for VXLAN, "send frames for MAC to dst".
pub fn fdb_message(index: u32, mac: [u8; 6], dst: Option<IpAddr>) -> NeighbourMessage {
    let mut m = NeighbourMessage::default();
    m.header.family = AddressFamily::Bridge;
    m.header.ifindex = index;
    m.header.state = NeighbourState::Permanent;
    m.header.flags = NeighbourFlags::Own;
    m.attributes
        .push(NeighbourAttribute::LinkLayerAddress(mac.to_vec()));
    if let Some(dst) = dst {
        m.attributes
            .push(NeighbourAttribute::Destination(address(dst)));
    }
    m
}

pub async fn add(
    nl: &Netlink,
    ip: IpAddr,
    lladdr: [u8; 6],
    dev: &str,
    router: bool,
    strict: bool,
) -> Result<bool, RunError> {
    let idx = links::index(nl, dev).await?;
    match nl
        .ack(
            RouteNetlinkMessage::NewNeighbour(neigh_message(idx, ip, Some(lladdr), router)),
            CREATE,
        )
        .await
    {
        Ok(()) => Ok(true),
        Err(e) if e.is(Errno::EEXIST) && !strict => Ok(false),
        Err(e) => Err(errors::kernel(
            format!(
                "cannot add neighbour {ip} lladdr {} on {dev}",
                format_mac(&lladdr)
            ),
            &e,
        )),
    }
}

pub async fn del(nl: &Netlink, ip: IpAddr, dev: &str) -> Result<(), RunError> {
    let idx = links::index(nl, dev).await?;
    nl.ack(
        RouteNetlinkMessage::DelNeighbour(neigh_message(idx, ip, None, false)),
        CHANGE,
    )
    .await
    .map_err(|e| errors::kernel(format!("cannot delete neighbour {ip} on {dev}"), &e))
}

pub async fn proxy_add(
    nl: &Netlink,
    ip: Ipv6Addr,
    dev: &str,
    strict: bool,
) -> Result<bool, RunError> {
    let idx = links::index(nl, dev).await?;
    match nl
        .ack(
            RouteNetlinkMessage::NewNeighbour(proxy_message(idx, ip)),
            CREATE,
        )
        .await
    {
        Ok(()) => Ok(true),
        Err(e) if e.is(Errno::EEXIST) && !strict => Ok(false),
        Err(e) => Err(errors::kernel(
            format!("cannot add a proxy entry for {ip} on {dev}"),
            &e,
        )),
    }
}

/// `ip -6 neigh del proxy IP dev DEV`.
pub async fn proxy_del(nl: &Netlink, ip: Ipv6Addr, dev: &str) -> Result<(), RunError> {
    let idx = links::index(nl, dev).await?;
    nl.ack(
        RouteNetlinkMessage::DelNeighbour(proxy_message(idx, ip)),
        CHANGE,
    )
    .await
    .map_err(|e| errors::kernel(format!("cannot delete proxy entry {ip}"), &e))
}

pub async fn fdb(
    nl: &Netlink,
    action: FdbAction,
    mac: [u8; 6],
    dev: &str,
    dst: Option<IpAddr>,
    strict: bool,
) -> Result<bool, RunError> {
    let idx = links::index(nl, dev).await?;
    let m = fdb_message(idx, mac, dst);
    let (req, flags, verb) = match action {
        FdbAction::Add => (RouteNetlinkMessage::NewNeighbour(m), CREATE, "add"),
        FdbAction::Append => (RouteNetlinkMessage::NewNeighbour(m), APPEND, "append"),
        FdbAction::Del => (RouteNetlinkMessage::DelNeighbour(m), CHANGE, "delete"),
    };
    match nl.ack(req, flags).await {
        Ok(()) => Ok(true),
        Err(e) if action == FdbAction::Add && e.is(Errno::EEXIST) && !strict => Ok(false),
        Err(e) => Err(errors::kernel(
            format!("cannot {verb} fdb entry {} on {dev}", format_mac(&mac)),
            &e,
        )),
    }
}

/// Neighbours of both families (`proxy`: the proxy entries instead), or the bridge FDB.
pub async fn dump(
    nl: &Netlink,
    family: AddressFamily,
    proxy: bool,
) -> Result<Vec<NeighbourMessage>, KernelError> {
    let mut m = NeighbourMessage::default();
    m.header.family = family;
    if proxy {
        m.header.flags = NeighbourFlags::Proxy;
    }
    let msgs = nl.query(RouteNetlinkMessage::GetNeighbour(m), true).await?;
    Ok(msgs
        .into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewNeighbour(n) => Some(n),
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_entries_carry_ntf_proxy_and_fdb_entries_ntf_self() {
        let p = proxy_message(2, "2003:ab11::2".parse().unwrap());
        assert!(p.header.flags.contains(NeighbourFlags::Proxy));
        assert_eq!(p.header.family, AddressFamily::Inet6);
        let f = fdb_message(3, [2, 0x42, 0, 0, 0, 1], Some("10.0.0.2".parse().unwrap()));
        assert_eq!(f.header.family, AddressFamily::Bridge);
        assert!(f.header.flags.contains(NeighbourFlags::Own));
        assert!(
            f.attributes
                .contains(&NeighbourAttribute::Destination(NeighbourAddress::Inet(
                    "10.0.0.2".parse().unwrap()
                )))
        );
        let r = neigh_message(1, "10.0.0.1".parse().unwrap(), Some([0; 6]), true);
        assert!(r.header.flags.contains(NeighbourFlags::Router));
        assert_eq!(r.header.state, NeighbourState::Permanent);
    }
}
