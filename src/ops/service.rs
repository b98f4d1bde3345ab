//! Services: what netsh runs itself while the script lives.

use super::render::{InNs, Quoted, Shown, put};
use super::script::word;
use super::{Name, Ns};
use ipnet::IpNet;

/// The services a script started stop when it ends, as netsh's stop when netsh exits (SIGINT ends
/// a netsh that waits quietly).
const STOP_AT_EXIT: &str = "trap 'kill -INT $(jobs -p) 2>/dev/null' EXIT";

#[derive(Clone, Debug, PartialEq)]
pub enum ServiceOp {
    Http {
        ns: Ns,
        port: u16,
        text: String,
    },
    /// Answer Neighbour Solicitations for a prefix on `dev` (a running service): every address
    /// of it, or with `network` only those that network's IPAM has handed out.
    Ndp {
        ns: Ns,
        prefix: IpNet,
        dev: Name,
        network: Option<Name>,
    },
    /// Block until Ctrl-C, keeping the services running.
    Wait,
}

impl ServiceOp {
    /// Writes the Op as the command a person would type (see render.rs). netsh runs these
    /// services itself, so the script runs netsh for them, in the background; like netsh's own,
    /// they stop when the script ends (the `trap`), and `wait` keeps them running.
    pub(super) fn render(&self, out: &mut String) {
        match self {
            ServiceOp::Http { ns, port, text } => {
                let statement = format!("serve http {port} text {}; wait", word(text));
                in_background(out, ns, &statement);
                // the statement returns once the server listens: so does the script
                put!(
                    out,
                    "\ni=0; until ",
                    InNs(ns),
                    "ss -Hltn 'sport = :",
                    port,
                    "' | grep -q .; do i=$((i + 1)); [ $i -lt 200 ] || exit 1; sleep 0.05; done"
                );
            }
            ServiceOp::Ndp {
                ns,
                prefix,
                dev,
                network: None,
            } => {
                let statement = format!("proxy-ndp {prefix} on {}; wait", word(dev));
                in_background(out, ns, &statement);
            }
            // the addresses follow this run's IPAM as containers come and go: no other process
            // knows them, so there is no command to write, only what netsh does
            ServiceOp::Ndp {
                ns,
                prefix,
                dev,
                network: Some(n),
            } => put!(
                out,
                "# netsh answers neighbour solicitations on ",
                word(dev),
                word_in(ns),
                " for the addresses network ",
                word(n),
                " has handed out in ",
                Shown(prefix),
                " (kept current as its containers come and go)"
            ),
            ServiceOp::Wait => {
                out.push_str("wait  # netsh: until Ctrl-C, keeping services running")
            }
        }
    }

    /// The service in a few words, for a rollback's report.
    pub fn what(&self) -> String {
        let within = |ns: &Ns| ns.as_ref().map(|n| format!(" in {n}")).unwrap_or_default();
        match self {
            ServiceOp::Http { ns, port, .. } => format!("serve http {port}{}", within(ns)),
            ServiceOp::Ndp {
                ns,
                prefix,
                dev,
                network,
            } => {
                let only = network
                    .as_ref()
                    .map(|n| format!(" for {n}"))
                    .unwrap_or_default();
                format!("proxy-ndp {prefix} on {dev}{only}{}", within(ns))
            }
            ServiceOp::Wait => "wait".to_string(),
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

/// ` in NS` for a comment, nothing for this namespace.
fn word_in(ns: &Ns) -> String {
    ns.as_ref()
        .map(|n| format!(" in {}", word(n)))
        .unwrap_or_default()
}

/// netsh running `statement` in the background, stopped when the script ends.
fn in_background(out: &mut String, ns: &Ns, statement: &str) {
    put!(
        out,
        STOP_AT_EXIT,
        "\n",
        InNs(ns),
        "netsh -c ",
        Quoted(statement),
        " &"
    );
}
