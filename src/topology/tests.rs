//! The model built from Ops, and the renderers' promises: sorted, the same bytes every time, valid
//! XML, every namespace and link named.

use super::{End, Topology};
use crate::ops::{
    AddrOp, LinkChange, LinkKind, LinkOp, MacvlanMode, Name, NetnsOp, Ns, Op, ParentIn, Picture,
    Vxlan,
};

fn ns(n: &str) -> Ns {
    Some(n.into())
}

fn netns(n: &str) -> Op {
    Op::Netns(NetnsOp::Add { name: n.into() })
}

fn veth(at: &str, name: &str, peer: &str, peer_at: &str) -> Op {
    Op::Link(LinkOp::Add {
        ns: ns(at),
        name: name.into(),
        kind: LinkKind::Veth {
            peer: peer.into(),
            peer_ns: ns(peer_at),
        },
    })
}

fn set(at: &str, name: &str, change: LinkChange) -> Op {
    Op::Link(LinkOp::Set {
        ns: ns(at),
        name: name.into(),
        change: Box::new(change),
    })
}

fn end(at: &str, link: &str) -> End {
    End {
        ns: ns(at),
        link: Name::from(link),
    }
}

/// A switch with a bridge, two hosts on it, one with a macvlan child moved into a third namespace.
fn lab() -> Vec<Op> {
    vec![
        netns("lan"),
        netns("h1"),
        netns("h2"),
        netns("c1"),
        Op::Link(LinkOp::Add {
            ns: ns("lan"),
            name: "sw".into(),
            kind: LinkKind::Bridge,
        }),
        veth("h1", "eth0", "h1", "lan"),
        veth("h2", "eth0", "h2", "lan"),
        set(
            "lan",
            "h1",
            LinkChange {
                master: Some(Some("sw".into())),
                up: Some(true),
                ..LinkChange::default()
            },
        ),
        Op::Addr(AddrOp::Add {
            ns: ns("h1"),
            dev: "eth0".into(),
            addr: "10.0.0.1/24".parse().unwrap(),
            nodad: false,
        }),
        Op::Link(LinkOp::Add {
            ns: ns("c1"),
            name: "mv0".into(),
            kind: LinkKind::Macvlan {
                parent: "eth0".into(),
                mode: MacvlanMode::Bridge,
                parent_in: ParentIn::Elsewhere(ns("h2")),
            },
        }),
    ]
}

#[test]
fn veth_pairs_name_each_other_across_namespaces() {
    let t = Topology::from_ops(&lab());
    let h1 = t.link(&end("h1", "eth0")).expect("h1's eth0");
    assert_eq!(h1.kind, "veth");
    assert_eq!(h1.peer, Some(end("lan", "h1")));
    let port = t.link(&end("lan", "h1")).expect("lan's h1");
    assert_eq!(port.peer, Some(end("h1", "eth0")));
    assert_eq!(port.master.as_deref(), Some("sw"));
    assert!(port.up);
    assert_eq!(
        h1.addresses
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>(),
        ["10.0.0.1/24"]
    );
}

#[test]
fn a_child_points_at_its_parent_in_the_parents_namespace() {
    let t = Topology::from_ops(&lab());
    let mv = t.link(&end("c1", "mv0")).expect("c1's mv0");
    assert_eq!((mv.kind, mv.mode), ("macvlan", Some("bridge")));
    assert_eq!(mv.parent, Some(end("h2", "eth0")));
}

#[test]
fn a_moved_or_renamed_link_is_followed_by_its_peer() {
    let mut ops = lab();
    ops.push(set(
        "h2",
        "eth0",
        LinkChange {
            netns: Some("c1".into()),
            rename: Some("up0".into()),
            ..LinkChange::default()
        },
    ));
    let t = Topology::from_ops(&ops);
    assert!(t.link(&end("h2", "eth0")).is_none());
    assert_eq!(
        t.link(&end("lan", "h2")).and_then(|l| l.peer.clone()),
        Some(end("c1", "up0"))
    );
    // the macvlan's parent moved with it
    assert_eq!(
        t.link(&end("c1", "mv0")).and_then(|l| l.parent.clone()),
        Some(end("c1", "up0"))
    );
}

#[test]
fn deleting_a_veth_takes_its_peer() {
    let mut ops = lab();
    ops.push(Op::Link(LinkOp::Del {
        ns: ns("lan"),
        name: "h1".into(),
    }));
    let t = Topology::from_ops(&ops);
    assert!(t.link(&end("lan", "h1")).is_none());
    assert!(t.link(&end("h1", "eth0")).is_none());
}

