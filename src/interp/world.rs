//! The world the interpreter acts on. A real run applies Ops to the kernel and the store (the
//! runtime); a dry run prints them as commands and keeps a model of what the script made, so that
//! `if exists link ...` after creating the link sees it.

use crate::base::error::RunError;
use crate::ops::{
    AddrOp, DockerOp, FlannelOp, LinkOp, NeighOp, NetnsOp, ProbeOp, ServiceOp, SysctlOp,
};
use crate::ops::{ObjectKind, Op};
use ipnet::IpNet;
use rustc_hash::{FxHashSet, FxHasher};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::net::IpAddr;

pub trait World {
    /// Carries out one Op (a dry run prints it).
    fn apply(&mut self, op: &Op) -> Result<(), RunError>;
    /// The statement whose Ops follow: a world that answers late (pipelining) blames its errors
    /// on it.
    fn statement(&mut self, _at: crate::base::source::Span) {}
    /// An error when the run was asked to stop (a real run's SIGINT or SIGTERM), looked at after
    /// each statement: a signal during a script's last statement stops that statement too.
    fn stop_requested(&mut self) -> Result<(), RunError> {
        Ok(())
    }
    /// Waits for every answer still due; the first failure, with its statement.
    fn settle(&mut self) -> Result<(), RunError> {
        Ok(())
    }
    /// `exists link|netns|addr|route TARGET [in NS]`
    fn exists(
        &mut self,
        kind: ObjectKind,
        target: &str,
        ns: Option<&str>,
    ) -> Result<bool, RunError>;
    /// Runs a program and returns what it printed (`let out = exec ...`).
    fn capture(&mut self, ns: Option<&str>, argv: &[String]) -> Result<String, RunError>;
    /// Prints text for the user (help, echo in a real run).
    fn say(&mut self, text: &str);
    /// A dry run: checks are shown, not made.
    fn is_dry(&self) -> bool;
    /// Names of live interfaces and namespaces, for REPL completion.
    fn names(&mut self) -> Vec<String> {
        Vec::new()
    }
    /// Names of the live interfaces of namespace `ns` (`None`: the one netsh started in), for
    /// completion after `dev`.
    fn links(&mut self, _ns: Option<&str>) -> Vec<String> {
        Vec::new()
    }
    /// Names of the live namespaces, for completion after `in` and `from`.
    fn namespaces(&mut self) -> Vec<String> {
        Vec::new()
    }
    /// A point to roll back to: how many undo steps are recorded so far.
    fn mark(&self) -> usize {
        0
    }
    /// Undoes, newest first, what was applied since `mark` (a world that records nothing: `None`).
    fn rollback(&mut self, _mark: usize) -> Option<Rollback> {
        None
    }
    /// The script has ended (or failed, before its rollback): what records while it runs
    /// (`capture`) stops, and its files are complete.
    fn end_recordings(&mut self) {}
    /// How many Ops changed something (an `add` of what existed is not a change); `None` when the
    /// world cannot tell (a dry run).
    fn changes(&self) -> Option<usize> {
        None
    }
}

/// What a rollback did: the undo steps that ran, those that failed, and changes that cannot be undone.
#[derive(Debug, Default, Clone)]
pub struct Rollback {
    /// The changes taken back (a change can take several steps; a service stopping is none).
    pub changes: usize,
    pub undone: Vec<String>,
    pub failed: Vec<String>,
    pub kept: Vec<String>,
    /// The steps (of all three lists) that reach beyond the network namespaces: store keys,
    /// leases, networks, files. Only these are worth listing when a `--sandbox` ends.
    pub lasting: Vec<String>,
}

impl Rollback {
    /// The fields of its `rollback` record (docs/JSON.md): every step undone, not undone, and that
    /// cannot be undone; `lasting` names those that reach beyond a sandbox's namespaces;
    /// `transaction` is a failed `transaction { }` block's rollback (the run goes on to fail).
    pub fn record(&self, sandbox: bool, transaction: bool) -> serde_json::Value {
        serde_json::json!({
            "count": self.changes,
            "undone": self.undone,
            "failed": self.failed,
            "kept": self.kept,
            "sandbox": sandbox,
            "lasting": self.lasting,
            "transaction": transaction,
        })
    }

