//! netsh: a scriptable network shell. docs/DESIGN.md draws the module map; in short, text →
//! syntax (parse) → check → interp (eval to Ops) → a World that prints them (a dry run) or applies
//! them (engine/, over sys/ and netlink/).
//!
//! The folders are listed bottom-up: each imports only folders listed before it
//! (tests/layers.rs checks it).

pub mod base;
pub mod syntax;
pub mod ops;
pub mod store;
pub mod flannel;
pub mod docker;
pub mod topology;
pub mod check;
pub mod interp;
pub mod sys;
pub mod netlink;
pub mod probe;
pub mod tunnel;
pub mod ndp;
pub mod engine;
pub mod app;
