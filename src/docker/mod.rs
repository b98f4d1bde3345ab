//! Docker-style user-defined networks (`network create/rm`, `container ... on NETWORK`): Docker's
//! rules and IPAM, planned as plain Ops the runtime applies. The runtime keeps one `Networks`.

pub mod attach;
pub mod ipam;
pub mod naming;
pub mod network;
pub mod store_pool;

use crate::base::error::{Kind, RunError};
use crate::ops::{Container, Network, Ns, Op};
use attach::Attached;
use ipnet::{IpNet, Ipv6Net};
use network::{HostView, NetworkState};
use std::net::{IpAddr, Ipv6Addr};

/// A container's place on a network: its position among the network's containers and the
/// addresses it holds there.
#[derive(Clone, Debug, PartialEq)]
pub struct Membership {
    pub host: Ns,
    pub network: String,
    position: usize,
    addrs: Vec<IpAddr>,
}

/// Every network made in this run, per host.
#[derive(Default)]
pub struct Networks {
    all: Vec<NetworkState>,
    /// Networks `network rm` removed in this run, kept so a rollback can bring them back.
    removed: Vec<NetworkState>,
}

/// `key` is the statement's argument that names the network.
fn unknown(host: &Ns, name: &str, key: &'static str) -> RunError {
    let on = host
        .as_deref()
        .map(|h| format!(" on {h}"))
        .unwrap_or_default();
    RunError::of(Kind::Gone, format!("network {name} not found{on}"))
        .at(key, name)
        .help("create it first with `network create NAME driver ... in HOST`")
}

impl Networks {
    fn on_host<'a>(&'a self, host: &'a Ns) -> impl Iterator<Item = &'a NetworkState> + 'a {
        self.all.iter().filter(move |n| n.host == *host)
    }

    fn find_mut(&mut self, host: &Ns, name: &str) -> Option<&mut NetworkState> {
        self.all
            .iter_mut()
            .find(|n| n.host == *host && n.spec.name == name)
    }

    /// Checks and plans `network create`; `commit_create` records it once its Ops applied.
    pub fn plan_create(
        &self,
        host: &Ns,
        spec: &Network,
        parent_exists: bool,
        global_pool: Option<&network::GlobalPool>,
    ) -> Result<(NetworkState, Vec<Op>), RunError> {
        let twin = match spec.global {
            true => self
                .all
                .iter()
                .find(|n| n.spec.global && n.spec.name == spec.name && n.host != *host),
            false => None,
        };
        let view = HostView {
            others: self.on_host(host).collect(),
            parent_exists,
            twin,
            global_pool,
        };
        network::plan_create(host, spec, &view)
    }

    pub fn commit_create(&mut self, n: NetworkState) {
        self.all.push(n);
    }

    /// Takes the network out of the registry and returns the Ops that remove it, with the names of
    /// the containers that go with it.
    pub fn remove(&mut self, host: &Ns, name: &str) -> Result<(Vec<Op>, Vec<String>), RunError> {
        let i = self
            .all
            .iter()
            .position(|n| n.host == *host && n.spec.name == name)
            .ok_or_else(|| unknown(host, name, "name"))?;
        let n = self.all.remove(i);
        let gone = n.containers.iter().map(|(c, _)| c.clone()).collect();
        let ops = network::rm_ops(&n);
        self.removed.push(n);
        Ok((ops, gone))
    }

    /// A rollback of `network create`: the network is no longer known.
    pub fn forget_network(&mut self, host: &Ns, name: &str) {
        self.all
            .retain(|n| !(n.host == *host && n.spec.name == name));
    }

    /// A rollback of `network rm`: the network is known again, with its pools and containers (which
    /// are returned, with their addresses).
    pub fn bring_back(&mut self, host: &Ns, name: &str) -> Option<Vec<(String, Vec<IpAddr>)>> {
        let i = self
            .removed
            .iter()
            .rposition(|n| n.host == *host && n.spec.name == name)?;
        let n = self.removed.remove(i);
        let containers = n.containers.clone();
        self.all.push(n);
        Some(containers)
    }

    /// Checks `proxy-ndp PREFIX ... for NAME`: the network is known on `host` and `prefix`
    /// overlaps one of its IPv6 subnets (else no address it hands out could ever be answered).
    pub fn check_ndp_prefix(&self, host: &Ns, name: &str, prefix: Ipv6Net) -> Result<(), RunError> {
        let n = self
            .on_host(host)
            .find(|n| n.spec.name == name)
            .ok_or_else(|| unknown(host, name, "for"))?;
        let v6: Vec<IpNet> = n
            .pools
            .iter()
            .map(|p| p.subnet())
            .filter(|s| s.addr().is_ipv6())
            .collect();
        if v6.iter().any(|s| network::overlaps(s, &IpNet::V6(prefix))) {
            return Ok(());
        }
        let has = match v6.is_empty() {
            true => "no IPv6 subnet".to_string(),
            false => v6
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        };
        Err(
            RunError::new(format!("{prefix} is not in the network {name} ({has})"))
                .at("target", prefix.to_string())
                .help("name a prefix that holds the network's IPv6 subnet or lies inside it"),
        )
    }

    /// The addresses of `prefix` that network `name` of `host` has handed out to its containers
    /// now; none once the network is gone.
    pub fn handed_out(&self, host: &Ns, name: &str, prefix: Ipv6Net) -> Vec<Ipv6Addr> {
        self.on_host(host)
            .filter(|n| n.spec.name == name)
            .flat_map(|n| n.containers.iter().flat_map(|(_, addrs)| addrs.iter()))
            .filter_map(|a| match a {
                IpAddr::V6(v6) if prefix.contains(v6) => Some(*v6),
                _ => None,
            })
            .collect()
    }

    /// Plans attaching a container; its addresses are taken at once (`forget` gives them back).
    pub fn attach(&mut self, host: &Ns, c: &Container) -> Result<Attached, RunError> {
        let name = c.network.clone().unwrap_or_default();
        let n = self
            .find_mut(host, &name)
            .ok_or_else(|| unknown(host, &name, "on"))?;
        attach::plan_attach(host, n, c)
    }

    /// Undoes a planned attach whose Ops failed.
    pub fn forget(&mut self, host: &Ns, network: &str, container: &str) {
        if let Some(n) = self.find_mut(host, network)
            && let Some(i) = n.containers.iter().position(|(c, _)| c == container)
        {
            let (_, addrs) = n.containers.remove(i);
            attach::release(n, addrs.into_iter());
        }
    }

    /// The Ops that take away the host's proxy entries for a container's addresses on the
    /// `ndp-proxy` networks it is on (`NetworkState::proxy_dels`).
    pub fn proxy_dels(&self, container: &str) -> Vec<Op> {
        self.all
            .iter()
            .flat_map(|n| n.proxy_dels(container))
            .collect()
    }

    /// A container's namespace is gone: every network it was on gets its addresses back. Says
    /// where it was, so a rollback can put it back (`rejoin`).
    pub fn container_gone(&mut self, container: &str) -> Vec<Membership> {
        let mut was = Vec::new();
        for n in self.all.iter_mut() {
            if let Some(position) = n.containers.iter().position(|(c, _)| c == container) {
                let (_, addrs) = n.containers.remove(position);
                attach::release(n, addrs.iter().copied());
                was.push(Membership {
                    host: n.host.clone(),
                    network: n.spec.name.clone(),
                    position,
                    addrs,
                });
            }
        }
        was
    }

    /// The networks a container is on now, as `container_gone` would say.
    pub fn memberships(&self, container: &str) -> Vec<Membership> {
        self.all
            .iter()
            .filter_map(|n| {
                let position = n.containers.iter().position(|(c, _)| c == container)?;
                Some(Membership {
                    host: n.host.clone(),
                    network: n.spec.name.clone(),
                    position,
                    addrs: n.containers[position].1.clone(),
                })
            })
            .collect()
    }

    /// Puts a container back on the networks it was on, with its addresses (the rollback of
    /// its `netns del`). A network removed meanwhile is skipped.
    pub fn rejoin(&mut self, container: &str, was: &[Membership]) -> Result<(), RunError> {
        for m in was {
            if let Some(n) = self.find_mut(&m.host, &m.network)
                && !n.containers.iter().any(|(c, _)| c == container)
            {
                attach::rejoin(n, container, m.position, &m.addrs)?;
            }
        }
        Ok(())
    }

    /// Every container's addresses go back to their pools (the run's containers are gone).
    pub fn release_all(&mut self) {
        for n in self.all.iter_mut() {
            for (_, addrs) in std::mem::take(&mut n.containers) {
                attach::release(n, addrs.into_iter());
            }
        }
    }

    /// `show networks`: one row per network of `host` (all hosts when `None` has none).
    pub fn rows(&self, host: &Ns) -> Vec<serde_json::Value> {
        let here: Vec<_> = self.on_host(host).map(|n| n.row()).collect();
        if here.is_empty() && host.is_none() {
            return self.all.iter().map(|n| n.row()).collect();
        }
        here
    }
}

