//! Lab building: switches, hosts, routers (expanded here into plain namespace/veth/bridge Ops, so a
//! dry run shows every command), and the Docker-like statements the runtime carries out.

use super::Ctx;
use crate::base::error::RunError;
use crate::check::signatures::Id;
use crate::check::types::Val;
use crate::interp::args::Args;
use crate::ops::{AddrOp, DockerOp, LinkOp, NetnsOp, ServiceOp, SysctlOp};
use crate::ops::{
    Container, Dest, DockerBridge, Family, LinkChange, LinkKind, Ns, Op, Route, RouteAction,
};
use std::net::IpAddr;

/// The bridge inside a switch's namespace.
pub const SWITCH_BRIDGE: &str = "sw";

pub fn ops(id: Id, a: &Args, cx: &mut Ctx, out: &mut Vec<Op>) -> Result<(), RunError> {
    let name = a.must("name");
    match id {
        Id::Switch => {
            let sw: Ns = Some(name.as_str().into());
            out.extend([
                Op::Netns(NetnsOp::Add { name }),
                Op::Link(LinkOp::Add {
                    ns: sw.clone(),
                    name: SWITCH_BRIDGE.into(),
                    kind: LinkKind::Bridge,
                }),
                up(&sw, SWITCH_BRIDGE),
            ])
        }
        Id::Host => {
            let ns: Ns = Some(name.as_str().into());
            let iface = a.text("iface").unwrap_or_else(|| "eth0".into());
            out.extend([
                Op::Netns(NetnsOp::Add { name: name.clone() }),
                up(&ns, "lo"),
            ]);
            out.extend(plug(&name, &iface, &a.must("on")));
            for addr in a.all("addr") {
                if let Val::Net(n) = addr {
                    out.push(Op::Addr(AddrOp::Add {
                        ns: ns.clone(),
                        dev: iface.clone(),
                        addr: *n,
                        nodad: n.addr().is_ipv6(),
                    }));
                }
            }
            for gw in a.all("gw") {
                if let Val::Ip(gw) = gw {
                    out.push(default_route(&ns, *gw));
                }
            }
        }
        Id::Router => {
            let ns: Ns = Some(name.as_str().into());
            out.extend([
                Op::Netns(NetnsOp::Add { name: name.clone() }),
                up(&ns, "lo"),
            ]);
            let mut iface = String::new();
            let mut count = 0;
            for (key, v) in &a.vals {
                match (*key, v) {
                    ("on", sw) => {
                        iface = format!("eth{count}");
                        count += 1;
                        out.extend(plug(&name, &iface, &sw.text()));
                    }
                    ("addr", Val::Net(n)) if !iface.is_empty() => {
                        out.push(Op::Addr(AddrOp::Add {
                            ns: ns.clone(),
                            dev: iface.as_str().into(),
                            addr: *n,
                            nodad: n.addr().is_ipv6(),
                        }));
                    }
                    ("addr", _) => {
                        return Err(RunError::new("each `addr` of a router follows the `on SWITCH` it belongs to")
                            .help("write: router r1 on lan1 addr 10.10.10.1/24 on lan2 addr 192.168.50.1/24"));
                    }
                    _ => {}
                }
            }
            out.push(Op::Sysctl(SysctlOp::Set {
                ns: ns.clone(),
                key: "net.ipv4.ip_forward".into(),
                value: "1".into(),
            }));
            out.push(Op::Sysctl(SysctlOp::Set {
                ns,
                key: "net.ipv6.conf.all.forwarding".into(),
                value: "1".into(),
            }));
        }
        Id::Container => out.extend([Op::Docker(DockerOp::Container {
            host: cx.ns.clone(),
            container: Box::new(Container {
                name: name.to_string(),
                network: a.string("on"),
                ip: a.ip("ip"),
                ip6: a.ip("ip6"),
            }),
        })]),
        Id::ServeHttp => out.extend([Op::Service(ServiceOp::Http {
            ns: cx.ns.clone(),
            port: a.int("port").unwrap_or(80) as u16,
            text: a.string("text").unwrap_or_else(|| "netsh".into()),
        })]),
        Id::DockerBridge => out.extend([Op::Docker(DockerOp::Bridge {
            host: cx.ns.clone(),
            bridge: Box::new(DockerBridge {
                bip: a.net("bip"),
                fixed_cidr_v6: a.net("fixed-cidr-v6"),
                mtu: a.int("mtu").map(|m| m as u32),
            }),
        })]),
        _ => unreachable!("not a lab statement: {id:?}"),
    }
    Ok(())
}

fn up(ns: &Ns, link: &str) -> Op {
    Op::Link(LinkOp::Set {
        ns: ns.clone(),
        name: link.into(),
        change: Box::new(LinkChange {
            up: Some(true),
            ..Default::default()
        }),
    })
}

/// The name of a host's port on a switch: the host's name, shortened to fit IFNAMSIZ.
pub fn port_name(host: &str) -> String {
    if host.len() <= 15 {
        return host.to_string();
    }
    let hash = host
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
    let keep: String = host.chars().take(10).collect();
    format!("{keep}{:05x}", hash & 0xfffff)
}

/// A veth from `host`'s `iface` to a port on `switch`'s bridge, both ends up.
fn plug(host: &str, iface: &str, switch: &str) -> Vec<Op> {
    let (h, sw): (Ns, Ns) = (Some(host.into()), Some(switch.into()));
    let port = port_name(host);
    vec![
        Op::Link(LinkOp::Add {
            ns: h.clone(),
            name: iface.into(),
            kind: LinkKind::Veth {
                peer: port.as_str().into(),
                peer_ns: sw.clone(),
            },
        }),
        Op::Link(LinkOp::Set {
            ns: sw,
            name: port.into(),
            change: Box::new(LinkChange {
                up: Some(true),
                master: Some(Some(SWITCH_BRIDGE.into())),
                ..Default::default()
            }),
        }),
        up(&h, iface),
    ]
}

fn default_route(ns: &Ns, gw: IpAddr) -> Op {
    let family = if gw.is_ipv6() { Family::V6 } else { Family::V4 };
    Op::Route {
        ns: ns.clone(),
        action: RouteAction::Add,
        route: Box::new(Route {
            dest: Dest::Default(family),
            via: Some(gw),
            dev: None,
            onlink: false,
            metric: None,
            table: None,
            src: None,
        }),
    }
}
