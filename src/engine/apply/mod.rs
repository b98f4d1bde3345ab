//! One file per Op family: how its Ops are carried out and how each is undone. `RealWorld::dispatch`
//! and `RealWorld::apply_recording` route an Op to its family here.

pub(super) mod addr;
pub(super) mod capture;
pub(super) mod docker;
pub(super) mod flannel;
pub(super) mod link;
pub(super) mod neigh;
pub(super) mod netns;
pub(super) mod probe;
pub(super) mod route;
pub(super) mod service;
pub(super) mod state_checks;
pub(super) mod sysctl;
