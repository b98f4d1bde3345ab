//! Transactions: every Op a real run applies goes through `RealWorld::tracked`, which tells whether the
//! kernel changed (an `add` of what exists is no change: that is what makes re-runs report
//! "0 changes") and records the Op's inverse, read from the kernel before the Op ran. A rollback runs
//! the inverses newest first. A deletion (and an overlay) is undone from the kernel's state read
//! before and after it (restore.rs); store keys, leases, overlays and Docker networks by their
//! runtimes (flannel.rs, docker/).

use crate::base::error::{Kind, RunError};
use crate::engine::real::RealWorld;
use crate::engine::restore;
use crate::interp::world::Rollback;
use crate::netlink::errors;
use crate::netlink::handle::{CHANGE, Netlink};
use crate::netlink::links;
use crate::netlink::routes;
use crate::ops::{Dest, Family, Ns, Op, Route};
use crate::sys::signals;
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::link::{InfoKind, LinkAttribute, LinkInfo, LinkMessage};
use rtnetlink::packet_route::route::{RouteAttribute, RouteFlags, RouteMessage};
use std::collections::HashMap;

/// How to undo one applied change.
#[derive(Debug, Clone)]
pub enum Undo {
    /// Apply this Op (a delete for an add, the old value for a set).
    Op(Op),
    /// Move a link back into the namespace netsh started in.
    MoveHome { ns: String, name: String },
    /// A service (a thread of this process): it stops when netsh exits after the rollback.
    Service(String),
    /// A change with no inverse, in words.
    Kept(String),
    /// Rebuild what an Op (`what`) took or changed: these steps, in order.
    Restore { what: String, steps: Vec<Undo> },
    /// Put a store key back: delete it (`old` is `None`: the run created it) or set its old value.
    StoreKey {
        key: String,
        old: Option<crate::store::KeyValue>,
    },
    /// Give back a lease the run took, and put back what taking it replaced.
    Lease {
        host: Ns,
        subnet: String,
        before: Box<crate::engine::flannel_runtime::LeaseBefore>,
    },
    /// Stop a host's overlay service (it withdraws what it installed for the other hosts).
    OverlayStop { host: Ns },
    /// Forget a Docker network the run created (`back: false`), or bring back one it removed.
    Network { host: Ns, name: String, back: bool },
    /// Put a container whose namespace was deleted back on its networks, with its addresses.
    Rejoin {
        container: String,
        was: Vec<crate::docker::Membership>,
    },
}

impl Undo {
    /// Whether the step only takes back network-namespace state (links, addresses, routes,
    /// neighbours, sysctls, namespaces) or a thread of this process: what a `--sandbox` takes
    /// with it when it ends. Store keys, leases, networks and files outlive it.
    fn ends_with_the_sandbox(&self) -> bool {
        match self {
            Undo::Op(op) => matches!(
                op,
                Op::Netns(_)
                    | Op::Link(_)
                    | Op::Addr(_)
                    | Op::Route { .. }
                    | Op::Neigh(_)
                    | Op::Sysctl(_)
            ),
            Undo::MoveHome { .. } | Undo::Service(_) | Undo::OverlayStop { .. } => true,
            Undo::Restore { steps, .. } => steps.iter().all(Undo::ends_with_the_sandbox),
            Undo::Kept(_)
            | Undo::StoreKey { .. }
            | Undo::Lease { .. }
            | Undo::Network { .. }
            | Undo::Rejoin { .. } => false,
        }
    }
}

impl std::fmt::Display for Undo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Undo {
    /// Whether the step takes back only what lives in this process (a service thread, the run's
    /// registry of Docker networks): `netsh down`, another process, has nothing to do for it, so
    /// the journal gets no line.
    fn of_this_process(&self) -> bool {
        matches!(
            self,
            Undo::Service(_) | Undo::Network { .. } | Undo::Rejoin { .. }
        )
    }

    /// The step as a journal line: a statement, or a comment when the language has none for it.
    pub(super) fn line(&self) -> String {
        match self {
            Undo::Op(op) => crate::ops::script::statement(op)
                .unwrap_or_else(|| format!("# cannot replay: {op}")),
            Undo::Kept(what) => format!("# cannot be undone: {}", what.replace('\n', " ")),
            // `down` runs lines newest first: the rebuild's last step goes first
            Undo::Restore { steps, .. } => steps
                .iter()
                .rev()
                .map(Undo::line)
                .collect::<Vec<_>>()
                .join("\n"),
            other => format!("# cannot replay: {}", other.describe()),
        }
    }

