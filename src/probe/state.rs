//! What `expect link|route|no-route` read from the kernel: one link's properties and the routes to
//! one destination, and how they compare with what a script wants (messages say both).

use crate::base::error::RunError;
use crate::netlink::errors::{self, KernelError};
use crate::netlink::handle::Netlink;
use crate::netlink::{links, routes};
use crate::ops::{Family, LinkWant, RouteTo, format_mac};
use ipnet::IpNet;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::link::{
    InfoData, InfoIpVlan, InfoMacVlan, InfoVlan, InfoVxlan, IpVlanMode, LinkAttribute, LinkFlags,
    LinkInfo, LinkMessage, MacVlanMode,
};
use rtnetlink::packet_route::route::{RouteAttribute, RouteMessage, RouteType};
use std::net::IpAddr;

fn kernel(e: KernelError) -> RunError {
    errors::kernel("cannot read the kernel's tables", &e)
}

/// A link as the kernel has it, in the terms `expect link` compares.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinkFacts {
    pub kind: Option<String>,
    pub mode: Option<String>,
    pub id: Option<u32>,
    pub port: Option<u16>,
    pub mtu: Option<u32>,
    pub master: Option<String>,
    pub up: bool,
    pub address: Option<[u8; 6]>,
}

fn facts(l: &LinkMessage, all: &[LinkMessage]) -> LinkFacts {
    let mut f = LinkFacts {
        up: l.header.flags.contains(LinkFlags::Up),
        ..Default::default()
    };
    for a in &l.attributes {
        match a {
            LinkAttribute::Mtu(m) => f.mtu = Some(*m),
            LinkAttribute::Address(b) => f.address = <[u8; 6]>::try_from(&b[..]).ok(),
            LinkAttribute::Controller(i) => {
                f.master = Some(
                    all.iter()
                        .find(|x| x.header.index == *i)
                        .and_then(links::name_of)
                        .map_or_else(|| format!("if{i}"), str::to_string),
                )
            }
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    match i {
                        LinkInfo::Kind(k) => f.kind = Some(k.to_string()),
                        LinkInfo::Data(d) => data(d, &mut f),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    f
}

fn data(d: &InfoData, f: &mut LinkFacts) {
    match d {
        InfoData::Vxlan(xs) => {
            for x in xs {
                match x {
                    InfoVxlan::Id(i) => f.id = Some(*i),
                    InfoVxlan::Port(p) => f.port = Some(*p),
                    _ => {}
                }
            }
        }
        InfoData::Vlan(xs) => {
            f.id = xs.iter().find_map(|x| match x {
                InfoVlan::Id(i) => Some(u32::from(*i)),
                _ => None,
            })
        }
        InfoData::MacVlan(xs) => {
            f.mode = xs.iter().find_map(|x| match x {
                InfoMacVlan::Mode(m) => Some(
                    match m {
                        MacVlanMode::Private => "private",
                        MacVlanMode::Vepa => "vepa",
                        MacVlanMode::Bridge => "bridge",
                        MacVlanMode::Passthrough => "passthru",
                        MacVlanMode::Source => "source",
                        _ => "other",
                    }
                    .to_string(),
                ),
                _ => None,
            })
        }
        InfoData::IpVlan(xs) => {
            f.mode = xs.iter().find_map(|x| match x {
                InfoIpVlan::Mode(m) => Some(
                    match m {
                        IpVlanMode::L2 => "l2",
                        IpVlanMode::L3 => "l3",
                        IpVlanMode::L3S => "l3s",
                        _ => "other",
                    }
                    .to_string(),
                ),
                _ => None,
            })
        }
        _ => {}
    }
}

/// The link called `name` in the namespace `nl` talks to, if there is one.
pub async fn link(nl: &Netlink, name: &str) -> Result<Option<LinkFacts>, RunError> {
    let all = links::dump(nl).await.map_err(kernel)?;
    Ok(all
        .iter()
        .find(|l| links::name_of(l) == Some(name))
        .map(|l| facts(l, &all)))
}

fn shown<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "none".to_string(), T::to_string)
}

/// Each property `want` names that `have` does not match: (property, wanted, had).
pub fn mismatches(want: &LinkWant, have: &LinkFacts) -> Vec<(&'static str, String, String)> {
    let mut out = Vec::new();
    let mut cmp = |key: &'static str, w: Option<String>, h: String| {
        if let Some(w) = w
            && w != h
        {
            out.push((key, w, h));
        }
    };
    cmp("kind", want.kind.clone(), shown(&have.kind));
    cmp("mode", want.mode.clone(), shown(&have.mode));
    cmp("id", want.id.map(|i| i.to_string()), shown(&have.id));
    cmp("port", want.port.map(|p| p.to_string()), shown(&have.port));
    cmp("mtu", want.mtu.map(|m| m.to_string()), shown(&have.mtu));
    cmp("master", want.master.clone(), shown(&have.master));
    let state = |up: bool| if up { "up" } else { "down" }.to_string();
    cmp("state", want.up.map(state), state(have.up));
    cmp(
        "address",
        want.address.as_ref().map(format_mac),
        have.address
            .as_ref()
            .map_or_else(|| "none".into(), format_mac),
    );
    out
}

