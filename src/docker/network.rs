//! One Docker-style network on one host: Docker's rules for `network create` (default gateway,
//! ip-range and aux checks, the parent link: given, an 802.1Q link made for `eth1.19`, or a dummy),
//! and the Ops that create and remove it.

use super::ipam::{AddressPool, LocalPool};
use crate::base::error::RunError;
use crate::ops::{AddrOp, LinkChange, LinkOp, NeighOp, NetnsOp, SysctlOp};
use crate::ops::{LinkKind, Network, Ns, Op, ParentIn};
use ipnet::IpNet;
use std::net::IpAddr;

/// A network netsh made, with its address pools and the containers attached to it.
#[derive(Debug)]
pub struct NetworkState {
    pub spec: Network,
    pub host: Ns,
    /// Docker's short network id (12 hex digits), stable for a host and name.
    pub id: String,
    pub mode: Option<String>,
    /// The link macvlan/ipvlan children are made on (given, an 802.1Q link, or a dummy).
    pub parent: Option<String>,
    /// The parent was made for this network (a VLAN link or a dummy) and goes with it.
    pub made_parent: bool,
    /// The bridge driver's `br-<id>`.
    pub bridge: Option<String>,
    /// One per subnet, in the order of the subnets.
    pub gateways: Vec<IpAddr>,
    pub pools: Vec<Box<dyn AddressPool>>,
    /// Attached containers and the addresses they hold, in attach order.
    pub containers: Vec<(String, Vec<IpAddr>)>,
}

/// Docker's default address pools for networks created without a subnet: 172.18.0.0/16 upwards.
fn default_subnet(taken: &[IpNet]) -> Option<IpNet> {
    (18u8..=31)
        .filter_map(|b| format!("172.{b}.0.0/16").parse::<IpNet>().ok())
        .find(|n| !taken.iter().any(|t| overlaps(t, n)))
}

/// The address after the network address (ipnet's `hosts()` starts IPv6 at the network address).
fn first_address(s: &IpNet) -> IpAddr {
    match s {
        IpNet::V4(n) => IpAddr::V4((u32::from(n.network()).saturating_add(1)).into()),
        IpNet::V6(n) => IpAddr::V6((u128::from(n.network()).saturating_add(1)).into()),
    }
}

pub fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// Docker's short id: 12 hex digits (here a hash of the host and the name, so reruns agree).
pub fn short_id(host: &Ns, name: &str) -> String {
    let seed = format!("{}/{name}", host.as_deref().unwrap_or(""));
    let hash = crate::base::hash::fnv1a_64(seed.as_bytes());
    format!("{:012x}", hash & 0xffff_ffff_ffff)
}

/// The MAC a bridge network's `br-<id>` is given, as Docker gives its bridges one: a bridge
/// without an address of its own takes the lowest of its ports' and changes it when that port
/// leaves, which leaves the other containers' neighbour entry for the gateway stale. Locally
/// administered, from the network's id (so a re-run sets the same one), and `02:43:` where
/// containers' are `02:42:` (Docker's, from their IPv4 address), so the two never meet.
pub fn bridge_mac(id: &str) -> [u8; 6] {
    let n = u64::from_str_radix(id, 16).unwrap_or_default();
    let b = n.to_be_bytes();
    [0x02, 0x43, b[4], b[5], b[6], b[7]]
}

/// `eth1.19` → (`eth1`, 19): the 802.1Q link Docker makes when the parent does not exist.
pub fn vlan_of(parent: &str) -> Result<Option<(String, u16)>, RunError> {
    let Some((base, id)) = parent.rsplit_once('.') else {
        return Ok(None);
    };
    let Ok(n) = id.parse::<u32>() else {
        return Ok(None);
    };
    if base.is_empty() {
        return Ok(None);
    }
    if !(1..=4094).contains(&n) {
        return Err(RunError::new(format!(
            "vlan id out of range: {id}, must be between 1-4094"
        ))
        .help("an 802.1Q VLAN id is 1..4094 (0 and 4095 are reserved)"));
    }
    Ok(Some((base.to_string(), n as u16)))
}

