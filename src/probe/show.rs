//! `show links|addrs|routes|neigh|fdb|netns [in NS] [json]`: the kernel's state as rows (JSON
//! objects, keys as ip -j names them where it has them), printed as JSON or as aligned text.

use crate::base::error::RunError;
use crate::netlink::addrs;
use crate::netlink::errors::{self, KernelError};
use crate::netlink::handle::Netlink;
use crate::netlink::links;
use crate::netlink::neigh;
use crate::netlink::routes;
use crate::ops::Family;
use crate::ops::format_mac;
use crate::sys::netns;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkInfo, LinkMessage, State};
use rtnetlink::packet_route::neighbour::{
    NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use rtnetlink::packet_route::route::{
    RouteAttribute, RouteFlags, RouteProtocol, RouteScope, RouteType,
};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

pub const WHAT: &[&str] = &["links", "addrs", "routes", "neigh", "fdb", "netns"];

fn mac(bytes: &[u8]) -> String {
    match <[u8; 6]>::try_from(bytes) {
        Ok(m) => format_mac(&m),
        Err(_) => bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
    }
}

fn kernel(e: KernelError) -> RunError {
    errors::kernel("cannot read the kernel's tables", &e)
}

/// index → name of every link in the namespace.
fn names(all: &[LinkMessage]) -> HashMap<u32, String> {
    all.iter()
        .filter_map(|l| Some((l.header.index, links::name_of(l)?.to_string())))
        .collect()
}

fn link_flags(f: LinkFlags) -> Vec<&'static str> {
    let mut out = Vec::new();
    for (flag, name) in [
        (LinkFlags::Loopback, "LOOPBACK"),
        (LinkFlags::Broadcast, "BROADCAST"),
        (LinkFlags::Pointopoint, "POINTOPOINT"),
        (LinkFlags::Multicast, "MULTICAST"),
        (LinkFlags::Noarp, "NOARP"),
        (LinkFlags::Up, "UP"),
        (LinkFlags::LowerUp, "LOWER_UP"),
    ] {
        if f.contains(flag) {
            out.push(name);
        }
    }
    out
}

fn operstate(s: State) -> String {
    match s {
        State::Up => "UP".into(),
        State::Down => "DOWN".into(),
        State::LowerLayerDown => "LOWERLAYERDOWN".into(),
        State::Dormant => "DORMANT".into(),
        State::NotPresent => "NOTPRESENT".into(),
        State::Testing => "TESTING".into(),
        _ => "UNKNOWN".into(),
    }
}

fn link_rows(all: &[LinkMessage]) -> Vec<Value> {
    let by_index = names(all);
    all.iter()
        .map(|l| {
            let mut o = Map::new();
            o.insert("ifindex".into(), json!(l.header.index));
            o.insert("ifname".into(), json!(links::name_of(l).unwrap_or("?")));
            o.insert("flags".into(), json!(link_flags(l.header.flags)));
            for a in &l.attributes {
                match a {
                    LinkAttribute::Mtu(m) => {
                        o.insert("mtu".into(), json!(m));
                    }
                    LinkAttribute::OperState(s) => {
                        o.insert("operstate".into(), json!(operstate(*s)));
                    }
                    LinkAttribute::Address(b) => {
                        o.insert("address".into(), json!(mac(b)));
                    }
                    LinkAttribute::Controller(m) => {
                        o.insert(
                            "master".into(),
                            json!(by_index.get(m).cloned().unwrap_or_else(|| m.to_string())),
                        );
                    }
                    LinkAttribute::Link(p) if *p != 0 && *p != l.header.index => {
                        // with IFLA_LINK_NETNSID the index is another namespace's: say `ifN`, as ip does
                        let elsewhere = l
                            .attributes
                            .iter()
                            .any(|a| matches!(a, LinkAttribute::LinkNetNsId(_)));
                        let name = if elsewhere {
                            None
                        } else {
                            by_index.get(p).cloned()
                        };
                        o.insert(
                            "link".into(),
                            json!(name.unwrap_or_else(|| format!("if{p}"))),
                        );
                    }
                    LinkAttribute::LinkInfo(infos) => {
                        for i in infos {
                            if let LinkInfo::Kind(k) = i {
                                o.insert("link_kind".into(), json!(k.to_string()));
                            }
                        }
                    }
                    _ => {}
                }
            }
            Value::Object(o)
        })
        .collect()
}

