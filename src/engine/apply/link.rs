//! Applying link Ops: carrying each out, and recording how to undo it.

use crate::base::error::RunError;
use crate::engine::real::RealWorld;
use crate::engine::undo::{Applied, LinkState, Undo, kind_name, state_of};
use crate::netlink::{errors, links};
use crate::ops::{LinkChange, LinkKind, LinkOp, Ns, Op};
use crate::sys::tun;
use rtnetlink::packet_route::link::LinkAttribute;

impl RealWorld {
    pub(in crate::engine) fn link_state(
        &mut self,
        ns: &Ns,
        name: &str,
    ) -> Result<Option<LinkState>, RunError> {
        let nl = self.nl(ns)?;
        let kernel = |e| errors::kernel(format!("cannot look up link {name}"), &e);
        let Some(l) = self.rt.block_on(links::find(&nl, name)).map_err(kernel)? else {
            return Ok(None);
        };
        let mut st = state_of(&l);
        if let Some(i) = l.attributes.iter().find_map(|a| match a {
            LinkAttribute::Controller(i) => Some(*i),
            _ => None,
        }) {
            let all = self.rt.block_on(links::dump(&nl)).map_err(kernel)?;
            st.master = all
                .iter()
                .find(|m| m.header.index == i)
                .and_then(links::name_of)
                .map(str::to_string);
        }
        Ok(Some(st))
    }

    pub(in crate::engine) fn link_kind(&mut self, ns: &Ns, name: &str) -> Option<String> {
        let nl = self.nl(ns).ok()?;
        let l = self.rt.block_on(links::find(&nl, name)).ok()??;
        kind_name(&l)
    }

    /// After a `link add`: a created link is undone by deleting it; one that existed must be of
    /// the kind asked for.
    pub(in crate::engine) fn link_added(
        &mut self,
        ns: &Ns,
        name: &str,
        kind: &LinkKind,
        created: bool,
    ) -> Result<Applied, RunError> {
        if created {
            return Ok(Applied::changed(vec![Undo::Op(Op::Link(LinkOp::Del {
                ns: ns.clone(),
                name: name.into(),
            }))]));
        }
        let want = kind.kernel_kind().0;
        match self.link_kind(ns, name) {
            // the name is taken where the request went (the parent's namespace), not in `ns`
            None if kind.parent_elsewhere().is_some() => Err(RunError::new(format!(
                "cannot make link {name}: a link of that name is beside its parent {}",
                crate::netlink::links::parent_of(kind).unwrap_or_default()
            ))
            .help("rename or delete that link first")),
            Some(have) if have != want => Err(RunError::new(format!(
                "link {name} exists as a {have}, not a {want}"
            ))
            .help(format!(
                "delete it first (`link del {name}`), or give the new link another name"
            ))),
            _ => Ok(Applied::none()),
        }
    }

    pub(in crate::engine) fn link_set(
        &mut self,
        ns: &Ns,
        name: &str,
        change: &LinkChange,
        op: &Op,
    ) -> Result<Applied, RunError> {
        let Some(before) = self.link_state(ns, name)? else {
            // let the runtime say that it is missing, in its words
            self.dispatch(op)?;
            return Ok(Applied::none());
        };
        if unchanged(change, &before) {
            return Ok(Applied::none());
        }
        if takes_state(change) {
            // what the kernel drops with the change comes back from the state read around it
            let undo = self.with_inverse(op, vec![ns.clone()], None, |w| w.dispatch(op))?;
            return Ok(Applied::changed(undo));
        }
        self.dispatch(op)?;
        Ok(set_undo(ns, name, change, &before))
    }

    pub(in crate::engine) fn link_add(
        &mut self,
        ns: &Ns,
        name: &str,
        kind: &LinkKind,
    ) -> Result<(), RunError> {
        if *kind == LinkKind::Tun {
            return tun::add(ns.as_deref(), name);
        }
        self.link_add_request(ns, name, kind).map(drop)
    }

    /// Sends `ip link add` for a link of `kind` in `ns`: to `ns`, or, when its parent is in
    /// another namespace, to that one, placing the link in `ns`. Whether it made the link.
    fn link_add_request(&mut self, ns: &Ns, name: &str, kind: &LinkKind) -> Result<bool, RunError> {
        let strict = self.opts.strict;
        let (nl, into) = match kind.parent_elsewhere() {
            Some(home) => (self.nl(home)?, ns.as_deref()),
            None => (self.nl(ns)?, None),
        };
        self.rt.block_on(links::add(&nl, name, kind, into, strict))
    }

