//! Checks and output: ping, capture, expect, exec, show, echo, wait, dump.

use super::Ctx;
use crate::base::error::RunError;
use crate::check::signatures::Id;
use crate::check::types::Val;
use crate::interp::args::Args;
use crate::ops::{Capture, Check, Filter, LinkWant, NeighWant, Op, RouteTo, StateCheck};
use crate::ops::{Picture, ProbeOp, ServiceOp};

/// How long `expect reach` keeps trying by default: long enough for ARP/NDP and DAD to settle.
pub const EXPECT_TIMEOUT: f64 = 3.0;

pub fn ops(id: Id, a: &Args, cx: &mut Ctx, out: &mut Vec<Op>) -> Result<(), RunError> {
    let from = a.text("from").or_else(|| cx.ns.clone());
    let target = a.text("target").unwrap_or_default();
    let timeout = a.float("timeout").unwrap_or(EXPECT_TIMEOUT);
    let expect = |check| {
        Op::Probe(ProbeOp::Expect {
            from: from.clone(),
            target: target.to_string(),
            src: a.ip("src"),
            timeout,
            check,
        })
    };
    let state = |check| {
        Op::Probe(ProbeOp::State {
            ns: cx.ns.clone(),
            timeout,
            check,
        })
    };
    match id {
        Id::Ping => out.extend([Op::Probe(ProbeOp::Ping {
            from: from.clone(),
            target: target.to_string(),
            src: a.ip("src"),
            count: a.int("count").unwrap_or(3) as u32,
            timeout: a.float("timeout").unwrap_or(1.0),
        })]),
        Id::Capture => {
            let filter = match a.string("filter") {
                // checked already (Ty::Filter); read again here into its tree
                Some(text) => Some(Filter::parse(&text).map_err(|e| {
                    RunError::new(format!("bad capture filter: {}", e.message))
                        .at("filter", text.clone())
                })?),
                None => None,
            };
            out.extend([Op::Probe(ProbeOp::Capture(Box::new(Capture {
                ns: cx.ns.clone(),
                dev: a.must_string("if").into(),
                count: a.int("count"),
                seconds: a.float("for"),
                filter,
                to: a.string("to"),
            })))])
        }
        Id::ExpectReach => out.extend([expect(Check::Reach)]),
        Id::ExpectNoReach => out.extend([expect(Check::NoReach)]),
        Id::ExpectHttp => out.extend([expect(Check::Http {
            url: a.must_string("url"),
            contains: a.must_string("contains"),
            status: a.int("status").map(|n| n as u16),
        })]),
        Id::ExpectLink => out.extend([state(StateCheck::Link {
            name: a.must_string("name"),
            want: Box::new(LinkWant {
                kind: a.string("kind"),
                mode: a.string("mode"),
                id: a.int("id").map(|n| n as u32),
                port: a.int("port").map(|n| n as u16),
                mtu: a.int("mtu").map(|n| n as u32),
                master: a.string("master"),
                up: a.string("state").map(|s| s == "up"),
                address: a.mac("address"),
            }),
        })]),
        Id::ExpectRoute | Id::ExpectNoRoute => out.extend([state(StateCheck::Route {
            to: match a.net("dest") {
                Some(n) => RouteTo::Net(n),
                None => RouteTo::Default,
            },
            via: a.ip("via"),
            dev: a.string("dev"),
            present: id == Id::ExpectRoute,
        })]),
        Id::ExpectNeigh => out.extend([state(StateCheck::Neigh {
            ip: a
                .ip("address")
                .ok_or_else(|| RunError::new("`expect neigh` needs an address"))?,
            want: NeighWant {
                dev: a.string("dev"),
                lladdr: a.mac("lladdr"),
                router: a.string("role").map(|r| r == "router"),
                proxy: a.flag("proxy"),
            },
        })]),
        Id::ExpectFile => out.extend([state(StateCheck::File {
            path: a.must_string("path").into(),
            contains: a.all("contains").map(Val::text).collect(),
        })]),
        Id::Exec => {
            let argv = argv(a.rest_words());
            if argv.is_empty() {
                return Err(RunError::new("`exec` needs a program to run")
                    .help("write `exec \"ip -6 neigh show\" in net1`"));
            }
            out.extend([Op::Probe(ProbeOp::Exec {
                ns: cx.ns.clone(),
                argv,
            })])
        }
        Id::Show => out.extend([Op::Probe(ProbeOp::Show {
            ns: cx.ns.clone(),
            what: a.must_string("thing to show"),
            json: a.flag("json"),
        })]),
        Id::ShowTopology => out.extend([Op::Probe(ProbeOp::Topology {
            ns: cx.ns.clone(),
            picture: a
                .string("picture")
                .and_then(|w| Picture::from_word(&w))
                .unwrap_or(Picture::Text),
        })]),
        Id::Echo => out.extend([Op::Probe(ProbeOp::Echo(a.rest_words().join(" ")))]),
        Id::Wait => out.extend([Op::Service(ServiceOp::Wait)]),
        Id::Dump => out.extend([Op::Probe(ProbeOp::Dump { ns: cx.ns.clone() })]),
        _ => unreachable!("not a check statement: {id:?}"),
    }
    Ok(())
}

/// The program and its arguments: one word holding a whole command line is split at spaces (with
/// single and double quotes grouping), as `exec "ip -6 neigh show"` means.
pub fn argv(words: Vec<String>) -> Vec<String> {
    if words.len() != 1 {
        return words;
    }
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in words[0].chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() || any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if !cur.is_empty() || any {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_command_line_splits_like_a_shell() {
        assert_eq!(
            super::argv(vec!["ip -6 neigh show".into()]),
            ["ip", "-6", "neigh", "show"]
        );
        assert_eq!(
            super::argv(vec!["sh -c 'echo a b'".into()]),
            ["sh", "-c", "echo a b"]
        );
        assert_eq!(super::argv(vec!["a".into(), "b c".into()]), ["a", "b c"]);
    }
}
