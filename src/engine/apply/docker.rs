//! Applying Docker Ops: carrying each out, and recording how to undo it.

use crate::base::error::RunError;
use crate::docker::ipam::AddressPool;
use crate::docker::network::GlobalPool;
use crate::docker::store_pool::{IPAM_PREFIX, StorePool};
use crate::engine::container::{self, Bridge, Made};
use crate::engine::real::RealWorld;
use crate::engine::undo::{Applied, Undo};
use crate::interp::world::World;
use crate::netlink::{addrs, errors, links};
use crate::ops::{DockerOp, LinkOp, NeighOp, NetnsOp, Ns, Op};
use crate::sys::netns;
use ipnet::IpNet;
use std::collections::BTreeSet;

impl RealWorld {
    /// Rewrites the hosts file: localhost, then every container's addresses under its name.
    pub(in crate::engine) fn write_hosts(&mut self) -> Result<(), RunError> {
        let path = self.hosts.clone().unwrap_or_else(|| {
            std::path::PathBuf::from(format!("/run/netsh/hosts.{}", std::process::id()))
        });
        let mut text =
            String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        let mut names: Vec<_> = self.containers.iter().collect();
        names.sort_by_key(|(n, _)| n.as_str());
        for (name, made) in names {
            text += &format!("{}\t{name}\n", made.v4);
            if let Some(v6) = made.v6 {
                text += &format!("{v6}\t{name}\n");
            }
        }
        let _ = std::fs::create_dir_all("/run/netsh");
        std::fs::write(&path, text)
            .map_err(|e| RunError::os(format!("cannot write {}", path.display()), &e))?;
        self.hosts = Some(path);
        Ok(())
    }

    /// Rollback of `network create` (`back: false`: the run forgets the network) or `network rm`
    /// (the network and its containers are known again). Their links and namespaces are undone
    /// by their own steps.
    pub(in crate::engine) fn network_undo(
        &mut self,
        host: &Ns,
        name: &str,
        back: bool,
    ) -> Result<(), RunError> {
        if !back {
            self.docker.forget_network(host, name);
            self.sync_ndp();
            return Ok(());
        }
        let containers = self
            .docker
            .bring_back(host, name)
            .ok_or_else(|| RunError::new(format!("network {name} was not removed by this run")))?;
        self.sync_ndp();
        for (c, addrs) in containers {
            self.containers.insert(c, Made::of(&addrs));
        }
        self.write_hosts()
    }

    /// Rollback of a container's `netns del`: it is on its networks again, with its addresses.
    pub(in crate::engine) fn rejoin(
        &mut self,
        container: &str,
        was: &[crate::docker::Membership],
    ) -> Result<(), RunError> {
        self.docker.rejoin(container, was)?;
        self.sync_ndp();
        self.write_hosts()
    }

    pub(in crate::engine) fn bridge_for(&mut self, host: &Ns) -> Result<Bridge, RunError> {
        if let Some(b) = self.bridges.get(host) {
            return Ok(b.clone());
        }
        let b = self.default_bridge(host);
        let nl = self.nl(host)?;
        let existing = self
            .rt
            .block_on(links::find(&nl, container::BRIDGE))
            .map_err(|e| errors::kernel("cannot look up docker0", &e))?;
        if existing.is_none() {
            for op in container::bridge_ops(host, &b) {
                self.apply(&op)?;
            }
        }
        self.bridges.insert(host.clone(), b.clone());
        Ok(b)
    }

    /// The addresses of link `name` in `ns` (link-local ones aside, the kernel makes those), or
    /// `None` when there is no such link or namespace.
    pub(in crate::engine) fn link_addresses(
        &mut self,
        ns: &Ns,
        name: &str,
    ) -> Result<Option<BTreeSet<IpNet>>, RunError> {
        if let Some(n) = ns
            && !netns::exists(n)
        {
            return Ok(None);
        }
        let nl = self.nl(ns)?;
        let Some(link) = self
            .rt
            .block_on(links::find(&nl, name))
            .map_err(|e| errors::kernel(&format!("cannot look up {name}"), &e))?
        else {
            return Ok(None);
        };
        let index = link.header.index;
        let all = self
            .rt
            .block_on(addrs::dump(&nl))
            .map_err(|e| errors::kernel(&format!("cannot read the addresses of {name}"), &e))?;
        Ok(Some(
            all.iter()
                .filter(|m| m.header.index == index)
                .filter_map(addrs::net_of)
                .filter(|n| !matches!(n, IpNet::V6(v6) if v6.addr().is_unicast_link_local()))
                .collect(),
        ))
    }

    /// docker0 as dockerd would set it up on this host: from the flannel lease when it holds one.
    pub(in crate::engine) fn default_bridge(&self, host: &Ns) -> Bridge {
        let mut b = Bridge::default();
        if let Some((bip, mtu)) = self.flannel.as_ref().and_then(|f| f.bridge(host)) {
            b.bip = bip;
            b.mtu = mtu;
        }
        b
    }

