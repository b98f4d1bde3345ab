//! What `expect link|route|no-route|neigh|file` read: one link's properties, the routes to one
//! destination, the neighbour entries of one address, a file's text; and how they compare with
//! what a script wants (messages say both).

use crate::base::error::RunError;
use crate::netlink::errors::{self, KernelError};
use crate::netlink::handle::Netlink;
use crate::netlink::{links, neigh, routes};
use crate::ops::{Family, LinkWant, NeighWant, RouteTo, format_mac};
use ipnet::IpNet;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::link::{
    InfoData, InfoIpVlan, InfoMacVlan, InfoVlan, InfoVxlan, IpVlanMode, LinkAttribute, LinkFlags,
    LinkInfo, LinkMessage, MacVlanMode,
};
use rtnetlink::packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage,
};
use rtnetlink::packet_route::route::{RouteAttribute, RouteMessage, RouteType};
use std::io::Read;
use std::net::IpAddr;
use std::path::Path;

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

/// A neighbour or proxy entry for the address asked about, in the terms `expect neigh` compares.
#[derive(Clone, Debug, PartialEq)]
pub struct NeighFacts {
    pub dev: String,
    pub lladdr: Option<[u8; 6]>,
    pub router: bool,
}

impl std::fmt::Display for NeighFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "dev {}", self.dev)?;
        if let Some(m) = &self.lladdr {
            write!(f, " lladdr {}", format_mac(m))?;
        }
        if self.router {
            f.write_str(" router")?;
        }
        Ok(())
    }
}

/// The entries for `ip` in the neighbour table (`proxy`: the proxy table), one per link.
pub async fn neighbours_of(
    nl: &Netlink,
    ip: IpAddr,
    proxy: bool,
) -> Result<Vec<NeighFacts>, RunError> {
    let family = if ip.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let entries = neigh::dump(nl, family, proxy).await.map_err(kernel)?;
    let links = links::dump(nl).await.map_err(kernel)?;
    let dev_name = |index: u32| {
        links
            .iter()
            .find(|l| l.header.index == index)
            .and_then(links::name_of)
            .map_or_else(|| format!("if{index}"), str::to_string)
    };
    Ok(entries
        .iter()
        .filter(|n| neighbour_ip(n) == Some(ip))
        .map(|n| NeighFacts {
            dev: dev_name(n.header.ifindex),
            lladdr: n.attributes.iter().find_map(|a| match a {
                NeighbourAttribute::LinkLayerAddress(b) => <[u8; 6]>::try_from(&b[..]).ok(),
                _ => None,
            }),
            router: n.header.flags.contains(NeighbourFlags::Router),
        })
        .collect())
}

fn neighbour_ip(n: &NeighbourMessage) -> Option<IpAddr> {
    n.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::Destination(NeighbourAddress::Inet(v4)) => Some(IpAddr::V4(*v4)),
        NeighbourAttribute::Destination(NeighbourAddress::Inet6(v6)) => Some(IpAddr::V6(*v6)),
        _ => None,
    })
}

/// Whether an entry is what `expect neigh` wants: each property given must match.
pub fn neigh_matches(have: &NeighFacts, want: &NeighWant) -> bool {
    want.dev.as_ref().is_none_or(|d| *d == have.dev)
        && want.lladdr.is_none_or(|m| have.lladdr == Some(m))
        && want.router.is_none_or(|r| r == have.router)
}

/// The longest file `expect file` reads: state files are a few lines.
const FILE_CAP: u64 = 1 << 20;

/// Why `expect file` could not read a file.
#[derive(Debug)]
pub enum Unreadable {
    Missing,
    NotRegular,
    TooLong,
    Io(std::io::Error),
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreadable::Missing => f.write_str("there is no such file"),
            Unreadable::NotRegular => f.write_str("it is not a regular file"),
            Unreadable::TooLong => write!(f, "it is longer than {FILE_CAP} bytes"),
            Unreadable::Io(e) => write!(f, "it cannot be read: {e}"),
        }
    }
}

/// The text of a regular file (lossy UTF-8), or why it cannot be read.
pub fn file_text(path: &Path) -> Result<String, Unreadable> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Unreadable::Missing,
        _ => Unreadable::Io(e),
    })?;
    if !meta.is_file() {
        return Err(Unreadable::NotRegular);
    }
    let mut text = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(FILE_CAP + 1).read_to_end(&mut text))
        .map_err(Unreadable::Io)?;
    if text.len() as u64 > FILE_CAP {
        return Err(Unreadable::TooLong);
    }
    Ok(String::from_utf8_lossy(&text).into_owned())
}
