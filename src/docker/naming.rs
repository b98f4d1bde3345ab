//! Names and addresses as Docker derives them for a container: its MAC from its IPv4 address,
//! its IPv6 address from the MAC, and the host side of its veth pair.

use crate::ops::Ns;
use ipnet::Ipv6Net;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Docker's MAC for an IPv4 address: 02:42 followed by the address's four bytes.
pub fn docker_mac(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

/// The IPv6 address Docker gives a container in `fixed-cidr-v6`: the prefix with the MAC in the
/// low 48 bits (2003:cd11::242:ac11:2 for 02:42:ac:11:00:02).
pub fn docker_v6(prefix: Ipv6Net, mac: [u8; 6]) -> Ipv6Addr {
    let mut low: u128 = 0;
    for b in mac {
        low = (low << 8) | b as u128;
    }
    Ipv6Addr::from(u128::from(prefix.network()) | low)
}

/// The host-side veth name: `veth` and 7 hex digits, as Docker names them (stable per container).
pub fn veth_name(host: &Ns, name: &str) -> String {
    let seed = format!("{}/{name}", host.as_deref().unwrap_or(""));
    let hash = crate::base::hash::fnv1a_32(seed.as_bytes());
    format!("veth{:07x}", hash & 0x0fff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_get_docker_macs_and_the_books_v6_addresses() {
        let ip = Ipv4Addr::new(172, 17, 0, 2);
        assert_eq!(docker_mac(ip), [0x02, 0x42, 0xac, 0x11, 0x00, 0x02]);
        let v6 = docker_v6("2003:cd11::/64".parse().unwrap(), docker_mac(ip));
        assert_eq!(v6, "2003:cd11::242:ac11:2".parse::<Ipv6Addr>().unwrap());
        assert!(veth_name(&None, "web1").len() <= 15);
    }
}