    /// Carries out a Docker Op, recording nothing (`record_docker` records around it).
    pub(in crate::engine) fn dispatch_docker(&mut self, op: &DockerOp) -> Result<(), RunError> {
        match op {
            DockerOp::Container { host, container: c } if c.network.is_some() => {
                let attached = self.docker.attach(host, c)?;
                // a re-run finds the container there, its eth0 holding these very addresses: it
                // is kept as it is (a new link beside it would clash with its MAC)
                let inside: Ns = Some(c.name.as_str().into());
                let present = self
                    .link_addresses(&inside, "eth0")?
                    .is_some_and(|have| have == attached.addrs.iter().copied().collect());
                for op in attached.ops.iter().filter(|_| !present) {
                    if let Err(e) = self.apply(op) {
                        let net = c.network.as_deref().unwrap_or_default();
                        self.docker.forget(host, net, &c.name);
                        let _ = netns::del(&c.name);
                        return Err(e);
                    }
                }
                let made = Made {
                    v4: attached.v4().unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
                    v6: attached.v6(),
                };
                self.containers.insert(c.name.clone(), made);
                self.write_hosts()
            }
            DockerOp::Container { host, container: c } => {
                let mut b = self.bridge_for(host)?;
                let (ops, made) = container::container_ops(host, c, &mut b)?;
                for op in &ops {
                    self.apply(op)?;
                }
                self.bridges.insert(host.clone(), b);
                self.containers.insert(c.name.clone(), made);
                self.write_hosts()
            }
            DockerOp::Bridge { host, bridge } => {
                let mut b = container::bridge_from(bridge)?;
                if bridge.bip.is_none() {
                    // `--bip=${FLANNEL_SUBNET} --mtu=${FLANNEL_MTU}` when the host holds a lease
                    let lease = self.default_bridge(host);
                    b.bip = lease.bip;
                    b.mtu = bridge.mtu.or(lease.mtu);
                }
                if self
                    .bridges
                    .get(host)
                    .is_some_and(|old| !old.used.is_empty())
                {
                    return Err(RunError::new(
                        "docker-bridge must come before the first container on this host",
                    )
                    .help("containers already have addresses from the old settings"));
                }
                // a docker0 with other addresses (an earlier run's, another lease's) is replaced,
                // through `apply` so a rollback brings it back; one with these is kept (a re-run
                // changes nothing, and its containers stay attached)
                let wanted = b.addresses();
                if let Some(have) = self.link_addresses(host, container::BRIDGE)?
                    && have != wanted
                {
                    self.apply(&Op::Link(LinkOp::Del {
                        ns: host.clone(),
                        name: container::BRIDGE.into(),
                    }))?;
                }
                for op in container::bridge_ops(host, &b) {
                    self.apply(&op)?;
                }
                self.bridges.insert(host.clone(), b);
                Ok(())
            }
            DockerOp::NetworkCreate { host, network } => {
                let parent_exists = match &network.parent {
                    Some(p) => {
                        let nl = self.nl(host)?;
                        self.rt
                            .block_on(links::find(&nl, p))
                            .map_err(|e| errors::kernel("cannot look up the parent link", &e))?
                            .is_some()
                    }
                    None => false,
                };
                // a global network's addresses are shared through the store (the embedded default
                // when none was selected), so other netsh processes and hosts never reuse them
                let shared = match network.global {
                    true => Some(self.flannel()?.store()?),
                    false => None,
                };
                let make = shared.map(|(store, rt)| {
                    let name = network.name.clone();
                    move |rules| -> Box<dyn AddressPool> {
                        Box::new(StorePool::new(
                            store.clone(),
                            rt.clone(),
                            IPAM_PREFIX,
                            &name,
                            rules,
                        ))
                    }
                });
                let make = make.as_ref().map(|f| f as &GlobalPool);
                let (state, ops) = self
                    .docker
                    .plan_create(host, network, parent_exists, make)?;
                for op in &ops {
                    self.apply(op)?;
                }
                self.docker.commit_create(state);
                Ok(())
            }
            DockerOp::NetworkRm { host, name } => {
                let (ops, gone) = self.docker.remove(host, name)?;
                for c in &gone {
                    self.containers.remove(c);
                    self.handles.forget(c);
                }
                // the containers' proxy entries come first (network::rm_ops)
                let (proxies, rest): (Vec<Op>, Vec<Op>) = ops
                    .into_iter()
                    .partition(|op| matches!(op, Op::Neigh(NeighOp::ProxyDel { .. })));
                self.take_proxy_entries(&proxies)?;
                for op in &rest {
                    match op {
                        // containers already deleted by hand (`netns del`) are skipped
                        Op::Netns(NetnsOp::Del { name }) if !netns::exists(name) => {}
                        _ => self.apply(op)?,
                    }
                }
                self.write_hosts()
            }
        }
    }

    /// Applies a Docker Op (`whole` is it as an Op) and says how to undo it.
    pub(in crate::engine) fn record_docker(
        &mut self,
        whole: &Op,
        op: &DockerOp,
    ) -> Result<Applied, RunError> {
        match op {
            // the network's links and containers are undone through their own Ops (applied
            // through `tracked`); this step keeps the run's registry of networks in line
            // the registry is this process's own: what the network changed in the kernel (its
            // parent link, a VLAN, a sysctl) counts through those Ops, so a re-run that finds
            // them made reports no change
            DockerOp::NetworkCreate { host, network } => {
                self.dispatch(whole)?;
                Ok(Applied {
                    changed: false,
                    undo: vec![Undo::Network {
                        host: host.clone(),
                        name: network.name.clone(),
                        back: false,
                    }],
                    journaled: false,
                })
            }
            DockerOp::NetworkRm { host, name } => {
                self.dispatch(whole)?;
                Ok(Applied::changed(vec![Undo::Network {
                    host: host.clone(),
                    name: name.to_string(),
                    back: true,
                }]))
            }
            // composite Ops (containers, docker0) apply their parts through `tracked` themselves
            DockerOp::Container { .. } | DockerOp::Bridge { .. } => {
                self.dispatch(whole)?;
                Ok(Applied::none())
            }
        }
    }
}