/// What the host already has that a new network must respect.
pub struct HostView<'a> {
    /// Networks on the same host.
    pub others: Vec<&'a NetworkState>,
    /// Does the named parent link exist on the host?
    pub parent_exists: bool,
    /// For `scope global`: the same network on another host of this run (its subnets must agree).
    pub twin: Option<&'a NetworkState>,
    /// For `scope global`: makes the pool every host and process shares (kept in the store).
    pub global_pool: Option<&'a GlobalPool<'a>>,
}

/// Turns a subnet's rules into the pool a `scope global` network shares.
pub type GlobalPool<'a> = dyn Fn(LocalPool) -> Box<dyn AddressPool> + 'a;

/// Checks `spec` by Docker's rules and plans it: the network's state and the Ops that create it.
pub fn plan_create(
    host: &Ns,
    spec: &Network,
    view: &HostView,
) -> Result<(NetworkState, Vec<Op>), RunError> {
    let name = &spec.name;
    if view.others.iter().any(|n| n.spec.name == *name) {
        return Err(
            RunError::new(format!("network with name {name} already exists"))
                .at("name", name.clone()),
        );
    }
    let taken: Vec<IpNet> = view
        .others
        .iter()
        .flat_map(|n| n.pools.iter().map(|p| p.subnet()))
        .collect();
    let mut subnets: Vec<IpNet> = spec.subnets.iter().map(|s| s.trunc()).collect();
    if !subnets.iter().any(|s| s.addr().is_ipv4()) {
        let pick = default_subnet(&taken).ok_or_else(|| {
            RunError::new("no free default address pool (172.18.0.0/16 .. 172.31.0.0/16) left")
                .help("give the network a `subnet`")
        })?;
        subnets.insert(0, pick);
    }
    for (i, s) in subnets.iter().enumerate() {
        if let Some(o) = subnets[..i]
            .iter()
            .chain(taken.iter())
            .find(|t| overlaps(t, s))
        {
            return Err(RunError::new(format!(
                "Pool overlaps with other one on this address space: {s} overlaps {o}"
            ))
            .at("subnet", s.to_string())
            .help("each subnet of a host's networks must be disjoint"));
        }
    }
    let id = short_id(host, name);
    let mut gateways = Vec::new();
    let mut pools: Vec<Box<dyn AddressPool>> = Vec::new();
    for s in &subnets {
        let gws: Vec<IpAddr> = spec
            .gateways
            .iter()
            .copied()
            .filter(|g| s.contains(g))
            .collect();
        if gws.len() > 1 {
            return Err(RunError::new(format!(
                "more than one gateway ({} and {}) for the subnet {s}",
                gws[0], gws[1]
            ))
            .at("gateway", gws[1].to_string()));
        }
        let ranges: Vec<IpNet> = spec
            .ip_ranges
            .iter()
            .copied()
            .filter(|r| s.contains(r))
            .collect();
        if ranges.len() > 1 {
            return Err(RunError::new(format!(
                "more than one ip-range ({} and {}) for the subnet {s}",
                ranges[0], ranges[1]
            ))
            .at("ip-range", ranges[1].to_string()));
        }
        // Docker's default gateway: the subnet's first address
        let gw = match gws.first() {
            Some(g) => *g,
            None => first_address(s),
        };
        if gw == s.network() {
            return Err(
                RunError::new(format!("the gateway {gw} is the network address of {s}"))
                    .at("gateway", gw.to_string()),
            );
        }
        let mut reserved = vec![gw];
        reserved.extend(spec.aux.iter().map(|(_, ip)| *ip));
        gateways.push(gw);
        let local = LocalPool::new(*s, ranges.first().copied(), &reserved);
        if let Some(t) = view
            .twin
            .filter(|t| !t.pools.iter().any(|p| p.subnet() == *s))
        {
            return Err(RunError::new(format!(
                "the global network {name} has other subnets on {}",
                t.host.as_deref().unwrap_or("this host")
            ))
            .at("subnet", s.to_string())
            .help("every host's copy of a `scope global` network must name the same subnets"));
        }
        match (spec.global, view.global_pool) {
            (false, _) => pools.push(Box::new(local)),
            (true, Some(make)) => pools.push(make(local)),
            (true, None) => {
                return Err(RunError::new(format!(
                    "the global network {name} needs a store to share its addresses in"
                )));
            }
        }
    }
    for g in &spec.gateways {
        if !subnets.iter().any(|s| s.contains(g)) {
            return Err(RunError::new(format!(
                "the gateway {g} is in none of the network's subnets"
            ))
            .at("gateway", g.to_string()));
        }
    }
    let mut ops = Vec::new();
    let (mut parent, mut made_parent, mut bridge, mut mode) =
        (None, false, None, spec.mode.clone());
    match spec.driver.as_str() {
        "bridge" => {
            let br = format!("br-{id}");
            ops.push(Op::Link(LinkOp::Add {
                ns: host.clone(),
                name: br.as_str().into(),
                kind: LinkKind::Bridge,
            }));
            ops.push(Op::Link(LinkOp::Set {
                ns: host.clone(),
                name: br.as_str().into(),
                change: Box::new(LinkChange {
                    address: Some(bridge_mac(&id)),
                    ..Default::default()
                }),
            }));
            for (s, gw) in subnets.iter().zip(&gateways) {
                let addr =
                    IpNet::new(*gw, s.prefix_len()).map_err(|e| RunError::new(e.to_string()))?;
                ops.push(Op::Addr(AddrOp::Add {
                    ns: host.clone(),
                    dev: br.as_str().into(),
                    addr,
                    nodad: gw.is_ipv6(),
                }));
            }
            ops.push(Op::link_up(host, &br));
            ops.push(sysctl(host, "net.ipv4.ip_forward", "1"));
            if subnets.iter().any(|s| s.addr().is_ipv6()) {
                ops.push(sysctl(host, "net.ipv6.conf.all.forwarding", "1"));
            }
            bridge = Some(br);
        }
        "macvlan" | "ipvlan" => {
            mode = Some(mode.unwrap_or_else(|| {
                if spec.driver == "macvlan" {
                    "bridge"
                } else {
                    "l2"
                }
                .to_string()
            }));
            let link = match (&spec.parent, spec.internal) {
                (Some(p), false) => p.clone(),
                _ => {
                    // Docker: no parent (or an internal network) gets a dummy link named dm-<id>
                    made_parent = true;
                    let dm = format!("dm-{id}");
                    ops.push(Op::Link(LinkOp::Add {
                        ns: host.clone(),
                        name: dm.as_str().into(),
                        kind: LinkKind::Dummy,
                    }));
                    ops.push(Op::link_up(host, &dm));
                    dm
                }
            };
            if let Some(o) = view
                .others
                .iter()
                .find(|n| n.parent.as_deref() == Some(&link))
            {
                return Err(RunError::new(format!(
                    "network {} is already using parent interface {link}",
                    o.spec.name
                ))
                .at("parent", link.clone())
                .help("Docker allows one macvlan/ipvlan network per parent: use an 802.1Q subinterface (parent eth0.20) for another"));
            }
            if !made_parent && !view.parent_exists {
                match vlan_of(&link).map_err(|e| e.at("parent", link.clone()))? {
                    Some((base, vid)) => {
                        made_parent = true;
                        ops.push(Op::Link(LinkOp::Add {
                            ns: host.clone(),
                            name: link.as_str().into(),
                            kind: LinkKind::Vlan {
                                parent: base.into(),
                                id: vid,
                                parent_in: ParentIn::Beside,
                            },
                        }));
                        ops.push(Op::link_up(host, &link));
                    }
                    None => {
                        return Err(RunError::new(format!(
                            "-o parent interface was not found on the host: {link}"
                        ))
                        .at("parent", link.clone())
                        .help("name an existing link, or NAME.VID to have an 802.1Q link made"));
                    }
                }
            }
            if spec.ndp_proxy {
                ops.push(sysctl(
                    host,
                    &format!("net.ipv6.conf.{}.proxy_ndp", link.replace('.', "/")),
                    "1",
                ));
            }
            parent = Some(link);
        }
        other => {
            return Err(RunError::new(format!("unknown network driver `{other}`"))
                .help("a driver is bridge, macvlan or ipvlan"));
        }
    }
    if spec.driver == "bridge" && spec.ndp_proxy {
        let out = spec.parent.clone().unwrap_or_else(|| "eth0".into());
        ops.push(sysctl(
            host,
            &format!("net.ipv6.conf.{}.proxy_ndp", out.replace('.', "/")),
            "1",
        ));
    }
    let state = NetworkState {
        spec: Network {
            subnets,
            ..spec.clone()
        },
        host: host.clone(),
        id,
        mode,
        parent,
        made_parent,
        bridge,
        gateways,
        pools,
        containers: Vec::new(),
    };
    Ok((state, ops))
}

