//! Addresses, routes, neighbours, forwarding entries, sysctls, NDP proxying.

use super::Ctx;
use crate::base::error::RunError;
use crate::check::signatures::Id;
use crate::check::types::Val;
use crate::interp::args::Args;
use crate::ops::{AddrOp, NeighOp, ServiceOp, SysctlOp};
use crate::ops::{Dest, Family, FdbAction, Op, Route, RouteAction};
use ipnet::IpNet;
use std::net::IpAddr;

pub fn ops(id: Id, a: &Args, cx: &mut Ctx, out: &mut Vec<Op>) -> Result<(), RunError> {
    let ns = cx.ns.clone();
    match id {
        Id::AddrAdd => out.extend([Op::Addr(AddrOp::Add {
            ns,
            dev: a.must("dev"),
            addr: address(a)?,
            nodad: a.flag("nodad"),
        })]),
        Id::AddrDel => out.extend([Op::Addr(AddrOp::Del {
            ns,
            dev: a.must("dev"),
            addr: address(a)?,
        })]),
        Id::RouteAdd | Id::RouteReplace | Id::RouteDel => {
            let action = match id {
                Id::RouteAdd => RouteAction::Add,
                Id::RouteReplace => RouteAction::Replace,
                _ => RouteAction::Del,
            };
            out.extend([Op::Route {
                ns,
                action,
                route: Box::new(route(a)?),
            }])
        }
        Id::NeighAdd => out.extend([Op::Neigh(NeighOp::Add {
            ns,
            addr: a.ip("address").unwrap_or(IpAddr::from([0, 0, 0, 0])),
            lladdr: a.mac("lladdr").unwrap_or_default(),
            dev: a.must("dev"),
            permanent: a.flag("permanent"),
            router: a.flag("router"),
        })]),
        Id::NeighDel if a.flag("proxy") => match a.ip("address") {
            Some(IpAddr::V6(addr)) => out.extend([Op::Neigh(NeighOp::ProxyDel {
                ns,
                addr,
                dev: a.must("dev"),
            })]),
            other => {
                let shown = other.map(|ip| ip.to_string()).unwrap_or_default();
                return Err(RunError::new(format!(
                    "a proxy entry is an IPv6 address, not {shown}"
                ))
                .at("address", shown));
            }
        },
        Id::NeighDel => out.extend([Op::Neigh(NeighOp::Del {
            ns,
            addr: a.ip("address").unwrap_or(IpAddr::from([0, 0, 0, 0])),
            dev: a.must("dev"),
        })]),
        Id::FdbAdd | Id::FdbAppend | Id::FdbDel => {
            let action = match id {
                Id::FdbAdd => FdbAction::Add,
                Id::FdbAppend => FdbAction::Append,
                _ => FdbAction::Del,
            };
            out.extend([Op::Neigh(NeighOp::Fdb {
                ns,
                action,
                mac: a.mac("mac").unwrap_or_default(),
                dev: a.must("dev"),
                dst: a.ip("dst"),
            })])
        }
        Id::Sysctl => {
            let key = a.must("key");
            match (a.text("value"), key.split_once('=')) {
                (Some(value), _) => out.extend([Op::Sysctl(SysctlOp::Set { ns, key, value })]),
                (None, Some((k, v))) => out.extend([Op::Sysctl(SysctlOp::Set {
                    ns,
                    key: k.into(),
                    value: v.into(),
                })]),
                (None, None) if a.flag("=") => {
                    return Err(RunError::new(format!("`sysctl {key} =` has no value"))
                        .help("write `sysctl KEY = VALUE`"));
                }
                (None, None) => out.extend([Op::Sysctl(SysctlOp::Show { ns, key })]),
            }
        }
        Id::Forwarding => {
            let value = if a.must("state") == "on" { "1" } else { "0" };
            let family = a.text("family");
            if family.as_deref() != Some("ipv6") {
                out.push(Op::Sysctl(SysctlOp::Set {
                    ns: ns.clone(),
                    key: "net.ipv4.ip_forward".into(),
                    value: value.into(),
                }));
            }
            if family.as_deref() != Some("ipv4") {
                out.push(Op::Sysctl(SysctlOp::Set {
                    ns,
                    key: "net.ipv6.conf.all.forwarding".into(),
                    value: value.into(),
                }));
            }
        }
        Id::ProxyNdp => {
            let dev = a.must("on");
            let single = match a.get("target") {
                Some(Val::Ip(IpAddr::V6(addr))) => Some(*addr),
                Some(Val::Net(IpNet::V6(n))) if n.prefix_len() == 128 => Some(n.addr()),
                _ => None,
            };
            let network = a.text("for");
            if let (Some(n), Some(_)) = (&network, single) {
                return Err(RunError::new(format!(
                    "`for {n}` needs a prefix: one address is a kernel proxy entry"
                ))
                .at("target", a.text("target").unwrap_or_default())
                .help("write the network's IPv6 subnet (or a prefix inside it), or drop `for`"));
            }
            match (single, a.net("target")) {
                (Some(addr), _) => out.extend([
                    Op::Sysctl(SysctlOp::Set {
                        ns: ns.clone(),
                        key: compact_str::format_compact!(
                            "net.ipv6.conf.{}.proxy_ndp",
                            sysctl_ifname(&dev)
                        ),
                        value: "1".into(),
                    }),
                    Op::Neigh(NeighOp::ProxyAdd { ns, addr, dev }),
                ]),
                (None, Some(prefix)) => out.extend([Op::Service(ServiceOp::Ndp {
                    ns,
                    prefix,
                    dev,
                    network: network.map(Into::into),
                })]),
                (None, None) => {
                    return Err(RunError::new("proxy-ndp needs an IPv6 address or prefix"));
                }
            }
        }
        _ => unreachable!("not an address statement: {id:?}"),
    }
    Ok(())
}

/// sysctl(8) writes the dots of an interface name (`eth1.19`) as slashes inside a dotted key.
pub fn sysctl_ifname(dev: &str) -> String {
    dev.replace('.', "/")
}

fn address(a: &Args) -> Result<IpNet, RunError> {
    a.net("address")
        .ok_or_else(|| RunError::new("an address is needed"))
}

fn route(a: &Args) -> Result<Route, RunError> {
    let via = a.ip("via");
    let dest = match a.get("destination") {
        Some(Val::Net(n)) => Dest::Net(*n),
        _ => Dest::Default(if matches!(via, Some(IpAddr::V6(_))) {
            Family::V6
        } else {
            Family::V4
        }),
    };
    if let (Dest::Net(n), Some(gw)) = (&dest, via)
        && matches!(n, IpNet::V4(_)) != gw.is_ipv4()
    {
        return Err(RunError::new(format!(
            "the gateway {gw} is not of the same address family as {n}"
        ))
        .help("an IPv4 route needs an IPv4 gateway, an IPv6 route an IPv6 one"));
    }
    Ok(Route {
        dest,
        via,
        dev: a.text("dev"),
        onlink: a.flag("onlink"),
        metric: a.int("metric").map(|m| m as u32),
        table: a.int("table").map(|t| t as u32),
        src: a.ip("src"),
    })
}
