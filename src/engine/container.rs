//! `container NAME [in HOST]` on the host's default bridge and `docker-bridge`, as dockerd sets them
//! up: docker0 (172.17.0.1/16 unless `bip`), a veth per container whose inside end is eth0 in a
//! namespace named after the container, the lowest free address, Docker's MAC (02:42 + the IPv4
//! address), the default route via the bridge, lo up. These are expanded into plain Ops.

use crate::base::error::RunError;
use crate::docker::naming::{docker_mac, docker_v6, veth_name};
use crate::ops::{AddrOp, LinkOp, NetnsOp, SysctlOp};
use crate::ops::{
    Container, Dest, DockerBridge, Family, LinkChange, LinkKind, Ns, Op, Route, RouteAction,
};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const BRIDGE: &str = "docker0";

/// One host's default bridge, as netsh set it up.
#[derive(Debug, Clone)]
pub struct Bridge {
    /// The bridge's own address and the containers' subnet (`--bip`).
    pub bip: Ipv4Net,
    pub v6: Option<Ipv6Net>,
    pub mtu: Option<u32>,
    /// Addresses handed out.
    pub used: BTreeSet<Ipv4Addr>,
}

impl Default for Bridge {
    fn default() -> Bridge {
        Bridge {
            bip: Ipv4Net::new(Ipv4Addr::new(172, 17, 0, 1), 16).unwrap_or_default(),
            v6: None,
            mtu: None,
            used: BTreeSet::new(),
        }
    }
}

/// A container netsh made: where it lives and its addresses, for `ping NAME` and `expect reach NAME`.
#[derive(Debug, Clone)]
pub struct Made {
    pub v4: Ipv4Addr,
    pub v6: Option<Ipv6Addr>,
}

impl Made {
    /// A container's first IPv4 and IPv6 addresses among `addrs`.
    pub fn of(addrs: &[std::net::IpAddr]) -> Made {
        use std::net::IpAddr;
        Made {
            v4: addrs
                .iter()
                .find_map(|a| match a {
                    IpAddr::V4(v4) => Some(*v4),
                    IpAddr::V6(_) => None,
                })
                .unwrap_or(Ipv4Addr::UNSPECIFIED),
            v6: addrs.iter().find_map(|a| match a {
                IpAddr::V6(v6) => Some(*v6),
                IpAddr::V4(_) => None,
            }),
        }
    }
}

/// The Ops that create docker0 with this bridge's settings.
pub fn bridge_ops(host: &Ns, b: &Bridge) -> Vec<Op> {
    let mut ops = vec![
        Op::Link(LinkOp::Add {
            ns: host.clone(),
            name: BRIDGE.into(),
            kind: LinkKind::Bridge,
        }),
        Op::Addr(AddrOp::Add {
            ns: host.clone(),
            dev: BRIDGE.into(),
            addr: IpNet::V4(b.bip),
            nodad: false,
        }),
    ];
    if b.v6.is_some() {
        if let Some(net) = b.v6_gateway() {
            ops.push(Op::Addr(AddrOp::Add {
                ns: host.clone(),
                dev: BRIDGE.into(),
                addr: IpNet::V6(net),
                nodad: true,
            }));
        }
        ops.push(Op::Sysctl(SysctlOp::Set {
            ns: host.clone(),
            key: "net.ipv6.conf.all.forwarding".into(),
            value: "1".into(),
        }));
    }
    if let Some(mtu) = b.mtu {
        ops.push(Op::Link(LinkOp::Set {
            ns: host.clone(),
            name: BRIDGE.into(),
            change: Box::new(LinkChange {
                mtu: Some(mtu),
                ..Default::default()
            }),
        }));
    }
    ops.push(Op::link_up(host, BRIDGE));
    ops.push(Op::Sysctl(SysctlOp::Set {
        ns: host.clone(),
        key: "net.ipv4.ip_forward".into(),
        value: "1".into(),
    }));
    ops
}

/// A bridge from `docker-bridge` options.
pub fn bridge_from(opts: &DockerBridge) -> Result<Bridge, RunError> {
    let mut b = Bridge::default();
    match opts.bip {
        Some(IpNet::V4(n)) => b.bip = n,
        Some(IpNet::V6(n)) => {
            return Err(RunError::new(format!(
                "bip {n} must be an IPv4 CIDR (docker0's own address)"
            )));
        }
        None => {}
    }
    match opts.fixed_cidr_v6 {
        Some(IpNet::V6(n)) => b.v6 = Some(n),
        Some(IpNet::V4(n)) => {
            return Err(RunError::new(format!(
                "fixed-cidr-v6 {n} must be an IPv6 CIDR"
            )));
        }
        None => {}
    }
    b.mtu = opts.mtu;
    Ok(b)
}

impl Bridge {
    /// docker0's IPv6 address: the first of `fixed-cidr-v6`, the containers' gateway.
    pub fn v6_gateway(&self) -> Option<Ipv6Net> {
        let v6 = self.v6?;
        Ipv6Net::new(
            Ipv6Addr::from(u128::from(v6.network()) | 1),
            v6.prefix_len(),
        )
        .ok()
    }

