//! flannel's subnet.env, which container runtimes read (`source /run/flannel/subnet.env`):
//!
//! ```text
//! FLANNEL_NETWORK=10.100.0.0/16
//! FLANNEL_SUBNET=10.100.15.1/24
//! FLANNEL_MTU=1450
//! FLANNEL_IPMASQ=false
//! ```
//!
//! With IPv6 enabled, `FLANNEL_IPV6_NETWORK` and `FLANNEL_IPV6_SUBNET` follow the IPv4 pair.
//! The subnet is written as its first address (flannel's `IncrementIP`), which is what docker's
//! `--bip` wants; reading it back gives the subnet itself, as flanneld does for reuse.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use ipnet::{Ipv4Net, Ipv6Net};

use super::config::NetworkConfig;
use crate::base::safe_file;

/// flanneld's default `--subnet-file`.
pub const DEFAULT_SUBNET_FILE: &str = "/run/flannel/subnet.env";

/// The values of a subnet.env. Subnets are kept as networks (`10.100.15.0/24`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubnetEnv {
    pub network: Option<Ipv4Net>,
    pub subnet: Option<Ipv4Net>,
    pub ipv6_network: Option<Ipv6Net>,
    pub ipv6_subnet: Option<Ipv6Net>,
    pub mtu: Option<u32>,
    pub ipmasq: Option<bool>,
}

impl SubnetEnv {
    /// What flanneld writes for a lease: the config's networks, the lease's subnets, the MTU of
    /// the overlay device and whether flannel masquerades.
    pub fn for_lease(
        config: &NetworkConfig,
        subnet: Ipv4Net,
        ipv6_subnet: Option<Ipv6Net>,
        mtu: u32,
        ipmasq: bool,
    ) -> SubnetEnv {
        let v6 = config.ipv6.as_ref().zip(ipv6_subnet);
        SubnetEnv {
            network: config.network.filter(|_| config.enable_ipv4),
            subnet: Some(subnet).filter(|_| config.enable_ipv4),
            ipv6_network: v6.map(|(c, _)| c.network),
            ipv6_subnet: v6.map(|(_, sn)| sn),
            mtu: Some(mtu),
            ipmasq: Some(ipmasq),
        }
    }

    /// The file's text, in flannel's order and format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let (Some(network), Some(subnet)) = (self.network, self.subnet) {
            out += &format!(
                "FLANNEL_NETWORK={network}\nFLANNEL_SUBNET={}\n",
                first_v4(subnet)
            );
        }
        if let (Some(network), Some(subnet)) = (self.ipv6_network, self.ipv6_subnet) {
            out += &format!(
                "FLANNEL_IPV6_NETWORK={network}\nFLANNEL_IPV6_SUBNET={}\n",
                first_v6(subnet)
            );
        }
        out += &format!(
            "FLANNEL_MTU={}\nFLANNEL_IPMASQ={}\n",
            self.mtu.unwrap_or(0),
            self.ipmasq.unwrap_or(false)
        );
        out
    }

    /// Reads `KEY=VALUE` lines (optionally quoted, `export` allowed, `#` comments); unknown keys
    /// are ignored and a value that does not parse is left unset.
    pub fn parse(text: &str) -> SubnetEnv {
        let mut env = SubnetEnv::default();
        for line in text.lines() {
            let line = line.trim();
            let line = line.strip_prefix("export ").unwrap_or(line);
            if line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"').trim_matches('\'');
            match key.trim() {
                "FLANNEL_NETWORK" => env.network = value.parse::<Ipv4Net>().ok().map(|n| n.trunc()),
                "FLANNEL_SUBNET" => env.subnet = value.parse::<Ipv4Net>().ok().map(|n| n.trunc()),
                "FLANNEL_IPV6_NETWORK" => {
                    env.ipv6_network = value.parse::<Ipv6Net>().ok().map(|n| n.trunc())
                }
                "FLANNEL_IPV6_SUBNET" => {
                    env.ipv6_subnet = value.parse::<Ipv6Net>().ok().map(|n| n.trunc())
                }
                "FLANNEL_MTU" => env.mtu = value.parse().ok(),
                "FLANNEL_IPMASQ" => env.ipmasq = value.parse().ok(),
                _ => {}
            }
        }
        env
    }

    /// Reads the file; `Ok(None)` if it does not exist.
    pub fn read(path: &Path) -> std::io::Result<Option<SubnetEnv>> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Some(SubnetEnv::parse(&text))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes the file (mode 0644, parent directories created) through a temporary file and a
    /// rename, so a reader never sees half of it.
    /// Returns whether the file was written (`false`: it held this already).
    pub fn write(&self, path: &Path) -> std::io::Result<bool> {
        write_atomically(path, self.render().as_bytes())
    }
}