    pub(super) fn describe(&self) -> String {
        match self {
            Undo::Op(op) => op.to_string(),
            Undo::MoveHome { ns, name } => format!("ip -n {ns} link set {name} netns 1"),
            Undo::Service(what) | Undo::Kept(what) => what.clone(),
            Undo::Restore { what, steps } => {
                let steps: Vec<String> = steps.iter().map(Undo::describe).collect();
                format!("{what}, reversed: {}", steps.join("; "))
            }
            Undo::StoreKey { key, old: None } => format!("etcdctl del {key}"),
            Undo::StoreKey { key, old: Some(kv) } => format!(
                "etcdctl put {key} {}",
                crate::ops::shell_quote(&String::from_utf8_lossy(&kv.value))
            ),
            // a lease found in place stays; only subnet.env goes back
            Undo::Lease { host, before, .. } if before.kept() => {
                format!("put back subnet.env of {}", host_words(host))
            }
            Undo::Lease { host, subnet, .. } => {
                format!("released the lease on {subnet} of {}", host_words(host))
            }
            Undo::OverlayStop { host } => format!("stopped the overlay of {}", host_words(host)),
            Undo::Rejoin { container, was } => {
                let on: Vec<&str> = was.iter().map(|m| m.network.as_str()).collect();
                format!("container {container} back on {}", on.join(", "))
            }
            Undo::Network { host, name, back } => format!(
                "{} Docker network {name}{}",
                if *back { "brought back" } else { "forgot" },
                host.as_deref()
                    .map(|h| format!(" on {h}"))
                    .unwrap_or_default()
            ),
        }
    }
}

fn host_words(host: &Ns) -> String {
    host.clone()
        .unwrap_or_else(|| "this host".into())
        .to_string()
}

/// The undo steps of a run, oldest first, and how many Ops changed the kernel. A step is marked
/// when it is the first of an Op that counted as a change, so a rollback can take the change back
/// off the count.
#[derive(Debug, Default)]
pub struct UndoLog {
    pub steps: Vec<(Undo, bool)>,
    pub changes: usize,
    /// The steps on disk, for `netsh down` (a script file's real run).
    pub file: Option<crate::engine::journal::Journal>,
}

impl UndoLog {
    /// The journal's lines of these steps (see `Undo::of_this_process` for those without one).
    fn lines(steps: &[(Undo, bool)]) -> Vec<String> {
        steps
            .iter()
            .filter(|(u, _)| !u.of_this_process())
            .map(|(u, _)| u.line())
            .collect()
    }
}

/// The result of applying one Op: did the kernel change, and how to undo it.
pub(super) struct Applied {
    pub(super) changed: bool,
    pub(super) undo: Vec<Undo>,
    /// The undo steps are in the journal already (`RealWorld::intend` wrote them ahead).
    pub(super) journaled: bool,
}

impl Applied {
    pub(super) fn none() -> Applied {
        Applied {
            changed: false,
            undo: Vec::new(),
            journaled: false,
        }
    }
    pub(super) fn changed(undo: Vec<Undo>) -> Applied {
        Applied {
            changed: true,
            undo,
            journaled: false,
        }
    }
    /// A change whose undo steps `RealWorld::intend` journaled before it was made.
    pub(super) fn intended(undo: Vec<Undo>) -> Applied {
        Applied {
            changed: true,
            undo,
            journaled: true,
        }
    }
    /// A change that `op` made by adding one object, undone by taking it away.
    pub(super) fn removed_by(op: &Op) -> Applied {
        Applied::changed(restore::removal(op).into_iter().collect())
    }
}

/// A link's settings that `link set` can change, read before the change.
pub(super) struct LinkState {
    pub(super) up: bool,
    pub(super) mtu: Option<u32>,
    pub(super) master: Option<String>,
    pub(super) address: Option<[u8; 6]>,
}

/// A link's settings from its message; the master's name, which needs a lookup, is left out.
pub(super) fn state_of(l: &LinkMessage) -> LinkState {
    let mut st = LinkState {
        up: links::is_up(l),
        mtu: None,
        master: None,
        address: None,
    };
    for a in &l.attributes {
        match a {
            LinkAttribute::Mtu(m) => st.mtu = Some(*m),
            LinkAttribute::Address(b) if b.len() == 6 => {
                let mut mac = [0u8; 6];
                mac.copy_from_slice(b);
                st.address = Some(mac);
            }
            _ => {}
        }
    }
    st
}

