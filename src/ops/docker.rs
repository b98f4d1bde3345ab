//! Docker: networks, containers and the default bridge, as Docker's drivers would make them.

use super::render::{InNs, Quoted, Shown, flag, opt, put};
use super::{Name, Ns};
use ipnet::IpNet;
use std::net::IpAddr;

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Network {
    pub name: String,
    pub driver: String,
    pub parent: Option<String>,
    pub mode: Option<String>,
    pub subnets: Vec<IpNet>,
    pub ip_ranges: Vec<IpNet>,
    pub gateways: Vec<IpAddr>,
    /// `NAME=IP` reservations.
    pub aux: Vec<(String, IpAddr)>,
    pub internal: bool,
    pub ipv6: bool,
    pub ndp_proxy: bool,
    pub global: bool,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Container {
    pub name: String,
    /// `None`: the host's default bridge, docker0.
    pub network: Option<String>,
    pub ip: Option<IpAddr>,
    pub ip6: Option<IpAddr>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct DockerBridge {
    pub bip: Option<IpNet>,
    pub fixed_cidr_v6: Option<IpNet>,
    pub mtu: Option<u32>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum DockerOp {
    NetworkCreate { host: Ns, network: Box<Network> },
    NetworkRm { host: Ns, name: Name },
    Container { host: Ns, container: Box<Container> },
    Bridge { host: Ns, bridge: Box<DockerBridge> },
}

impl DockerOp {
    /// Writes the Op as the command a person would type (see render.rs).
    pub(super) fn render(&self, out: &mut String) {
        match self {
            DockerOp::NetworkCreate { host, network } => network_create(out, host, network),
            DockerOp::NetworkRm { host, name } => {
                put!(out, InNs(host), "docker network rm ", name)
            }
            DockerOp::Container { host, container: c } => {
                put!(out, InNs(host), "docker run -d --name ", Quoted(&c.name));
                if let Some(n) = &c.network {
                    put!(out, " ", Quoted(&format!("--net={n}")));
                }
                opt(out, "--ip", c.ip.as_ref().map(Shown));
                opt(out, "--ip6", c.ip6.as_ref().map(Shown));
            }
            DockerOp::Bridge { host, bridge: b } => {
                put!(out, InNs(host), "dockerd");
                if let Some(bip) = &b.bip {
                    put!(out, " --bip=", Shown(bip));
                }
                if let Some(v6) = &b.fixed_cidr_v6 {
                    put!(out, " --ipv6 --fixed-cidr-v6=", Shown(v6));
                }
                if let Some(mtu) = b.mtu {
                    put!(out, " --mtu=", mtu);
                }
            }
        }
    }

    /// Does the Op change anything (as opposed to showing or checking)?
    pub(super) fn changes_state(&self) -> bool {
        match self {
            DockerOp::NetworkCreate { .. }
            | DockerOp::NetworkRm { .. }
            | DockerOp::Container { .. }
            | DockerOp::Bridge { .. } => true,
        }
    }
}

fn network_create(out: &mut String, host: &Ns, n: &Network) {
    put!(
        out,
        InNs(host),
        "docker network create -d ",
        Quoted(&n.driver)
    );
    for sub in &n.subnets {
        put!(out, " --subnet=", Shown(sub));
    }
    for r in &n.ip_ranges {
        put!(out, " --ip-range=", Shown(r));
    }
    for g in &n.gateways {
        put!(out, " --gateway=", Shown(g));
    }
    for (name, ip) in &n.aux {
        put!(out, " ", Quoted(&format!("--aux-address={name}={ip}")));
    }
    flag(out, " --internal", n.internal);
    flag(out, " --ipv6", n.ipv6);
    if let Some(p) = &n.parent {
        put!(out, " -o ", Quoted(&format!("parent={p}")));
    }
    if let Some(m) = &n.mode {
        put!(out, " -o ", Quoted(&format!("{}_mode={m}", n.driver)));
    }
    flag(out, " --scope=global", n.global);
    put!(out, " ", Quoted(&n.name));
}
