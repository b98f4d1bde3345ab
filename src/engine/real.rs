//! `RealWorld`: carries out Ops against the kernel. It owns a current-thread tokio runtime (the
//! netlink connections run on it while an Op waits), one netlink connection per namespace, and what
//! the run made that later statements refer to (containers by name, each host's docker0).

use crate::base::error::RunError;
use crate::base::json_stream::{self, Type};
use crate::engine::container::{Bridge, Made};
use crate::engine::flannel_runtime::Flannel;
use crate::interp::world::World;
use crate::netlink::addrs;
use crate::netlink::errors;
use crate::netlink::handle::{Handles, Netlink};
use crate::netlink::links;
use crate::netlink::routes;
use crate::ops::{Ns, ObjectKind, Op};
use crate::sys::exec;
use crate::sys::netns;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use tokio::runtime::Runtime;

pub struct Options {
    /// Fail on what exists already, as ip(8) does (otherwise an `add` of an existing thing is a no-op).
    pub strict: bool,
    pub json: bool,
    /// The run lives in a `--sandbox`: what it made dies with it.
    pub sandbox: bool,
    /// How many namespaces and links the run may create (`--max-objects`): each costs kernel
    /// memory, and a loop of a million `netns add` would take the machine's.
    pub max_objects: usize,
}

/// `--max-objects` when not given: a few thousand, far above any lab of the book (the largest
/// makes a few dozen).
pub const MAX_OBJECTS: usize = 4096;

pub struct RealWorld {
    /// The run's one tokio runtime: the engine blocks on it, and the overlays and store watches
    /// of the flannel runtime run on its workers between statements.
    pub(super) rt: Arc<Runtime>,
    pub(super) handles: Handles,
    pub(super) opts: Options,
    /// What this run changed and how to undo it (undo.rs).
    pub(super) undo: crate::engine::undo::UndoLog,
    pub(super) containers: HashMap<String, Made>,
    pub(super) bridges: HashMap<Ns, Bridge>,
    /// Web servers started (they run until the process exits).
    pub(super) services: usize,
    /// The hosts file naming the containers, for programs run with `exec` (written once there are any).
    pub(super) hosts: Option<std::path::PathBuf>,
    /// Docker-style networks (src/docker/), with their address pools.
    pub(super) docker: crate::docker::Networks,
    /// NDP responders running, by host and interface (a second `proxy-ndp PREFIX` adds a prefix).
    pub(super) ndp: HashMap<(Ns, String), crate::ndp::Responder>,
    /// Captures started by the script (`capture`), stopped when it ends.
    pub(super) captures: Vec<crate::probe::capture::Recording>,
    /// The store, leases and overlays (started on first use).
    pub(super) flannel: Option<Flannel>,
    /// Requests sent whose answers are still due (pipeline.rs), all in namespace `flight_ns`.
    pub(super) flights: Vec<crate::engine::pipeline::InFlight>,
    pub(super) flight_ns: Ns,
    /// The statement being run, for the errors of its pipelined requests.
    pub(super) at: Option<crate::base::source::Span>,
    /// How deep in composite Ops (a container's parts) `tracked` is: parts are not pipelined.
    pub(super) depth: usize,
    /// Namespaces and links the run asked to create so far (`Options::max_objects` bounds it).
    pub(super) created: usize,
}

impl Drop for RealWorld {
    fn drop(&mut self) {
        // a sandbox's containers die with it: the addresses they held in a shared pool go back
        if self.opts.sandbox {
            self.docker.release_all();
        }
        if let Some(p) = &self.hosts {
            let _ = std::fs::remove_file(p);
        }
    }
}

impl RealWorld {
    pub fn new(opts: Options) -> Result<RealWorld, RunError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("netsh-runtime")
            .enable_all()
            .build()
            .map_err(|e| RunError::new(format!("cannot start the runtime: {e}")))?;
        let rt = Arc::new(rt);
        Ok(RealWorld {
            rt,
            handles: Handles::default(),
            opts,
            undo: Default::default(),
            containers: HashMap::new(),
            bridges: HashMap::new(),
            services: 0,
            hosts: None,
            docker: Default::default(),
            ndp: HashMap::new(),
            captures: Vec::new(),
            flannel: None,
            flights: Vec::new(),
            flight_ns: None,
            at: None,
            depth: 0,
            created: 0,
        })
    }

    /// Keeps the run's undo steps on disk too, for `netsh down FILE`.
    pub fn keep_journal(&mut self, file: crate::engine::journal::Journal) {
        self.undo.file = Some(file);
    }

    pub(super) fn flannel(&mut self) -> Result<&mut Flannel, RunError> {
        if self.flannel.is_none() {
            let connections = self.handles.connections();
            self.flannel = Some(Flannel::new(self.rt.clone(), connections));
        }
        self.flannel
            .as_mut()
            .ok_or_else(|| RunError::new("the flannel runtime did not start"))
    }

    pub(super) fn nl(&mut self, ns: &Ns) -> Result<Netlink, RunError> {
        self.handles.get(ns.as_deref(), &self.rt)
    }

    /// Text for a person, of the kind `ty` (a record of it under `--json`).
    pub(super) fn print(&self, ty: Type, text: &str) {
        json_stream::text(ty, text);
    }
}

