//! Links: create each kind, change, delete, look up. Messages are built by pure functions (unit
//! tested below, including the kinds this machine's kernel lacks) and sent by `apply_*`.

use crate::base::error::{Kind, RunError};
use crate::netlink::errors::{self, KernelError};
use crate::netlink::handle::{CHANGE, CREATE, Netlink};
use crate::ops::{IpvlanMode, LinkChange, LinkKind, MacvlanMode, Vxlan};
use crate::sys::netns;
use nix::errno::Errno;
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::link::{
    InfoData, InfoVeth, IpVlanMode, LinkAttribute, LinkExtentMask, LinkFlags, LinkMessage,
    MacVlanMode,
};
use rtnetlink::{
    LinkBridge, LinkDummy, LinkIpVlan, LinkMacVlan, LinkMessageBuilder, LinkUnspec, LinkVlan,
    LinkVxlan,
};
use std::net::IpAddr;
use std::os::fd::{AsRawFd, RawFd};

pub fn macvlan_mode(mode: MacvlanMode) -> MacVlanMode {
    match mode {
        MacvlanMode::Vepa => MacVlanMode::Vepa,
        MacvlanMode::Bridge => MacVlanMode::Bridge,
        MacvlanMode::Private => MacVlanMode::Private,
        MacvlanMode::Passthru => MacVlanMode::Passthrough,
    }
}

pub fn ipvlan_mode(mode: IpvlanMode) -> IpVlanMode {
    match mode {
        IpvlanMode::L2 => IpVlanMode::L2,
        IpvlanMode::L3 => IpVlanMode::L3,
        IpvlanMode::L3s => IpVlanMode::L3S,
    }
}

/// What a link message needs from the kernel besides the Op: the parent's index (macvlan, ipvlan,
/// vlan, vxlan `dev`) and the peer namespace's fd (veth).
#[derive(Default, Clone, Copy)]
pub struct Resolved {
    pub parent: Option<u32>,
    pub peer_ns_fd: Option<RawFd>,
}

/// The RTM_NEWLINK message for `ip link add NAME type KIND ...`. Tun has none (see tun.rs).
pub fn add_message(name: &str, kind: &LinkKind, r: Resolved) -> Result<LinkMessage, RunError> {
    let parent = || {
        r.parent
            .ok_or_else(|| RunError::new("the parent link was not resolved"))
    };
    Ok(match kind {
        LinkKind::Veth { peer, .. } => {
            let mut p = LinkMessageBuilder::<LinkUnspec>::new().name(peer.clone());
            if let Some(fd) = r.peer_ns_fd {
                p = p.setns_by_fd(fd);
            }
            rtnetlink::LinkVeth::new(name, peer)
                .set_info_data(InfoData::Veth(InfoVeth::Peer(p.build())))
                .build()
        }
        LinkKind::Bridge => LinkBridge::new(name).build(),
        LinkKind::Dummy => LinkDummy::new(name).build(),
        LinkKind::Tun => {
            return Err(RunError::new(
                "a tun device is made through /dev/net/tun, not netlink",
            ));
        }
        LinkKind::Macvlan { mode, .. } => {
            LinkMacVlan::new(name, parent()?, macvlan_mode(*mode)).build()
        }
        LinkKind::Ipvlan { mode, .. } => {
            LinkIpVlan::new(name, parent()?, ipvlan_mode(*mode)).build()
        }
        LinkKind::Vlan { id, .. } => LinkVlan::new(name, parent()?, *id).build(),
        LinkKind::Vxlan(v) => vxlan_message(name, v, r.parent),
    })
}

fn vxlan_message(name: &str, v: &Vxlan, dev: Option<u32>) -> LinkMessage {
    let mut b = LinkVxlan::new(name, v.vni);
    if let Some(d) = dev {
        b = b.dev(d);
    }
    // the kernel's default port is 8472 (Linux's historical one); ip(8) wants it said; flannel uses 8472
    b = b.port(v.port.unwrap_or(8472));
    match v.local {
        Some(IpAddr::V4(a)) => b = b.local(a),
        Some(IpAddr::V6(a)) => b = b.local6(a),
        None => {}
    }
    match v.remote.or(v.group) {
        Some(IpAddr::V4(a)) => b = b.remote(a),
        Some(IpAddr::V6(a)) => b = b.remote6(a),
        None => {}
    }
    if let Some(l) = v.learning {
        b = b.learning(l);
    }
    b.build()
}

/// The module that provides a link kind.
fn module(kind: &LinkKind) -> &'static str {
    match kind {
        LinkKind::Vlan { .. } => "8021q",
        other => other.kernel_kind().0,
    }
}

