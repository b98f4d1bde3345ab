//! The NDP proxy responder: answers Neighbour Solicitations for the addresses of a prefix on one
//! link (every one, or only those a Docker network's IPAM handed out), which the kernel's proxy
//! table (one entry per address) cannot do.

pub mod packet;
mod responder;

pub use responder::{Answer, RECEIVE_BUFFER, Responder};