fn sysctl(ns: &Ns, key: &str, value: &str) -> Op {
    Op::Sysctl(SysctlOp::Set {
        ns: ns.clone(),
        key: key.into(),
        value: value.into(),
    })
}

/// The Ops that remove a network: its containers first (their namespaces, and so their links), then
/// the bridge or the parent link netsh made for it. A parent that was there before stays.
pub fn rm_ops(n: &NetworkState) -> Vec<Op> {
    let mut ops: Vec<Op> = n
        .containers
        .iter()
        .flat_map(|(c, _)| n.proxy_dels(c))
        .collect();
    ops.extend(n.containers.iter().map(|(c, _)| {
        Op::Netns(NetnsOp::Del {
            name: c.as_str().into(),
        })
    }));
    if let Some(br) = &n.bridge {
        ops.push(Op::Link(LinkOp::Del {
            ns: n.host.clone(),
            name: br.as_str().into(),
        }));
    }
    if let (true, Some(p)) = (n.made_parent, &n.parent) {
        ops.push(Op::Link(LinkOp::Del {
            ns: n.host.clone(),
            name: p.as_str().into(),
        }));
    }
    ops
}

impl NetworkState {
    /// `ndp-proxy` gave each of the container's IPv6 addresses a proxy entry on the host: the
    /// Ops that take them away with the container, or the host would go on answering for
    /// addresses nobody holds. None on other networks.
    pub fn proxy_dels(&self, container: &str) -> Vec<Op> {
        if !self.spec.ndp_proxy {
            return Vec::new();
        }
        let dev = self.ndp_dev();
        self.containers
            .iter()
            .filter(|(c, _)| c == container)
            .flat_map(|(_, addrs)| addrs)
            .filter_map(|a| match a {
                IpAddr::V6(addr) => Some(Op::Neigh(NeighOp::ProxyDel {
                    ns: self.host.clone(),
                    addr: *addr,
                    dev: dev.as_str().into(),
                })),
                IpAddr::V4(_) => None,
            })
            .collect()
    }

