//! The kernel's routing tables over rtnetlink: one connection per namespace (handle.rs), links,
//! addresses, routes, neighbours and FDB entries (read and written), kernel errors in words, and
//! the hand-driven socket that pipelined requests go out on (wire.rs, inbox.rs, ifindex.rs,
//! link_reply.rs).
pub mod addrs;
pub mod errors;
pub mod handle;
pub mod ifindex;
pub mod inbox;
pub mod link_reply;
pub mod links;
pub mod neigh;
pub mod routes;
pub mod batch;