impl RealWorld {
    /// Carries out one Op, recording nothing (undo.rs records around it).
    pub(super) fn dispatch(&mut self, op: &Op) -> Result<(), RunError> {
        let done = match op {
            Op::Netns(op) => self.dispatch_netns(op),
            Op::Link(op) => self.dispatch_link(op),
            Op::Addr(op) => self.dispatch_addr(op),
            Op::Route { ns, action, route } => self.dispatch_route(ns, *action, route),
            Op::Neigh(op) => self.dispatch_neigh(op),
            Op::Sysctl(op) => self.dispatch_sysctl(op),
            Op::Probe(op) => self.dispatch_probe(op),
            Op::Service(op) => self.dispatch_service(op),
            Op::Docker(op) => self.dispatch_docker(op),
            Op::Flannel(op) => self.dispatch_flannel(op),
        };
        // containers come and go with these (also when they fail half-way): responders that
        // answer only a network's addresses follow
        if matches!(
            op,
            Op::Docker(_) | Op::Netns(crate::ops::NetnsOp::Del { .. })
        ) {
            self.sync_ndp();
        }
        done
    }
}

impl World for RealWorld {
    fn apply(&mut self, op: &Op) -> Result<(), RunError> {
        self.tracked(op)
    }

    fn statement(&mut self, at: crate::base::source::Span) {
        self.at = Some(at);
    }

    fn stop_requested(&mut self) -> Result<(), RunError> {
        crate::sys::signals::check()
    }

    fn settle(&mut self) -> Result<(), RunError> {
        let settled = self.settle_flights();
        // the end of a script, REPL line or transaction block: what comes next may follow changes
        // made outside netsh
        self.handles.forget_names();
        settled
    }

    fn mark(&self) -> usize {
        self.undo.steps.len()
    }

    fn rollback(&mut self, mark: usize) -> Option<crate::interp::world::Rollback> {
        // what is still in flight is recorded first, so that it is undone too (its failure, if
        // any, was reported already or is moot now)
        let _ = self.settle_flights();
        self.handles.forget_names();
        Some(self.undo_since(mark))
    }

    fn changes(&self) -> Option<usize> {
        Some(self.undo.changes)
    }

    fn end_recordings(&mut self) {
        self.stop_captures();
    }

    fn exists(
        &mut self,
        kind: ObjectKind,
        target: &str,
        ns: Option<&str>,
    ) -> Result<bool, RunError> {
        self.settle_flights()?;
        if kind == ObjectKind::Netns {
            return Ok(netns::exists(target));
        }
        if ns.is_some_and(|n| !netns::exists(n)) {
            return Ok(false);
        }
        let nl = self.nl(&ns.map(Into::into))?;
        let kernel = |e| errors::kernel("cannot read the kernel's tables", &e);
        match kind {
            ObjectKind::Netns => Ok(netns::exists(target)),
            ObjectKind::Link => Ok(self
                .rt
                .block_on(links::find(&nl, target))
                .map_err(kernel)?
                .is_some()),
            ObjectKind::Addr => {
                let want_net = target.parse::<ipnet::IpNet>().ok();
                let want_ip = target.parse::<IpAddr>().ok().or(want_net.map(|n| n.addr()));
                let Some(want_ip) = want_ip else {
                    return Err(RunError::new(format!("`{target}` is not an address")));
                };
                let all = self.rt.block_on(addrs::dump(&nl)).map_err(kernel)?;
                Ok(all
                    .iter()
                    .filter_map(addrs::net_of)
                    .any(|n| n.addr() == want_ip && want_net.is_none_or(|w| w == n)))
            }
            ObjectKind::Route => {
                let want = match target {
                    "default" => "default".to_string(),
                    t => match t.parse::<ipnet::IpNet>() {
                        Ok(n) if n.prefix_len() == n.max_prefix_len() => n.addr().to_string(),
                        Ok(n) if n.prefix_len() == 0 => "default".to_string(),
                        Ok(n) => n.trunc().to_string(),
                        Err(_) => t.to_string(),
                    },
                };
                let mut all = self
                    .rt
                    .block_on(routes::dump(&nl, crate::ops::Family::V4))
                    .map_err(kernel)?;
                all.extend(
                    self.rt
                        .block_on(routes::dump(&nl, crate::ops::Family::V6))
                        .map_err(kernel)?,
                );
                Ok(all
                    .iter()
                    .filter(|r| routes::table_of(r) != 255)
                    .any(|r| routes::dest_of(r) == want))
            }
        }
    }

    fn capture(&mut self, ns: Option<&str>, argv: &[String]) -> Result<String, RunError> {
        self.settle_flights()?;
        // the program may change links
        self.handles.forget_names();
        exec::capture(ns, argv, self.hosts.as_deref())
    }

    fn say(&mut self, text: &str) {
        self.print(Type::Help, text);
    }

    fn is_dry(&self) -> bool {
        false
    }

    fn links(&mut self, ns: Option<&str>) -> Vec<String> {
        let _ = self.settle_flights();
        let ns: Ns = ns.map(|n| n.to_string().into());
        let Ok(nl) = self.nl(&ns) else {
            return Vec::new();
        };
        let mut out: Vec<String> = match self.rt.block_on(links::dump(&nl)) {
            Ok(all) => all
                .iter()
                .filter_map(|l| links::name_of(l).map(str::to_string))
                .collect(),
            Err(_) => Vec::new(),
        };
        out.sort();
        out
    }

    fn namespaces(&mut self) -> Vec<String> {
        netns::list()
    }

    fn names(&mut self) -> Vec<String> {
        let _ = self.settle_flights();
        // namespaces, and the links of this namespace and of each named one (a few dozen at most,
        // so completion stays quick)
        let spaces = netns::list();
        let mut out = spaces.clone();
        let mut where_: Vec<Ns> = vec![None];
        where_.extend(spaces.into_iter().take(64).map(|n| Some(n.into())));
        for ns in where_ {
            if let Ok(nl) = self.nl(&ns)
                && let Ok(all) = self.rt.block_on(links::dump(&nl))
            {
                out.extend(
                    all.iter()
                        .filter_map(|l| links::name_of(l).map(str::to_string)),
                );
            }
        }
        out.sort();
        out.dedup();
        out
    }
}
