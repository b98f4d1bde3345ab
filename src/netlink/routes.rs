//! Routes: `ip route add|replace|del DEST [via GW] [dev IF] [onlink] [metric N] [table N] [src IP]`,
//! IPv4 and IPv6, with `default` meaning 0.0.0.0/0 or ::/0. Fields are set as ip(8) sets them.

use crate::base::error::RunError;
use crate::netlink::errors::{self, KernelError};
use crate::netlink::handle::{CHANGE, CREATE, Netlink, REPLACE};
use crate::netlink::links;
use crate::ops::{Dest, Family, Route, RouteAction};
use ipnet::IpNet;
use nix::errno::Errno;
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteProtocol, RouteScope,
    RouteType,
};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};
use std::net::IpAddr;

pub fn family(r: &Route) -> Family {
    match (&r.dest, r.via) {
        (Dest::Net(IpNet::V4(_)), _) => Family::V4,
        (Dest::Net(IpNet::V6(_)), _) => Family::V6,
        (Dest::Default(_), Some(IpAddr::V6(_))) => Family::V6,
        (Dest::Default(_), Some(IpAddr::V4(_))) => Family::V4,
        (Dest::Default(f), None) => *f,
    }
}

/// The RTM_NEWROUTE / RTM_DELROUTE message; `oif` is `dev`'s index.
pub fn message(r: &Route, action: RouteAction, oif: Option<u32>) -> RouteMessage {
    let mut m = RouteMessage::default();
    let fam = family(r);
    m.header.address_family = if fam == Family::V4 {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let table = r.table.unwrap_or(RouteHeader::RT_TABLE_MAIN as u32);
    if table < 256 {
        m.header.table = table as u8;
    } else {
        m.header.table = RouteHeader::RT_TABLE_UNSPEC;
        m.attributes.push(RouteAttribute::Table(table));
    }
    if let Dest::Net(n) = &r.dest {
        m.header.destination_prefix_length = n.prefix_len();
        if n.prefix_len() > 0 {
            m.attributes
                .push(RouteAttribute::Destination(RouteAddress::from(n.network())));
        }
    }
    if action == RouteAction::Del {
        // a delete matches any scope and type, as ip(8) does
        m.header.scope = RouteScope::NoWhere;
    } else {
        m.header.protocol = RouteProtocol::Boot;
        m.header.kind = RouteType::Unicast;
        m.header.scope = if r.via.is_none() && fam == Family::V4 {
            RouteScope::Link
        } else {
            RouteScope::Universe
        };
    }
    if let Some(gw) = r.via {
        m.attributes
            .push(RouteAttribute::Gateway(RouteAddress::from(gw)));
    }
    if let Some(oif) = oif {
        m.attributes.push(RouteAttribute::Oif(oif));
    }
    if r.onlink {
        m.header.flags |= RouteFlags::Onlink;
    }
    if let Some(metric) = r.metric {
        m.attributes.push(RouteAttribute::Priority(metric));
    }
    if let Some(src) = r.src {
        m.attributes
            .push(RouteAttribute::PrefSource(RouteAddress::from(src)));
    }
    m
}

/// Applies a route. `Ok(false)`: an `add` found the route there already and `strict` is off.
pub async fn apply(
    nl: &Netlink,
    action: RouteAction,
    r: &Route,
    strict: bool,
) -> Result<bool, RunError> {
    let (req, flags) = request(nl, action, r).await?;
    let result = nl.ack(req, flags).await;
    outcome(action, r, strict, result)
}

/// The request for a route and its flags (`dev` looked up in `nl`).
pub async fn request(
    nl: &Netlink,
    action: RouteAction,
    r: &Route,
) -> Result<(RouteNetlinkMessage, u16), RunError> {
    let oif = match &r.dev {
        Some(dev) => Some(links::index(nl, dev).await?),
        None => None,
    };
    Ok(request_with(action, r, oif))
}

/// The request for a route and its flags, `dev`'s index given.
pub fn request_with(
    action: RouteAction,
    r: &Route,
    oif: Option<u32>,
) -> (RouteNetlinkMessage, u16) {
    let msg = message(r, action, oif);
    match action {
        RouteAction::Add => (RouteNetlinkMessage::NewRoute(msg), CREATE),
        RouteAction::Replace => (RouteNetlinkMessage::NewRoute(msg), REPLACE),
        RouteAction::Del => (RouteNetlinkMessage::DelRoute(msg), CHANGE),
    }
}

/// What the kernel's answer to a route request means: changed, there already (an `add`), or an
/// error in words.
pub fn outcome(
    action: RouteAction,
    r: &Route,
    strict: bool,
    result: Result<(), KernelError>,
) -> Result<bool, RunError> {
    let verb = match action {
        RouteAction::Add => "add",
        RouteAction::Replace => "replace",
        RouteAction::Del => "delete",
    };
    match result {
        Ok(()) => Ok(true),
        Err(e) if action == RouteAction::Add && e.is(Errno::EEXIST) && !strict => Ok(false),
        Err(e) => {
            let err = errors::kernel(format!("cannot {verb} route {r}"), &e);
            Err(if e.is(Errno::ENETUNREACH) && r.via.is_some() {
                err.help(format!(
                    "the gateway {} is not on a network this namespace has an address in: add one first, or say `onlink`",
                    r.via.map(|v| v.to_string()).unwrap_or_default()
                ))
            } else {
                err
            })
        }
    }
}

/// Every route of one family, in every table.
pub async fn dump(nl: &Netlink, fam: Family) -> Result<Vec<RouteMessage>, KernelError> {
    let mut m = RouteMessage::default();
    m.header.address_family = if fam == Family::V4 {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let msgs = nl.query(RouteNetlinkMessage::GetRoute(m), true).await?;
    Ok(msgs
        .into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewRoute(r) => Some(r),
            _ => None,
        })
        .collect())
}

