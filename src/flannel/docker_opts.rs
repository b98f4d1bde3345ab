//! What flannel's `mk-docker-opts.sh` writes to its docker env file, byte for byte.
//!
//! The script sources subnet.env, then sets `DOCKER_OPT_BIP="--bip=$FLANNEL_SUBNET"` (if the
//! subnet is set), `DOCKER_OPT_IPMASQ="--ip-masq=false"` (only when flannel masquerades itself,
//! `FLANNEL_IPMASQ=true`, and `-m` was not given) and `DOCKER_OPT_MTU="--mtu=$FLANNEL_MTU"` (if
//! set). It writes them in `compgen -v` order (by name: BIP, IPMASQ, MTU), one per line with `-i`,
//! and all together with `-c` as `KEY=" opt opt "`: the old value of `$KEY` from its environment,
//! a space, and each option followed by a space. With neither `-i` nor `-c` it does both.

use std::path::Path;

/// Where mk-docker-opts.sh writes when `-d` is not given.
pub const DEFAULT_DOCKER_ENV_FILE: &str = "/run/docker_opts.env";

/// The script's flags (`-f` is the subnet.env the caller reads; `-d` is where it writes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DockerOptsFlags {
    /// `-i`: one `DOCKER_OPT_*` variable per option.
    pub individual: bool,
    /// `-c`: all options in one variable.
    pub combined: bool,
    /// `-k KEY`: the combined variable's name (default `DOCKER_OPTS`).
    pub key: String,
    /// `-m`: leave out `--ip-masq`.
    pub no_masq: bool,
    /// The value `$KEY` already had in the script's environment (usually empty); the script
    /// starts the combined value from it.
    pub inherited: String,
}

impl Default for DockerOptsFlags {
    fn default() -> Self {
        DockerOptsFlags {
            individual: false,
            combined: false,
            key: "DOCKER_OPTS".to_string(),
            no_masq: false,
            inherited: String::new(),
        }
    }
}

/// The variables a shell would have after `source subnet.env` (only the three the script uses).
fn sourced(subnet_env: &str) -> (String, String, String) {
    let (mut subnet, mut mtu, mut ipmasq) = (String::new(), String::new(), String::new());
    for line in subnet_env.lines() {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value
            .trim()
            .trim_matches('"')
            .trim_matches('\'')
            .to_string();
        match key {
            "FLANNEL_SUBNET" => subnet = value,
            "FLANNEL_MTU" => mtu = value,
            "FLANNEL_IPMASQ" => ipmasq = value,
            _ => {}
        }
    }
    (subnet, mtu, ipmasq)
}

/// The docker env file's text for a subnet.env's text.
pub fn render(subnet_env: &str, flags: &DockerOptsFlags) -> String {
    let (individual, combined) = if !flags.individual && !flags.combined {
        (true, true)
    } else {
        (flags.individual, flags.combined)
    };
    let (subnet, mtu, ipmasq) = sourced(subnet_env);
    let mut options: Vec<(&str, String)> = Vec::new();
    if !subnet.is_empty() {
        options.push(("DOCKER_OPT_BIP", format!("--bip={subnet}")));
    }
    if ipmasq == "true" && !flags.no_masq {
        options.push(("DOCKER_OPT_IPMASQ", "--ip-masq=false".to_string()));
    }
    if !mtu.is_empty() {
        options.push(("DOCKER_OPT_MTU", format!("--mtu={mtu}")));
    }

    let mut out = String::new();
    let mut all = format!("{} ", flags.inherited);
    for (name, value) in &options {
        if individual {
            out += &format!("{name}=\"{value}\"\n");
        }
        all += &format!("{value} ");
    }
    if combined {
        out += &format!("{}=\"{all}\"\n", flags.key);
    }
    out
}

/// Writes the docker env file (the script's `-d FILE`), mode 0644, as subnet.env is written.
pub fn write(path: &Path, text: &str) -> std::io::Result<bool> {
    super::subnet_env::write_atomically(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENV: &str = "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.15.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n";

    fn flags(f: impl FnOnce(&mut DockerOptsFlags)) -> DockerOptsFlags {
        let mut flags = DockerOptsFlags::default();
        f(&mut flags);
        flags
    }

    #[test]
    fn no_flags_writes_both_forms() {
        assert_eq!(
            render(ENV, &DockerOptsFlags::default()),
            "DOCKER_OPT_BIP=\"--bip=10.1.15.1/24\"\n\
             DOCKER_OPT_IPMASQ=\"--ip-masq=false\"\n\
             DOCKER_OPT_MTU=\"--mtu=1472\"\n\
             DOCKER_OPTS=\" --bip=10.1.15.1/24 --ip-masq=false --mtu=1472 \"\n"
        );
    }

    #[test]
    fn combined_only() {
        assert_eq!(
            render(ENV, &flags(|f| f.combined = true)),
            "DOCKER_OPTS=\" --bip=10.1.15.1/24 --ip-masq=false --mtu=1472 \"\n"
        );
    }

    #[test]
    fn individual_only() {
        assert_eq!(
            render(ENV, &flags(|f| f.individual = true)),
            "DOCKER_OPT_BIP=\"--bip=10.1.15.1/24\"\nDOCKER_OPT_IPMASQ=\"--ip-masq=false\"\nDOCKER_OPT_MTU=\"--mtu=1472\"\n"
        );
    }

    #[test]
    fn key_and_no_masq() {
        let f = flags(|f| {
            f.combined = true;
            f.key = "DOCKER_NETWORK_OPTIONS".into();
            f.no_masq = true;
        });
        assert_eq!(
            render(ENV, &f),
            "DOCKER_NETWORK_OPTIONS=\" --bip=10.1.15.1/24 --mtu=1472 \"\n"
        );
    }

    #[test]
    fn ip_masq_only_when_flannel_masquerades() {
        let env = ENV.replace("FLANNEL_IPMASQ=true", "FLANNEL_IPMASQ=false");
        assert_eq!(
            render(&env, &flags(|f| f.combined = true)),
            "DOCKER_OPTS=\" --bip=10.1.15.1/24 --mtu=1472 \"\n"
        );
    }

    #[test]
    fn inherited_value_leads_and_empty_env_gives_a_space() {
        let f = flags(|f| {
            f.combined = true;
            f.inherited = "--debug".into();
        });
        assert_eq!(
            render(ENV, &f),
            "DOCKER_OPTS=\"--debug --bip=10.1.15.1/24 --ip-masq=false --mtu=1472 \"\n"
        );
        assert_eq!(
            render("", &DockerOptsFlags::default()),
            "DOCKER_OPTS=\" \"\n"
        );
    }

    #[test]
    fn from_a_rendered_subnet_env() {
        use crate::flannel::subnet_env::SubnetEnv;
        let env = SubnetEnv {
            network: Some("10.100.0.0/16".parse().unwrap()),
            subnet: Some("10.100.15.0/24".parse().unwrap()),
            mtu: Some(1450),
            ipmasq: Some(false),
            ..SubnetEnv::default()
        };
        assert_eq!(
            render(&env.render(), &flags(|f| f.combined = true)),
            "DOCKER_OPTS=\" --bip=10.100.15.1/24 --mtu=1450 \"\n"
        );
    }
}