    /// Carries out a link Op, recording nothing (`record_link` records around it).
    pub(in crate::engine) fn dispatch_link(&mut self, op: &LinkOp) -> Result<(), RunError> {
        match op {
            LinkOp::Add { ns, name, kind } => self.link_add(ns, name, kind),
            LinkOp::Set { ns, name, change } => {
                let nl = self.nl(ns)?;
                let target = match &change.netns {
                    Some(t) => Some(self.nl(&Some(t.clone()))?),
                    None => None,
                };
                self.rt
                    .block_on(links::set(&nl, name, change, target.as_ref()))
            }
            LinkOp::Del { ns, name } => {
                let nl = self.nl(ns)?;
                self.rt.block_on(links::del(&nl, name))
            }
        }
    }

    /// Applies a link Op (`whole` is it as an Op) and says how to undo it.
    pub(in crate::engine) fn record_link(
        &mut self,
        whole: &Op,
        op: &LinkOp,
    ) -> Result<Applied, RunError> {
        match op {
            LinkOp::Add { ns, name, kind } => {
                let created = if *kind == LinkKind::Tun {
                    // a TUN device is made through /dev/net/tun, which does not say whether it existed
                    let existed = self.link_kind(ns, name).is_some();
                    if !existed {
                        crate::sys::tun::add(ns.as_deref(), name)?;
                    }
                    !existed
                } else {
                    self.link_add_request(ns, name, kind)?
                };
                self.link_added(ns, name, kind, created)
            }
            LinkOp::Set { ns, name, change } => self.link_set(ns, name, change, whole),
            LinkOp::Del { ns, .. } => {
                let spaces = self.reach(ns);
                self.deletion(whole, spaces, None)
            }
        }
    }
}

/// Whether a `link set` would leave the link as it is.
pub(in crate::engine) fn unchanged(change: &LinkChange, before: &LinkState) -> bool {
    change.netns.is_none()
        && change.rename.is_none()
        && change.up.is_none_or(|u| u == before.up)
        && change.mtu.is_none_or(|m| Some(m) == before.mtu)
        && change.address.is_none_or(|a| Some(a) == before.address)
        && change
            .master
            .as_ref()
            .is_none_or(|m| m.as_deref() == before.master.as_deref())
}

/// The undo steps of a `link set` that changed the link, from its settings read before.
pub(in crate::engine) fn set_undo(
    ns: &Ns,
    name: &str,
    change: &LinkChange,
    before: &LinkState,
) -> Applied {
    // where the link is now, and under which name
    let now_ns: Ns = change.netns.clone().or_else(|| ns.clone());
    let now_name = change.rename.clone().unwrap_or_else(|| name.into());
    let mut undo = Vec::new();
    let settings = LinkChange {
        up: change.up.map(|_| before.up),
        mtu: change.mtu.and(before.mtu),
        master: change
            .master
            .as_ref()
            .map(|_| before.master.as_deref().map(Into::into)),
        address: change.address.and(before.address),
        netns: None,
        rename: change.rename.as_ref().map(|_| name.into()),
    };
    // undone newest first: settings (and the name) back where the link is now, then the move
    match (&change.netns, ns) {
        (Some(_), Some(home)) => undo.push(Undo::Op(Op::Link(LinkOp::Set {
            ns: now_ns.clone(),
            name: name.into(),
            change: Box::new(LinkChange {
                netns: Some(home.clone()),
                ..LinkChange::default()
            }),
        }))),
        (Some(there), None) => undo.push(Undo::MoveHome {
            ns: there.to_string(),
            name: name.to_string(),
        }),
        _ => {}
    }
    if settings != LinkChange::default() {
        undo.push(Undo::Op(Op::Link(LinkOp::Set {
            ns: now_ns,
            name: now_name,
            change: Box::new(settings),
        })));
    }
    Applied::changed(undo)
}

/// Whether a `link set` takes other state with it: down (or an MTU below IPv6's minimum) drops the
/// link's IPv6 addresses, its routes and its permanent neighbours; leaving a bridge or a new
/// address drops the bridge's permanent entries. Its inverse is then read from the state around it.
pub(in crate::engine) fn takes_state(change: &LinkChange) -> bool {
    const IPV6_MIN_MTU: u32 = 1280;
    change.up == Some(false)
        || change.mtu.is_some_and(|m| m < IPV6_MIN_MTU)
        || change.master == Some(None)
        || change.address.is_some()
}
