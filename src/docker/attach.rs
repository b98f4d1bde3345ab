//! `container NAME on NETWORK`: addresses from the network's pools, and a namespace attached the
//! way Docker attaches it: a macvlan/ipvlan child made on the parent and moved in as eth0, or a veth
//! into the network's bridge; Docker's MAC (02:42 + IPv4); default routes via the gateways (for
//! ipvlan l3/l3s `default dev eth0`; none on an internal network).

use super::network::NetworkState;
use crate::base::error::RunError;
use crate::docker::naming::{docker_mac, docker_v6, veth_name};
use crate::ops::{AddrOp, LinkOp, NeighOp, NetnsOp, ParentIn};
use crate::ops::{
    Container, Dest, Family, IpvlanMode, LinkChange, LinkKind, MacvlanMode, Ns, Op, Route,
    RouteAction,
};
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What an attach hands out: the container's addresses (with prefix lengths).
#[derive(Debug)]
pub struct Attached {
    pub ops: Vec<Op>,
    pub addrs: Vec<IpNet>,
}

impl Attached {
    pub fn v4(&self) -> Option<Ipv4Addr> {
        self.addrs.iter().find_map(|a| match a.addr() {
            IpAddr::V4(v) => Some(v),
            _ => None,
        })
    }
    pub fn v6(&self) -> Option<Ipv6Addr> {
        self.addrs.iter().find_map(|a| match a.addr() {
            IpAddr::V6(v) => Some(v),
            _ => None,
        })
    }
}

fn pinned_family(
    ip: Option<IpAddr>,
    v4: bool,
    what: &'static str,
) -> Result<Option<IpAddr>, RunError> {
    match ip {
        Some(a) if a.is_ipv4() == v4 => Ok(Some(a)),
        Some(a) => Err(RunError::new(format!(
            "`{what}` takes an {} address, not {a}",
            if v4 { "IPv4" } else { "IPv6" }
        ))
        .at(what, a.to_string())),
        None => Ok(None),
    }
}

/// Takes the container's addresses from `n`'s pools for `holder` (releasing them again if any
/// step fails).
fn allocate(n: &mut NetworkState, c: &Container, holder: &str) -> Result<Vec<IpNet>, RunError> {
    let ip = pinned_family(c.ip, true, "ip")?;
    let ip6 = pinned_family(c.ip6, false, "ip6")?;
    let has = |v4: bool| n.pools.iter().any(|p| p.subnet().addr().is_ipv4() == v4);
    if ip6.is_some() && !has(false) {
        return Err(RunError::new(format!(
            "`ip6` was given but the network {} has no IPv6 subnet",
            n.spec.name
        ))
        .at("ip6", ip6.map(|a| a.to_string()).unwrap_or_default())
        .help("create the network with an IPv6 `subnet` (and `ipv6`)"));
    }
    let mut got: Vec<IpNet> = Vec::new();
    let mut mac = None;
    let mut fail = None;
    // IPv4 first: the MAC comes from it, and Docker's IPv6 address from the MAC
    let order: Vec<usize> = (0..n.pools.len())
        .filter(|i| n.pools[*i].subnet().addr().is_ipv4())
        .chain((0..n.pools.len()).filter(|i| n.pools[*i].subnet().addr().is_ipv6()))
        .collect();
    let mut v4_done = false;
    let mut v6_done = false;
    for i in order {
        let pool = &mut n.pools[i];
        let s = pool.subnet();
        let v4 = s.addr().is_ipv4();
        // one address per family, from the first subnet of that family that has room
        if (v4 && v4_done) || (!v4 && v6_done) {
            continue;
        }
        let pin = if v4 { ip } else { ip6 };
        let key = if v4 { "ip" } else { "ip6" };
        let result = match pin {
            Some(a) if s.contains(&a) => pool
                .take(a, holder)
                .map(|_| a)
                .map_err(|e| e.at(key, a.to_string())),
            Some(_) => continue,
            None => {
                // Docker derives a container's IPv6 address from its MAC when the prefix leaves 48 bits
                let from_mac = match (s, mac) {
                    (IpNet::V6(p), Some(m)) if p.prefix_len() <= 80 => {
                        let a = IpAddr::V6(docker_v6(p, m));
                        pool.take(a, holder).ok().map(|_| a)
                    }
                    _ => None,
                };
                match from_mac {
                    Some(a) => Ok(a),
                    None => pool
                        .take_next(holder)
                        .map_err(|e| e.at("on", n.spec.name.clone())),
                }
            }
        };
        match result {
            Ok(a) => {
                if let IpAddr::V4(v) = a {
                    mac = Some(docker_mac(v));
                    v4_done = true;
                } else {
                    v6_done = true;
                }
                got.push(IpNet::new(a, s.prefix_len()).unwrap_or(IpNet::from(a)));
            }
            Err(e) => {
                fail = Some(e);
                break;
            }
        }
    }
    let missing_pin = [ip, ip6]
        .into_iter()
        .flatten()
        .find(|p| !got.iter().any(|g| g.addr() == *p));
    if fail.is_none()
        && let Some(p) = missing_pin
    {
        let key = if p.is_ipv4() { "ip" } else { "ip6" };
        fail = Some(
            RunError::new(format!(
                "{p} is in none of the subnets of the network {}",
                n.spec.name
            ))
            .at(key, p.to_string()),
        );
    }
    if let Some(e) = fail {
        release(n, got.iter().map(|g| g.addr()));
        return Err(e);
    }
    Ok(got)
}

