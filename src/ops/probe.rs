//! Probes: run a program, show, print or check something in the lab.

use super::Ns;
use super::capture::Capture;
use super::render::{Commented, InNs, InSuffix, IpCmd, Put, Quoted, Shown, opt, put, shell_words};
use super::state::StateCheck;
use std::net::IpAddr;

#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    Reach,
    NoReach,
    /// Holds when the answer's status is `status` (any 2xx when `None`) and its body contains
    /// `contains`.
    Http {
        url: String,
        contains: String,
        status: Option<u16>,
    },
}

/// The kinds of object `exists KIND TARGET` asks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    Link,
    Netns,
    Addr,
    Route,
}

impl ObjectKind {
    /// The words the language uses for them.
    pub const WORDS: &'static [&'static str] = &["link", "netns", "addr", "route"];

    pub fn from_word(word: &str) -> Option<ObjectKind> {
        Some(match word {
            "link" => ObjectKind::Link,
            "netns" => ObjectKind::Netns,
            "addr" => ObjectKind::Addr,
            "route" => ObjectKind::Route,
            _ => return None,
        })
    }

    pub fn word(self) -> &'static str {
        match self {
            ObjectKind::Link => "link",
            ObjectKind::Netns => "netns",
            ObjectKind::Addr => "addr",
            ObjectKind::Route => "route",
        }
    }
}

/// How `show topology` and `netsh graph` write the lab (src/topology/).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Picture {
    Text,
    Dot,
    Svg,
    Json,
}