    /// One paragraph for the user: the count, then each step; `None` when there was nothing to
    /// roll back.
    pub fn summary(&self) -> Option<String> {
        self.summary_of(|_| true)
    }

    /// The summary of the rollback that ends a `--sandbox` run: the namespaces go with the
    /// sandbox, so only the steps that outlive it are listed.
    pub fn sandbox_summary(&self) -> Option<String> {
        let mut s = self.summary_of(|step| self.lasting.iter().any(|l| l == step))?;
        let inside = self
            .undone
            .iter()
            .filter(|u| !self.lasting.contains(u))
            .count();
        if inside > 0 {
            let note = if inside == self.undone.len() {
                " (all in the sandbox's namespaces, which end with it)".to_string()
            } else {
                format!(" ({inside} in the sandbox's namespaces, which end with it)")
            };
            // after the first line, the count
            s.insert_str(s.find('\n').unwrap_or(s.len()), &note);
        }
        Some(s)
    }

    fn summary_of(&self, listed: impl Fn(&str) -> bool) -> Option<String> {
        let n = self.changes;
        if n == 0 && self.failed.is_empty() && self.kept.is_empty() {
            return None;
        }
        let mut s = format!(
            "netsh: rolled back {n} change{}",
            if n == 1 { "" } else { "s" }
        );
        for u in self.undone.iter().filter(|u| listed(u)) {
            s += &format!("\n  undone: {u}");
        }
        for f in &self.failed {
            s += &format!("\n  could not undo: {f}");
        }
        for k in &self.kept {
            s += &format!("\n  cannot be undone: {k}");
        }
        Some(s)
    }
}

/// `--dry-run`: prints every Op as a command and touches nothing.
pub struct DryRun<W: Write> {
    out: W,
    /// What the script has made so far, as hashes of (kind, namespace, name): a few bytes per object
    /// even for scripts of a million lines. Kept only for a script that can ask `exists`.
    made: FxHashSet<u64>,
    /// Whether `made` is kept (see `unmodelled`).
    modelled: bool,
    /// The lines written and not yet handed to `out`: they go in pieces of `FLUSH_AT` bytes or
    /// more, not one write per line.
    lines: String,
    /// The Docker networks the script made, planned as a real run plans them, so that `network
    /// create` and `container ... on NETWORK` show the kernel's operations they stand for.
    docker: crate::docker::Networks,
}

/// How much a dry run gathers before it writes.
const FLUSH_AT: usize = 32 * 1024;

/// The model's key of an object. Addresses and routes are hashed as parsed values, not text, so a
/// dry run of a big script formats nothing it does not print.
fn key(kind: &str, ns: Option<&str>, name: impl Hash) -> u64 {
    let mut h = FxHasher::default();
    (kind, ns, name).hash(&mut h);
    h.finish()
}

/// The key of a route's destination: `default`, or its prefix.
fn route_key(ns: Option<&str>, dest: &crate::ops::Dest) -> u64 {
    match dest {
        crate::ops::Dest::Default(_) => key("route", ns, "default"),
        crate::ops::Dest::Net(n) => key("route", ns, n),
    }
}

impl<W: Write> DryRun<W> {
    pub fn new(out: W) -> DryRun<W> {
        DryRun {
            out,
            made: FxHashSet::default(),
            modelled: true,
            lines: String::new(),
            docker: Default::default(),
        }
    }

    /// A dry run for a script that never asks `exists`: it keeps no model of what it made.
    pub fn unmodelled(out: W) -> DryRun<W> {
        DryRun {
            modelled: false,
            ..DryRun::new(out)
        }
    }

    /// What the dry run wrote.
    pub fn into_output(mut self) -> W {
        let _ = self.flush();
        self.out
    }

