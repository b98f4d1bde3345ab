//! Namespaces and links.

use super::Ctx;
use crate::base::error::RunError;
use crate::check::signatures::Id;
use crate::interp::args::Args;
use crate::ops::{IpvlanMode, LinkChange, LinkKind, MacvlanMode, Name, Op, ParentIn, Vxlan};
use crate::ops::{LinkOp, NetnsOp};

pub fn ops(id: Id, a: &Args, cx: &mut Ctx, out: &mut Vec<Op>) -> Result<(), RunError> {
    let name = || a.must("name");
    match id {
        Id::NetnsAdd => out.extend([Op::Netns(NetnsOp::Add { name: name() })]),
        Id::NetnsDel => out.extend([Op::Netns(NetnsOp::Del { name: name() })]),
        Id::NetnsList => out.extend([Op::Netns(NetnsOp::List)]),
        Id::Veth => out.extend([Op::Link(LinkOp::Add {
            ns: cx.ns.clone(),
            name: name(),
            kind: LinkKind::Veth {
                peer: a.must("peer"),
                peer_ns: a.text("peer-in"),
            },
        })]),
        Id::Bridge => out.extend([Op::Link(LinkOp::Add {
            ns: cx.ns.clone(),
            name: name(),
            kind: LinkKind::Bridge,
        })]),
        Id::Dummy => out.extend([Op::Link(LinkOp::Add {
            ns: cx.ns.clone(),
            name: name(),
            kind: LinkKind::Dummy,
        })]),
        Id::Tun => out.extend([Op::Link(LinkOp::Add {
            ns: cx.ns.clone(),
            name: name(),
            kind: LinkKind::Tun,
        })]),
        Id::Macvlan => {
            let link = a.text("name").unwrap_or_else(|| cx.names.next("macvlan"));
            let mode = match a.text("mode") {
                None => MacvlanMode::Vepa,
                Some(m) => MacvlanMode::from_word(&m).ok_or_else(|| bad_mode("macvlan", &m))?,
            };
            child(
                a,
                cx,
                out,
                link,
                LinkKind::Macvlan {
                    parent: a.must("on"),
                    mode,
                    parent_in: ParentIn::Beside,
                },
            )
        }
        Id::Ipvlan => {
            let link = a.text("name").unwrap_or_else(|| cx.names.next("ipvlan"));
            let mode = match a.text("mode") {
                None => IpvlanMode::L3,
                Some(m) => IpvlanMode::from_word(&m).ok_or_else(|| bad_mode("ipvlan", &m))?,
            };
            child(
                a,
                cx,
                out,
                link,
                LinkKind::Ipvlan {
                    parent: a.must("on"),
                    mode,
                    parent_in: ParentIn::Beside,
                },
            )
        }
        Id::Vlan => {
            let parent = a.must("on");
            let vid = a.int("id").unwrap_or(1) as u16;
            let link = a
                .text("name")
                .unwrap_or_else(|| compact_str::format_compact!("{parent}.{vid}"));
            if link.len() > 15 {
                return Err(RunError::new(format!(
                    "the VLAN link name `{link}` is longer than 15 bytes"
                ))
                .help("give it a shorter name with `name NAME`"));
            }
            let kind = LinkKind::Vlan {
                parent,
                id: vid,
                parent_in: ParentIn::Beside,
            };
            child(a, cx, out, link, kind)
        }
        Id::Vxlan => {
            let learning = a.text("learning").map(|l| l == "learning");
            let v = Vxlan {
                vni: a.int("vni").unwrap_or(1) as u32,
                port: a.int("port").map(|p| p as u16),
                dev: a.text("dev"),
                local: a.ip("local"),
                remote: a.ip("remote"),
                group: a.ip("group"),
                learning,
            };
            out.extend([Op::Link(LinkOp::Add {
                ns: cx.ns.clone(),
                name: name(),
                kind: LinkKind::Vxlan(Box::new(v)),
            })])
        }
        Id::LinkSet => {
            let change = LinkChange {
                up: a.text("state").map(|s| s == "up"),
                mtu: a.int("mtu").map(|m| m as u32),
                master: if a.flag("nomaster") {
                    Some(None)
                } else {
                    a.text("master").map(Some)
                },
                address: a.mac("address"),
                netns: a.text("netns"),
                rename: a.text("name"),
            };
            out.extend([Op::Link(LinkOp::Set {
                ns: cx.ns.clone(),
                name: a.must("link"),
                change: Box::new(change),
            })])
        }
        Id::LinkDel => out.extend([Op::Link(LinkOp::Del {
            ns: cx.ns.clone(),
            name: a.must("link"),
        })]),
        _ => unreachable!("not a link statement: {id:?}"),
    }
    Ok(())
}

/// A mode word the checker's type did not allow (it types interpolated words the same way).
fn bad_mode(kind: &str, mode: &str) -> RunError {
    RunError::new(format!("`{mode}` is not a {kind} mode")).at("mode", mode)
}

/// A link made on a parent (macvlan, ipvlan, vlan): made on the parent where the statement runs,
/// and with `in NS` placed in NS by the same request, as the book's `ip link add ... link eth0`
/// and `ip link set ... netns` do in two. One request makes a re-run find it there already.
fn child(a: &Args, cx: &Ctx, out: &mut Vec<Op>, link: Name, kind: LinkKind) {
    let (ns, kind) = match &a.ns {
        Some(target) if cx.outer.as_ref() != Some(target) => {
            (Some(target.clone()), kind.with_parent_in(cx.outer.clone()))
        }
        _ => (cx.outer.clone(), kind),
    };
    out.push(Op::Link(LinkOp::Add {
        ns,
        name: link,
        kind,
    }));
}