/// A link's settings from a link message read by hand (pipeline.rs); the master is left out.
pub(super) fn state_of_brief(l: &crate::netlink::link_reply::LinkBrief) -> LinkState {
    LinkState {
        up: l.up,
        mtu: l.mtu,
        master: None,
        address: l.address,
    }
}

pub(super) fn kind_name(l: &LinkMessage) -> Option<String> {
    l.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
            LinkInfo::Kind(k) => Some(match k {
                InfoKind::Other(s) => s.clone(),
                k => k.to_string(),
            }),
            _ => None,
        }),
        _ => None,
    })
}

/// The destination as `routes::dest_of` prints it, to find the kernel's route for a statement's.
pub(super) fn dest_text(d: &Dest) -> String {
    match d {
        Dest::Default(_) => "default".into(),
        Dest::Net(n) if n.prefix_len() == n.max_prefix_len() => n.addr().to_string(),
        Dest::Net(n) => n.trunc().to_string(),
    }
}

/// A kernel route as a statement's Route (names for interface indexes).
pub(super) fn route_of(m: &RouteMessage, names: &HashMap<u32, String>, fam: Family) -> Route {
    let mut r = Route {
        dest: Dest::Default(fam),
        via: None,
        dev: None,
        onlink: m.header.flags.contains(RouteFlags::Onlink),
        metric: None,
        table: None,
        src: None,
    };
    let table = routes::table_of(m);
    if table != 254 {
        r.table = Some(table);
    }
    for a in &m.attributes {
        match a {
            RouteAttribute::Destination(d) => {
                if let Some(ip) = routes::addr_of(d)
                    && let Ok(n) = ipnet::IpNet::new(ip, m.header.destination_prefix_length)
                {
                    r.dest = Dest::Net(n);
                }
            }
            RouteAttribute::Gateway(g) => r.via = routes::addr_of(g),
            RouteAttribute::Oif(i) => r.dev = names.get(i).map(|n| n.as_str().into()),
            RouteAttribute::Priority(p) => r.metric = Some(*p),
            RouteAttribute::PrefSource(s) => r.src = routes::addr_of(s),
            _ => {}
        }
    }
    r
}

impl RealWorld {
    /// Applies one Op and records its inverse (see the module's comment). An Op that needs no
    /// answer before the next one goes out is pipelined (pipeline.rs); any other waits for what is
    /// in flight first.
    pub(super) fn tracked(&mut self, op: &Op) -> Result<(), RunError> {
        signals::check()?;
        if op.creates_object() {
            self.created += 1;
            if self.created > self.opts.max_objects {
                return Err(RunError::of(
                    Kind::Usage,
                    format!(
                        "this run would create more than {} namespaces and links",
                        self.opts.max_objects
                    ),
                )
                .with_code(crate::base::diag::Code::TooLarge)
                .help("each costs kernel memory; `--max-objects N` raises the limit"));
            }
        }
        // the parts of a composite Op (a container, docker0) are not pipelined: its code handles
        // their errors as they come
        if self.depth == 0
            && let Some(r) = self.pipelined(op)
        {
            return r;
        }
        self.settle_flights()?;
        if !crate::netlink::ifindex::keeps_names(op) {
            self.handles.forget_names();
        }
        self.depth += 1;
        let applied = self.apply_recording(op);
        self.depth -= 1;
        self.record(applied?);
        Ok(())
    }

    /// Counts an applied Op's change and keeps its undo steps (in memory and in the file).
    pub(super) fn record(&mut self, applied: Applied) {
        self.record_all(vec![applied]);
    }

    /// `record` for several Ops (a window of pipelined requests), in one write to the file.
    pub(super) fn record_all(&mut self, all: Vec<Applied>) {
        let mut lines = Vec::new();
        for applied in all {
            if applied.changed {
                self.undo.changes += 1;
            }
            let mut first = applied.changed;
            for step in applied.undo {
                // the journal holds the undo of changes: an Op that changed nothing (an `exec`,
                // whose effects netsh cannot see, or a re-run's) writes no line
                if self.undo.file.is_some()
                    && applied.changed
                    && !applied.journaled
                    && !step.of_this_process()
                {
                    lines.push(step.line());
                }
                self.undo.steps.push((step, first));
                first = false;
            }
        }
        if let Some(f) = &mut self.undo.file
            && !lines.is_empty()
        {
            f.append(&lines);
        }
    }

