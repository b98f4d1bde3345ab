//! The NDP proxy responder: answers Neighbour Solicitations for every address of a prefix on one
//! link, which the kernel's proxy table (one entry per address) cannot do.

pub mod packet;
mod responder;

pub use responder::Responder;
