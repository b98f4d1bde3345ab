//! Addresses on links.

use super::{Name, Ns};
use ipnet::IpNet;

#[derive(Clone, Debug, PartialEq)]
pub enum AddrOp {
    Add {
        ns: Ns,
        dev: Name,
        addr: IpNet,
        nodad: bool,
    },
    Del {
        ns: Ns,
        dev: Name,
        addr: IpNet,
    },
}