fn addr_rows(
    all_links: &[LinkMessage],
    all: &[rtnetlink::packet_route::address::AddressMessage],
) -> Vec<Value> {
    let by_index = names(all_links);
    all.iter()
        .filter_map(|a| {
            let net = addrs::net_of(a)?;
            Some(json!({
                "ifindex": a.header.index,
                "ifname": by_index.get(&a.header.index).cloned().unwrap_or_else(|| a.header.index.to_string()),
                "family": if net.addr().is_ipv4() { "inet" } else { "inet6" },
                "local": net.addr().to_string(),
                "prefixlen": net.prefix_len(),
                "scope": format!("{:?}", a.header.scope).to_lowercase(),
            }))
        })
        .collect()
}

fn route_rows(
    all_links: &[LinkMessage],
    all: &[rtnetlink::packet_route::route::RouteMessage],
) -> Vec<Value> {
    let by_index = names(all_links);
    all.iter()
        .filter(|r| {
            // what `ip route show` and `ip -6 route show` list: unicast routes of the main table
            // (and of any table a script named), not the local/multicast housekeeping
            routes::table_of(r) != 255 && r.header.kind == RouteType::Unicast
        })
        .map(|r| {
            let mut o = Map::new();
            o.insert("dst".into(), json!(routes::dest_of(r)));
            o.insert(
                "family".into(),
                json!(if r.header.address_family == AddressFamily::Inet {
                    "inet"
                } else {
                    "inet6"
                }),
            );
            for a in &r.attributes {
                match a {
                    RouteAttribute::Gateway(g) => {
                        if let Some(ip) = routes::addr_of(g) {
                            o.insert("gateway".into(), json!(ip.to_string()));
                        }
                    }
                    RouteAttribute::Oif(i) => {
                        o.insert(
                            "dev".into(),
                            json!(by_index.get(i).cloned().unwrap_or_else(|| i.to_string())),
                        );
                    }
                    RouteAttribute::Priority(p) => {
                        o.insert("metric".into(), json!(p));
                    }
                    RouteAttribute::PrefSource(s) => {
                        if let Some(ip) = routes::addr_of(s) {
                            o.insert("prefsrc".into(), json!(ip.to_string()));
                        }
                    }
                    _ => {}
                }
            }
            let proto = match r.header.protocol {
                RouteProtocol::Kernel => "kernel".to_string(),
                RouteProtocol::Boot => "boot".to_string(),
                RouteProtocol::Static => "static".to_string(),
                p => format!("{p:?}").to_lowercase(),
            };
            o.insert("protocol".into(), json!(proto));
            if r.header.scope == RouteScope::Link {
                o.insert("scope".into(), json!("link"));
            }
            let table = routes::table_of(r);
            if table != 254 {
                o.insert("table".into(), json!(table));
            }
            if r.header.flags.contains(RouteFlags::Onlink) {
                o.insert("flags".into(), json!(["onlink"]));
            }
            Value::Object(o)
        })
        .collect()
}

fn neigh_state(s: NeighbourState) -> &'static str {
    match s {
        NeighbourState::Incomplete => "INCOMPLETE",
        NeighbourState::Reachable => "REACHABLE",
        NeighbourState::Stale => "STALE",
        NeighbourState::Delay => "DELAY",
        NeighbourState::Probe => "PROBE",
        NeighbourState::Failed => "FAILED",
        NeighbourState::Noarp => "NOARP",
        NeighbourState::Permanent => "PERMANENT",
        _ => "NONE",
    }
}

