//! netsh: a scriptable network shell. See DESIGN.md in docs/ for how the parts fit:
//! text → syntax (parse) → check → interp (eval to Ops) → a World that applies or prints them.

pub mod check;
pub mod cli;
pub mod diag;
pub mod docker;
pub mod flannel;
pub mod fuzzing;
pub mod help;
pub mod interp;
pub mod loader;
pub mod ndp;
pub mod ops;
pub mod pages;
pub mod repl;
pub mod runtime;
pub mod session;
pub mod store;
pub mod syntax;
pub mod tape;
#[cfg(test)]
mod test_rng;
pub mod tunnel;