/// Writes `bytes` to `path` (mode 0644) through `base::safe_file`, creating the directory (0755)
/// if needed: root writes these files, often in directories others can write to. A file that
/// holds these bytes already is left as it is (`Ok(false)`): a re-run changes nothing.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    if safe_file::holds(path, bytes, 0o644) {
        return Ok(false);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        safe_file::create_dir(dir, 0o755)?;
    }
    safe_file::write_atomic(path, bytes, 0o644).map(|()| true)
}

fn first_v4(subnet: Ipv4Net) -> String {
    let first = Ipv4Addr::from(u32::from(subnet.network()).wrapping_add(1));
    format!("{first}/{}", subnet.prefix_len())
}

fn first_v6(subnet: Ipv6Net) -> String {
    let first = Ipv6Addr::from(u128::from(subnet.network()).wrapping_add(1));
    format!("{first}/{}", subnet.prefix_len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_flanneld() {
        let config = NetworkConfig::parse(r#"{"Network": "10.100.0.0/16"}"#).unwrap();
        let env = SubnetEnv::for_lease(
            &config,
            "10.100.15.0/24".parse().unwrap(),
            None,
            1450,
            false,
        );
        assert_eq!(
            env.render(),
            "FLANNEL_NETWORK=10.100.0.0/16\nFLANNEL_SUBNET=10.100.15.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n"
        );
    }

    #[test]
    fn dual_stack_adds_the_ipv6_pair() {
        let config = NetworkConfig::parse(
            r#"{"Network": "10.1.0.0/16", "EnableIPv6": true, "IPv6Network": "fc00::/48"}"#,
        )
        .unwrap();
        let env = SubnetEnv::for_lease(
            &config,
            "10.1.2.0/24".parse().unwrap(),
            Some("fc00:0:0:2::/64".parse().unwrap()),
            1472,
            true,
        );
        assert_eq!(
            env.render(),
            "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.2.1/24\n\
             FLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00:0:0:2::1/64\n\
             FLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n"
        );
        assert_eq!(SubnetEnv::parse(&env.render()), env, "reads back");
    }

    #[test]
    fn reading_gives_the_subnet_not_the_address() {
        let env = SubnetEnv::parse(
            "# made by hand\nexport FLANNEL_SUBNET=\"10.100.15.1/24\"\nFLANNEL_MTU=1400\nJUNK\nFLANNEL_IPMASQ=maybe\n",
        );
        assert_eq!(env.subnet, Some("10.100.15.0/24".parse().unwrap()));
        assert_eq!(env.mtu, Some(1400));
        assert_eq!(env.ipmasq, None);
        assert_eq!(env.network, None);
    }

    #[test]
    fn writes_and_reads_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/flannel/subnet.env");
        assert_eq!(SubnetEnv::read(&path).unwrap(), None);
        let env = SubnetEnv {
            network: Some("10.5.0.0/16".parse().unwrap()),
            subnet: Some("10.5.3.0/24".parse().unwrap()),
            mtu: Some(1450),
            ipmasq: Some(true),
            ..SubnetEnv::default()
        };
        env.write(&path).unwrap();
        assert_eq!(SubnetEnv::read(&path).unwrap(), Some(env));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
    }

    #[test]
    fn a_file_that_holds_the_bytes_already_is_left_alone() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subnet.env");
        assert!(write_atomically(&path, b"FLANNEL_MTU=1450\n").unwrap());
        let ino = std::fs::metadata(&path).unwrap().ino();
        assert!(!write_atomically(&path, b"FLANNEL_MTU=1450\n").unwrap());
        assert_eq!(std::fs::metadata(&path).unwrap().ino(), ino, "not replaced");
        assert!(write_atomically(&path, b"FLANNEL_MTU=1472\n").unwrap());
        assert_ne!(std::fs::metadata(&path).unwrap().ino(), ino, "replaced");
        // the mode is part of what is written
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(write_atomically(&path, b"FLANNEL_MTU=1472\n").unwrap());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        // a symlink to a file holding the bytes is replaced, not trusted
        let target = dir.path().join("target");
        std::fs::write(&target, b"FLANNEL_MTU=1472\n").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
        let link = dir.path().join("link.env");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(write_atomically(&link, b"FLANNEL_MTU=1472\n").unwrap());
        assert!(std::fs::symlink_metadata(&link).unwrap().is_file());
    }
}