/// `show networks` as text: Docker's `network ls` columns, then each network's subnets and containers.
pub fn text(rows: &[serde_json::Value]) -> String {
    let s = |v: &serde_json::Value, k: &str| {
        v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string()
    };
    let mut out = format!(
        "{:<14} {:<16} {:<8} {:<8} {}\n",
        "NETWORK ID", "NAME", "DRIVER", "SCOPE", "HOST"
    );
    for r in rows {
        out += &format!(
            "{:<14} {:<16} {:<8} {:<8} {}\n",
            s(r, "id"),
            s(r, "name"),
            s(r, "driver"),
            s(r, "scope"),
            r.get("host").and_then(|h| h.as_str()).unwrap_or("-")
        );
        let link = [s(r, "bridge"), s(r, "parent")]
            .into_iter()
            .find(|x| !x.is_empty());
        if let Some(l) = link {
            let mode = s(r, "mode");
            out += &format!(
                "    link {l}{}\n",
                if mode.is_empty() {
                    String::new()
                } else {
                    format!(" mode {mode}")
                }
            );
        }
        for sub in r
            .get("subnets")
            .and_then(|x| x.as_array())
            .into_iter()
            .flatten()
        {
            let range = s(sub, "ip_range");
            out += &format!(
                "    subnet {} gateway {}{}\n",
                s(sub, "subnet"),
                s(sub, "gateway"),
                if range.is_empty() {
                    String::new()
                } else {
                    format!(" ip-range {range}")
                }
            );
        }
        for c in r
            .get("containers")
            .and_then(|x| x.as_array())
            .into_iter()
            .flatten()
        {
            let addrs: Vec<String> = c
                .get("addresses")
                .and_then(|a| a.as_array())
                .into_iter()
                .flatten()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect();
            out += &format!("    container {} {}\n", s(c, "name"), addrs.join(" "));
        }
    }
    out.trim_end().to_string()
}
