//! Ops as netsh statements: the journal that `netsh down` replays and the script `dump` prints are
//! both written in the language itself, so they can be read, edited and run like any script.

use super::{Dest, Ns, Op, Route};

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

pub(super) fn in_ns(ns: &Ns) -> String {
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

/// The statement that performs `op`, when the language has one.
pub fn statement(op: &Op) -> Option<String> {
    Some(match op {
        Op::Netns(op) => return op.statement(),
        Op::Link(op) => return op.statement(),
        Op::Addr(op) => return op.statement(),
        Op::Route {
            ns,
            action,
            route: r,
        } => {
            let verb = action.word();
            format!("route {verb} {}{}", route(r), in_ns(ns))
        }
        Op::Neigh(op) => return op.statement(),
        Op::Sysctl(op) => return op.statement(),
        // undo steps and `dump` never hold these: they are not kernel state a statement rebuilds
        Op::Probe(_) | Op::Service(_) | Op::Flannel(_) | Op::Docker(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{Family, LinkChange, LinkKind, LinkOp, RouteAction, ServiceOp, Vxlan};

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
        // a MacVLAN on net1's eth0 that lives in ns1: made inside `in net1`, placed by `in ns1`
        let m = Op::Link(LinkOp::Add {
            ns: Some("ns1".into()),
            name: "m1".into(),
            kind: LinkKind::Macvlan {
                parent: "eth0".into(),
                mode: crate::ops::MacvlanMode::Bridge,
                parent_in: crate::ops::ParentIn::Elsewhere(Some("net1".into())),
            },
        });
        assert_eq!(
            statement(&m).unwrap(),
            "in net1 { macvlan bridge on eth0 name m1 in ns1 }"
        );
        assert_eq!(
            m.to_string(),
            "ip -n net1 link add m1 link eth0 netns ns1 type macvlan mode bridge"
        );
        // names a shell would read as syntax are quoted
        let b = Op::Link(LinkOp::Add {
            ns: Some("n;s".into()),
            name: "x;id".into(),
            kind: LinkKind::Bridge,
        });
        assert_eq!(b.to_string(), "ip -n 'n;s' link add 'x;id' type bridge");
        assert_eq!(statement(&Op::Service(ServiceOp::Wait)), None);
    }
}
