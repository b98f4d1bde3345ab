//! One file per Op family: how its Ops are carried out and how each is undone. `RealWorld::dispatch`
//! and `RealWorld::apply_recording` route an Op to its family here.

mod addr;
mod docker;
mod flannel;
mod link;
mod neigh;
mod netns;
mod probe;
mod service;
mod sysctl;