/// Puts a container back on `n` at `position` with the addresses it held, taking them from the
/// pools again (the rollback of a `netns del` that gave them back). Nothing is taken when one
/// of them is held by another container meanwhile.
pub fn rejoin(
    n: &mut NetworkState,
    container: &str,
    position: usize,
    addrs: &[IpAddr],
) -> Result<(), RunError> {
    let holder = format!("{}/{container}", n.host.as_deref().unwrap_or("-"));
    let mut taken = Vec::new();
    for a in addrs {
        let Some(pool) = n.pools.iter_mut().find(|p| p.subnet().contains(a)) else {
            continue;
        };
        if let Err(e) = pool.take(*a, &holder) {
            release(n, taken.into_iter());
            return Err(e);
        }
        taken.push(*a);
    }
    let at = position.min(n.containers.len());
    n.containers
        .insert(at, (container.to_string(), addrs.to_vec()));
    Ok(())
}

pub fn release(n: &mut NetworkState, addrs: impl Iterator<Item = IpAddr>) {
    for a in addrs {
        for p in n.pools.iter_mut() {
            if p.subnet().contains(&a) {
                p.release(a);
            }
        }
    }
}

fn default_route(ns: &Ns, via: Option<IpAddr>, family: Family, dev: Option<&str>) -> Op {
    Op::Route {
        ns: ns.clone(),
        action: RouteAction::Add,
        route: Box::new(Route {
            dest: Dest::Default(family),
            via,
            dev: dev.map(Into::into),
            onlink: false,
            metric: None,
            table: None,
            src: None,
        }),
    }
}