    /// Journals `steps` before the change they undo is made, so that a run killed in between
    /// leaves them for `netsh down` (which counts a step whose object never came as done). The
    /// change then returns `Applied::intended`, or, when it made nothing, `retract` takes them out.
    pub(super) fn intend(&mut self, steps: &[Undo]) {
        if let Some(f) = &mut self.undo.file {
            f.append(&steps.iter().map(Undo::line).collect::<Vec<_>>());
        }
    }

    /// Takes out what `intend` wrote for a change that was not made.
    pub(super) fn retract(&mut self) {
        if let Some(f) = &mut self.undo.file {
            f.rewrite(&UndoLog::lines(&self.undo.steps));
        }
    }

    pub(super) fn apply_recording(&mut self, op: &Op) -> Result<Applied, RunError> {
        let _strict = self.opts.strict;
        match op {
            Op::Netns(family) => self.record_netns(op, family),
            Op::Link(family) => self.record_link(op, family),
            Op::Addr(family) => self.record_addr(op, family),
            Op::Route { ns, action, route } => self.record_route(ns, *action, route),
            Op::Neigh(family) => self.record_neigh(op, family),
            Op::Sysctl(family) => self.record_sysctl(op, family),
            Op::Flannel(family) => self.record_flannel(op, family),
            Op::Docker(family) => self.record_docker(op, family),
            Op::Service(family) => self.record_service(op, family),
            Op::Probe(family) => self.record_probe(op, family),
        }
    }

    /// A deletion: undone by rebuilding what it took (restore.rs).
    pub(super) fn deletion(
        &mut self,
        op: &Op,
        spaces: Vec<Ns>,
        lead: Option<Op>,
    ) -> Result<Applied, RunError> {
        let mut undo = self.with_inverse(op, spaces, lead, |w| w.dispatch(op))?;
        if undo.is_empty() {
            undo.push(Undo::Kept(format!(
                "{op}: what it removed is not state netsh rebuilds (a learned entry comes back by itself)"
            )));
        }
        Ok(Applied::changed(undo))
    }

    /// Runs the undo steps recorded since `mark`, newest first, and forgets them. The journal
    /// loses them once they ran (a run killed during its rollback leaves them all for `down`),
    /// but keeps those that failed, for `down` to finish.
    pub(super) fn undo_since(&mut self, mark: usize) -> Rollback {
        let steps: Vec<(Undo, bool)> = self
            .undo
            .steps
            .drain(mark.min(self.undo.steps.len())..)
            .collect();
        let mut unfinished: Vec<String> = Vec::new();
        let mut report = Rollback::default();
        // a rollback converges: what is there already is no error, even under --strict
        let strict = std::mem::replace(&mut self.opts.strict, false);
        for (step, counted) in steps.into_iter().rev() {
            if counted {
                self.undo.changes = self.undo.changes.saturating_sub(1);
                report.changes += 1;
            }
            let what = step.describe();
            if !step.ends_with_the_sandbox() {
                report.lasting.push(what.clone());
            }
            if let Undo::Kept(_) = step {
                report.kept.push(what);
                continue;
            }
            match self.run_step(&step) {
                Ok(()) => report.undone.push(what),
                // already gone with its namespace or its link: nothing is left to undo
                Err(e) if e.is(Kind::Gone) && !matches!(step, Undo::Restore { .. }) => {
                    report.undone.push(what)
                }
                Err(e) => {
                    report.failed.push(format!("{what}: {}", e.message));
                    unfinished.push(step.line());
                }
            }
        }
        self.opts.strict = strict;
        if let Some(f) = &mut self.undo.file {
            let mut keep = UndoLog::lines(&self.undo.steps);
            // oldest first, as they were written
            keep.extend(unfinished.into_iter().rev());
            f.rewrite(&keep);
        }
        report
    }

    /// Runs one undo step.
    pub(super) fn run_step(&mut self, step: &Undo) -> Result<(), RunError> {
        // undo steps delete and move links: the indexes learned may be gone
        self.handles.forget_names();
        match step {
            Undo::Kept(_) | Undo::Service(_) => Ok(()),
            Undo::Op(op) => self.dispatch(op),
            Undo::MoveHome { ns, name } => self.move_home(ns, name),
            Undo::Restore { steps, .. } => self.rebuild(steps),
            Undo::StoreKey { key, old } => self.flannel()?.restore_key(key, old.as_ref()),
            Undo::Lease { host, before, .. } => self.flannel()?.unlease(host, before),
            Undo::OverlayStop { host } => self.flannel()?.stop_overlay(host),
            Undo::Network { host, name, back } => self.network_undo(host, name, *back),
            Undo::Rejoin { container, was } => self.rejoin(container, was),
        }
    }

