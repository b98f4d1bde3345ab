//! Ops as netsh statements: the journal that `netsh down` replays and the script `dump` prints are
//! both written in the language itself, so they can be read, edited and run like any script.

use super::{AddrOp, DockerOp, FlannelOp, LinkOp, NeighOp, NetnsOp, ProbeOp, ServiceOp, SysctlOp};
use super::{Dest, LinkChange, LinkKind, Ns, Op, Route};
use crate::ops::format_mac;

/// A word as the lexer reads it back: bare when it is one, else a raw `'...'` (or `"..."` when it
/// holds a `'`, with `"`, `\` and `$` escaped).
pub fn word(w: &str) -> String {
    let bare = !w.is_empty()
        && !w.starts_with('#')
        && !w.contains('$')
        && w.chars().all(|c| {
            !c.is_whitespace()
                && !matches!(
                    c,
                    ';' | '{' | '}' | '[' | ']' | '(' | ')' | '"' | '\'' | '\\'
                )
        });
    if bare {
        w.to_string()
    } else if !w.contains('\'') && !w.contains(['\n', '\r']) {
        format!("'{w}'")
    } else {
        let mut s = String::from("\"");
        for c in w.chars() {
            match c {
                '"' | '\\' | '$' => {
                    s.push('\\');
                    s.push(c);
                }
                '\n' => s.push_str("\\n"),
                '\t' => s.push_str("\\t"),
                c => s.push(c),
            }
        }
        s.push('"');
        s
    }
}

fn in_ns(ns: &Ns) -> String {
    ns.as_ref()
        .map(|n| format!(" in {}", word(n)))
        .unwrap_or_default()
}

fn route(r: &Route) -> String {
    let mut s = match &r.dest {
        Dest::Default(_) => "default".to_string(),
        Dest::Net(n) => n.to_string(),
    };
    if let Some(v) = r.via {
        s += &format!(" via {v}");
    }
    if let Some(d) = &r.dev {
        s += &format!(" dev {}", word(d));
    }
    if r.onlink {
        s += " onlink";
    }
    if let Some(m) = r.metric {
        s += &format!(" metric {m}");
    }
    if let Some(t) = r.table {
        s += &format!(" table {t}");
    }
    if let Some(src) = r.src {
        s += &format!(" src {src}");
    }
    s
}

fn link_change(c: &LinkChange) -> String {
    let mut s = String::new();
    match c.up {
        Some(true) => s += " up",
        Some(false) => s += " down",
        None => {}
    }
    if let Some(m) = c.mtu {
        s += &format!(" mtu {m}");
    }
    match &c.master {
        Some(Some(m)) => s += &format!(" master {}", word(m)),
        Some(None) => s += " nomaster",
        None => {}
    }
    if let Some(a) = &c.address {
        s += &format!(" address {}", format_mac(a));
    }
    if let Some(n) = &c.netns {
        s += &format!(" netns {}", word(n));
    }
    if let Some(n) = &c.rename {
        s += &format!(" name {}", word(n));
    }
    s
}

fn link_add(ns: &Ns, name: &str, kind: &LinkKind) -> String {
    let n = word(name);
    let body = match kind {
        LinkKind::Veth { peer, peer_ns } => {
            let mut s = format!("veth {n} peer {}", word(peer));
            if let Some(p) = peer_ns {
                s += &format!(" peer-in {}", word(p));
            }
            s
        }
        LinkKind::Bridge => format!("bridge {n}"),
        LinkKind::Dummy => format!("dummy {n}"),
        LinkKind::Tun => format!("tun {n}"),
        LinkKind::Macvlan { parent, mode } => {
            format!("macvlan {} on {} name {n}", mode.word(), word(parent))
        }
        LinkKind::Ipvlan { parent, mode } => {
            format!("ipvlan {} on {} name {n}", mode.word(), word(parent))
        }
        LinkKind::Vlan { parent, id } => format!("vlan {id} on {} name {n}", word(parent)),
        LinkKind::Vxlan(v) => {
            let mut s = format!("vxlan {n} vni {}", v.vni);
            if let Some(p) = v.port {
                s += &format!(" port {p}");
            }
            if let Some(d) = &v.dev {
                s += &format!(" dev {}", word(d));
            }
            if let Some(ip) = v.local {
                s += &format!(" local {ip}");
            }
            if let Some(ip) = v.remote {
                s += &format!(" remote {ip}");
            }
            if let Some(ip) = v.group {
                s += &format!(" group {ip}");
            }
            match v.learning {
                Some(true) => s += " learning",
                Some(false) => s += " nolearning",
                None => {}
            }
            s
        }
    };
    body + &in_ns(ns)
}

