//! The kernel runtime: applies Ops to the kernel over netlink, inside network namespaces, and runs
//! the built-in checks. One concern per file:
//! - real.rs: `RealWorld`, the World a real run acts on (dispatch, state of the run)
//! - handle.rs: one rtnetlink connection per namespace; netns.rs: named namespaces
//! - links.rs, tun.rs, addrs.rs, routes.rs, neigh.rs: the kernel objects; sysctl.rs; exec.rs
//! - show.rs: `show`; ping.rs, http.rs: checks and `serve http`; container.rs: docker0 containers
//! - errors.rs: kernel errors in words; sandbox.rs: `--sandbox`
//! - flannel.rs: store, config, leases, docker-opts; overlay/: the host-gw and vxlan overlay services
//! - pipeline.rs: requests sent without waiting for their ACKs, answers read in order later;
//!   wire.rs: the socket they go out on, several per datagram; inbox.rs: answers read many per
//!   call; ifindex.rs: interface indexes learned from answers; link_reply.rs: the few fields of
//!   a link message they read
//! - undo.rs: what each Op changed and its inverse (rollback); restore.rs: inverses read from the
//!   kernel's state before and after an Op (deletions, overlays); signals.rs: SIGINT/SIGTERM (and Ctrl-C
//!   ending `wait`)
//! - journal.rs: the undo steps on disk, for `netsh down FILE`; dump.rs: `dump` (state as a script)

pub mod addrs;
pub mod container;
pub mod dump;
pub mod errors;
pub mod exec;
pub mod flannel;
pub mod handle;
pub mod http;
pub mod ifindex;
pub mod inbox;
pub mod journal;
pub mod link_reply;
pub mod links;
pub mod neigh;
pub mod netns;
pub mod overlay;
pub mod ping;
pub mod pipeline;
pub mod real;
pub mod restore;
pub mod routes;
pub mod sandbox;
pub mod show;
pub mod signals;
pub mod sysctl;
pub mod tun;
pub mod undo;
pub mod wire;

use crate::cli::Cli;
use crate::interp::world::World;

/// The world a real (not dry) run acts on.
pub fn world(cli: &Cli) -> Result<Box<dyn World>, String> {
    let mut w = real::RealWorld::new(real::Options {
        strict: cli.strict,
        json: cli.json,
        sandbox: cli.sandbox,
    })?;
    // a script file's runs keep a journal for `netsh down FILE`
    if let (None, Some(file)) = (&cli.command, cli.file.as_deref().filter(|f| *f != "-")) {
        match journal::Journal::open(std::path::Path::new(file)) {
            Ok(j) => w.journal.file = Some(j),
            Err(e) => eprintln!("netsh: warning: no journal for `netsh down` ({e})"),
        }
    }
    Ok(Box::new(w))
}