/// A route to the destination asked about, as `ip route` prints it.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteFacts {
    pub dest: String,
    pub via: Option<IpAddr>,
    pub dev: Option<String>,
}

impl std::fmt::Display for RouteFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.dest)?;
        if let Some(g) = self.via {
            write!(f, " via {g}")?;
        }
        if let Some(d) = &self.dev {
            write!(f, " dev {d}")?;
        }
        Ok(())
    }
}

fn dest_net(r: &RouteMessage) -> Option<IpNet> {
    let ip = r.attributes.iter().find_map(|a| match a {
        RouteAttribute::Destination(d) => routes::addr_of(d),
        _ => None,
    });
    let ip = match (ip, r.header.address_family) {
        (Some(ip), _) => ip,
        (None, AddressFamily::Inet) => IpAddr::from([0u8; 4]),
        (None, _) => IpAddr::from([0u16; 8]),
    };
    IpNet::new(ip, r.header.destination_prefix_length).ok()
}

fn is_to(r: &RouteMessage, to: &RouteTo) -> bool {
    match (dest_net(r), to) {
        (Some(n), RouteTo::Default) => n.prefix_len() == 0,
        (Some(n), RouteTo::Net(want)) => n == *want,
        (None, _) => false,
    }
}

/// The unicast routes (every table but `local`) to exactly `to`.
pub async fn routes_to(nl: &Netlink, to: &RouteTo) -> Result<Vec<RouteFacts>, RunError> {
    let fams: &[Family] = match to {
        RouteTo::Net(n) if n.addr().is_ipv4() => &[Family::V4],
        RouteTo::Net(_) => &[Family::V6],
        RouteTo::Default => &[Family::V4, Family::V6],
    };
    let mut all = Vec::new();
    for f in fams {
        all.extend(routes::dump(nl, *f).await.map_err(kernel)?);
    }
    let wanted: Vec<&RouteMessage> = all
        .iter()
        .filter(|r| {
            routes::table_of(r) != 255 && r.header.kind == RouteType::Unicast && is_to(r, to)
        })
        .collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let names = links::dump(nl).await.map_err(kernel)?;
    Ok(wanted
        .into_iter()
        .map(|r| {
            let mut f = RouteFacts {
                dest: routes::dest_of(r),
                via: None,
                dev: None,
            };
            for a in &r.attributes {
                match a {
                    RouteAttribute::Gateway(g) => f.via = routes::addr_of(g),
                    RouteAttribute::Oif(i) => {
                        f.dev = Some(
                            names
                                .iter()
                                .find(|l| l.header.index == *i)
                                .and_then(links::name_of)
                                .map_or_else(|| format!("if{i}"), str::to_string),
                        )
                    }
                    _ => {}
                }
            }
            f
        })
        .collect())
}

/// Whether a route matches the gateway and device a statement names (`None`: any).
pub fn route_matches(r: &RouteFacts, via: Option<IpAddr>, dev: Option<&str>) -> bool {
    via.is_none_or(|g| r.via == Some(g)) && dev.is_none_or(|d| r.dev.as_deref() == Some(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mismatch_says_what_was_wanted_and_what_is_there() {
        let want = LinkWant {
            kind: Some("vxlan".into()),
            mtu: Some(1450),
            up: Some(true),
            ..Default::default()
        };
        let have = LinkFacts {
            kind: Some("vxlan".into()),
            mtu: Some(1472),
            up: false,
            ..Default::default()
        };
        assert_eq!(
            mismatches(&want, &have),
            [
                ("mtu", "1450".to_string(), "1472".to_string()),
                ("state", "up".to_string(), "down".to_string())
            ]
        );
    }
}
