//! Addresses: `ip addr add|del CIDR dev IF [nodad]`, IPv4 and IPv6, and the dump `show` uses.

use crate::base::error::RunError;
use crate::netlink::errors::{self, KernelError};
use crate::netlink::handle::{CHANGE, CREATE, Netlink};
use crate::netlink::links;
use ipnet::IpNet;
use nix::errno::Errno;
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage,
};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};
use std::net::IpAddr;

pub fn message(index: u32, addr: IpNet, nodad: bool) -> AddressMessage {
    let mut m = AddressMessage::default();
    m.header.index = index;
    m.header.prefix_len = addr.prefix_len();
    m.header.family = family(addr.addr());
    m.attributes.push(AddressAttribute::Local(addr.addr()));
    m.attributes.push(AddressAttribute::Address(addr.addr()));
    if let IpNet::V4(n) = addr {
        // what `ip addr add ... brd +` and Docker set: the subnet's broadcast address
        if n.prefix_len() < 31 {
            m.attributes
                .push(AddressAttribute::Broadcast(n.broadcast()));
        }
    }
    if nodad {
        m.header.flags = AddressHeaderFlags::Nodad;
        m.attributes
            .push(AddressAttribute::Flags(AddressFlags::Nodad));
    }
    m
}

pub fn family(a: IpAddr) -> AddressFamily {
    if a.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    }
}

/// `ip addr add`. `Ok(false)`: the address was there already and `strict` is off.
pub async fn add(
    nl: &Netlink,
    dev: &str,
    addr: IpNet,
    nodad: bool,
    strict: bool,
) -> Result<bool, RunError> {
    let idx = links::index(nl, dev).await?;
    let result = nl
        .ack(
            RouteNetlinkMessage::NewAddress(message(idx, addr, nodad)),
            CREATE,
        )
        .await;
    add_outcome(dev, addr, strict, result)
}

/// What the kernel's answer to an `addr add` means: added, there already, or an error in words.
pub fn add_outcome(
    dev: &str,
    addr: IpNet,
    strict: bool,
    result: Result<(), KernelError>,
) -> Result<bool, RunError> {
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.is(Errno::EEXIST) && !strict => Ok(false),
        Err(e) => Err(errors::kernel(
            format!("cannot add address {addr} to {dev}"),
            &e,
        )),
    }
}

pub async fn del(nl: &Netlink, dev: &str, addr: IpNet) -> Result<(), RunError> {
    let idx = links::index(nl, dev).await?;
    nl.ack(
        RouteNetlinkMessage::DelAddress(message(idx, addr, false)),
        CHANGE,
    )
    .await
    .map_err(|e| errors::kernel(format!("cannot delete address {addr} from {dev}"), &e))
}

/// Every address in the namespace.
pub async fn dump(nl: &Netlink) -> Result<Vec<AddressMessage>, KernelError> {
    let msgs = nl
        .query(
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            true,
        )
        .await?;
    Ok(msgs
        .into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewAddress(a) => Some(a),
            _ => None,
        })
        .collect())
}

/// The address an address message is about (IFA_LOCAL, else IFA_ADDRESS), with its prefix.
pub fn net_of(m: &AddressMessage) -> Option<IpNet> {
    let local = m.attributes.iter().find_map(|a| match a {
        AddressAttribute::Local(ip) => Some(*ip),
        _ => None,
    });
    let addr = local.or_else(|| {
        m.attributes.iter().find_map(|a| match a {
            AddressAttribute::Address(ip) => Some(*ip),
            _ => None,
        })
    })?;
    IpNet::new(addr, m.header.prefix_len).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_addresses_get_their_broadcast_and_v6_nodad_its_flag() {
        let m = message(3, "10.10.10.101/24".parse().unwrap(), false);
        assert_eq!(m.header.family, AddressFamily::Inet);
        assert!(m.attributes.contains(&AddressAttribute::Broadcast(
            "10.10.10.255".parse().unwrap()
        )));
        let m6 = message(3, "2003:ab11::1/64".parse().unwrap(), true);
        assert_eq!(m6.header.family, AddressFamily::Inet6);
        assert_eq!(m6.header.prefix_len, 64);
        assert!(
            m6.attributes
                .contains(&AddressAttribute::Flags(AddressFlags::Nodad))
        );
        assert_eq!(net_of(&m6), Some("2003:ab11::1/64".parse().unwrap()));
    }
}