pub fn addr_of(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

/// A route's destination as ip(8) prints it: `default` or a CIDR.
pub fn dest_of(m: &RouteMessage) -> String {
    let dst = m.attributes.iter().find_map(|a| match a {
        RouteAttribute::Destination(d) => addr_of(d),
        _ => None,
    });
    match dst {
        None if m.header.destination_prefix_length == 0 => "default".into(),
        None => format!("?/{}", m.header.destination_prefix_length),
        Some(ip) => match IpNet::new(ip, m.header.destination_prefix_length) {
            Ok(n) if n.prefix_len() == n.max_prefix_len() => ip.to_string(),
            Ok(n) => n.to_string(),
            Err(_) => ip.to_string(),
        },
    }
}

pub fn table_of(m: &RouteMessage) -> u32 {
    m.attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(m.header.table as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(dest: Dest, via: Option<&str>) -> Route {
        Route {
            dest,
            via: via.map(|v| v.parse().unwrap()),
            dev: None,
            onlink: false,
            metric: None,
            table: None,
            src: None,
        }
    }

    #[test]
    fn a_v6_default_route_has_no_destination_and_the_v6_family() {
        let r = route(Dest::Default(Family::V6), Some("2003:ab11::1"));
        let m = message(&r, RouteAction::Add, None);
        assert_eq!(m.header.address_family, AddressFamily::Inet6);
        assert_eq!(m.header.destination_prefix_length, 0);
        assert!(
            !m.attributes
                .iter()
                .any(|a| matches!(a, RouteAttribute::Destination(_)))
        );
        assert_eq!(m.header.scope, RouteScope::Universe);
    }

    #[test]
    fn a_device_route_is_link_scoped_and_onlink_metric_table_are_carried() {
        let mut r = route(Dest::Net("10.100.0.0/16".parse().unwrap()), None);
        r.onlink = true;
        r.metric = Some(50);
        r.table = Some(1000);
        let m = message(&r, RouteAction::Add, Some(4));
        assert_eq!(m.header.scope, RouteScope::Link);
        assert!(m.header.flags.contains(RouteFlags::Onlink));
        assert!(m.attributes.contains(&RouteAttribute::Oif(4)));
        assert!(m.attributes.contains(&RouteAttribute::Priority(50)));
        assert!(m.attributes.contains(&RouteAttribute::Table(1000)));
        assert_eq!(dest_of(&m), "10.100.0.0/16");
        let d = message(&r, RouteAction::Del, Some(4));
        assert_eq!(d.header.scope, RouteScope::NoWhere);
    }
}
