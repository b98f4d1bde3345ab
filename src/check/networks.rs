//! `network create`'s Docker rules that need no kernel, checked with the rest of the script so each
//! mistake is reported on the argument at fault, before anything runs: overlapping subnets, a gateway,
//! ip-range or aux address in none of the subnets, a parent's VLAN id outside 1..4094. (Rules that
//! depend on the host — one network per parent, a missing parent — are the runtime's.)

use super::bind::{Bound, Slot};
use crate::base::diag::{Code, Diag};
use crate::base::source::{SourceMap, Span};
use crate::docker::network::{overlaps, vlan_of};
use crate::syntax::ast::Word;
use ipnet::IpNet;
use std::net::IpAddr;

/// The literal value of each keyword argument, with its span.
fn literals<'m>(
    b: &Bound,
    words: &[Word],
    map: &'m SourceMap,
) -> Vec<(&'static str, &'m str, Span)> {
    b.args
        .iter()
        .filter_map(|&(slot, wi)| {
            let Slot::Opt(i) = slot else { return None };
            let w = words.get(wi as usize)?;
            let span = w.literal_span()?;
            Some((b.sig.opts.get(i as usize)?.key, map.text(span), w.span))
        })
        .collect()
}

pub fn check(b: &Bound, words: &[Word], map: &SourceMap) -> Vec<Diag> {
    let args = literals(b, words, map);
    let mut out = Vec::new();
    let mut subnets: Vec<IpNet> = Vec::new();
    for &(key, text, span) in &args {
        if key != "subnet" {
            continue;
        }
        let Ok(s) = text.parse::<IpNet>() else {
            continue;
        };
        let s = s.trunc();
        if let Some(o) = subnets.iter().find(|t| overlaps(t, &s)) {
            out.push(
                Diag::new(
                    Code::BadValue,
                    span,
                    format!("Pool overlaps with other one on this address space: {s} overlaps {o}"),
                )
                .label("overlaps an earlier subnet")
                .help("the subnets of a network must be disjoint"),
            );
        }
        subnets.push(s);
    }
    let nothing_to_compare = subnets.is_empty();
    for &(key, text, span) in &args {
        let outside = |what: &str| {
            Diag::new(
                Code::BadValue,
                span,
                format!("the {what} {text} is in none of the network's subnets"),
            )
            .label("outside every subnet")
            .help("Docker requires it to lie inside a `subnet` of the network")
        };
        match key {
            "gateway" if !nothing_to_compare => {
                if let Ok(ip) = text.parse::<IpAddr>()
                    && !subnets.iter().any(|s| s.contains(&ip))
                {
                    out.push(outside("gateway"));
                }
            }
            "ip-range" if !nothing_to_compare => {
                if let Ok(r) = text.parse::<IpNet>()
                    && !subnets.iter().any(|s| s.contains(&r))
                {
                    out.push(outside("ip-range"));
                }
            }
            "aux" if !nothing_to_compare => {
                let ip = text
                    .split_once('=')
                    .and_then(|(_, ip)| ip.parse::<IpAddr>().ok());
                if let Some(ip) = ip
                    && !subnets.iter().any(|s| s.contains(&ip))
                {
                    out.push(outside("aux address"));
                }
            }
            "parent" => {
                if let Err(e) = vlan_of(text) {
                    out.push(
                        Diag::new(Code::BadValue, span, e.message)
                            .label("not a VLAN id")
                            .help_opt(e.help),
                    );
                }
            }
            _ => {}
        }
    }
    out
}