fn vxlan(at: &str, vni: u32) -> Op {
    Op::Link(LinkOp::Add {
        ns: ns(at),
        name: "vx0".into(),
        kind: LinkKind::Vxlan(Box::new(Vxlan {
            vni,
            port: Some(4789),
            ..Vxlan::default()
        })),
    })
}

#[test]
fn vxlan_links_of_one_vni_on_two_hosts_are_an_overlay() {
    let t = Topology::from_ops(&[vxlan("a", 7), vxlan("b", 7), vxlan("c", 8)]);
    let o = t.overlays();
    assert_eq!(o.len(), 1, "{o:?}");
    assert_eq!(o[0].label, "vxlan 7 port 4789");
    assert_eq!(o[0].members, [end("a", "vx0"), end("b", "vx0")]);
}

#[test]
fn a_flannel_overlay_makes_the_backends_device_on_its_host() {
    use crate::ops::{FlannelOp, Overlay};
    let config = Op::Flannel(FlannelOp::Config {
        prefix: "/coreos.com/network".into(),
        json: r#"{"Network":"10.100.0.0/16","Backend":{"Type":"vxlan","VNI":3}}"#.into(),
    });
    let overlay = |h: &str| {
        Op::Flannel(FlannelOp::Overlay {
            host: ns(h),
            overlay: Box::new(Overlay::default()),
        })
    };
    let t = Topology::from_ops(&[config, overlay("d1"), overlay("d2")]);
    let l = t.link(&end("d1", "flannel.3")).expect("flannel.3 on d1");
    assert_eq!((l.kind, l.id, l.port), ("vxlan", Some(3), Some(8472)));
    assert_eq!(t.overlays().len(), 1);
}

#[test]
fn loopback_and_an_empty_own_namespace_are_left_out_of_pictures() {
    let ops = [
        netns("a"),
        set(
            "a",
            "lo",
            LinkChange {
                up: Some(true),
                ..LinkChange::default()
            },
        ),
        Op::Addr(AddrOp::Add {
            ns: ns("a"),
            dev: "lo".into(),
            addr: "127.0.0.1/8".parse().unwrap(),
            nodad: false,
        }),
        Op::Addr(AddrOp::Add {
            ns: None,
            dev: "lo".into(),
            addr: "127.0.0.1/8".parse().unwrap(),
            nodad: false,
        }),
    ];
    let t = Topology::from_ops(&ops).pictured();
    assert_eq!(t.spaces.keys().cloned().collect::<Vec<_>>(), [ns("a")]);
    assert!(t.spaces[&ns("a")].links.is_empty());
}

/// Every text of an SVG document, joined.
fn svg_text(svg: &str) -> String {
    let doc = roxmltree::Document::parse(svg).expect("the SVG parses as XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .filter(|t| !t.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_svg_is_xml_naming_every_namespace_and_link() {
    let t = Topology::from_ops(&lab()).pictured();
    let svg = super::render(&t, Picture::Svg);
    let text = svg_text(&svg);
    for (ns, space) in &t.spaces {
        assert!(text.contains(ns.as_deref().unwrap()), "{ns:?} in {text}");
        for name in space.links.keys() {
            assert!(text.contains(&format!("{name}:")), "{name} in {text}");
        }
    }
    // one line per veth pair across namespaces and one for the macvlan on its parent
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let class = |c: &str| {
        doc.descendants()
            .filter(|n| n.tag_name().name() == "path" && n.attribute("class") == Some(c))
            .count()
    };
    assert_eq!((class("veth"), class("parent")), (2, 1), "{svg}");
}

#[test]
fn names_with_markup_are_escaped_in_svg_and_dot() {
    let t = Topology::from_ops(&[netns("a<b>&\"c"), netns("d")]).pictured();
    svg_text(&super::render(&t, Picture::Svg));
    let dot = super::render(&t, Picture::Dot);
    assert!(dot.contains(r#"label="a<b>&\"c""#), "{dot}");
}

#[test]
fn an_empty_lab_draws_an_empty_picture() {
    let t = Topology::new().pictured();
    assert_eq!(svg_text(&super::render(&t, Picture::Svg)), "");
    assert_eq!(
        super::render(&t, Picture::Json),
        "{\"namespaces\":[],\"overlays\":[]}\n"
    );
}

#[test]
fn pictures_do_not_depend_on_the_order_ops_came_in_where_it_does_not_matter() {
    let a = Topology::from_ops(&lab()).pictured();
    let mut ops = lab();
    // namespaces made in another order
    ops[..4].reverse();
    let b = Topology::from_ops(&ops).pictured();
    for p in [Picture::Svg, Picture::Dot, Picture::Json, Picture::Text] {
        let first = super::render(&a, p);
        assert_eq!(first, super::render(&b, p));
        assert_eq!(first, super::render(&a, p), "the same lab twice");
    }
}
