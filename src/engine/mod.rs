//! The real World: applies Ops to the kernel, the store and the services, and takes them back.
//! - real.rs: `RealWorld`, the World a real run acts on (dispatch, state of the run)
//! - undo.rs: what each Op changed and its inverse (rollback); restore.rs: inverses read from the
//!   kernel's state before and after an Op (deletions, overlays)
//! - pipeline.rs: requests sent without waiting for their ACKs, answers read in order later
//! - journal.rs: the undo steps on disk, for `netsh down FILE`; dump.rs: `dump` (state as a script)
//! - topology.rs: `show topology` (the live lab as a picture, from the state `dump` reads)
//! - container.rs: docker0 containers; flannel.rs: store, config, leases, docker-opts;
//!   overlay/: the host-gw, vxlan and udp overlay services

mod apply;
pub mod container;
pub mod dump;
pub mod flannel_runtime;
pub mod journal;
pub mod lease_renewal;
pub mod overlay;
pub mod pipeline;
pub mod real;
pub mod restore;
mod topology;
pub mod undo;
