//! RealWorld used as a library (as the REPL does): `exists` and `names` see the kernel's state.
//! Uses a uniquely named namespace of its own and removes it.

mod util;

use netsh::engine::real::{Options, RealWorld};
use netsh::interp::world::World;
use netsh::ops::{LinkKind, ObjectKind, Op};
use netsh::ops::{LinkOp, NetnsOp};

#[test]
fn exists_and_completion_names_see_live_links_and_namespaces() {
    requires!(Root);
    let ns = format!("netsh-w{}", std::process::id());
    let mut w = RealWorld::new(Options {
        strict: false,
        json: false,
        sandbox: false,
        max_objects: netsh::engine::real::MAX_OBJECTS,
    })
    .expect("runtime starts");
    w.apply(&Op::Netns(NetnsOp::Add {
        name: ns.as_str().into(),
    }))
    .expect("netns add");
    let made = w.apply(&Op::Link(LinkOp::Add {
        ns: Some(ns.as_str().into()),
        name: "wv0".into(),
        kind: LinkKind::Veth {
            peer: "wv1".into(),
            peer_ns: None,
        },
    }));
    let names = w.names();
    let exists_link = w.exists(ObjectKind::Link, "wv0", Some(&ns));
    let exists_ns = w.exists(ObjectKind::Netns, &ns, None);
    let missing = w.exists(ObjectKind::Link, "wv0", None);
    w.apply(&Op::Netns(NetnsOp::Del {
        name: ns.as_str().into(),
    }))
    .expect("netns del");
    made.expect("veth in the namespace");
    assert!(names.contains(&ns), "{names:?}");
    assert!(
        names.contains(&"wv0".to_string()) && names.contains(&"wv1".to_string()),
        "{names:?}"
    );
    assert_eq!(exists_link.ok(), Some(true));
    assert_eq!(exists_ns.ok(), Some(true));
    assert_eq!(missing.ok(), Some(false));
    assert!(!w.exists(ObjectKind::Netns, &ns, None).unwrap_or(true));
}
