//! The external interface of a host, chosen as flanneld chooses it: the interface named by `iface`,
//! else the one the default route leaves by; its first IPv4 address is the host's PublicIP.

use crate::base::error::RunError;
use crate::netlink::addrs;
use crate::netlink::errors;
use crate::netlink::handle::Netlink;
use crate::netlink::links;
use crate::netlink::routes;
use crate::ops::Family;
use ipnet::{IpNet, Ipv4Net};
use rtnetlink::packet_route::link::{LinkAttribute, LinkMessage};
use rtnetlink::packet_route::route::RouteAttribute;
use std::net::Ipv4Addr;

/// The interface overlay traffic leaves by.
#[derive(Clone, Debug, PartialEq)]
pub struct External {
    pub name: String,
    pub index: u32,
    pub mtu: u32,
    /// Its IPv4 address and network (None when it has none and `public-ip` was given).
    pub addr: Option<Ipv4Net>,
}

fn mtu_of(l: &LinkMessage) -> u32 {
    l.attributes
        .iter()
        .find_map(|a| match a {
            LinkAttribute::Mtu(m) => Some(*m),
            _ => None,
        })
        .unwrap_or(1500)
}

/// Finds the external interface in the namespace `nl` talks to (`where_` names it in messages).
pub async fn find(nl: &Netlink, iface: Option<&str>, where_: &str) -> Result<External, RunError> {
    let kernel = |e| errors::kernel("cannot read the kernel's tables", &e);
    let link = match iface {
        Some(name) => links::find(nl, name)
            .await
            .map_err(kernel)?
            .ok_or_else(|| {
                RunError::new(format!("{where_} has no interface {name}"))
                    .help("`show links in HOST` lists them")
            })?,
        None => {
            let all = routes::dump(nl, Family::V4).await.map_err(kernel)?;
            let oif = all
                .iter()
                .filter(|r| routes::table_of(r) == 254 && routes::dest_of(r) == "default")
                .find_map(|r| {
                    r.attributes.iter().find_map(|a| match a {
                        RouteAttribute::Oif(i) => Some(*i),
                        _ => None,
                    })
                })
                .ok_or_else(|| {
                    RunError::new(format!(
                        "{where_} has no default route, so there is no interface to take the lease on"
                    ))
                    .help("name one: `lease iface eth0 ...`, or give the host a gateway")
                })?;
            links::dump(nl)
                .await
                .map_err(kernel)?
                .into_iter()
                .find(|l| l.header.index == oif)
                .ok_or_else(|| {
                    RunError::new(format!(
                        "the default route's interface in {where_} vanished"
                    ))
                })?
        }
    };
    let index = link.header.index;
    let name = links::name_of(&link).unwrap_or("?").to_string();
    let addr = addrs::dump(nl)
        .await
        .map_err(kernel)?
        .iter()
        .filter(|a| a.header.index == index)
        .filter_map(addrs::net_of)
        .find_map(|n| match n {
            IpNet::V4(v4) => Some(v4),
            IpNet::V6(_) => None,
        });
    Ok(External {
        name,
        index,
        mtu: mtu_of(&link),
        addr,
    })
}

impl External {
    /// The PublicIP: given, else the interface's address.
    pub fn public_ip(&self, given: Option<Ipv4Addr>, where_: &str) -> Result<Ipv4Addr, RunError> {
        given.or(self.addr.map(|a| a.addr())).ok_or_else(|| {
            RunError::new(format!(
                "{} in {where_} has no IPv4 address to use as the public IP",
                self.name
            ))
            .help("add one, or say `lease public-ip IP`")
        })
    }
}
