//! Services: what netsh runs itself while the script lives.

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