/// Turns "Unknown device type" into the kernel option that is missing. Other EOPNOTSUPP answers
/// come from kernels that have the kind ("8021q: VLANs not supported on device" for a VLAN on `lo`,
/// found in the VM test): they keep the kernel's words.
pub fn add_error(name: &str, kind: &LinkKind, e: &KernelError) -> RunError {
    let (k, config) = kind.kernel_kind();
    let unknown = match e.text.as_deref() {
        Some(t) => t.contains("Unknown device type"),
        None => e.is(Errno::EOPNOTSUPP),
    };
    if unknown {
        return RunError::new(format!(
            "this kernel has no {k} support ({config}); the kernel said: {e}"
        ))
        .with_code(crate::base::diag::Code::NotSupported)
        .help(format!(
            "load its module (`modprobe {}`) or use a kernel built with {config}=y or =m",
            module(kind)
        ));
    }
    errors::kernel(format!("cannot add link {name} (type {k})"), e)
}

/// Which link a change is for: by index, or by name (the kernel looks IFLA_IFNAME up itself, which
/// saves a round trip when nothing else needs the index).
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Index(u32),
    Name(&'a str),
}

/// `ip link set`: everything but a namespace move, which `move_message` does. A rename needs the
/// index (IFLA_IFNAME then carries the new name).
pub fn set_message(target: Target, c: &LinkChange, master: Option<u32>) -> LinkMessage {
    let mut b = match target {
        Target::Index(i) => LinkUnspec::new_with_index(i),
        Target::Name(n) => LinkUnspec::new_with_name(n),
    };
    match c.up {
        Some(true) => b = b.up(),
        Some(false) => b = b.down(),
        None => {}
    }
    if let Some(mtu) = c.mtu {
        b = b.mtu(mtu);
    }
    match (&c.master, master) {
        (Some(Some(_)), Some(m)) => b = b.controller(m),
        (Some(None), _) => b = b.nocontroller(),
        _ => {}
    }
    if let Some(mac) = c.address {
        b = b.address(mac.to_vec());
    }
    if let Some(new) = &c.rename {
        b = b.name(new.clone());
    }
    b.build()
}

pub fn move_message(index: u32, ns_fd: RawFd) -> LinkMessage {
    LinkUnspec::new_with_index(index).setns_by_fd(ns_fd).build()
}

pub fn missing(name: &str) -> RunError {
    RunError::of(Kind::Gone, format!("Cannot find device \"{name}\""))
        .help("check the name and the namespace (`show links`, or `show links in NS`)")
}

/// A link's index by name, or ip's `Cannot find device "NAME"`.
pub async fn index(nl: &Netlink, name: &str) -> Result<u32, RunError> {
    match find(nl, name).await {
        Ok(Some(m)) => Ok(m.header.index),
        Ok(None) => Err(missing(name)),
        Err(e) => Err(errors::kernel(format!("cannot look up link {name}"), &e)),
    }
}

/// The link called `name`, if there is one.
pub async fn find(nl: &Netlink, name: &str) -> Result<Option<LinkMessage>, KernelError> {
    let Some(msg) = find_message(name) else {
        return Ok(None);
    };
    found(nl.query(msg, false).await)
}

/// The request asking for the link called `name` (`None`: no link can have that name).
pub fn find_message(name: &str) -> Option<RouteNetlinkMessage> {
    if name.is_empty() || name.len() > crate::ops::IFNAMSIZ_MAX {
        return None;
    }
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    // the counters are most of a link message; a lookup needs none of them
    m.attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    Some(RouteNetlinkMessage::GetLink(m))
}

/// The link in the answer to `find_message` (a missing link is no error).
pub fn found(
    answer: Result<Vec<RouteNetlinkMessage>, KernelError>,
) -> Result<Option<LinkMessage>, KernelError> {
    match answer {
        Ok(msgs) => Ok(msgs.into_iter().find_map(|m| match m {
            RouteNetlinkMessage::NewLink(l) => Some(l),
            _ => None,
        })),
        Err(e) if e.is(Errno::ENODEV) => Ok(None),
        Err(e) => Err(e),
    }
}

pub async fn dump(nl: &Netlink) -> Result<Vec<LinkMessage>, KernelError> {
    let msgs = nl
        .query(RouteNetlinkMessage::GetLink(LinkMessage::default()), true)
        .await?;
    Ok(msgs
        .into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewLink(l) => Some(l),
            _ => None,
        })
        .collect())
}

