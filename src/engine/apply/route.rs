//! Applying route Ops: carrying each out, and recording how to undo it (the route it replaced or
//! deleted, read from the kernel first).

use crate::base::error::RunError;
use crate::engine::real::RealWorld;
use crate::engine::undo::{Applied, Undo, dest_text, route_of};
use crate::netlink::errors;
use crate::netlink::links;
use crate::netlink::routes;
use crate::ops::{Ns, Op, Route, RouteAction};
use rtnetlink::packet_route::route::RouteAttribute;
use std::collections::HashMap;

impl RealWorld {
    /// The kernel's route that a statement's route would replace or delete, if any.
    pub(in crate::engine) fn route_now(
        &mut self,
        ns: &Ns,
        r: &Route,
    ) -> Result<Option<Route>, RunError> {
        let nl = self.nl(ns)?;
        let fam = routes::family(r);
        let kernel = |e| errors::kernel("cannot read the routes", &e);
        let all = self.rt.block_on(routes::dump(&nl, fam)).map_err(kernel)?;
        let want = dest_text(&r.dest);
        let table = r.table.unwrap_or(254);
        let Some(m) = all.iter().find(|m| {
            routes::dest_of(m) == want
                && routes::table_of(m) == table
                && r.metric.is_none_or(|p| {
                    m.attributes.contains(&RouteAttribute::Priority(p))
                        || (p == 0
                            && !m
                                .attributes
                                .iter()
                                .any(|a| matches!(a, RouteAttribute::Priority(_))))
                })
        }) else {
            return Ok(None);
        };
        let names: HashMap<u32, String> = self
            .rt
            .block_on(links::dump(&nl))
            .map_err(kernel)?
            .iter()
            .filter_map(|l| links::name_of(l).map(|n| (l.header.index, n.to_string())))
            .collect();
        Ok(Some(route_of(m, &names, fam)))
    }

    pub(in crate::engine) fn record_route(
        &mut self,
        ns: &Ns,
        action: RouteAction,
        r: &Route,
    ) -> Result<Applied, RunError> {
        let strict = self.opts.strict;
        let before = match action {
            RouteAction::Add => None,
            _ => self.route_now(ns, r)?,
        };
        if action == RouteAction::Replace
            && let Some(b) = &before
        {
            let same = b.via == r.via
                && r.dev.as_ref().is_none_or(|d| Some(d) == b.dev.as_ref())
                && b.onlink == r.onlink
                && r.src.is_none_or(|s| Some(s) == b.src);
            if same {
                return Ok(Applied::none());
            }
        }
        let nl = self.nl(ns)?;
        let changed = self.rt.block_on(routes::apply(&nl, action, r, strict))?;
        if !changed {
            return Ok(Applied::none());
        }
        Ok(Applied::changed(vec![route_undo(ns, action, r, before)]))
    }

    /// Carries out a route Op, recording nothing (`record_route` records around it).
    pub(in crate::engine) fn dispatch_route(
        &mut self,
        ns: &Ns,
        action: RouteAction,
        route: &Route,
    ) -> Result<(), RunError> {
        let nl = self.nl(ns)?;
        self.rt
            .block_on(routes::apply(&nl, action, route, self.opts.strict))
            .map(drop)
    }
}

/// The inverse of a route change, from the route it replaced or deleted (`before`).
pub(in crate::engine) fn route_undo(
    ns: &Ns,
    action: RouteAction,
    r: &Route,
    before: Option<Route>,
) -> Undo {
    match (action, before) {
        (RouteAction::Del, Some(b)) => Undo::Op(Op::Route {
            ns: ns.clone(),
            action: RouteAction::Add,
            route: Box::new(b),
        }),
        (RouteAction::Del, None) => Undo::Kept(format!("route del {}", dest_text(&r.dest))),
        (RouteAction::Replace, Some(b)) => Undo::Op(Op::Route {
            ns: ns.clone(),
            action: RouteAction::Replace,
            route: Box::new(b),
        }),
        (RouteAction::Add | RouteAction::Replace, _) => Undo::Op(Op::Route {
            ns: ns.clone(),
            action: RouteAction::Del,
            route: Box::new(r.clone()),
        }),
    }
}
