//! State checks: `expect link|route|no-route|neigh` ask the kernel's tables whether they hold what a
//! script says, `expect file` what a file holds (the Probe family's `ProbeOp::State`).

use super::Ns;
use super::render::{IpCmd, Mac, Quoted, Shown, put};
use ipnet::IpNet;
use std::net::IpAddr;

/// What `expect link NAME ...` wants of the link; each `Some` must match.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinkWant {
    pub kind: Option<String>,
    pub mode: Option<String>,
    /// A VXLAN's VNI or a VLAN's id.
    pub id: Option<u32>,
    pub port: Option<u16>,
    pub mtu: Option<u32>,
    pub master: Option<String>,
    pub up: Option<bool>,
    pub address: Option<[u8; 6]>,
}

/// What `expect neigh ADDR ...` wants of the entry; each `Some` must match.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NeighWant {
    pub dev: Option<String>,
    pub lladdr: Option<[u8; 6]>,
    /// `router` (the entry carries the router flag) or `host` (it does not).
    pub router: Option<bool>,
    /// The proxy table (`ip -6 neigh show proxy`) instead of the neighbours.
    pub proxy: bool,
}

/// A route's destination: `default` (either family) or a prefix.
#[derive(Clone, Debug, PartialEq)]
pub enum RouteTo {
    Default,
    Net(IpNet),
}

impl std::fmt::Display for RouteTo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RouteTo::Default => f.write_str("default"),
            RouteTo::Net(n) if n.prefix_len() == n.max_prefix_len() => write!(f, "{}", n.addr()),
            RouteTo::Net(n) => write!(f, "{n}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum StateCheck {
    Link {
        name: String,
        want: Box<LinkWant>,
    },
    /// `present`: `expect route`; otherwise `expect no-route`.
    Route {
        to: RouteTo,
        via: Option<IpAddr>,
        dev: Option<String>,
        present: bool,
    },
    Neigh {
        ip: IpAddr,
        want: NeighWant,
    },
    /// The file is there and holds each text.
    File {
        path: std::path::PathBuf,
        contains: Vec<String>,
    },
}

impl StateCheck {
    /// A runnable shell check (iproute2 and jq) that fails as the statement does.
    pub(super) fn render(&self, ns: &Ns, out: &mut String) {
        match self {
            StateCheck::Link { name, want } => {
                put!(out, IpCmd(ns), " -d -j link show ", Quoted(name));
                let mut tests: Vec<String> = Vec::new();
                if let Some(k) = &want.kind {
                    tests.push(format!(".linkinfo.info_kind == \"{k}\""));
                }
                if let Some(m) = &want.mode {
                    tests.push(format!(".linkinfo.info_data.mode == \"{m}\""));
                }
                if let Some(i) = want.id {
                    tests.push(format!(".linkinfo.info_data.id == {i}"));
                }
                if let Some(p) = want.port {
                    tests.push(format!(".linkinfo.info_data.port == {p}"));
                }
                if let Some(m) = want.mtu {
                    tests.push(format!(".mtu == {m}"));
                }
                if let Some(m) = &want.master {
                    tests.push(format!(".master == \"{m}\""));
                }
                match want.up {
                    Some(true) => tests.push("(.flags | index(\"UP\") != null)".into()),
                    Some(false) => tests.push("(.flags | index(\"UP\") == null)".into()),
                    None => {}
                }
                if let Some(a) = &want.address {
                    tests.push(format!(".address == \"{}\"", Mac(a)));
                }
                let all = if tests.is_empty() {
                    "true".to_string()
                } else {
                    tests.join(" and ")
                };
                put!(
                    out,
                    " | jq -e ",
                    Quoted(&format!(".[0] | {all}")),
                    " >/dev/null || exit 1"
                );
            }
            StateCheck::Route {
                to,
                via,
                dev,
                present,
            } => {
                let test = if *present { "-n" } else { "-z" };
                put!(out, "[ ", test, " \"$(", IpCmd(ns));
                if matches!(to, RouteTo::Net(n) if n.addr().is_ipv6()) {
                    out.push_str(" -6");
                }
                put!(out, " route show ", Shown(to));
                if let Some(g) = via {
                    put!(out, " via ", Shown(g));
                }
                if let Some(d) = dev {
                    put!(out, " dev ", Quoted(d));
                }
                out.push_str(")\" ] || exit 1");
            }
            StateCheck::Neigh { ip, want } => {
                put!(out, IpCmd(ns), " -j neigh show");
                if want.proxy {
                    out.push_str(" proxy");
                }
                put!(out, " to ", Shown(ip));
                if let Some(d) = &want.dev {
                    put!(out, " dev ", Quoted(d));
                }
                // iproute2's JSON has `"router": null` on a router's entry and no key otherwise
                let mut tests = vec!["length > 0".to_string()];
                if let Some(m) = &want.lladdr {
                    tests.push(format!(".[0].lladdr == \"{}\"", Mac(m)));
                }
                match want.router {
                    Some(true) => tests.push("(.[0] | has(\"router\"))".into()),
                    Some(false) => tests.push("(.[0] | has(\"router\") | not)".into()),
                    None => {}
                }
                put!(
                    out,
                    " | jq -e ",
                    Quoted(&tests.join(" and ")),
                    " >/dev/null || exit 1"
                );
            }
            StateCheck::File { path, contains } => {
                let shown = path.to_string_lossy();
                if contains.is_empty() {
                    put!(out, "[ -f ", Quoted(&shown), " ] || exit 1");
                }
                for (i, text) in contains.iter().enumerate() {
                    if i > 0 {
                        out.push_str("; ");
                    }
                    put!(
                        out,
                        "grep -qF -- ",
                        Quoted(text),
                        " ",
                        Quoted(&shown),
                        " || exit 1"
                    );
                }
            }
        }
    }

    /// The check in words, for messages and `--json`: `link flannel.1`, `route 10.100.0.0/16`.
    pub fn what(&self) -> String {
        match self {
            StateCheck::Link { name, .. } => format!("link {name}"),
            StateCheck::Route { to, present, .. } => {
                format!("{} {to}", if *present { "route" } else { "no-route" })
            }
            StateCheck::Neigh { ip, want } if want.proxy => format!("neigh proxy {ip}"),
            StateCheck::Neigh { ip, .. } => format!("neigh {ip}"),
            StateCheck::File { path, .. } => format!("file {}", path.display()),
        }
    }
}
