//! Flannel and Docker networking: the store, the network config, leases, overlays, Docker networks.

use super::Ctx;
use crate::base::error::RunError;
use crate::check::signatures::{IPVLAN_MODES, Id, MACVLAN_MODES};
use crate::check::types::Val;
use crate::interp::args::Args;
use crate::ops::{BackendType, DockerOpts, EtcdSpec, Lease, Network, Op, Overlay, StoreSpec};
use crate::ops::{DockerOp, FlannelOp};
use serde_json::{Map, Value, json};
use std::net::IpAddr;

pub const DEFAULT_PREFIX: &str = "/coreos.com/network";

pub fn ops(id: Id, a: &Args, cx: &mut Ctx, out: &mut Vec<Op>) -> Result<(), RunError> {
    let host = cx.ns.clone();
    match id {
        Id::StoreEmbedded => out.extend([Op::Flannel(FlannelOp::Store(StoreSpec::Embedded {
            path: a.string("path"),
        }))]),
        Id::StoreEtcd => {
            if a.flag("user") != a.flag("password") {
                return Err(RunError::new(
                    "etcd authentication needs both `user` and `password`",
                ));
            }
            if a.flag("cert") != a.flag("key") {
                return Err(RunError::new(
                    "a TLS client certificate needs both `cert` and `key`",
                ));
            }
            let prefix = a.string("prefix").unwrap_or_else(|| DEFAULT_PREFIX.into());
            *cx.prefix = prefix.trim_end_matches('/').to_string();
            let spec = EtcdSpec {
                endpoints: a
                    .must("endpoints")
                    .split(',')
                    .filter(|e| !e.is_empty())
                    .map(str::to_string)
                    .collect(),
                prefix: Some(cx.prefix.clone()),
                ca: a.string("ca"),
                cert: a.string("cert"),
                key: a.string("key"),
                user: a.string("user"),
                password: a.string("password"),
            };
            out.extend([Op::Flannel(FlannelOp::Store(StoreSpec::Etcd(Box::new(
                spec,
            ))))])
        }
        Id::NetworkConfig => out.extend([Op::Flannel(FlannelOp::Config {
            prefix: cx.prefix.clone(),
            json: config_json(a)?,
        })]),
        Id::Lease => out.extend([Op::Flannel(FlannelOp::Lease {
            host,
            lease: Box::new(Lease {
                iface: a.string("iface"),
                public_ip: a.ip("public-ip"),
                subnet_file: a.string("subnet-file"),
                // whole seconds, as etcd grants them
                ttl_secs: a
                    .float("ttl")
                    .map(|s| s.ceil().clamp(1.0, f64::from(u32::MAX)) as u32),
            }),
        })]),
        Id::LeaseRelease => out.extend([Op::Flannel(FlannelOp::Release { host })]),
        Id::Overlay => out.extend([Op::Flannel(FlannelOp::Overlay {
            host,
            overlay: Box::new(Overlay {
                backend: match a.text("backend") {
                    None => None,
                    Some(b) => Some(BackendType::from_name(&b).ok_or_else(|| {
                        RunError::new(format!(
                            "there is no `{b}` overlay: use vxlan, host-gw or udp"
                        ))
                        .at("backend", b.as_str())
                    })?),
                },
                vni: a.int("vni").map(|v| v as u32),
                port: a.int("port").map(|p| p as u16),
                direct_routing: a.flag("direct-routing"),
                iface: a.string("iface"),
            }),
        })]),
        Id::DockerOpts => out.extend([Op::Flannel(FlannelOp::DockerOpts {
            host,
            opts: Box::new(DockerOpts {
                combined: a.flag("combined"),
                file: a.string("file"),
                key: a.string("key"),
                no_masq: a.flag("no-masq"),
            }),
        })]),
        Id::NetworkCreate => out.extend([Op::Docker(DockerOp::NetworkCreate {
            host,
            network: Box::new(network(a)?),
        })]),
        Id::NetworkRm => out.extend([Op::Docker(DockerOp::NetworkRm {
            host,
            name: a.must("name"),
        })]),
        _ => unreachable!("not a flannel statement: {id:?}"),
    }
    Ok(())
}