    fn flush(&mut self) -> Result<(), RunError> {
        let written = self.out.write_all(self.lines.as_bytes());
        self.lines.clear();
        written.map_err(|e| RunError::new(format!("cannot write the dry run: {e}")))
    }

    /// Ends a line: the gathered lines are written once they are `FLUSH_AT` bytes.
    fn end_line(&mut self) -> Result<(), RunError> {
        self.lines.push('\n');
        if self.lines.len() >= FLUSH_AT {
            return self.flush();
        }
        Ok(())
    }

    fn note(&mut self, op: &Op) {
        use crate::ops::{LinkKind, RouteAction};
        match op {
            Op::Netns(NetnsOp::Add { name }) => {
                self.made.insert(key("netns", None, name));
            }
            Op::Netns(NetnsOp::Del { name }) => {
                self.made.remove(&key("netns", None, name));
            }
            Op::Link(LinkOp::Add { ns, name, kind }) => {
                self.made.insert(key("link", ns.as_deref(), name));
                if let LinkKind::Veth { peer, peer_ns } = kind {
                    let at = if peer_ns.is_some() { peer_ns } else { ns };
                    self.made.insert(key("link", at.as_deref(), peer));
                }
            }
            Op::Link(LinkOp::Set { ns, name, change })
                if change.netns.is_some() || change.rename.is_some() =>
            {
                self.made.remove(&key("link", ns.as_deref(), name));
                let to = if change.netns.is_some() {
                    &change.netns
                } else {
                    ns
                };
                let new = change.rename.as_deref().unwrap_or(name);
                self.made.insert(key("link", to.as_deref(), new));
            }
            Op::Link(LinkOp::Del { ns, name }) => {
                self.made.remove(&key("link", ns.as_deref(), name));
            }
            Op::Addr(AddrOp::Add { ns, addr, .. }) => {
                self.made.insert(key("addr", ns.as_deref(), addr.addr()));
            }
            Op::Addr(AddrOp::Del { ns, addr, .. }) => {
                self.made.remove(&key("addr", ns.as_deref(), addr.addr()));
            }
            Op::Route { ns, action, route } => {
                let k = route_key(ns.as_deref(), &route.dest);
                if *action == RouteAction::Del {
                    self.made.remove(&k);
                } else {
                    self.made.insert(k);
                }
            }
            // `exists` asks about namespaces, links, addresses and routes only
            Op::Link(LinkOp::Set { .. })
            | Op::Netns(NetnsOp::List)
            | Op::Neigh(NeighOp::Add { .. })
            | Op::Neigh(NeighOp::Del { .. })
            | Op::Neigh(NeighOp::ProxyAdd { .. })
            | Op::Neigh(NeighOp::ProxyDel { .. })
            | Op::Neigh(NeighOp::Fdb { .. })
            | Op::Sysctl(SysctlOp::Set { .. })
            | Op::Sysctl(SysctlOp::Show { .. })
            | Op::Probe(ProbeOp::Exec { .. })
            | Op::Probe(ProbeOp::Show { .. })
            | Op::Probe(ProbeOp::Echo(_))
            | Op::Probe(ProbeOp::Ping { .. })
            | Op::Probe(ProbeOp::Expect { .. })
            | Op::Probe(ProbeOp::State { .. })
            | Op::Service(ServiceOp::Http { .. })
            | Op::Service(ServiceOp::Ndp { .. })
            | Op::Probe(ProbeOp::Dump { .. })
            | Op::Probe(ProbeOp::Topology { .. })
            | Op::Probe(ProbeOp::Capture(_))
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
            | Op::Docker(DockerOp::Bridge { .. }) => {}
        }
    }
}