/// Plans attaching `c` to `n` on `host`: takes its addresses and returns the Ops.
pub fn plan_attach(host: &Ns, n: &mut NetworkState, c: &Container) -> Result<Attached, RunError> {
    if n.containers.iter().any(|(name, _)| *name == c.name) {
        return Err(RunError::new(format!(
            "container {} is already attached to {}",
            c.name, n.spec.name
        ))
        .at("name", c.name.clone()));
    }
    let holder = format!("{}/{}", host.as_deref().unwrap_or("-"), c.name);
    let addrs = allocate(n, c, &holder)?;
    let inside: Ns = Some(c.name.as_str().into());
    let mac = addrs.iter().find_map(|a| match a.addr() {
        IpAddr::V4(v) => Some(docker_mac(v)),
        _ => None,
    });
    let mut ops = vec![
        Op::Netns(NetnsOp::Add {
            name: c.name.as_str().into(),
        }),
        Op::Link(LinkOp::Set {
            ns: inside.clone(),
            name: "lo".into(),
            change: Box::new(LinkChange {
                up: Some(true),
                ..Default::default()
            }),
        }),
    ];
    let host_side = veth_name(host, &c.name);
    match (n.spec.driver.as_str(), &n.bridge, &n.parent) {
        ("bridge", Some(br), _) => {
            ops.push(Op::Link(LinkOp::Add {
                ns: host.clone(),
                name: host_side.as_str().into(),
                kind: LinkKind::Veth {
                    peer: "eth0".into(),
                    peer_ns: inside.clone(),
                },
            }));
            ops.push(Op::Link(LinkOp::Set {
                ns: host.clone(),
                name: host_side.into(),
                change: Box::new(LinkChange {
                    up: Some(true),
                    master: Some(Some(br.as_str().into())),
                    ..Default::default()
                }),
            }));
            ops.push(Op::Link(LinkOp::Set {
                ns: inside.clone(),
                name: "eth0".into(),
                change: Box::new(LinkChange {
                    address: mac,
                    ..Default::default()
                }),
            }));
        }
        (driver @ ("macvlan" | "ipvlan"), _, Some(parent)) => {
            // made beside the parent under a temporary name, then moved in and renamed eth0
            let temp =
                host_side.replacen("veth", if driver == "macvlan" { "mv" } else { "ipv" }, 1);
            // the network's mode was checked (or defaulted) when it was created
            let mode = n.mode.clone().unwrap_or_default();
            let unknown = || RunError::new(format!("`{mode}` is not a {driver} mode"));
            let kind = if driver == "macvlan" {
                LinkKind::Macvlan {
                    parent: parent.as_str().into(),
                    mode: MacvlanMode::from_word(&mode).ok_or_else(unknown)?,
                    parent_in: ParentIn::Beside,
                }
            } else {
                LinkKind::Ipvlan {
                    parent: parent.as_str().into(),
                    mode: IpvlanMode::from_word(&mode).ok_or_else(unknown)?,
                    parent_in: ParentIn::Beside,
                }
            };
            ops.push(Op::Link(LinkOp::Add {
                ns: host.clone(),
                name: temp.as_str().into(),
                kind,
            }));
            ops.push(Op::Link(LinkOp::Set {
                ns: host.clone(),
                name: temp.into(),
                change: Box::new(LinkChange {
                    netns: Some(c.name.as_str().into()),
                    rename: Some("eth0".into()),
                    // an ipvlan child shares its parent's MAC
                    address: if driver == "macvlan" { mac } else { None },
                    ..Default::default()
                }),
            }));
        }
        _ => {
            release(n, addrs.iter().map(|a| a.addr()));
            return Err(RunError::new(format!(
                "the network {} has nothing to attach to",
                n.spec.name
            )));
        }
    }
    for a in &addrs {
        ops.push(Op::Addr(AddrOp::Add {
            ns: inside.clone(),
            dev: "eth0".into(),
            addr: *a,
            nodad: a.addr().is_ipv6(),
        }));
    }
    ops.push(Op::Link(LinkOp::Set {
        ns: inside.clone(),
        name: "eth0".into(),
        change: Box::new(LinkChange {
            up: Some(true),
            ..Default::default()
        }),
    }));
    let l3 = n.spec.driver == "ipvlan" && matches!(n.mode.as_deref(), Some("l3" | "l3s"));
    if !n.spec.internal {
        for a in &addrs {
            let family = if a.addr().is_ipv4() {
                Family::V4
            } else {
                Family::V6
            };
            if l3 {
                ops.push(default_route(&inside, None, family, Some("eth0")));
            } else if let Some(gw) = n.gateways.iter().find(|g| a.contains(*g)) {
                ops.push(default_route(&inside, Some(*gw), family, None));
            }
        }
    }
    if n.spec.ndp_proxy {
        let dev = n.ndp_dev();
        for a in &addrs {
            if let IpAddr::V6(v6) = a.addr() {
                ops.push(Op::Neigh(NeighOp::ProxyAdd {
                    ns: host.clone(),
                    addr: v6,
                    dev: dev.as_str().into(),
                }));
            }
        }
    }
    n.containers
        .push((c.name.clone(), addrs.iter().map(|a| a.addr()).collect()));
    Ok(Attached { ops, addrs })
}