/// The config as flannel stores it: the JSON given, or one built from the keyword form with only the
/// keys that were named (flannel fills in the defaults itself).
fn config_json(a: &Args) -> Result<String, RunError> {
    let keyword_form = [
        "subnet-len",
        "subnet-min",
        "subnet-max",
        "backend",
        "vni",
        "port",
        "ipv6-network",
    ];
    match a.get("config") {
        Some(Val::Text(json)) => {
            if let Some(k) = keyword_form.iter().find(|k| a.flag(k)) {
                return Err(RunError::new(format!("`{k}` belongs to the keyword form; with a JSON config, put it in the JSON"))
                    .help("write either `network config '{...}'` or `network config 10.100.0.0/16 backend vxlan ...`"));
            }
            let v: Value = serde_json::from_str(json)
                .map_err(|e| RunError::new(format!("the network config is not valid JSON: {e}")))?;
            Ok(v.to_string())
        }
        Some(Val::Net(net)) => {
            let mut m = Map::new();
            m.insert("Network".into(), json!(net.to_string()));
            if let Some(n) = a.int("subnet-len") {
                m.insert("SubnetLen".into(), json!(n));
            }
            for (key, name) in [("subnet-min", "SubnetMin"), ("subnet-max", "SubnetMax")] {
                if let Some(ip) = a.ip(key) {
                    m.insert(name.into(), json!(ip.to_string()));
                }
            }
            if let Some(v6) = a.net("ipv6-network") {
                m.insert("EnableIPv6".into(), json!(true));
                m.insert("IPv6Network".into(), json!(v6.to_string()));
            }
            let backend = a.string("backend");
            if backend.is_some() || a.flag("vni") || a.flag("port") {
                let mut b = Map::new();
                b.insert(
                    "Type".into(),
                    json!(backend.unwrap_or_else(|| "udp".into())),
                );
                if let Some(vni) = a.int("vni") {
                    b.insert("VNI".into(), json!(vni));
                }
                if let Some(port) = a.int("port") {
                    b.insert("Port".into(), json!(port));
                }
                m.insert("Backend".into(), Value::Object(b));
            }
            Ok(Value::Object(m).to_string())
        }
        _ => Err(RunError::new("the network config is missing")),
    }
}

/// A Docker network, checked with Docker's own rules.
fn network(a: &Args) -> Result<Network, RunError> {
    let driver = a.must("driver");
    let mode = a.string("mode");
    if let Some(m) = &mode {
        let modes = match driver.as_str() {
            "macvlan" => MACVLAN_MODES,
            "ipvlan" => IPVLAN_MODES,
            _ => &[][..],
        };
        if !modes.contains(&m.as_str()) {
            let help = if modes.is_empty() {
                format!("the {driver} driver takes no mode")
            } else {
                format!("a {driver} mode is one of {}", modes.join(", "))
            };
            return Err(
                RunError::new(format!("`{m}` is not a mode of the {driver} driver"))
                    .at("mode", m)
                    .help(help),
            );
        }
    }
    let nets = |k| {
        a.all(k)
            .filter_map(|v| if let Val::Net(n) = v { Some(*n) } else { None })
            .collect::<Vec<_>>()
    };
    let subnets = nets("subnet");
    let ip_ranges = nets("ip-range");
    let gateways: Vec<IpAddr> = a
        .all("gateway")
        .filter_map(|v| if let Val::Ip(i) = v { Some(*i) } else { None })
        .collect();
    let mut aux = Vec::new();
    for v in a.all("aux") {
        let text = v.text();
        let (name, ip) = text.split_once('=').unwrap_or((&text, ""));
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| RunError::new(format!("`{text}` is not NAME=IP")).at("aux", &text))?;
        aux.push((name.to_string(), ip));
    }
    // Docker's rules a dry run can check too (the runtime checks the rest: src/docker/network.rs)
    for (i, s) in subnets.iter().enumerate() {
        if let Some(o) = subnets[..i]
            .iter()
            .find(|t| crate::docker::network::overlaps(t, s))
        {
            return Err(RunError::new(format!(
                "Pool overlaps with other one on this address space: {s} overlaps {o}"
            ))
            .at("subnet", s.to_string()));
        }
    }
    if let Some(p) = a.string("parent") {
        crate::docker::network::vlan_of(&p).map_err(|e| e.at("parent", p))?;
    }
    let within = |ip: &IpAddr| subnets.iter().any(|s| s.contains(ip));
    for g in &gateways {
        if !within(g) {
            return Err(RunError::new(format!(
                "the gateway {g} is in none of the network's subnets"
            ))
            .at("gateway", g.to_string())
            .help("Docker requires each gateway to lie inside a --subnet"));
        }
    }
    for r in &ip_ranges {
        if !subnets.iter().any(|s| s.contains(r)) {
            return Err(RunError::new(format!(
                "the ip-range {r} is in none of the network's subnets"
            ))
            .at("ip-range", r.to_string()));
        }
    }
    for (name, ip) in &aux {
        if !within(ip) {
            return Err(RunError::new(format!(
                "the aux address {name}={ip} is in none of the network's subnets"
            ))
            .at("aux", format!("{name}={ip}")));
        }
    }
    if a.flag("ipv6") && !subnets.iter().any(|s| s.addr().is_ipv6()) {
        return Err(RunError::new("an `ipv6` network needs an IPv6 subnet")
            .at("ipv6", "")
            .help("add `subnet 2003:ab11::/64` (or another IPv6 prefix)"));
    }
    Ok(Network {
        name: a.must_string("name"),
        driver: driver.to_string(),
        parent: a.string("parent"),
        mode,
        subnets,
        ip_ranges,
        gateways,
        aux,
        internal: a.flag("internal"),
        ipv6: a.flag("ipv6"),
        ndp_proxy: a.flag("ndp-proxy"),
        global: a.text("scope").as_deref() == Some("global"),
    })
}