pub fn name_of(l: &LinkMessage) -> Option<&str> {
    l.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(n) => Some(n.as_str()),
        _ => None,
    })
}

/// `ip link add`. `Ok(false)`: it existed and `strict` is off.
pub async fn add(
    nl: &Netlink,
    name: &str,
    kind: &LinkKind,
    into: Option<&str>,
    strict: bool,
) -> Result<bool, RunError> {
    let (msg, files) = add_request(name, kind, nl, into).await?;
    let result = nl.ack(msg, CREATE).await;
    drop(files);
    add_outcome(name, kind, strict, result)
}

/// The RTM_NEWLINK of `ip link add` (the parent looked up in `parent_nl`, the namespace the
/// request goes to), and the namespace files it names, which must stay open until the kernel has
/// read it: the veth peer's, and `into`'s, the named namespace the link is placed in when it is
/// not the one the request goes to (`ip -n net1 link add m1 link eth0 netns ns1 ...`).
pub async fn add_request(
    name: &str,
    kind: &LinkKind,
    parent_nl: &Netlink,
    into: Option<&str>,
) -> Result<(RouteNetlinkMessage, Vec<std::fs::File>), RunError> {
    let parent = match parent_of(kind) {
        Some(p) => Some(index(parent_nl, p).await?),
        None => None,
    };
    let peer_file = peer_ns_file(kind)?;
    let mut msg = add_message(
        name,
        kind,
        Resolved {
            parent,
            peer_ns_fd: peer_file.as_ref().map(|f| f.as_raw_fd()),
        },
    )?;
    let mut files: Vec<std::fs::File> = peer_file.into_iter().collect();
    if let Some(ns) = into {
        let file = netns::open(ns)?;
        msg.attributes
            .push(LinkAttribute::NetNsFd(file.as_raw_fd()));
        files.push(file);
    }
    Ok((RouteNetlinkMessage::NewLink(msg), files))
}

/// The link a new link of this kind sits on (macvlan, ipvlan, vlan; vxlan's `dev`).
pub fn parent_of(kind: &LinkKind) -> Option<&str> {
    match kind {
        LinkKind::Macvlan { parent, .. }
        | LinkKind::Ipvlan { parent, .. }
        | LinkKind::Vlan { parent, .. } => Some(parent.as_str()),
        LinkKind::Vxlan(v) => v.dev.as_deref(),
        _ => None,
    }
}

/// The namespace a veth's peer is made in, opened (the request carries its fd).
pub fn peer_ns_file(kind: &LinkKind) -> Result<Option<std::fs::File>, RunError> {
    match kind {
        LinkKind::Veth {
            peer_ns: Some(pns), ..
        } => Ok(Some(netns::open(pns)?)),
        _ => Ok(None),
    }
}

/// The RTM_NEWLINK of `ip link add`, with the parent's index and the peer namespace's file.
pub fn add_request_with(
    name: &str,
    kind: &LinkKind,
    parent: Option<u32>,
    peer_file: Option<&std::fs::File>,
) -> Result<RouteNetlinkMessage, RunError> {
    let r = Resolved {
        parent,
        peer_ns_fd: peer_file.map(|f| f.as_raw_fd()),
    };
    Ok(RouteNetlinkMessage::NewLink(add_message(name, kind, r)?))
}

/// What the kernel's answer to `add_request` means: created, there already, or an error in words.
pub fn add_outcome(
    name: &str,
    kind: &LinkKind,
    strict: bool,
    result: Result<(), KernelError>,
) -> Result<bool, RunError> {
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.is(Errno::EEXIST) && !strict => Ok(false),
        Err(e) => Err(add_error(name, kind, &e)),
    }
}

/// `ip link set`. A move to another namespace comes first, and the other changes then apply there
/// (a moved link comes up down, so `up` must follow the move).
pub async fn set(
    nl: &Netlink,
    name: &str,
    c: &LinkChange,
    target_nl: Option<&Netlink>,
) -> Result<(), RunError> {
    let mut here = nl;
    let mut target = Target::Name(name);
    if let (Some(ns), Some(tnl)) = (&c.netns, target_nl) {
        let idx = index(nl, name).await?;
        let file = netns::open(ns)?;
        nl.ack(
            RouteNetlinkMessage::SetLink(move_message(idx, file.as_raw_fd())),
            CHANGE,
        )
        .await
        .map_err(|e| errors::kernel(format!("cannot move link {name} to namespace {ns}"), &e))?;
        here = tnl;
    }
    let rest = LinkChange {
        netns: None,
        ..c.clone()
    };
    if rest == LinkChange::default() {
        return Ok(());
    }
    if c.rename.is_some() {
        target = Target::Index(index(here, name).await?);
    }
    let master = match &c.master {
        Some(Some(m)) => Some(index(here, m).await?),
        _ => None,
    };
    let result = here
        .ack(
            RouteNetlinkMessage::SetLink(set_message(target, &rest, master)),
            CHANGE,
        )
        .await;
    set_outcome(name, result)
}

