//! `expect link|route|no-route|neigh|file`: the kernel's tables read over netlink, or a file read
//! (probe/state.rs), and compared with what the statement wants. State that converges (an overlay adding its peers'
//! routes in the background) is read again until it holds or the check's timeout passes.

use crate::base::error::{Kind, RunError};
use crate::engine::real::RealWorld;
use crate::ops::{LinkWant, NeighWant, Ns, RouteTo, StateCheck};
use crate::probe::state::{self, LinkFacts, NeighFacts, RouteFacts};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Time between two reads of a table that has not yet converged.
const POLL: Duration = Duration::from_millis(50);

/// How one read of the tables turned out: `Ok(())` holds; `Err(why)` does not (yet).
type Verdict = Result<(), String>;

impl RealWorld {
    pub(in crate::engine) fn expect_state(
        &mut self,
        ns: &Ns,
        timeout: f64,
        check: &StateCheck,
    ) -> Result<(), RunError> {
        let nl = self.nl(ns)?;
        let deadline = Instant::now() + Duration::from_secs_f64(timeout.clamp(0.0, 3600.0));
        let whence = ns
            .as_deref()
            .map(|n| format!(" in {n}"))
            .unwrap_or_default();
        let verdict = loop {
            let v = match check {
                StateCheck::Link { name, want } => {
                    let have = self.rt.block_on(state::link(&nl, name))?;
                    link_verdict(name, &whence, want, have)
                }
                StateCheck::Route {
                    to,
                    via,
                    dev,
                    present,
                } => {
                    let have = self.rt.block_on(state::routes_to(&nl, to))?;
                    route_verdict(to, *via, dev.as_deref(), *present, &whence, &have)
                }
                StateCheck::Neigh { ip, want } => {
                    let have = self
                        .rt
                        .block_on(state::neighbours_of(&nl, *ip, want.proxy))?;
                    neigh_verdict(*ip, want, &whence, &have)
                }
                StateCheck::File { path, contains } => file_verdict(path, contains),
            };
            if v.is_ok() || Instant::now() >= deadline {
                break v;
            }
            crate::sys::signals::sleep(
                POLL.min(deadline.saturating_duration_since(Instant::now())),
            )?;
        };
        // the run's reporter writes the check's line or JSON record (app/report.rs)
        verdict.map_err(|why| {
            RunError::of(Kind::Expect, why).help(match check {
                StateCheck::Link { .. } => "`show links in NS` shows the namespace's links",
                StateCheck::Route { .. } => "`show routes in NS` shows the namespace's routes",
                StateCheck::Neigh { .. } => "`show neigh in NS` shows the namespace's neighbours",
                StateCheck::File { .. } => "`exec \"cat PATH\"` shows what the file holds",
            })
        })
    }
}

fn link_verdict(name: &str, whence: &str, want: &LinkWant, have: Option<LinkFacts>) -> Verdict {
    let Some(have) = have else {
        return Err(format!(
            "expected a link {name}{whence}, but there is no link {name}{whence}"
        ));
    };
    let wrong = state::mismatches(want, &have);
    if wrong.is_empty() {
        return Ok(());
    }
    let shown = |pairs: Vec<String>| pairs.join(", ");
    let wanted = shown(wrong.iter().map(|(k, w, _)| say(k, w)).collect());
    let had = shown(wrong.iter().map(|(k, _, h)| say(k, h)).collect());
    Err(format!(
        "expected {name}{whence} to have {wanted}, but it has {had}"
    ))
}

/// `mtu 1450`, but `up` for the state.
fn say(key: &str, value: &str) -> String {
    if key == "state" {
        value.to_string()
    } else {
        format!("{key} {value}")
    }
}

fn route_verdict(
    to: &RouteTo,
    via: Option<IpAddr>,
    dev: Option<&str>,
    present: bool,
    whence: &str,
    have: &[RouteFacts],
) -> Verdict {
    let list = |rs: &[&RouteFacts]| {
        rs.iter()
            .map(|r| format!("`{r}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let all: Vec<&RouteFacts> = have.iter().collect();
    if !present {
        return if all.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "expected no route to {to}{whence}, but the table has {}",
                list(&all)
            ))
        };
    }
    if have.iter().any(|r| state::route_matches(r, via, dev)) {
        return Ok(());
    }
    let mut wanted = format!("a route to {to}");
    if let Some(g) = via {
        wanted += &format!(" via {g}");
    }
    if let Some(d) = dev {
        wanted += &format!(" dev {d}");
    }
    Err(if all.is_empty() {
        format!("expected {wanted}{whence}, but the table has no route to {to}")
    } else {
        format!(
            "expected {wanted}{whence}, but the table has {}",
            list(&all)
        )
    })
}

fn neigh_verdict(ip: IpAddr, want: &NeighWant, whence: &str, have: &[NeighFacts]) -> Verdict {
    if have.iter().any(|n| state::neigh_matches(n, want)) {
        return Ok(());
    }
    let table = if want.proxy { "proxy" } else { "neighbour" };
    let mut wanted = format!("a {table} entry for {ip}");
    if let Some(d) = &want.dev {
        wanted += &format!(" on {d}");
    }
    if let Some(m) = &want.lladdr {
        wanted += &format!(" with lladdr {}", crate::ops::format_mac(m));
    }
    match want.router {
        Some(true) => wanted += " flagged router",
        Some(false) => wanted += " not flagged router",
        None => {}
    }
    Err(if have.is_empty() {
        format!("expected {wanted}{whence}, but the {table} table has no entry for {ip}")
    } else {
        let list: Vec<String> = have.iter().map(|n| format!("`{ip} {n}`")).collect();
        format!(
            "expected {wanted}{whence}, but the {table} table has {}",
            list.join(", ")
        )
    })
}

fn file_verdict(path: &std::path::Path, contains: &[String]) -> Verdict {
    let shown = path.display();
    let text =
        state::file_text(path).map_err(|why| format!("expected a file {shown}, but {why}"))?;
    match contains.iter().find(|t| !text.contains(t.as_str())) {
        None => Ok(()),
        Some(t) => {
            // enough of the file to see what it holds instead; state files are a few lines
            let head: Vec<&str> = text.lines().take(20).collect();
            Err(format!(
                "expected {shown} to contain {t:?}, but it does not; it holds:\n{}",
                head.join("\n")
            ))
        }
    }
}
