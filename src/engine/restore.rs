//! Inverses read from the kernel's state: for an Op whose effect is not known from its arguments
//! alone (a `link del` takes the link's addresses, routes, peer and ports' membership with it; a
//! `netns del` takes a whole namespace; an overlay makes a device, addresses, routes and sysctls),
//! the namespaces it can touch are read as Ops before and after it (the `dump` machinery, dump.rs),
//! and the inverse is the difference: delete what appeared, rebuild what went, set back what
//! changed. What the dump cannot rebuild (a device of another kind, a veth whose peer is in a
//! namespace netsh cannot name) is reported as not undone.

use crate::base::error::RunError;
use crate::engine::dump::State;
use crate::engine::real::RealWorld;
use crate::engine::undo::Undo;
use crate::netlink::links;
use crate::ops::{AddrOp, LinkOp, NeighOp, NetnsOp, SysctlOp};
use crate::ops::{FdbAction, LinkChange, LinkKind, Ns, Op, RouteAction};
use crate::sys::netns;
use rtnetlink::packet_route::link::LinkAttribute;
use std::collections::HashSet;

/// The step that takes away what `op` built (see `Op::removal`).
pub(super) fn removal(op: &Op) -> Option<Undo> {
    op.removal().map(Undo::Op)
}

/// Whether a step takes something away (one whose object is gone already has nothing to do).
pub(super) fn is_removal(step: &Undo) -> bool {
    match step {
        Undo::Op(op) => matches!(
            op,
            Op::Link(LinkOp::Del { .. })
                | Op::Addr(AddrOp::Del { .. })
                | Op::Neigh(NeighOp::Del { .. })
                | Op::Neigh(NeighOp::ProxyDel { .. })
                | Op::Netns(NetnsOp::Del { .. })
                | Op::Route {
                    action: RouteAction::Del,
                    ..
                }
                | Op::Neigh(NeighOp::Fdb {
                    action: FdbAction::Del,
                    ..
                })
        ),
        _ => false,
    }
}

/// The settings that take a link from `now` back to `was` (both as `dump` writes them: `up` is
/// `Some(true)` or absent, `master` `Some(Some(..))` or absent).
fn settings_back(was: &LinkChange, now: &LinkChange) -> LinkChange {
    LinkChange {
        up: (was.up != now.up).then_some(was.up == Some(true)),
        mtu: if was.mtu != now.mtu { was.mtu } else { None },
        master: (was.master != now.master).then(|| was.master.clone().flatten()),
        address: if was.address != now.address {
            was.address
        } else {
            None
        },
        netns: None,
        rename: None,
    }
}

fn settings_of<'a>(state: &'a State, ns: &Ns, name: &str) -> Option<&'a LinkChange> {
    state.ops.iter().find_map(|op| {
        if let Op::Link(LinkOp::Set {
            ns: n,
            name: l,
            change,
        }) = op
            && n == ns
            && l == name
        {
            return Some(&**change);
        }
        None
    })
}

/// The links a state makes (a veth with its peer), by namespace and name.
fn made(state: &State) -> HashSet<(&Ns, &str)> {
    state
        .ops
        .iter()
        .filter_map(|op| {
            let Op::Link(LinkOp::Add { ns, name, kind }) = op else {
                return None;
            };
            Some(match kind {
                LinkKind::Veth { peer, peer_ns } => vec![
                    (ns, name.as_str()),
                    (if peer_ns.is_some() { peer_ns } else { ns }, peer.as_str()),
                ],
                _ => vec![(ns, name.as_str())],
            })
        })
        .flatten()
        .collect()
}