fn neigh_rows(all_links: &[LinkMessage], all: &[NeighbourMessage], fdb: bool) -> Vec<Value> {
    let by_index = names(all_links);
    all.iter()
        // as `ip neigh show`: multicast and other NOARP housekeeping entries are left out
        .filter(|n| {
            fdb || n.header.flags.contains(NeighbourFlags::Proxy)
                || !matches!(n.header.state, NeighbourState::Noarp | NeighbourState::None)
        })
        .map(|n| {
            let mut o = Map::new();
            for a in &n.attributes {
                match a {
                    NeighbourAttribute::Destination(d) => {
                        let text = match d {
                            rtnetlink::packet_route::neighbour::NeighbourAddress::Inet(a) => {
                                a.to_string()
                            }
                            rtnetlink::packet_route::neighbour::NeighbourAddress::Inet6(a) => {
                                a.to_string()
                            }
                            rtnetlink::packet_route::neighbour::NeighbourAddress::Other(b) => {
                                match b.len() {
                                    // bridge FDB entries carry their VXLAN destination as raw bytes
                                    4 => std::net::Ipv4Addr::from(
                                        <[u8; 4]>::try_from(&b[..]).unwrap_or_default(),
                                    )
                                    .to_string(),
                                    16 => std::net::Ipv6Addr::from(
                                        <[u8; 16]>::try_from(&b[..]).unwrap_or_default(),
                                    )
                                    .to_string(),
                                    _ => format!("{b:?}"),
                                }
                            }
                            other => format!("{other:?}"),
                        };
                        o.insert("dst".into(), json!(text));
                    }
                    NeighbourAttribute::LinkLayerAddress(m) => {
                        o.insert(if fdb { "mac" } else { "lladdr" }.into(), json!(mac(m)));
                    }
                    NeighbourAttribute::Controller(m) => {
                        o.insert(
                            "master".into(),
                            json!(by_index.get(m).cloned().unwrap_or_else(|| m.to_string())),
                        );
                    }
                    NeighbourAttribute::Vlan(v) => {
                        o.insert("vlan".into(), json!(v));
                    }
                    _ => {}
                }
            }
            o.insert(
                "dev".into(),
                json!(
                    by_index
                        .get(&n.header.ifindex)
                        .cloned()
                        .unwrap_or_else(|| n.header.ifindex.to_string())
                ),
            );
            let mut flags = Vec::new();
            for (f, name) in [
                (NeighbourFlags::Router, "router"),
                (NeighbourFlags::Proxy, "proxy"),
                (NeighbourFlags::Own, "self"),
                (NeighbourFlags::Controller, "master"),
                (NeighbourFlags::ExtLearned, "extern_learn"),
            ] {
                if n.header.flags.contains(f) {
                    flags.push(name);
                }
            }
            if !flags.is_empty() {
                o.insert("flags".into(), json!(flags));
            }
            if n.header.state != NeighbourState::None {
                o.insert("state".into(), json!([neigh_state(n.header.state)]));
            }
            Value::Object(o)
        })
        .collect()
}

/// The rows for `show WHAT` in the namespace `nl` is connected to.
pub async fn rows(nl: &Netlink, what: &str) -> Result<Vec<Value>, RunError> {
    if what == "netns" {
        return Ok(netns::list()
            .into_iter()
            .map(|n| json!({ "name": n }))
            .collect());
    }
    let all_links = links::dump(nl).await.map_err(kernel)?;
    Ok(match what {
        "links" => link_rows(&all_links),
        "addrs" => addr_rows(&all_links, &addrs::dump(nl).await.map_err(kernel)?),
        "routes" => {
            let mut all = routes::dump(nl, Family::V4).await.map_err(kernel)?;
            all.extend(routes::dump(nl, Family::V6).await.map_err(kernel)?);
            route_rows(&all_links, &all)
        }
        "neigh" => {
            let mut all = neigh::dump(nl, AddressFamily::Unspec, false)
                .await
                .map_err(kernel)?;
            // proxy entries come only when asked for
            all.extend(
                neigh::dump(nl, AddressFamily::Inet6, true)
                    .await
                    .unwrap_or_default(),
            );
            let mut rows = neigh_rows(&all_links, &all, false);
            rows.dedup();
            rows
        }
        "fdb" => neigh_rows(
            &all_links,
            &neigh::dump(nl, AddressFamily::Bridge, false)
                .await
                .map_err(kernel)?,
            true,
        ),
        other => {
            return Err(RunError::new(format!("cannot show `{other}` here"))
                .with_code(crate::base::diag::Code::NotSupported)
                .help(format!("the runtime shows {}", WHAT.join(", "))));
        }
    })
}

