//! Routes.

use super::Name;
use ipnet::IpNet;
use std::net::IpAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteAction {
    Add,
    Replace,
    Del,
}

impl RouteAction {
    /// The word `ip route` and netsh's `route` statement use for it.
    pub fn word(self) -> &'static str {
        match self {
            RouteAction::Add => "add",
            RouteAction::Replace => "replace",
            RouteAction::Del => "del",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Dest {
    Default(Family),
    Net(IpNet),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    pub dest: Dest,
    pub via: Option<IpAddr>,
    pub dev: Option<Name>,
    pub onlink: bool,
    pub metric: Option<u32>,
    pub table: Option<u32>,
    pub src: Option<IpAddr>,
}
