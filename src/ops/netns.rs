//! Network namespaces.

use super::render::{Quoted, put};
use super::script::word;
use super::{Name, Op};

#[derive(Clone, Debug, PartialEq)]
pub enum NetnsOp {
    Add { name: Name },
    Del { name: Name },
    List,
}

impl NetnsOp {
    /// Writes the Op as the command a person would type (see render.rs).
    pub(super) fn render(&self, out: &mut String) {
        match self {
            NetnsOp::Add { name } => put!(out, "ip netns add ", Quoted(name)),
            NetnsOp::Del { name } => put!(out, "ip netns del ", Quoted(name)),
            NetnsOp::List => out.push_str("ip netns list"),
        }
    }

    /// The statement that performs the Op, when the language has one (see script.rs).
    pub(super) fn statement(&self) -> Option<String> {
        Some(match self {
            NetnsOp::Add { name } => format!("netns add {}", word(name)),
            NetnsOp::Del { name } => format!("netns del {}", word(name)),
            // undo steps and `dump` never hold these: they are not kernel state a statement rebuilds
            NetnsOp::List => return None,
        })
    }

    /// Does the Op change anything (as opposed to showing or checking)?
    pub(super) fn changes_state(&self) -> bool {
        match self {
            NetnsOp::List => false,
            NetnsOp::Add { .. } | NetnsOp::Del { .. } => true,
        }
    }

    /// The Op that takes away what this one built, if it adds one object: its inverse for rollback, pipelined requests and state diffs alike.
    pub(super) fn removal(&self) -> Option<Op> {
        Some(match self {
            NetnsOp::Add { name } => Op::Netns(NetnsOp::Del { name: name.clone() }),
            // deletions, settings and the rest: their inverse is not a removal
            NetnsOp::Del { .. } | NetnsOp::List => return None,
        })
    }
}
