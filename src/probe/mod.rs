//! Looking at a lab: `ping` and the reachability checks, `expect http` and `serve http`, `show`,
//! `capture`.
pub mod capture;
pub mod http;
pub mod ping;
pub mod show;
pub mod state;