impl Picture {
    /// The words that choose one (text is the default, and has none).
    pub const WORDS: &'static [&'static str] = &["dot", "svg", "json"];

    pub fn from_word(word: &str) -> Option<Picture> {
        Some(match word {
            "dot" => Picture::Dot,
            "svg" => Picture::Svg,
            "json" => Picture::Json,
            "text" => Picture::Text,
            _ => return None,
        })
    }

    pub fn word(self) -> &'static str {
        match self {
            Picture::Text => "text",
            Picture::Dot => "dot",
            Picture::Svg => "svg",
            Picture::Json => "json",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ProbeOp {
    /// Run a program; `capture` keeps its output as the statement's value (`let x = exec ...`).
    Exec {
        ns: Ns,
        argv: Vec<String>,
    },
    Show {
        ns: Ns,
        what: String,
        json: bool,
    },
    Echo(String),
    Ping {
        from: Ns,
        target: String,
        src: Option<IpAddr>,
        count: u32,
        timeout: f64,
    },
    Expect {
        from: Ns,
        target: String,
        src: Option<IpAddr>,
        timeout: f64,
        check: Check,
    },
    Dump {
        ns: Ns,
    },
    /// `show topology [in NS] [dot|svg|json]`: the lab's namespaces and links as a picture.
    Topology {
        ns: Ns,
        picture: Picture,
    },
    /// `expect link|route|no-route`: the kernel's tables in `ns` hold (or lack) something; a
    /// check of state that converges waits for it up to `timeout` seconds.
    State {
        ns: Ns,
        timeout: f64,
        check: StateCheck,
    },
    /// `capture`: record packets on a link while the script goes on.
    Capture(Box<Capture>),
}

impl ProbeOp {
    /// Writes the Op as the command a person would type (see render.rs).
    pub(super) fn render(&self, out: &mut String) {
        match self {
            ProbeOp::Exec { ns, argv } => {
                InNs(ns).put(out);
                shell_words(out, argv);
            }
            ProbeOp::Show { ns, what, json } => show(out, ns, what, *json),
            ProbeOp::Echo(text) => put!(out, "echo ", Quoted(text)),
            ProbeOp::Ping {
                from,
                target,
                src,
                count,
                timeout,
            } => {
                ping_command(out, from, src);
                put!(
                    out,
                    " -c ",
                    count,
                    " -W ",
                    Shown(timeout),
                    " ",
                    Quoted(target)
                );
                // a ping that gets no reply fails the run, as netsh's does
                out.push_str(" || exit 1");
            }
            ProbeOp::Expect {
                from,
                target,
                src,
                timeout,
                check,
            } => match check {
                Check::Reach => {
                    until_reply(out, from, *timeout, src, target);
                    out.push_str(" >/dev/null || exit 1");
                }
                Check::NoReach => {
                    out.push_str("! ");
                    until_reply(out, from, *timeout, src, target);
                    out.push_str(" >/dev/null || exit 1");
                }
                Check::Http {
                    url,
                    contains,
                    status: None,
                } => put!(
                    out,
                    InNs(from),
                    "curl -sf -m ",
                    Shown(timeout),
                    " ",
                    Quoted(url),
                    " | grep -qF ",
                    Quoted(contains),
                    " || exit 1"
                ),
                // the body, then the status on a line of its own
                Check::Http {
                    url,
                    contains,
                    status: Some(code),
                } => put!(
                    out,
                    "page=$(",
                    InNs(from),
                    "curl -s -m ",
                    Shown(timeout),
                    " -w '\\n%{http_code}' ",
                    Quoted(url),
                    "); [ \"${page##*$'\\n'}\" = ",
                    code,
                    " ] && printf '%s' \"$page\" | grep -qF ",
                    Quoted(contains),
                    " || exit 1"
                ),
            },
            ProbeOp::Dump { ns } => put!(out, "# netsh: dump", InSuffix(ns)),
            ProbeOp::Topology { ns, picture } => put!(
                out,
                "# netsh: show topology",
                InSuffix(ns),
                " ",
                picture.word()
            ),
            ProbeOp::State { ns, check, .. } => check.render(ns, out),
            ProbeOp::Capture(c) => c.render(out),
        }
    }

    /// Whether the Op is a check (`expect ...`), which a run reports as it finishes.
    pub(super) fn is_check(&self) -> bool {
        match self {
            ProbeOp::Expect { .. } | ProbeOp::State { .. } => true,
            ProbeOp::Exec { .. }
            | ProbeOp::Show { .. }
            | ProbeOp::Echo(_)
            | ProbeOp::Ping { .. }
            | ProbeOp::Capture(_)
            | ProbeOp::Topology { .. }
            | ProbeOp::Dump { .. } => false,
        }
    }

    /// Where a check looks from and at what.
    pub(super) fn check_subject(&self) -> Option<(&Ns, String)> {
        match self {
            // `expect http` names its URL, not a target address
            ProbeOp::Expect {
                from,
                check: Check::Http { url, .. },
                ..
            } => Some((from, url.clone())),
            ProbeOp::Expect { from, target, .. } => Some((from, target.clone())),
            ProbeOp::State { ns, check, .. } => Some((ns, check.what())),
            ProbeOp::Exec { .. }
            | ProbeOp::Show { .. }
            | ProbeOp::Echo(_)
            | ProbeOp::Ping { .. }
            | ProbeOp::Capture(_)
            | ProbeOp::Topology { .. }
            | ProbeOp::Dump { .. } => None,
        }
    }

    /// Does the Op change anything (as opposed to showing or checking)?
    pub(super) fn changes_state(&self) -> bool {
        match self {
            ProbeOp::Show { .. }
            | ProbeOp::Echo(_)
            | ProbeOp::Ping { .. }
            | ProbeOp::Expect { .. }
            | ProbeOp::Dump { .. }
            | ProbeOp::Topology { .. }
            | ProbeOp::Capture(_)
            | ProbeOp::State { .. } => false,
            ProbeOp::Exec { .. } => true,
        }
    }
}

fn show(out: &mut String, ns: &Ns, what: &str, json: bool) {
    let (ip, j) = (IpCmd(ns), if json { " -j" } else { "" });
    match what {
        "links" => put!(out, ip, j, " link show"),
        "addrs" => put!(out, ip, j, " addr show"),
        "routes" => put!(out, ip, j, " route show; ", ip, j, " -6 route show"),
        "neigh" => put!(out, ip, j, " neigh show"),
        "fdb" => match ns {
            Some(n) => put!(out, "bridge -n ", Quoted(n), j, " fdb show"),
            None => put!(out, "bridge", j, " fdb show"),
        },
        "netns" => out.push_str("ip netns list"),
        other => put!(out, "# netsh: show ", Commented(other), InSuffix(ns)),
    }
}

/// `ping` from a namespace, probing every 200 ms as netsh does.
fn ping_command(out: &mut String, from: &Ns, src: &Option<IpAddr>) {
    put!(out, InNs(from), "ping -i 0.2");
    opt(out, "-I", src.as_ref().map(Shown));
}

/// `expect reach|no-reach`: probes until the first reply or the timeout, as netsh does; ping's
/// deadline is whole seconds, so a fractional timeout is rounded up.
fn until_reply(out: &mut String, from: &Ns, timeout: f64, src: &Option<IpAddr>, target: &str) {
    ping_command(out, from, src);
    let deadline = timeout.ceil().clamp(1.0, u32::MAX as f64) as u32;
    put!(out, " -c 1 -w ", deadline, " ", Quoted(target));
}