    /// The interface NDP is proxied on for `ndp-proxy`: the parent, else the host's eth0.
    pub fn ndp_dev(&self) -> String {
        self.parent
            .clone()
            .or_else(|| self.spec.parent.clone())
            .unwrap_or_else(|| "eth0".into())
    }

    /// A row of `show networks`.
    pub fn row(&self) -> serde_json::Value {
        let subnets: Vec<_> = self
            .pools
            .iter()
            .zip(&self.gateways)
            .map(|(p, g)| {
                let s = p.subnet();
                let range = self.spec.ip_ranges.iter().find(|r| s.contains(*r));
                serde_json::json!({"subnet": s.to_string(), "ip_range": range.map(|r| r.to_string()), "gateway": g.to_string()})
            })
            .collect();
        let containers: Vec<_> = self
            .containers
            .iter()
            .map(|(c, a)| serde_json::json!({"name": c, "addresses": a.iter().map(|x| x.to_string()).collect::<Vec<_>>()}))
            .collect();
        serde_json::json!({
            "name": self.spec.name,
            "id": self.id,
            "driver": self.spec.driver,
            "host": self.host,
            "scope": if self.spec.global { "global" } else { "local" },
            "parent": self.parent,
            "mode": self.mode,
            "bridge": self.bridge,
            "internal": self.spec.internal,
            "ipv6": self.spec.ipv6,
            "subnets": subnets,
            "aux": self.spec.aux.iter().map(|(n, ip)| serde_json::json!({"name": n, "ip": ip.to_string()})).collect::<Vec<_>>(),
            "containers": containers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &[&str]) -> Network {
        Network {
            name: "n".into(),
            driver: "macvlan".into(),
            parent: Some("eth0".into()),
            subnets: text.iter().map(|s| s.parse().unwrap()).collect(),
            ..Default::default()
        }
    }

    fn view(parent_exists: bool) -> HostView<'static> {
        HostView {
            others: vec![],
            parent_exists,
            twin: None,
            global_pool: None,
        }
    }

    #[test]
    fn the_default_gateway_is_the_first_address_and_macvlan_defaults_to_bridge() {
        let (s, ops) = plan_create(&None, &net(&["10.10.10.0/24"]), &view(true)).unwrap();
        assert_eq!(s.gateways, vec!["10.10.10.1".parse::<IpAddr>().unwrap()]);
        assert_eq!(s.mode.as_deref(), Some("bridge"));
        assert!(ops.is_empty(), "an existing parent needs no Ops: {ops:?}");
    }

    #[test]
    fn a_missing_dotted_parent_becomes_an_8021q_link() {
        let mut n = net(&["192.168.20.0/24"]);
        n.parent = Some("eth1.19".into());
        n.driver = "ipvlan".into();
        let (s, ops) = plan_create(&None, &n, &view(false)).unwrap();
        assert_eq!(s.mode.as_deref(), Some("l2"));
        assert!(s.made_parent);
        assert!(ops.iter().any(|o| matches!(o, Op::Link(LinkOp::Add { kind: LinkKind::Vlan { parent, id: 19, .. }, .. }) if parent == "eth1")));
        assert!(
            rm_ops(&s)
                .iter()
                .any(|o| matches!(o, Op::Link(LinkOp::Del { name, .. }) if name == "eth1.19"))
        );
        n.parent = Some("eth1.4095".into());
        assert!(
            plan_create(&None, &n, &view(false))
                .unwrap_err()
                .message
                .contains("vlan id out of range")
        );
        n.parent = Some("eth9".into());
        assert!(
            plan_create(&None, &n, &view(false))
                .unwrap_err()
                .message
                .contains("parent interface was not found")
        );
    }

    #[test]
    fn no_parent_gives_a_dummy_and_one_network_per_parent() {
        let mut n = net(&["10.1.0.0/24"]);
        n.parent = None;
        let (s, ops) = plan_create(&None, &n, &view(false)).unwrap();
        assert!(
            matches!(&ops[0], Op::Link(LinkOp::Add { kind: LinkKind::Dummy, name, .. }) if name.starts_with("dm-") && name.len() == 15)
        );
        let (first, _) = plan_create(&None, &net(&["10.2.0.0/24"]), &view(true)).unwrap();
        let mut second = net(&["10.3.0.0/24"]);
        second.name = "m".into();
        let v = HostView {
            others: vec![&first, &s],
            parent_exists: true,
            twin: None,
            global_pool: None,
        };
        let e = plan_create(&None, &second, &v).unwrap_err();
        assert_eq!(
            e.message,
            "network n is already using parent interface eth0"
        );
    }

    #[test]
    fn overlapping_subnets_are_refused() {
        let e = plan_create(&None, &net(&["10.0.0.0/16", "10.0.5.0/24"]), &view(true)).unwrap_err();
        assert!(e.message.contains("overlaps"), "{}", e.message);
    }

    #[test]
    fn a_bridge_network_gets_br_id_with_each_gateway() {
        let mut n = net(&["10.15.20.0/24", "2003:ab11:0:0:c000::/66"]);
        n.driver = "bridge".into();
        n.parent = None;
        let (s, ops) = plan_create(&Some("docker1".into()), &n, &view(false)).unwrap();
        let br = s.bridge.clone().unwrap();
        assert!(br.starts_with("br-") && br.len() == 15);
        let addrs: Vec<String> = ops
            .iter()
            .filter_map(|o| match o {
                Op::Addr(AddrOp::Add { addr, .. }) => Some(addr.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(addrs, vec!["10.15.20.1/24", "2003:ab11::c000:0:0:1/66"]);
    }
}
