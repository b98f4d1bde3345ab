//! host-gw: a route per remote subnet via the remote host's PublicIP, out of the external interface.
//! The next hop must be on-link; the kernel's "Network is unreachable" is said in words.

use crate::base::error::RunError;
use crate::engine::overlay::external::External;
use crate::netlink::errors;
use crate::netlink::handle::{CHANGE, Netlink, REPLACE};
use crate::netlink::routes;
use crate::ops::{Dest, Route, RouteAction};
use ipnet::{IpNet, Ipv4Net};
use nix::errno::Errno;
use rtnetlink::packet_route::RouteNetlinkMessage;
use std::net::{IpAddr, Ipv4Addr};

pub fn route(subnet: Ipv4Net, via: Ipv4Addr, ext: &External) -> Route {
    Route {
        dest: Dest::Net(IpNet::V4(subnet)),
        via: Some(IpAddr::V4(via)),
        dev: Some(ext.name.as_str().into()),
        onlink: false,
        metric: None,
        table: None,
        src: None,
    }
}

/// Why a route could not be added.
pub enum AddError {
    /// The next hop is not on a network of the external interface.
    NotOnLink,
    Other(String),
}

pub async fn add(nl: &Netlink, r: &Route, ext: &External) -> Result<(), AddError> {
    let msg = routes::message(r, RouteAction::Replace, Some(ext.index));
    match nl.ack(RouteNetlinkMessage::NewRoute(msg), REPLACE).await {
        Ok(()) => Ok(()),
        Err(e) if e.is(Errno::ENETUNREACH) => Err(AddError::NotOnLink),
        Err(e) => Err(AddError::Other(
            errors::kernel(format!("cannot add route {r}"), &e).message,
        )),
    }
}

/// Deletes a route; one that is already gone is fine.
pub async fn del(nl: &Netlink, r: &Route, index: Option<u32>) -> Result<(), RunError> {
    let msg = routes::message(r, RouteAction::Del, index);
    match nl.ack(RouteNetlinkMessage::DelRoute(msg), CHANGE).await {
        Ok(()) => Ok(()),
        Err(e) if e.is(Errno::ESRCH) || e.is(Errno::ENODEV) => Ok(()),
        Err(e) => Err(errors::kernel(format!("cannot delete route {r}"), &e)),
    }
}