#[cfg(test)]
mod tests {
    use super::super::network::{HostView, plan_create};
    use super::*;
    use crate::ops::Network;

    fn network(driver: &str, subnets: &[&str], mode: Option<&str>) -> NetworkState {
        let spec = Network {
            name: "n".into(),
            driver: driver.into(),
            parent: Some("eth0".into()),
            mode: mode.map(str::to_string),
            subnets: subnets.iter().map(|s| s.parse().unwrap()).collect(),
            ..Default::default()
        };
        let v = HostView {
            others: vec![],
            parent_exists: true,
            twin: None,
            global_pool: None,
        };
        plan_create(&Some("h".into()), &spec, &v).unwrap().0
    }

    fn c(name: &str) -> Container {
        Container {
            name: name.into(),
            network: Some("n".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_macvlan_child_is_moved_in_as_eth0_with_dockers_mac_and_route() {
        let mut n = network("macvlan", &["10.10.10.0/24"], None);
        let a = plan_attach(&Some("h".into()), &mut n, &c("web1")).unwrap();
        assert_eq!(a.v4(), Some(Ipv4Addr::new(10, 10, 10, 2)));
        assert!(a.ops.iter().any(|o| matches!(o, Op::Link(LinkOp::Set { change, .. })
            if change.rename.as_deref() == Some("eth0") && change.address == Some([2, 0x42, 10, 10, 10, 2]))));
        assert!(a.ops.iter().any(|o| matches!(o, Op::Route { route, .. }
            if route.via == Some("10.10.10.1".parse().unwrap()))));
    }

    #[test]
    fn ipvlan_l3_routes_default_dev_eth0() {
        let mut n = network("ipvlan", &["192.168.30.0/24"], Some("l3"));
        let a = plan_attach(&Some("h".into()), &mut n, &c("x")).unwrap();
        assert!(a.ops.iter().any(|o| matches!(o, Op::Route { route, .. }
            if route.via.is_none() && route.dev.as_deref() == Some("eth0"))));
    }

    #[test]
    fn dual_stack_gets_the_mac_derived_v6_and_pins_are_checked() {
        let mut n = network(
            "bridge",
            &["10.15.20.0/24", "2003:ab11:0:0:c000::/66"],
            None,
        );
        let a = plan_attach(&None, &mut n, &c("web1")).unwrap();
        assert_eq!(
            a.v6(),
            Some("2003:ab11::c000:242:a0f:1402".parse().unwrap())
        );
        let mut pinned = c("web2");
        pinned.ip = Some("10.15.20.50".parse().unwrap());
        pinned.ip6 = Some("2003:ab11::c000:0:0:50".parse().unwrap());
        let b = plan_attach(&None, &mut n, &pinned).unwrap();
        assert_eq!(b.v4(), Some(Ipv4Addr::new(10, 15, 20, 50)));
        let mut bad = c("web3");
        bad.ip6 = Some("2003:ab11::5".parse().unwrap());
        assert!(plan_attach(&None, &mut n, &bad).is_err());
        // the failed attach gave its IPv4 address back
        let d = plan_attach(&None, &mut n, &c("web4")).unwrap();
        assert_eq!(d.v4(), Some(Ipv4Addr::new(10, 15, 20, 3)));
    }

    #[test]
    fn ip6_without_an_ipv6_subnet_is_an_error() {
        let mut n = network("macvlan", &["10.10.10.0/24"], None);
        let mut x = c("x");
        x.ip6 = Some("2003::5".parse().unwrap());
        assert!(
            plan_attach(&None, &mut n, &x)
                .unwrap_err()
                .message
                .contains("no IPv6 subnet")
        );
    }
}