/// The rows as JSON shows them: as `ip -j` shapes them. Addresses are one object per link (in
/// index order, links with an address only) holding its addresses in `addr_info`, as `ip -j addr`
/// nests them; the other rows are already ip's.
pub fn as_ip_json(what: &str, rows: Vec<Value>) -> Vec<Value> {
    if what != "addrs" {
        return rows;
    }
    let mut links: Vec<(u64, Map<String, Value>)> = Vec::new();
    for mut r in rows {
        let index = r["ifindex"].as_u64().unwrap_or_default();
        let (Some(o), i) = (
            r.as_object_mut(),
            links.iter().position(|(n, _)| *n == index),
        ) else {
            continue;
        };
        let (ifname, _) = (o.remove("ifname"), o.remove("ifindex"));
        let i = i.unwrap_or_else(|| {
            let mut link = Map::new();
            link.insert("ifindex".into(), json!(index));
            link.insert("ifname".into(), ifname.unwrap_or(Value::Null));
            link.insert("addr_info".into(), json!([]));
            links.push((index, link));
            links.len() - 1
        });
        if let Some(Value::Array(a)) = links[i].1.get_mut("addr_info") {
            a.push(Value::Object(o.clone()));
        }
    }
    links.sort_by_key(|(n, _)| *n);
    links.into_iter().map(|(_, l)| Value::Object(l)).collect()
}

fn field(o: &Value, key: &str) -> String {
    match o.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .collect::<Vec<_>>()
            .join(","),
        Some(v) => v.to_string(),
        None => String::new(),
    }
}

/// Human text: one line per row, like ip(8)'s brief output.
pub fn text(what: &str, rows: &[Value]) -> String {
    let mut out = String::new();
    for r in rows {
        let line = match what {
            "links" => {
                let mut s = format!(
                    "{:<16} {:<8} {:<17} <{}>",
                    field(r, "ifname"),
                    field(r, "operstate"),
                    field(r, "address"),
                    field(r, "flags")
                );
                for (k, label) in [
                    ("mtu", "mtu"),
                    ("link_kind", "type"),
                    ("master", "master"),
                    ("link", "link"),
                ] {
                    if r.get(k).is_some() {
                        s += &format!(" {label} {}", field(r, k));
                    }
                }
                s
            }
            "addrs" => format!(
                "{:<16} {:<6} {}/{}",
                field(r, "ifname"),
                field(r, "family"),
                field(r, "local"),
                field(r, "prefixlen")
            ),
            "routes" => {
                let mut s = field(r, "dst");
                for k in [
                    "gateway", "dev", "protocol", "scope", "prefsrc", "metric", "table",
                ] {
                    if r.get(k).is_some() {
                        let label = if k == "gateway" {
                            "via".to_string()
                        } else if k == "prefsrc" {
                            "src".to_string()
                        } else {
                            k.to_string()
                        };
                        s += &format!(" {label} {}", field(r, k));
                    }
                }
                if r.get("flags").is_some() {
                    s += &format!(" {}", field(r, "flags"));
                }
                s
            }
            "neigh" | "fdb" => {
                let mut s = if what == "fdb" {
                    field(r, "mac")
                } else {
                    field(r, "dst")
                };
                if what == "fdb" && r.get("dst").is_some() {
                    s += &format!(" dst {}", field(r, "dst"));
                }
                s += &format!(" dev {}", field(r, "dev"));
                if what == "neigh" && r.get("lladdr").is_some() {
                    s += &format!(" lladdr {}", field(r, "lladdr"));
                }
                if r.get("master").is_some() {
                    s += &format!(" master {}", field(r, "master"));
                }
                if let Some(Value::Array(flags)) = r.get("flags") {
                    for f in flags {
                        s += &format!(" {}", f.as_str().unwrap_or(""));
                    }
                }
                s + &format!(" {}", field(r, "state"))
            }
            _ => field(r, "name"),
        };
        out += line.trim_end();
        out.push('\n');
    }
    out
}
