//! IPAM as Docker's default driver does it, one pool per subnet: the lowest free address of the
//! pool's range, never the subnet's network address, its IPv4 broadcast, the gateway or an aux
//! reservation. Pools sit behind `AddressPool` so a store-backed pool (store_pool.rs, shared by
//! every host and netsh process of a `scope global` network) can take a local pool's place.

use crate::base::error::RunError;
use ipnet::IpNet;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Where a network's addresses are handed out. `holder` names who takes an address
/// (`HOST/CONTAINER`); a pool shared through the store records it.
pub trait AddressPool: std::fmt::Debug + Send {
    /// The subnet the pool belongs to.
    fn subnet(&self) -> IpNet;
    /// The lowest free address of the range, now taken.
    fn take_next(&mut self, holder: &str) -> Result<IpAddr, RunError>;
    /// Takes a pinned address (`ip`/`ip6`), checked against the subnet, the range and what is taken.
    fn take(&mut self, ip: IpAddr, holder: &str) -> Result<(), RunError>;
    /// Gives an address back.
    fn release(&mut self, ip: IpAddr);
}

/// A pool kept in this process (Docker's `local` scope).
#[derive(Debug, Clone)]
pub struct LocalPool {
    subnet: IpNet,
    /// Where dynamic addresses come from: `ip-range`, or the whole subnet.
    range: IpNet,
    /// The gateway and aux addresses: never handed out.
    reserved: BTreeSet<IpAddr>,
    used: BTreeSet<IpAddr>,
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u32::from(a) as u128,
        IpAddr::V6(a) => u128::from(a),
    }
}

fn from_u128(v4: bool, n: u128) -> IpAddr {
    if v4 {
        IpAddr::V4(Ipv4Addr::from(n as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(n))
    }
}

impl LocalPool {
    pub fn new(subnet: IpNet, range: Option<IpNet>, reserved: &[IpAddr]) -> LocalPool {
        let subnet = subnet.trunc();
        LocalPool {
            subnet,
            range: range.map(|r| r.trunc()).unwrap_or(subnet),
            reserved: reserved
                .iter()
                .copied()
                .filter(|a| subnet.contains(a))
                .collect(),
            used: BTreeSet::new(),
        }
    }

    /// Why `ip` can never be handed out, if it cannot.
    fn forbidden(&self, ip: IpAddr) -> Option<&'static str> {
        if ip == self.subnet.network() {
            return Some("the subnet's network address");
        }
        if ip.is_ipv4() && ip == self.subnet.broadcast() {
            return Some("the subnet's broadcast address");
        }
        if self.reserved.contains(&ip) {
            return Some("reserved (the gateway or an aux address)");
        }
        None
    }

    /// Counts `ip` as taken (by another holder, e.g. another host in the store).
    pub fn mark_used(&mut self, ip: IpAddr) {
        self.used.insert(ip);
    }
}

impl AddressPool for LocalPool {
    fn subnet(&self) -> IpNet {
        self.subnet
    }

    fn take_next(&mut self, _holder: &str) -> Result<IpAddr, RunError> {
        let v4 = self.range.addr().is_ipv4();
        let (first, last) = (
            to_u128(self.range.network()),
            to_u128(self.range.broadcast()),
        );
        // every skipped address is taken or reserved, so this walks at most used+reserved+2 steps
        let mut n = first;
        loop {
            let ip = from_u128(v4, n);
            if self.forbidden(ip).is_none() && !self.used.contains(&ip) {
                self.used.insert(ip);
                return Ok(ip);
            }
            if n == last {
                break;
            }
            n += 1;
        }
        Err(RunError::new(format!(
            "no free address left in {} ({} taken)",
            self.range,
            self.used.len()
        ))
        .help("the pool is exhausted: remove a container, or widen the subnet or ip-range"))
    }

    fn take(&mut self, ip: IpAddr, _holder: &str) -> Result<(), RunError> {
        if !self.subnet.contains(&ip) {
            return Err(RunError::new(format!(
                "{ip} is not in the network's subnet {}",
                self.subnet
            )));
        }
        if !self.range.contains(&ip) {
            // Docker: "no configured subnet or ip-range contain the IP address"
            return Err(RunError::new(format!(
                "{ip} is outside the network's ip-range {}",
                self.range
            ))
            .help("Docker only hands out pinned addresses from the ip-range"));
        }
        if let Some(why) = self.forbidden(ip) {
            return Err(RunError::new(format!(
                "{ip} cannot be given out: it is {why}"
            )));
        }
        if !self.used.insert(ip) {
            return Err(RunError::new(format!(
                "{ip} is already in use on this network"
            )));
        }
        Ok(())
    }

    fn release(&mut self, ip: IpAddr) {
        self.used.remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn lowest_free_skips_network_gateway_and_aux() {
        let mut p = LocalPool::new(
            "10.10.10.0/24".parse().unwrap(),
            Some("10.10.10.0/25".parse().unwrap()),
            &[ip("10.10.10.1"), ip("10.10.10.2")],
        );
        assert_eq!(p.take_next("h").unwrap(), ip("10.10.10.3"));
        assert_eq!(p.take_next("h").unwrap(), ip("10.10.10.4"));
        p.release(ip("10.10.10.3"));
        assert_eq!(p.take_next("h").unwrap(), ip("10.10.10.3"));
    }

    #[test]
    fn a_range_in_the_upper_half_starts_at_its_first_address() {
        let mut p = LocalPool::new(
            "10.10.10.0/24".parse().unwrap(),
            Some("10.10.10.128/25".parse().unwrap()),
            &[ip("10.10.10.1")],
        );
        assert_eq!(p.take_next("h").unwrap(), ip("10.10.10.128"));
    }

    #[test]
    fn pinning_is_checked_against_subnet_range_and_reservations() {
        let mut p = LocalPool::new(
            "10.10.10.0/24".parse().unwrap(),
            Some("10.10.10.128/25".parse().unwrap()),
            &[ip("10.10.10.1"), ip("10.10.10.200")],
        );
        assert!(p.take(ip("10.10.11.5"), "h").is_err());
        assert!(p.take(ip("10.10.10.5"), "h").is_err());
        assert!(p.take(ip("10.10.10.200"), "h").is_err());
        assert!(p.take(ip("10.10.10.255"), "h").is_err());
        p.take(ip("10.10.10.130"), "h").unwrap();
        assert!(p.take(ip("10.10.10.130"), "h").is_err());
    }

    #[test]
    fn an_exhausted_pool_says_so() {
        let mut p = LocalPool::new("10.0.0.0/30".parse().unwrap(), None, &[ip("10.0.0.1")]);
        assert_eq!(p.take_next("h").unwrap(), ip("10.0.0.2"));
        let e = p.take_next("h").unwrap_err();
        assert!(
            e.message.contains("no free address left in 10.0.0.0/30"),
            "{}",
            e.message
        );
    }

    #[test]
    fn ipv6_pools_have_no_broadcast() {
        let mut p = LocalPool::new(
            "2003:ab11::/126".parse().unwrap(),
            None,
            &[ip("2003:ab11::1")],
        );
        assert_eq!(p.take_next("h").unwrap(), ip("2003:ab11::2"));
        assert_eq!(p.take_next("h").unwrap(), ip("2003:ab11::3"));
        assert!(p.take_next("h").is_err());
    }
}