    /// docker0's own addresses: `bip`, and the IPv6 gateway.
    pub fn addresses(&self) -> BTreeSet<IpNet> {
        let mut all = BTreeSet::from([IpNet::V4(self.bip)]);
        all.extend(self.v6_gateway().map(IpNet::V6));
        all
    }

    /// The lowest free address of the subnet: not the network, the bridge, or the broadcast.
    pub fn next_free(&self) -> Option<Ipv4Addr> {
        let net = self.bip.trunc();
        net.hosts()
            .find(|a| *a != self.bip.addr() && !self.used.contains(a))
    }
}

/// The Ops that make a container on `host`'s docker0; returns them with its addresses.
pub fn container_ops(
    host: &Ns,
    c: &Container,
    b: &mut Bridge,
) -> Result<(Vec<Op>, Made), RunError> {
    if let Some(net) = &c.network {
        return Err(crate::netlink::errors::not_supported(
            &format!("`container ... on {net}` (a user-defined network)"),
            "the Docker networks issue",
        ));
    }
    let v4 = match c.ip {
        Some(IpAddr::V4(a)) => {
            if !b.bip.contains(&a) {
                return Err(RunError::new(format!(
                    "{a} is not in docker0's subnet {}",
                    b.bip.trunc()
                )));
            }
            if b.used.contains(&a) || a == b.bip.addr() {
                return Err(RunError::new(format!("{a} is already in use on docker0")));
            }
            a
        }
        Some(IpAddr::V6(a)) => {
            return Err(RunError::new(format!(
                "`ip` takes an IPv4 address; give {a} as `ip6`"
            )));
        }
        None => b
            .next_free()
            .ok_or_else(|| RunError::new(format!("no free address left in {}", b.bip.trunc())))?,
    };
    let mac = docker_mac(v4);
    let v6 = match c.ip6 {
        Some(IpAddr::V6(a)) => Some(a),
        Some(IpAddr::V4(a)) => {
            return Err(RunError::new(format!(
                "`ip6` takes an IPv6 address, not {a}"
            )));
        }
        None => b.v6.map(|p| docker_v6(p, mac)),
    };
    let name = c.name.clone();
    let inside: Ns = Some(name.as_str().into());
    let veth = veth_name(host, &name);
    let mut ops = vec![
        Op::Netns(NetnsOp::Add {
            name: name.as_str().into(),
        }),
        Op::link_up(&inside, "lo"),
        Op::Link(LinkOp::Add {
            ns: host.clone(),
            name: veth.as_str().into(),
            kind: LinkKind::Veth {
                peer: "eth0".into(),
                peer_ns: inside.clone(),
            },
        }),
        Op::Link(LinkOp::Set {
            ns: host.clone(),
            name: veth.into(),
            change: Box::new(LinkChange {
                up: Some(true),
                master: Some(Some(BRIDGE.into())),
                mtu: b.mtu,
                ..Default::default()
            }),
        }),
        Op::Link(LinkOp::Set {
            ns: inside.clone(),
            name: "eth0".into(),
            change: Box::new(LinkChange {
                address: Some(mac),
                mtu: b.mtu,
                ..Default::default()
            }),
        }),
        Op::Addr(AddrOp::Add {
            ns: inside.clone(),
            dev: "eth0".into(),
            addr: IpNet::V4(
                Ipv4Net::new(v4, b.bip.prefix_len()).map_err(|e| RunError::new(e.to_string()))?,
            ),
            nodad: false,
        }),
    ];
    if let Some(a) = v6 {
        let len = b.v6.map(|p| p.prefix_len()).unwrap_or(64);
        let net = Ipv6Net::new(a, len).map_err(|e| RunError::new(e.to_string()))?;
        ops.push(Op::Addr(AddrOp::Add {
            ns: inside.clone(),
            dev: "eth0".into(),
            addr: IpNet::V6(net),
            nodad: true,
        }));
    }
    ops.push(Op::link_up(&inside, "eth0"));
    let route = |via: IpAddr, f| Op::Route {
        ns: inside.clone(),
        action: RouteAction::Add,
        route: Box::new(Route {
            dest: Dest::Default(f),
            via: Some(via),
            dev: None,
            onlink: false,
            metric: None,
            table: None,
            src: None,
        }),
    };
    ops.push(route(IpAddr::V4(b.bip.addr()), Family::V4));
    if let Some(gw) = b.v6_gateway() {
        ops.push(route(IpAddr::V6(gw.addr()), Family::V6));
    }
    b.used.insert(v4);
    Ok((ops, Made { v4, v6 }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_handed_out_lowest_first() {
        let mut b = Bridge::default();
        let c = |n: &str| Container {
            name: n.into(),
            ..Default::default()
        };
        let (_, one) = container_ops(&None, &c("a"), &mut b).unwrap();
        let (ops, two) = container_ops(&None, &c("b"), &mut b).unwrap();
        assert_eq!(one.v4, Ipv4Addr::new(172, 17, 0, 2));
        assert_eq!(two.v4, Ipv4Addr::new(172, 17, 0, 3));
        assert!(
            ops.iter()
                .any(|o| matches!(o, Op::Netns(NetnsOp::Add { name }) if name == "b"))
        );
        let taken = Container {
            name: "c".into(),
            ip: Some("172.17.0.2".parse().unwrap()),
            ..Default::default()
        };
        assert!(container_ops(&None, &taken, &mut b).is_err());
    }
}