impl<W: Write> DryRun<W> {
    /// A Docker statement as what netsh does for it: the docker command it stands for as a
    /// comment, then the kernel's operations (what a real run applies, planned the same way).
    /// `None` for a container on docker0 (engine/container.rs plans it from the runtime's docker0).
    fn docker(&mut self, op: &Op, d: &DockerOp) -> Option<Result<(), RunError>> {
        let planned = match d {
            DockerOp::NetworkCreate { host, network } => {
                // a parent named NAME.VID is made unless the script made it; any other parent is
                // taken to be there (a dry run cannot look)
                let parent_exists = match &network.parent {
                    Some(p) if p.contains('.') => {
                        self.made.contains(&key("link", host.as_deref(), p))
                    }
                    _ => true,
                };
                let local = |pool: crate::docker::ipam::LocalPool| -> Box<dyn crate::docker::ipam::AddressPool> {
                    Box::new(pool)
                };
                let global = network
                    .global
                    .then_some(&local as &crate::docker::network::GlobalPool);
                self.docker
                    .plan_create(host, network, parent_exists, global)
                    .map(|(state, ops)| {
                        self.docker.commit_create(state);
                        ops
                    })
            }
            DockerOp::NetworkRm { host, name } => {
                self.docker.remove(host, name).map(|(ops, _)| ops)
            }
            DockerOp::Container { host, container } if container.network.is_some() => {
                self.docker.attach(host, container).map(|a| a.ops)
            }
            DockerOp::Container { .. } | DockerOp::Bridge { .. } => return None,
        };
        let ops = match planned {
            Ok(ops) => ops,
            Err(e) => return Some(Err(e)),
        };
        let mut command = String::new();
        op.render(&mut command);
        self.lines.push_str("# ");
        self.lines.push_str(&command.replace('\n', "\\n"));
        Some(
            self.end_line()
                .and_then(|()| ops.iter().try_for_each(|o| self.apply(o))),
        )
    }
}

impl<W: Write> World for DryRun<W> {
    fn apply(&mut self, op: &Op) -> Result<(), RunError> {
        if let Op::Docker(d) = op
            && let Some(done) = self.docker(op, d)
        {
            return done;
        }
        // the network must be one the script made, holding the prefix, as in a real run
        if let Op::Service(ServiceOp::Ndp {
            ns,
            prefix: IpNet::V6(prefix),
            network: Some(n),
            ..
        }) = op
        {
            self.docker.check_ndp_prefix(ns, n, *prefix)?;
        }
        if self.modelled {
            self.note(op);
        }
        op.render(&mut self.lines);
        self.end_line()
    }

    /// Writes what is gathered: the run has ended, or the REPL's statement has.
    fn settle(&mut self) -> Result<(), RunError> {
        self.flush()
    }

    fn exists(
        &mut self,
        kind: ObjectKind,
        target: &str,
        ns: Option<&str>,
    ) -> Result<bool, RunError> {
        let word = kind.word();
        let k = match kind {
            ObjectKind::Netns => key(word, None, target),
            ObjectKind::Link => key(word, ns, target),
            ObjectKind::Addr => {
                match target.split('/').next().unwrap_or(target).parse::<IpAddr>() {
                    Ok(a) => key(word, ns, a),
                    Err(_) => return Ok(false),
                }
            }
            ObjectKind::Route if target == "default" => key(word, ns, "default"),
            ObjectKind::Route => match target.parse::<IpNet>() {
                Ok(n) => route_key(ns, &crate::ops::Dest::Net(n)),
                Err(_) => match target.parse::<IpAddr>() {
                    Ok(a) => route_key(ns, &crate::ops::Dest::Net(IpNet::from(a))),
                    Err(_) => return Ok(false),
                },
            },
        };
        Ok(self.made.contains(&k))
    }

    fn capture(&mut self, ns: Option<&str>, argv: &[String]) -> Result<String, RunError> {
        self.apply(&Op::Probe(ProbeOp::Exec {
            ns: ns.map(Into::into),
            argv: argv.to_vec(),
        }))?;
        Ok(String::new())
    }

    fn say(&mut self, text: &str) {
        self.lines.push_str(text);
        let _ = self.end_line();
    }

    fn is_dry(&self) -> bool {
        true
    }
}
