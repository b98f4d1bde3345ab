//! Where flannel keeps things in the store, and its subnet key format
//! (`10.100.15.0-24`, or `10.100.15.0-24&fc00:0:0:f::-64` with an IPv6 subnet).

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

/// flanneld's default `--etcd-prefix`.
pub const DEFAULT_PREFIX: &str = "/coreos.com/network";

/// A prefix as flannel joins paths with it: no trailing slash.
fn base(prefix: &str) -> &str {
    prefix.trim_end_matches('/')
}

pub fn config_key(prefix: &str) -> String {
    format!("{}/config", base(prefix))
}

/// The prefix under which all subnet leases live (with the trailing slash, for prefix reads).
pub fn subnets_prefix(prefix: &str) -> String {
    format!("{}/subnets/", base(prefix))
}

/// flannel's `MakeSubnetKey`: the subnet with `-` before its length.
pub fn subnet_key_name(subnet: Ipv4Net, ipv6: Option<Ipv6Net>) -> String {
    let v4 = format!("{}-{}", subnet.network(), subnet.prefix_len());
    match ipv6 {
        Some(v6) => format!("{v4}&{}-{}", v6.network(), v6.prefix_len()),
        None => v4,
    }
}

pub fn subnet_key(prefix: &str, subnet: Ipv4Net, ipv6: Option<Ipv6Net>) -> String {
    format!(
        "{}{}",
        subnets_prefix(prefix),
        subnet_key_name(subnet, ipv6)
    )
}

/// flannel's `ParseSubnetKey` on the last path element of `key`; `None` if it is not a subnet.
pub fn parse_subnet_key(key: &str) -> Option<(Ipv4Net, Option<Ipv6Net>)> {
    let name = key.rsplit('/').next()?;
    let (v4, v6) = match name.split_once('&') {
        Some((v4, v6)) => (v4, Some(v6)),
        None => (name, None),
    };
    let (addr, len) = v4.split_once('-')?;
    let subnet = Ipv4Net::new(addr.parse::<Ipv4Addr>().ok()?, len.parse().ok()?).ok()?;
    let ipv6 = match v6 {
        Some(v6) => {
            let (addr, len) = v6.split_once('-')?;
            Some(Ipv6Net::new(addr.parse::<Ipv6Addr>().ok()?, len.parse().ok()?).ok()?)
        }
        None => None,
    };
    Some((subnet, ipv6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_as_flannel_writes_them() {
        let sn: Ipv4Net = "10.100.15.0/24".parse().unwrap();
        assert_eq!(
            config_key("/coreos.com/network/"),
            "/coreos.com/network/config"
        );
        assert_eq!(
            subnet_key(DEFAULT_PREFIX, sn, None),
            "/coreos.com/network/subnets/10.100.15.0-24"
        );
        let v6: Ipv6Net = "fc00:0:0:f::/64".parse().unwrap();
        let name = subnet_key_name(sn, Some(v6));
        assert_eq!(name, "10.100.15.0-24&fc00:0:0:f::-64");
        assert_eq!(
            parse_subnet_key(&format!("/x/subnets/{name}")),
            Some((sn, Some(v6)))
        );
        assert_eq!(
            parse_subnet_key("/x/subnets/10.100.15.0-24"),
            Some((sn, None))
        );
        assert_eq!(parse_subnet_key("/x/subnets/garbage"), None);
        assert_eq!(parse_subnet_key("/x/subnets/10.1.1.0-33"), None);
    }
}
