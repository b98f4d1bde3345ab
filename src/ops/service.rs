//! Services: what netsh runs itself while the script lives.

use super::render::{InNs, InSuffix, Quoted, Shown, put};
use super::{Name, Ns};
use ipnet::IpNet;

#[derive(Clone, Debug, PartialEq)]
pub enum ServiceOp {
    Http {
        ns: Ns,
        port: u16,
        text: String,
    },
    /// Answer Neighbour Solicitations for a whole prefix on `dev` (a running service).
    Ndp {
        ns: Ns,
        prefix: IpNet,
        dev: Name,
    },
    /// Block until Ctrl-C, keeping the services running.
    Wait,
}

impl ServiceOp {
    /// Writes the Op as the command a person would type (see render.rs).
    pub(super) fn render(&self, out: &mut String) {
        match self {
            ServiceOp::Http { ns, port, text } => put!(
                out,
                "# netsh: serve http on port ",
                port,
                InSuffix(ns),
                " answering ",
                Quoted(text)
            ),
            ServiceOp::Ndp { ns, prefix, dev } => put!(
                out,
                InNs(ns),
                "sysctl -w net.ipv6.conf.",
                dev,
                ".proxy_ndp=1\n# netsh: answer neighbour solicitations for ",
                Shown(prefix),
                " on ",
                dev,
                InSuffix(ns)
            ),
            ServiceOp::Wait => out.push_str("# netsh: wait for Ctrl-C, keeping services running"),
        }
    }

    /// Does the Op change anything (as opposed to showing or checking)?
    pub(super) fn changes_state(&self) -> bool {
        match self {
            ServiceOp::Wait => false,
            ServiceOp::Http { .. } | ServiceOp::Ndp { .. } => true,
        }
    }
}