/// The statement that performs `op`, when the language has one.
pub fn statement(op: &Op) -> Option<String> {
    Some(match op {
        Op::Netns(NetnsOp::Add { name }) => format!("netns add {}", word(name)),
        Op::Netns(NetnsOp::Del { name }) => format!("netns del {}", word(name)),
        Op::Link(LinkOp::Add { ns, name, kind }) => link_add(ns, name, kind),
        Op::Link(LinkOp::Set { ns, name, change }) => format!(
            "link set {}{}{}",
            word(name),
            link_change(change),
            in_ns(ns)
        ),
        Op::Link(LinkOp::Del { ns, name }) => format!("link del {}{}", word(name), in_ns(ns)),
        Op::Addr(AddrOp::Add {
            ns,
            dev,
            addr,
            nodad,
        }) => format!(
            "addr add {addr} dev {}{}{}",
            word(dev),
            if *nodad { " nodad" } else { "" },
            in_ns(ns)
        ),
        Op::Addr(AddrOp::Del { ns, dev, addr }) => {
            format!("addr del {addr} dev {}{}", word(dev), in_ns(ns))
        }
        Op::Route {
            ns,
            action,
            route: r,
        } => {
            let verb = action.word();
            format!("route {verb} {}{}", route(r), in_ns(ns))
        }
        Op::Neigh(NeighOp::Add {
            ns,
            addr,
            lladdr,
            dev,
            permanent,
            router,
        }) => format!(
            "neigh add {addr} lladdr {} dev {}{}{}{}",
            format_mac(lladdr),
            word(dev),
            if *permanent { " permanent" } else { "" },
            if *router { " router" } else { "" },
            in_ns(ns)
        ),
        Op::Neigh(NeighOp::Del { ns, addr, dev }) => {
            format!("neigh del {addr} dev {}{}", word(dev), in_ns(ns))
        }
        Op::Neigh(NeighOp::ProxyAdd { ns, addr, dev }) => {
            format!("proxy-ndp {addr} on {}{}", word(dev), in_ns(ns))
        }
        Op::Neigh(NeighOp::ProxyDel { ns, addr, dev }) => {
            format!("neigh del {addr} dev {} proxy{}", word(dev), in_ns(ns))
        }
        Op::Neigh(NeighOp::Fdb {
            ns,
            action,
            mac,
            dev,
            dst,
        }) => {
            let verb = action.word();
            let dst = dst.map(|d| format!(" dst {d}")).unwrap_or_default();
            format!(
                "fdb {verb} {} dev {}{dst}{}",
                format_mac(mac),
                word(dev),
                in_ns(ns)
            )
        }
        Op::Sysctl(SysctlOp::Set { ns, key, value }) => {
            format!("sysctl {} = {}{}", word(key), word(value), in_ns(ns))
        }
        // undo steps and `dump` never hold these: they are not kernel state a statement rebuilds
        Op::Netns(NetnsOp::List)
        | Op::Sysctl(SysctlOp::Show { .. })
        | Op::Probe(ProbeOp::Exec { .. })
        | Op::Probe(ProbeOp::Show { .. })
        | Op::Probe(ProbeOp::Echo(_))
        | Op::Probe(ProbeOp::Ping { .. })
        | Op::Probe(ProbeOp::Expect { .. })
        | Op::Service(ServiceOp::Http { .. })
        | Op::Service(ServiceOp::Ndp { .. })
        | Op::Probe(ProbeOp::Dump { .. })
        | Op::Service(ServiceOp::Wait)
        | Op::Flannel(FlannelOp::Store(_))
        | Op::Flannel(FlannelOp::Config { .. })
        | Op::Flannel(FlannelOp::Lease { .. })
        | Op::Flannel(FlannelOp::Release { .. })
        | Op::Flannel(FlannelOp::Overlay { .. })
        | Op::Flannel(FlannelOp::DockerOpts { .. })
        | Op::Docker(DockerOp::NetworkCreate { .. })
        | Op::Docker(DockerOp::NetworkRm { .. })
        | Op::Docker(DockerOp::Container { .. })
        | Op::Docker(DockerOp::Bridge { .. }) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{Family, RouteAction, Vxlan};

    #[test]
    fn words_that_are_not_bare_are_quoted_so_the_lexer_reads_them_back() {
        assert_eq!(word("eth0"), "eth0");
        assert_eq!(word("a b"), "'a b'");
        assert_eq!(word("$x"), "'$x'");
        assert_eq!(word("it's $x"), "\"it's \\$x\"");
        assert_eq!(word(""), "''");
        assert_eq!(word("#c"), "'#c'");
    }

    #[test]
    fn ops_render_as_the_statements_that_make_them() {
        let ns: crate::ops::Ns = Some("n1".into());
        let op = Op::Link(LinkOp::Add {
            ns: ns.clone(),
            name: "v1".into(),
            kind: LinkKind::Veth {
                peer: "v2".into(),
                peer_ns: Some("n2".into()),
            },
        });
        assert_eq!(statement(&op).unwrap(), "veth v1 peer v2 peer-in n2 in n1");
        let vx = Op::Link(LinkOp::Add {
            ns: None,
            name: "flannel.1".into(),
            kind: LinkKind::Vxlan(Box::new(Vxlan {
                vni: 1,
                port: Some(8472),
                learning: Some(false),
                ..Vxlan::default()
            })),
        });
        assert_eq!(
            statement(&vx).unwrap(),
            "vxlan flannel.1 vni 1 port 8472 nolearning"
        );
        let r = Op::Route {
            ns: ns.clone(),
            action: RouteAction::Replace,
            route: Box::new(Route {
                dest: Dest::Default(Family::V4),
                via: Some("10.0.0.1".parse().unwrap()),
                dev: Some("eth0".into()),
                onlink: true,
                metric: Some(5),
                table: None,
                src: None,
            }),
        };
        assert_eq!(
            statement(&r).unwrap(),
            "route replace default via 10.0.0.1 dev eth0 onlink metric 5 in n1"
        );
        let s = Op::Link(LinkOp::Set {
            ns: None,
            name: "v1".into(),
            change: Box::new(LinkChange {
                up: Some(false),
                master: Some(None),
                ..LinkChange::default()
            }),
        });
        assert_eq!(statement(&s).unwrap(), "link set v1 down nomaster");
        assert_eq!(statement(&Op::Service(ServiceOp::Wait)), None);
    }
}