/// The steps, in the order to run them, that take the state `after` back to `before`: what
/// appeared is taken away (newest kind first; what sits on a link that appeared goes with it),
/// then what went is rebuilt and what changed is set back, in build order.
pub(super) fn inverse(before: &State, after: &State) -> Vec<Undo> {
    let (made_before, made_after) = (made(before), made(after));
    let appeared: HashSet<&(&Ns, &str)> = made_after
        .iter()
        .filter(|l| !made_before.contains(l))
        .collect();
    let on_new_link = |op: &Op| {
        !matches!(op, Op::Link(LinkOp::Add { .. }))
            && Op::link(op).is_some_and(|(ns, l)| appeared.contains(&(ns, l.as_str())))
    };
    let mut steps = Vec::new();
    for op in after.ops.iter().rev() {
        if before.ops.contains(op) || on_new_link(op) {
            continue;
        }
        match op {
            // a link that only now has settings (`lo` brought up): down again
            Op::Link(LinkOp::Set { ns, name, change })
                if settings_of(before, ns, name).is_none() =>
            {
                let back = settings_back(&LinkChange::default(), change);
                if back != LinkChange::default() {
                    steps.push(Undo::Op(Op::Link(LinkOp::Set {
                        ns: ns.clone(),
                        name: name.clone(),
                        change: Box::new(back),
                    })));
                }
            }
            Op::Link(LinkOp::Set { .. }) => {} // set back below
            // dump writes the sysctls that are not 0: one that appeared was 0
            Op::Sysctl(SysctlOp::Set { ns, key, .. }) => {
                let had = before.ops.iter().any(
                    |b| matches!(b, Op::Sysctl(SysctlOp::Set { ns: n, key: k, .. }) if n == ns && k == key),
                );
                if !had {
                    steps.push(Undo::Op(Op::Sysctl(SysctlOp::Set {
                        ns: ns.clone(),
                        key: key.clone(),
                        value: "0".into(),
                    })));
                }
            }
            other => steps.extend(removal(other)),
        }
    }
    // a link that went and that netsh cannot make (noted by the dump): nothing on it is rebuilt
    let unmade = |op: &Op| {
        Op::link(op).is_some_and(|(ns, l)| {
            let key = (ns, l.as_str());
            l != "lo"
                && !made_before.contains(&key)
                && !made_after.contains(&key)
                && settings_of(after, ns, &l).is_none()
        })
    };
    // links made again: one that is still there under its name is another link now (a veth
    // whose peer's namespace lives on, held by a process), which goes first; everything on a
    // link made again is set up again
    let remade: HashSet<&(&Ns, &str)> = made_before
        .iter()
        .filter(|l| !made_after.contains(l))
        .collect();
    let on_remade =
        |op: &Op| Op::link(op).is_some_and(|(ns, l)| remade.contains(&(ns, l.as_str())));
    for op in &before.ops {
        if (after.ops.contains(op) && !on_remade(op)) || unmade(op) {
            continue;
        }
        match op {
            Op::Link(LinkOp::Add { ns, name, .. }) if settings_of(after, ns, name).is_some() => {
                steps.extend(removal(op));
                steps.push(Undo::Op(op.clone()));
            }
            Op::Link(LinkOp::Set { ns, name, change }) if !on_remade(op) => {
                match settings_of(after, ns, name) {
                    Some(now) => {
                        let back = settings_back(change, now);
                        if back != LinkChange::default() {
                            steps.push(Undo::Op(Op::Link(LinkOp::Set {
                                ns: ns.clone(),
                                name: name.clone(),
                                change: Box::new(back),
                            })));
                        }
                    }
                    None => steps.push(Undo::Op(op.clone())),
                }
            }
            _ => steps.push(Undo::Op(op.clone())),
        }
    }
    steps
}

impl RealWorld {
    /// The namespaces a deletion in `ns` can reach: `ns` alone, or, when one of its links has a
    /// peer elsewhere (a veth), this namespace and every named one, so the peer is seen too.
    pub(super) fn reach(&mut self, ns: &Ns) -> Vec<Ns> {
        let crosses = self
            .nl(ns)
            .ok()
            .and_then(|nl| self.rt.block_on(links::dump(&nl)).ok())
            .is_some_and(|all| {
                all.iter().any(|l| {
                    l.attributes
                        .iter()
                        .any(|a| matches!(a, LinkAttribute::LinkNetNsId(_)))
                })
            });
        if !crosses {
            return vec![ns.clone()];
        }
        let mut all = vec![None];
        all.extend(netns::list().into_iter().map(|n| Some(n.into())));
        all
    }

