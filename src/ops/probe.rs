//! Probes: run a program, show, print or check something in the lab.

use super::Ns;
use std::net::IpAddr;

#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    Reach,
    NoReach,
    Http { url: String, contains: String },
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
}