/// The kernel's answer to a `link set`, in words.
pub fn set_outcome(name: &str, result: Result<(), KernelError>) -> Result<(), RunError> {
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.is(Errno::ENODEV) => Err(missing(name)),
        Err(e) => Err(errors::kernel(format!("cannot change link {name}"), &e)),
    }
}

/// `ip link del NAME`.
pub async fn del(nl: &Netlink, name: &str) -> Result<(), RunError> {
    let idx = index(nl, name).await?;
    let msg = LinkUnspec::new_with_index(idx).build();
    nl.ack(RouteNetlinkMessage::DelLink(msg), CHANGE)
        .await
        .map_err(|e| errors::kernel(format!("cannot delete link {name}"), &e))
}

pub fn is_up(l: &LinkMessage) -> bool {
    l.header.flags.contains(LinkFlags::Up)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtnetlink::packet_core::Emitable;
    use rtnetlink::packet_route::link::{InfoKind, LinkInfo};

    fn kind_of(m: &LinkMessage) -> Option<InfoKind> {
        m.attributes.iter().find_map(|a| match a {
            LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
                LinkInfo::Kind(k) => Some(k.clone()),
                _ => None,
            }),
            _ => None,
        })
    }

    fn data_of(m: &LinkMessage) -> Option<InfoData> {
        m.attributes.iter().find_map(|a| match a {
            LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
                LinkInfo::Data(d) => Some(d.clone()),
                _ => None,
            }),
            _ => None,
        })
    }

    fn emits(m: &LinkMessage) -> Vec<u8> {
        let mut buf = vec![0u8; m.buffer_len()];
        m.emit(&mut buf);
        buf
    }

    fn has(m: &LinkMessage, a: &LinkAttribute) -> bool {
        m.attributes.contains(a)
    }

    #[test]
    fn ipvlan_vlan_and_dummy_messages_name_their_kind_and_parent() {
        let r = Resolved {
            parent: Some(7),
            peer_ns_fd: None,
        };
        let ipvlan = add_message(
            "ipvl1",
            &LinkKind::Ipvlan {
                parent: "eth0".into(),
                mode: IpvlanMode::L2,
                parent_in: crate::ops::ParentIn::Beside,
            },
            r,
        )
        .unwrap();
        assert_eq!(kind_of(&ipvlan), Some(InfoKind::IpVlan));
        assert!(has(&ipvlan, &LinkAttribute::Link(7)));
        assert!(format!("{:?}", data_of(&ipvlan)).contains("L2"));
        let l3s = add_message(
            "i",
            &LinkKind::Ipvlan {
                parent: "eth0".into(),
                mode: IpvlanMode::L3s,
                parent_in: crate::ops::ParentIn::Beside,
            },
            r,
        )
        .unwrap();
        assert!(format!("{:?}", data_of(&l3s)).contains("L3S"));

        let vlan = add_message(
            "eth1.19",
            &LinkKind::Vlan {
                parent: "eth1".into(),
                id: 19,
                parent_in: crate::ops::ParentIn::Beside,
            },
            r,
        )
        .unwrap();
        assert_eq!(kind_of(&vlan), Some(InfoKind::Vlan));
        assert!(format!("{:?}", data_of(&vlan)).contains("Id(19)"));
        assert!(has(&vlan, &LinkAttribute::IfName("eth1.19".into())));

        let dummy = add_message("dummy0", &LinkKind::Dummy, r).unwrap();
        assert_eq!(kind_of(&dummy), Some(InfoKind::Dummy));
        for m in [ipvlan, vlan, dummy] {
            let bytes = emits(&m);
            assert!(bytes.len() > 16);
        }
    }

    #[test]
    fn macvlan_modes_map_to_the_kernel_modes() {
        let r = Resolved {
            parent: Some(2),
            peer_ns_fd: None,
        };
        for (mode, want) in [
            (MacvlanMode::Vepa, "Vepa"),
            (MacvlanMode::Bridge, "Bridge"),
            (MacvlanMode::Private, "Private"),
            (MacvlanMode::Passthru, "Passthrough"),
        ] {
            let m = add_message(
                "mv",
                &LinkKind::Macvlan {
                    parent: "eth0".into(),
                    mode,
                    parent_in: crate::ops::ParentIn::Beside,
                },
                r,
            )
            .unwrap();
            assert_eq!(kind_of(&m), Some(InfoKind::MacVlan));
            assert!(format!("{:?}", data_of(&m)).contains(want), "{mode:?}");
        }
    }

    #[test]
    fn a_veth_peer_carries_its_namespace_fd() {
        let r = Resolved {
            parent: None,
            peer_ns_fd: Some(9),
        };
        let m = add_message(
            "eth0",
            &LinkKind::Veth {
                peer: "docker1".into(),
                peer_ns: Some("lan".into()),
            },
            r,
        )
        .unwrap();
        match data_of(&m) {
            Some(InfoData::Veth(InfoVeth::Peer(p))) => {
                assert!(
                    p.attributes
                        .contains(&LinkAttribute::IfName("docker1".into()))
                );
                assert!(p.attributes.contains(&LinkAttribute::NetNsFd(9)));
            }
            other => panic!("no veth peer: {other:?}"),
        }
    }

    #[test]
    fn vxlan_carries_vni_port_and_endpoints() {
        let v = Vxlan {
            vni: 42,
            port: None,
            local: Some("10.0.0.1".parse().unwrap()),
            remote: Some("10.0.0.2".parse().unwrap()),
            learning: Some(false),
            ..Default::default()
        };
        let m = add_message(
            "vx0",
            &LinkKind::Vxlan(Box::new(v)),
            Resolved {
                parent: Some(3),
                ..Default::default()
            },
        )
        .unwrap();
        let d = format!("{:?}", data_of(&m));
        for want in [
            "Id(42)",
            "Port(8472)",
            "Local(10.0.0.1)",
            "Group(10.0.0.2)",
            "Learning(false)",
            "Link(3)",
        ] {
            assert!(d.contains(want), "{want} missing from {d}");
        }
    }

    #[test]
    fn a_missing_kind_names_the_config_option() {
        let e = KernelError {
            errno: 95,
            text: Some("Unknown device type".into()),
        };
        let err = add_error(
            "ipvlan1",
            &LinkKind::Ipvlan {
                parent: "eth0".into(),
                mode: IpvlanMode::L3,
                parent_in: crate::ops::ParentIn::Beside,
            },
            &e,
        );
        assert!(
            err.message
                .contains("this kernel has no ipvlan support (CONFIG_IPVLAN)"),
            "{}",
            err.message
        );
        let err = add_error(
            "eth1.19",
            &LinkKind::Vlan {
                parent: "eth1".into(),
                id: 19,
                parent_in: crate::ops::ParentIn::Beside,
            },
            &e,
        );
        assert!(err.message.contains("(CONFIG_VLAN_8021Q)"));
        let exists = add_error("v", &LinkKind::Bridge, &KernelError::from_errno(17));
        assert!(exists.message.contains("File exists"));
        // a kernel that has 802.1Q refuses a VLAN on a device that cannot carry one
        let on_lo = add_error(
            "lo.5",
            &LinkKind::Vlan {
                parent: "lo".into(),
                id: 5,
                parent_in: crate::ops::ParentIn::Beside,
            },
            &KernelError {
                errno: 95,
                text: Some("8021q: VLANs not supported on device".into()),
            },
        );
        assert!(
            on_lo.message.contains("VLANs not supported on device")
                && !on_lo.message.contains("CONFIG_VLAN_8021Q"),
            "{}",
            on_lo.message
        );
    }

    #[test]
    fn link_set_carries_only_what_changes() {
        let c = LinkChange {
            up: Some(true),
            mtu: Some(1400),
            master: Some(Some("br0".into())),
            ..Default::default()
        };
        let m = set_message(Target::Index(5), &c, Some(3));
        assert_eq!(m.header.index, 5);
        assert!(
            m.header.flags.contains(LinkFlags::Up) && m.header.change_mask.contains(LinkFlags::Up)
        );
        assert!(m.attributes.contains(&LinkAttribute::Mtu(1400)));
        assert!(m.attributes.contains(&LinkAttribute::Controller(3)));
        let nomaster = set_message(
            Target::Name("eth0"),
            &LinkChange {
                master: Some(None),
                ..Default::default()
            },
            None,
        );
        assert!(nomaster.attributes.contains(&LinkAttribute::Controller(0)));
        assert!(
            nomaster
                .attributes
                .contains(&LinkAttribute::IfName("eth0".into()))
        );
        assert_eq!(nomaster.header.index, 0);
    }
}