    /// Runs the steps of a rebuild, all of them, and says which failed. Taking away what is
    /// gone already is no failure.
    pub(super) fn rebuild(&mut self, steps: &[Undo]) -> Result<(), RunError> {
        let mut failed = Vec::new();
        for s in steps {
            match self.run_step(s) {
                Ok(()) => {}
                Err(e) if restore::is_removal(s) && e.is(Kind::Gone) => {}
                Err(e) => failed.push(format!("{s}: {}", e.message)),
            }
        }
        if failed.is_empty() {
            Ok(())
        } else {
            Err(RunError::new(failed.join("; ")))
        }
    }

    pub(super) fn move_home(&mut self, ns: &str, name: &str) -> Result<(), RunError> {
        let nl: Netlink = self.nl(&Some(ns.into()))?;
        // /proc/self is the main thread, which never leaves the namespace netsh started in
        let home = std::fs::File::open("/proc/self/ns/net")
            .map_err(|e| RunError::os("cannot open this namespace", &e))?;
        self.rt.block_on(async {
            use std::os::fd::AsRawFd;
            let idx = links::index(&nl, name).await?;
            nl.ack(
                RouteNetlinkMessage::SetLink(links::move_message(idx, home.as_raw_fd())),
                CHANGE,
            )
            .await
            .map_err(|e| errors::kernel(format!("cannot move link {name} back"), &e))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{LinkOp, NeighOp, RouteAction};

    #[test]
    fn a_route_read_back_from_its_message_is_the_route_that_made_it() {
        let names: HashMap<u32, String> = [(4, "eth0".to_string())].into();
        let r = Route {
            dest: Dest::Net("10.100.0.0/16".parse().unwrap()),
            via: Some("10.10.10.1".parse().unwrap()),
            dev: Some("eth0".into()),
            onlink: true,
            metric: Some(50),
            table: Some(1000),
            src: Some("10.10.10.5".parse().unwrap()),
        };
        let m = routes::message(&r, RouteAction::Add, Some(4));
        assert_eq!(route_of(&m, &names, Family::V4), r);
        let d = Route {
            dest: Dest::Default(Family::V6),
            via: Some("2001:db8::1".parse().unwrap()),
            dev: None,
            onlink: false,
            metric: None,
            table: None,
            src: None,
        };
        let m = routes::message(&d, RouteAction::Add, None);
        assert_eq!(route_of(&m, &names, Family::V6), d);
    }

    #[test]
    fn destinations_are_written_as_the_kernel_dump_writes_them() {
        assert_eq!(dest_text(&Dest::Default(Family::V4)), "default");
        assert_eq!(
            dest_text(&Dest::Net("10.1.2.3/16".parse().unwrap())),
            "10.1.0.0/16"
        );
        assert_eq!(
            dest_text(&Dest::Net("10.1.2.3/32".parse().unwrap())),
            "10.1.2.3"
        );
    }

    #[test]
    fn only_missing_objects_count_as_already_undone() {
        use crate::netlink::errors::{KernelError, kernel};
        assert!(links::missing("v1").is(Kind::Gone));
        let esrch = KernelError::from_errno(libc::ESRCH);
        assert!(kernel("cannot delete route", &esrch).is(Kind::Gone));
        let eperm = KernelError::from_errno(libc::EPERM);
        assert!(!kernel("cannot add address", &eperm).is(Kind::Gone));
    }

    #[test]
    fn journal_lines_are_statements_or_comments() {
        let del = Undo::Op(Op::Link(LinkOp::Del {
            ns: Some("n1".into()),
            name: "v1".into(),
        }));
        assert_eq!(del.line(), "link del v1 in n1");
        assert!(
            Undo::Kept("whatever `x` changed".into())
                .line()
                .starts_with('#')
        );
        // a proxy entry's removal is a statement too, so `netsh down` can replay it
        let proxy = restore::removal(&Op::Neigh(NeighOp::ProxyAdd {
            ns: None,
            addr: "2001:db8::5".parse().unwrap(),
            dev: "br0".into(),
        }))
        .expect("a proxy entry is taken away");
        assert_eq!(proxy.line(), "neigh del 2001:db8::5 dev br0 proxy");
    }
}