    /// The state after an Op. A deleted namespace is torn down by the kernel a moment later (its
    /// veths' other ends go then); until it is, those ends show as veths whose peer is nowhere,
    /// so the state is read again until no such note is new (for at most 2 s; a namespace a
    /// process still holds lives on).
    pub(super) fn settled(&mut self, before: &State, spaces: Vec<Ns>) -> Result<State, RunError> {
        for _ in 0..20 {
            let after = self.state(spaces.clone())?;
            if after.notes.iter().all(|n| before.notes.contains(n)) {
                return Ok(after);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        self.state(spaces)
    }

    /// Applies `op` (through `apply`, which does it) between two reads of `spaces`, and returns
    /// the steps that undo it: a rebuild (`lead` first, a `netns add` for a deleted namespace,
    /// then the difference), and what cannot be rebuilt, in words. Empty: nothing to undo.
    pub(super) fn with_inverse(
        &mut self,
        op: &Op,
        spaces: Vec<Ns>,
        lead: Option<Op>,
        apply: impl FnOnce(&mut RealWorld) -> Result<(), RunError>,
    ) -> Result<Vec<Undo>, RunError> {
        let before = match self.state(spaces.clone()) {
            Ok(s) => s,
            Err(e) => {
                // the Op says why it cannot be done (a missing namespace) in its own words
                apply(self)?;
                return Ok(vec![Undo::Kept(format!(
                    "{op} (its state could not be read first: {})",
                    e.message
                ))]);
            }
        };
        apply(self)?;
        let after = match self.settled(&before, spaces) {
            Ok(s) => s,
            Err(e) => {
                return Ok(vec![Undo::Kept(format!(
                    "{op} (its state could not be read after it: {})",
                    e.message
                ))]);
            }
        };
        let mut steps: Vec<Undo> = lead.into_iter().map(Undo::Op).collect();
        steps.extend(inverse(&before, &after));
        // what the dump could not rebuild is reported; steps run newest first, so it comes last
        let mut undo: Vec<Undo> = before
            .notes
            .iter()
            .filter(|n| !after.notes.contains(n))
            .map(|n| Undo::Kept(format!("{op}: {n}")))
            .collect();
        if !steps.is_empty() {
            undo.push(Undo::Restore {
                what: op.to_string(),
                steps,
            });
        }
        Ok(undo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::Route;

    fn ns(n: &str) -> Ns {
        Some(n.into())
    }

    fn set(name: &str, change: LinkChange) -> Op {
        Op::Link(LinkOp::Set {
            ns: ns("n1"),
            name: name.into(),
            change: Box::new(change),
        })
    }

    fn up_in(master: Option<&str>) -> LinkChange {
        LinkChange {
            up: Some(true),
            mtu: Some(1500),
            master: master.map(|m| Some(m.into())),
            ..LinkChange::default()
        }
    }

    fn addr(dev: &str, a: &str) -> Op {
        Op::Addr(AddrOp::Add {
            ns: ns("n1"),
            dev: dev.into(),
            addr: a.parse().unwrap(),
            nodad: false,
        })
    }

    fn veth() -> Op {
        Op::Link(LinkOp::Add {
            ns: ns("n1"),
            name: "v1".into(),
            kind: LinkKind::Veth {
                peer: "v2".into(),
                peer_ns: None,
            },
        })
    }

    #[test]
    fn a_deleted_port_is_rebuilt_with_its_settings_and_addresses_after_its_link() {
        let bridge = Op::Link(LinkOp::Add {
            ns: ns("n1"),
            name: "br0".into(),
            kind: LinkKind::Bridge,
        });
        let before = State {
            ops: vec![
                bridge.clone(),
                veth(),
                set("br0", up_in(None)),
                set("v1", up_in(Some("br0"))),
                set("v2", up_in(None)),
                addr("v2", "10.0.0.2/24"),
            ],
            notes: vec![],
        };
        let after = State {
            ops: vec![bridge, set("br0", up_in(None))],
            notes: vec![],
        };
        let steps = inverse(&before, &after);
        let ops: Vec<&Op> = steps
            .iter()
            .map(|s| match s {
                Undo::Op(op) => op,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(ops[0], &veth());
        assert_eq!(ops[1], &set("v1", up_in(Some("br0"))));
        assert_eq!(ops[3], &addr("v2", "10.0.0.2/24"));
        assert_eq!(ops.len(), 4);
    }

    #[test]
    fn what_appeared_is_taken_away_and_what_changed_is_set_back() {
        let vx = Op::Link(LinkOp::Add {
            ns: ns("n1"),
            name: "flannel.1".into(),
            kind: LinkKind::Vxlan(Box::default()),
        });
        let route = |dev: &str| Op::Route {
            ns: ns("n1"),
            action: RouteAction::Add,
            route: Box::new(Route {
                dest: crate::ops::Dest::Net("10.5.0.0/16".parse().unwrap()),
                via: None,
                dev: Some(dev.into()),
                onlink: false,
                metric: None,
                table: None,
                src: None,
            }),
        };
        let forward = Op::Sysctl(SysctlOp::Set {
            ns: ns("n1"),
            key: "net.ipv4.ip_forward".into(),
            value: "1".into(),
        });
        let before = State {
            ops: vec![set("eth0", up_in(Some("br9")))],
            notes: vec!["x: kept".into()],
        };
        let after = State {
            ops: vec![
                vx,
                set("eth0", up_in(None)),
                set("flannel.1", up_in(None)),
                forward,
                addr("flannel.1", "10.5.1.0/32"),
                route("flannel.1"),
                route("eth0"),
            ],
            notes: vec!["x: kept".into()],
        };
        let text: Vec<String> = inverse(&before, &after)
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            text,
            [
                "ip -n n1 route del 10.5.0.0/16 dev eth0",
                "ip netns exec n1 sysctl -w net.ipv4.ip_forward=0",
                "ip -n n1 link del flannel.1",
                "ip -n n1 link set eth0 master br9",
            ]
        );
    }

    #[test]
    fn a_veth_that_appeared_takes_its_peer_and_what_is_on_both() {
        let after = State {
            ops: vec![veth(), addr("v2", "10.0.0.2/24")],
            notes: vec![],
        };
        let steps = inverse(&State::default(), &after);
        assert_eq!(steps.len(), 1);
        assert!(is_removal(&steps[0]));
    }

    #[test]
    fn per_link_sysctls_belong_to_their_link() {
        let op = Op::Sysctl(SysctlOp::Set {
            ns: None,
            key: "net.ipv6.conf.eth1/19.proxy_ndp".into(),
            value: "1".into(),
        });
        assert_eq!(Op::link(&op).map(|(_, l)| l), Some("eth1.19".to_string()));
        let all = Op::Sysctl(SysctlOp::Set {
            ns: None,
            key: "net.ipv6.conf.all.forwarding".into(),
            value: "1".into(),
        });
        assert_eq!(Op::link(&all), None);
    }
}
