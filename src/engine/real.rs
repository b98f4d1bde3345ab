//! `RealWorld`: carries out Ops against the kernel. It owns a current-thread tokio runtime (the
//! netlink connections run on it while an Op waits), one netlink connection per namespace, and what
//! the run made that later statements refer to (containers by name, each host's docker0).

use crate::base::diag::Code;
use crate::base::error::RunError;
use crate::docker::ipam::AddressPool;
use crate::docker::network::GlobalPool;
use crate::docker::store_pool::{IPAM_PREFIX, StorePool};
use crate::engine::container::{self, Bridge, Made};
use crate::engine::flannel_runtime::Flannel;
use crate::interp::world::World;
use crate::netlink::addrs;
use crate::netlink::errors;
use crate::netlink::handle::{Handles, Netlink};
use crate::netlink::links;
use crate::netlink::neigh;
use crate::netlink::routes;
use crate::ops::{Check, LinkKind, Ns, ObjectKind, Op};
use crate::probe::http;
use crate::probe::ping::{Outcome, Probe};
use crate::probe::show;
use crate::sys::exec;
use crate::sys::netns;
use crate::sys::sysctl;
use crate::sys::tun;
use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::time::Duration;
use tokio::runtime::Runtime;

pub struct Options {
    /// Fail on what exists already, as ip(8) does (otherwise an `add` of an existing thing is a no-op).
    pub strict: bool,
    pub json: bool,
    /// The run lives in a `--sandbox`: what it made dies with it.
    pub sandbox: bool,
}

pub struct RealWorld {
    pub(super) rt: Runtime,
    pub(super) handles: Handles,
    pub(super) opts: Options,
    /// What this run changed and how to undo it (undo.rs).
    pub(super) undo: crate::engine::undo::UndoLog,
    containers: HashMap<String, Made>,
    bridges: HashMap<Ns, Bridge>,
    /// Web servers started (they run until the process exits).
    services: usize,
    /// The hosts file naming the containers, for programs run with `exec` (written once there are any).
    hosts: Option<std::path::PathBuf>,
    /// Docker-style networks (src/docker/), with their address pools.
    docker: crate::docker::Networks,
    /// NDP responders running, by host and interface (a second `proxy-ndp PREFIX` adds a prefix).
    ndp: HashMap<(Ns, String), crate::ndp::Responder>,
    /// The store, leases and overlays (started on first use).
    flannel: Option<Flannel>,
    /// Requests sent whose answers are still due (pipeline.rs), all in namespace `flight_ns`.
    pub(super) flights: Vec<crate::engine::pipeline::InFlight>,
    pub(super) flight_ns: Ns,
    /// The statement being run, for the errors of its pipelined requests.
    pub(super) at: Option<crate::base::source::Span>,
    /// How deep in composite Ops (a container's parts) `tracked` is: parts are not pipelined.
    pub(super) depth: usize,
}

impl Drop for RealWorld {
    fn drop(&mut self) {
        // a sandbox's containers die with it: the addresses they held in a shared pool go back
        if self.opts.sandbox {
            self.docker.release_all();
        }
        if let Some(p) = &self.hosts {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Time between probes of `expect reach` / `no-reach` and `ping`.
const PROBE_INTERVAL: Duration = Duration::from_millis(200);

impl RealWorld {
    pub fn new(opts: Options) -> Result<RealWorld, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| format!("cannot start the runtime: {e}"))?;
        Ok(RealWorld {
            rt,
            handles: Handles::default(),
            opts,
            undo: Default::default(),
            containers: HashMap::new(),
            bridges: HashMap::new(),
            services: 0,
            hosts: None,
            docker: Default::default(),
            ndp: HashMap::new(),
            flannel: None,
            flights: Vec::new(),
            flight_ns: None,
            at: None,
            depth: 0,
        })
    }

    /// Keeps the run's undo steps on disk too, for `netsh down FILE`.
    pub fn keep_journal(&mut self, file: crate::engine::journal::Journal) {
        self.undo.file = Some(file);
    }

    pub(super) fn flannel(&mut self) -> Result<&mut Flannel, RunError> {
        if self.flannel.is_none() {
            self.flannel = Some(Flannel::new(self.opts.json).map_err(RunError::new)?);
        }
        self.flannel
            .as_mut()
            .ok_or_else(|| RunError::new("the flannel runtime did not start"))
    }

    /// docker0 as dockerd would set it up on this host: from the flannel lease when it holds one.
    fn default_bridge(&self, host: &Ns) -> Bridge {
        let mut b = Bridge::default();
        if let Some((bip, mtu)) = self.flannel.as_ref().and_then(|f| f.bridge(host)) {
            b.bip = bip;
            b.mtu = mtu;
        }
        b
    }

    pub(super) fn nl(&mut self, ns: &Ns) -> Result<Netlink, RunError> {
        self.handles.get(ns.as_deref(), &self.rt)
    }

    fn print(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = out.write_all(b"\n");
        }
        let _ = out.flush();
    }

    /// An address, or the name of a container this run made.
    fn resolve(&self, target: &str, v6: bool) -> Result<IpAddr, RunError> {
        if let Ok(ip) = target.parse::<IpAddr>() {
            return Ok(ip);
        }
        let bare = target.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(ip);
        }
        match self.containers.get(target) {
            Some(m) if v6 => m.v6.map(IpAddr::V6).ok_or_else(|| RunError::new(format!("container {target} has no IPv6 address"))),
            Some(m) => Ok(IpAddr::V4(m.v4)),
            None => Err(RunError::new(format!("cannot resolve `{target}`: it is neither an address nor a container made by this script"))
                .help("use an IP address, or the name given to `container NAME`")),
        }
    }

    fn link_add(&mut self, ns: &Ns, name: &str, kind: &LinkKind) -> Result<(), RunError> {
        if *kind == LinkKind::Tun {
            return tun::add(ns.as_deref(), name);
        }
        let nl = self.nl(ns)?;
        let strict = self.opts.strict;
        self.rt
            .block_on(links::add(&nl, name, kind, &nl, strict))
            .map(drop)
    }

    fn probe(
        &self,
        from: &Ns,
        target: IpAddr,
        src: Option<IpAddr>,
        timeout: f64,
    ) -> Result<Outcome, RunError> {
        let timeout = Duration::from_secs_f64(timeout.clamp(0.05, 3600.0));
        let count = (timeout.as_secs_f64() / PROBE_INTERVAL.as_secs_f64())
            .ceil()
            .max(1.0) as u32;
        crate::probe::ping::run(
            from.as_deref(),
            Probe {
                target,
                src,
                count,
                interval: PROBE_INTERVAL,
                wait: PROBE_INTERVAL.min(timeout),
                until_reply: true,
            },
        )
    }

    fn ping(
        &mut self,
        from: &Ns,
        target: &str,
        src: Option<IpAddr>,
        count: u32,
        timeout: f64,
    ) -> Result<(), RunError> {
        let ip = self.resolve(target, src.is_some_and(|s| s.is_ipv6()))?;
        let wait = Duration::from_secs_f64(timeout.clamp(0.05, 3600.0));
        let probe = Probe {
            target: ip,
            src,
            count: count.max(1),
            interval: PROBE_INTERVAL,
            wait,
            until_reply: false,
        };
        // each reply is shown as it comes (in text; --json gives the summary's record)
        let json = self.opts.json;
        let mut shown = |r: crate::probe::ping::Reply| {
            if !json {
                let ms = r.rtt.as_secs_f64() * 1000.0;
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "reply from {}: seq={} time={ms:.3} ms", r.from, r.seq);
                let _ = out.flush();
            }
        };
        let o = crate::probe::ping::run_with(from.as_deref(), probe, &mut shown)?;
        let whence = from
            .as_deref()
            .map(|n| format!(" from {n}"))
            .unwrap_or_default();
        let ms: Vec<f64> = o.rtts.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        let loss = (o.received * 100)
            .checked_div(o.sent)
            .map_or(100, |got| 100 - got.min(100));
        if self.opts.json {
            let v = serde_json::json!({"ping": ip.to_string(), "from": from, "sent": o.sent, "received": o.received, "loss_percent": loss, "rtt_ms": ms, "error": o.send_error});
            self.print(&v.to_string());
        } else {
            let mut line = format!(
                "ping {ip}{whence}: {} sent, {} received, {loss}% loss",
                o.sent, o.received
            );
            if !ms.is_empty() {
                let min = ms.iter().cloned().fold(f64::MAX, f64::min);
                let max = ms.iter().cloned().fold(0.0, f64::max);
                let avg = ms.iter().sum::<f64>() / ms.len() as f64;
                line += &format!(", rtt min/avg/max = {min:.3}/{avg:.3}/{max:.3} ms");
            }
            self.print(&line);
        }
        if o.interrupted {
            return crate::sys::signals::check();
        }
        if o.received == 0 {
            let why = o.send_error.map(|e| format!(": {e}")).unwrap_or_default();
            return Err(RunError::new(format!(
                "no reply from {ip}{whence} to {} probes{why}",
                o.sent
            )));
        }
        Ok(())
    }

    fn expect(
        &mut self,
        from: &Ns,
        target: &str,
        src: Option<IpAddr>,
        timeout: f64,
        check: &Check,
    ) -> Result<(), RunError> {
        let whence = from
            .as_deref()
            .map(|n| format!(" from {n}"))
            .unwrap_or_else(|| " from this namespace".into());
        let failed = |msg: String| RunError::new(msg).with_code(Code::ExpectFailed);
        let (ok, detail) = match check {
            Check::Reach | Check::NoReach => {
                let ip = self.resolve(target, src.is_some_and(|s| s.is_ipv6()))?;
                let o = self.probe(from, ip, src, timeout)?;
                if o.interrupted {
                    crate::sys::signals::check()?;
                }
                let reached = o.received > 0;
                let want = *check == Check::Reach;
                if reached != want {
                    let msg = if want {
                        match o.send_error {
                            Some(e) => format!(
                                "expected {ip} to be reachable{whence}, but the echo request could not be sent: {e}"
                            ),
                            None => format!(
                                "expected {ip} to be reachable{whence}, but {} echo requests over {timeout}s got no reply",
                                o.sent
                            ),
                        }
                    } else {
                        let rtt = o
                            .rtts
                            .first()
                            .map(|d| format!(" in {:.3} ms", d.as_secs_f64() * 1000.0))
                            .unwrap_or_default();
                        format!(
                            "expected {ip} to be unreachable{whence}, but it answered an echo request{rtt}"
                        )
                    };
                    return Err(failed(msg).help("`show routes in NS`, `show neigh in NS` and `show links in NS` show what the namespace has"));
                }
                (true, if want { "reachable" } else { "unreachable" })
            }
            Check::Http {
                url,
                contains,
                status,
            } => {
                let u = http::parse_url(url)?;
                let ip = self.resolve(&u.host, false)?;
                let t = Duration::from_secs_f64(timeout.clamp(0.05, 3600.0));
                let a = match http::get(from.as_deref(), &u, ip, t)? {
                    Ok(a) => a,
                    Err(e) => {
                        return Err(failed(format!(
                            "expected {url}{whence} to contain {contains:?}, but {e}"
                        )));
                    }
                };
                // success is a 2xx status unless the statement names the status it expects
                let wanted = match status {
                    Some(code) => a.status == *code,
                    None => (200..300).contains(&a.status),
                };
                let shown: String = a.body.trim().chars().take(200).collect();
                if !wanted {
                    let want = status.map_or("a 2xx status".to_string(), |c| format!("status {c}"));
                    return Err(failed(format!(
                        "expected {url}{whence} to answer with {want}, but it answered {:?} with {shown:?}",
                        a.status_line()
                    ))
                    .at("url", url.as_str())
                    .help(format!("to expect this answer, add `status {}`", a.status)));
                }
                if !a.body.contains(contains.as_str()) {
                    return Err(failed(format!(
                        "expected {url}{whence} to contain {contains:?}, but it answered {:?} with {shown:?}",
                        a.status_line()
                    )));
                }
                (true, "answered")
            }
        };
        if self.opts.json {
            self.print(
                &serde_json::json!({"expect": target, "from": from, "ok": ok, "result": detail})
                    .to_string(),
            );
        }
        Ok(())
    }

    fn show(&mut self, ns: &Ns, what: &str, json: bool) -> Result<(), RunError> {
        if what == "networks" {
            let rows = self.docker.rows(ns);
            if json || self.opts.json {
                self.print(&serde_json::Value::Array(rows).to_string());
            } else {
                self.print(&crate::docker::text(&rows));
            }
            return Ok(());
        }
        if what == "tunnel" {
            let json = json || self.opts.json;
            return self.flannel()?.show_tunnel(ns, json);
        }
        if matches!(what, "leases" | "config") {
            let f = self.flannel()?;
            if let Some(r) = f.show(what, json) {
                return r;
            }
        }
        let nl = self.nl(ns)?;
        let rows = self.rt.block_on(show::rows(&nl, what))?;
        if json || self.opts.json {
            self.print(&serde_json::Value::Array(rows).to_string());
        } else {
            let text = show::text(what, &rows);
            if !text.is_empty() {
                self.print(&text);
            }
        }
        Ok(())
    }

    /// Rewrites the hosts file: localhost, then every container's addresses under its name.
    fn write_hosts(&mut self) -> Result<(), RunError> {
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

    /// `proxy-ndp PREFIX on IF`: proxy_ndp=1 and a responder answering for the whole prefix.
    fn ndp_responder(&mut self, ns: &Ns, prefix: ipnet::IpNet, dev: &str) -> Result<(), RunError> {
        let ipnet::IpNet::V6(prefix) = prefix else {
            return Err(RunError::new(format!(
                "proxy-ndp needs an IPv6 prefix, not {prefix}"
            )));
        };
        // sysctl(8) writes the dots of a link name (eth1.19) as slashes
        let key = format!("net.ipv6.conf.{}.proxy_ndp", dev.replace('.', "/"));
        sysctl::set(ns.as_deref(), &key, "1")?;
        if let Some(r) = self.ndp.get(&(ns.clone(), dev.to_string())) {
            r.add(prefix);
            return Ok(());
        }
        let r = crate::ndp::Responder::start(ns.as_deref(), dev, prefix)?;
        self.ndp.insert((ns.clone(), dev.to_string()), r);
        self.services += 1;
        Ok(())
    }

    /// Rollback of `network create` (`back: false`: the run forgets the network) or `network rm`
    /// (the network and its containers are known again). Their links and namespaces are undone
    /// by their own steps.
    pub(super) fn network_undo(
        &mut self,
        host: &Ns,
        name: &str,
        back: bool,
    ) -> Result<(), RunError> {
        if !back {
            self.docker.forget_network(host, name);
            return Ok(());
        }
        let containers = self
            .docker
            .bring_back(host, name)
            .ok_or_else(|| RunError::new(format!("network {name} was not removed by this run")))?;
        for (c, addrs) in containers {
            self.containers.insert(c, Made::of(&addrs));
        }
        self.write_hosts()
    }

    fn bridge_for(&mut self, host: &Ns) -> Result<Bridge, RunError> {
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
}

impl RealWorld {
    /// Carries out one Op, recording nothing (undo.rs records around it).
    pub(super) fn dispatch(&mut self, op: &Op) -> Result<(), RunError> {
        let strict = self.opts.strict;
        match op {
            Op::NetnsAdd { name } => netns::add(name, strict).map(drop),
            Op::NetnsDel { name } => {
                self.handles.forget(name);
                // a container deleted by hand gives its network addresses back
                self.docker.container_gone(name);
                if let Some(f) = self.flannel.as_mut() {
                    f.forget(name);
                }
                netns::del(name)
            }
            Op::NetnsList => {
                let names = netns::list();
                if self.opts.json {
                    self.print(
                        &serde_json::json!(
                            names
                                .iter()
                                .map(|n| serde_json::json!({"name": n}))
                                .collect::<Vec<_>>()
                        )
                        .to_string(),
                    );
                } else if !names.is_empty() {
                    self.print(&names.join("\n"));
                }
                Ok(())
            }
            Op::LinkAdd { ns, name, kind } => self.link_add(ns, name, kind),
            Op::LinkSet { ns, name, change } => {
                let nl = self.nl(ns)?;
                let target = match &change.netns {
                    Some(t) => Some(self.nl(&Some(t.clone()))?),
                    None => None,
                };
                self.rt
                    .block_on(links::set(&nl, name, change, target.as_ref()))
            }
            Op::LinkDel { ns, name } => {
                let nl = self.nl(ns)?;
                self.rt.block_on(links::del(&nl, name))
            }
            Op::AddrAdd {
                ns,
                dev,
                addr,
                nodad,
            } => {
                let nl = self.nl(ns)?;
                self.rt
                    .block_on(addrs::add(&nl, dev, *addr, *nodad, strict))
                    .map(drop)
            }
            Op::AddrDel { ns, dev, addr } => {
                let nl = self.nl(ns)?;
                self.rt.block_on(addrs::del(&nl, dev, *addr))
            }
            Op::Route { ns, action, route } => {
                let nl = self.nl(ns)?;
                self.rt
                    .block_on(routes::apply(&nl, *action, route, strict))
                    .map(drop)
            }
            Op::NeighAdd {
                ns,
                addr,
                lladdr,
                dev,
                router,
                ..
            } => {
                let nl = self.nl(ns)?;
                self.rt
                    .block_on(neigh::add(&nl, *addr, *lladdr, dev, *router, strict))
                    .map(drop)
            }
            Op::NeighDel { ns, addr, dev } => {
                let nl = self.nl(ns)?;
                self.rt.block_on(neigh::del(&nl, *addr, dev))
            }
            Op::NeighProxyAdd { ns, addr, dev } => {
                let nl = self.nl(ns)?;
                self.rt
                    .block_on(neigh::proxy_add(&nl, *addr, dev, strict))
                    .map(drop)
            }
            Op::NeighProxyDel { ns, addr, dev } => {
                let nl = self.nl(ns)?;
                self.rt.block_on(neigh::proxy_del(&nl, *addr, dev))
            }
            Op::Fdb {
                ns,
                action,
                mac,
                dev,
                dst,
            } => {
                let nl = self.nl(ns)?;
                self.rt
                    .block_on(neigh::fdb(&nl, *action, *mac, dev, *dst, strict))
                    .map(drop)
            }
            Op::SysctlSet { ns, key, value } => sysctl::set(ns.as_deref(), key, value),
            Op::SysctlShow { ns, key } => {
                let v = sysctl::get(ns.as_deref(), key)?;
                if self.opts.json {
                    self.print(&serde_json::json!({ key.as_str(): v }).to_string());
                } else {
                    self.print(&format!("{key} = {v}"));
                }
                Ok(())
            }
            Op::Exec { ns, argv } => exec::run(ns.as_deref(), argv, self.hosts.as_deref()),
            Op::Show { ns, what, json } => self.show(ns, what, *json),
            Op::Echo(text) => {
                self.print(text);
                Ok(())
            }
            Op::Ping {
                from,
                target,
                src,
                count,
                timeout,
            } => self.ping(from, target, *src, *count, *timeout),
            Op::Expect {
                from,
                target,
                src,
                timeout,
                check,
            } => self.expect(from, target, *src, *timeout, check),
            Op::ServeHttp { ns, port, text } => {
                http::serve(ns.as_deref(), *port, text)?;
                self.services += 1;
                Ok(())
            }
            Op::Wait => {
                let overlays = self.flannel.as_ref().map_or(0, Flannel::services);
                if self.services + overlays == 0 {
                    self.print("netsh: no services are running; nothing to wait for");
                    return Ok(());
                }
                self.print("netsh: services running; press Ctrl-C to stop");
                loop {
                    std::thread::sleep(Duration::from_millis(100));
                    // Ctrl-C ends the wait and the script goes on; SIGTERM stops the run (rollback)
                    if crate::sys::signals::take_interrupt() {
                        self.print("netsh: stopping");
                        return Ok(());
                    }
                    if let Some(sig) = crate::sys::signals::pending() {
                        return Err(RunError::new(format!(
                            "stopped by {}",
                            crate::sys::signals::name(sig)
                        )));
                    }
                }
            }
            Op::ContainerAdd { host, container: c } if c.network.is_some() => {
                let attached = self.docker.attach(host, c)?;
                for op in &attached.ops {
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
            Op::ContainerAdd { host, container: c } => {
                let mut b = self.bridge_for(host)?;
                let (ops, made) = container::container_ops(host, c, &mut b)?;
                for op in &ops {
                    self.apply(op)?;
                }
                self.bridges.insert(host.clone(), b);
                self.containers.insert(c.name.clone(), made);
                self.write_hosts()
            }
            Op::DockerBridge { host, bridge } => {
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
                let nl = self.nl(host)?;
                if self
                    .rt
                    .block_on(links::find(&nl, container::BRIDGE))
                    .map_err(|e| errors::kernel("cannot look up docker0", &e))?
                    .is_some()
                {
                    self.rt.block_on(links::del(&nl, container::BRIDGE))?;
                }
                for op in container::bridge_ops(host, &b) {
                    self.apply(&op)?;
                }
                self.bridges.insert(host.clone(), b);
                Ok(())
            }
            Op::NdpResponder { ns, prefix, dev } => self.ndp_responder(ns, *prefix, dev),
            Op::Dump { ns } => {
                let text = self.dump_script(ns)?;
                self.print(&text);
                Ok(())
            }
            Op::StoreSelect(spec) => self.flannel()?.select(spec),
            Op::NetworkConfig { prefix, json } => {
                self.flannel()?.network_config(prefix, json).map(drop)
            }
            Op::LeaseAcquire { host, lease } => self.flannel()?.lease(host, lease).map(drop),
            Op::LeaseRelease { host } => self.flannel()?.release(host),
            Op::Overlay { host, overlay } => self.flannel()?.overlay(host, overlay).map(drop),
            Op::DockerOpts { host, opts } => self.flannel()?.docker_opts(host, opts),
            Op::NetworkCreate { host, network } => {
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
            Op::NetworkRm { host, name } => {
                let (ops, gone) = self.docker.remove(host, name)?;
                for c in &gone {
                    self.containers.remove(c);
                    self.handles.forget(c);
                }
                for op in &ops {
                    match op {
                        // containers already deleted by hand (`netns del`) are skipped
                        Op::NetnsDel { name } if !netns::exists(name) => {}
                        _ => self.apply(op)?,
                    }
                }
                self.write_hosts()
            }
        }
    }
}

impl World for RealWorld {
    fn apply(&mut self, op: &Op) -> Result<(), RunError> {
        self.tracked(op)
    }

    fn statement(&mut self, at: crate::base::source::Span) {
        self.at = Some(at);
    }

    fn settle(&mut self) -> Result<(), RunError> {
        let settled = self.settle_flights();
        // the end of a script, REPL line or transaction block: what comes next may follow changes
        // made outside netsh
        self.handles.forget_names();
        settled
    }

    fn mark(&self) -> usize {
        self.undo.steps.len()
    }

    fn rollback(&mut self, mark: usize) -> Option<crate::interp::world::Rollback> {
        // what is still in flight is recorded first, so that it is undone too (its failure, if
        // any, was reported already or is moot now)
        let _ = self.settle_flights();
        self.handles.forget_names();
        Some(self.undo_since(mark))
    }

    fn changes(&self) -> Option<usize> {
        Some(self.undo.changes)
    }

    fn exists(
        &mut self,
        kind: ObjectKind,
        target: &str,
        ns: Option<&str>,
    ) -> Result<bool, RunError> {
        self.settle_flights()?;
        if kind == ObjectKind::Netns {
            return Ok(netns::exists(target));
        }
        if ns.is_some_and(|n| !netns::exists(n)) {
            return Ok(false);
        }
        let nl = self.nl(&ns.map(Into::into))?;
        let kernel = |e| errors::kernel("cannot read the kernel's tables", &e);
        match kind {
            ObjectKind::Netns => Ok(netns::exists(target)),
            ObjectKind::Link => Ok(self
                .rt
                .block_on(links::find(&nl, target))
                .map_err(kernel)?
                .is_some()),
            ObjectKind::Addr => {
                let want_net = target.parse::<ipnet::IpNet>().ok();
                let want_ip = target.parse::<IpAddr>().ok().or(want_net.map(|n| n.addr()));
                let Some(want_ip) = want_ip else {
                    return Err(RunError::new(format!("`{target}` is not an address")));
                };
                let all = self.rt.block_on(addrs::dump(&nl)).map_err(kernel)?;
                Ok(all
                    .iter()
                    .filter_map(addrs::net_of)
                    .any(|n| n.addr() == want_ip && want_net.is_none_or(|w| w == n)))
            }
            ObjectKind::Route => {
                let want = match target {
                    "default" => "default".to_string(),
                    t => match t.parse::<ipnet::IpNet>() {
                        Ok(n) if n.prefix_len() == n.max_prefix_len() => n.addr().to_string(),
                        Ok(n) if n.prefix_len() == 0 => "default".to_string(),
                        Ok(n) => n.trunc().to_string(),
                        Err(_) => t.to_string(),
                    },
                };
                let mut all = self
                    .rt
                    .block_on(routes::dump(&nl, crate::ops::Family::V4))
                    .map_err(kernel)?;
                all.extend(
                    self.rt
                        .block_on(routes::dump(&nl, crate::ops::Family::V6))
                        .map_err(kernel)?,
                );
                Ok(all
                    .iter()
                    .filter(|r| routes::table_of(r) != 255)
                    .any(|r| routes::dest_of(r) == want))
            }
        }
    }

    fn capture(&mut self, ns: Option<&str>, argv: &[String]) -> Result<String, RunError> {
        self.settle_flights()?;
        // the program may change links
        self.handles.forget_names();
        exec::capture(ns, argv, self.hosts.as_deref())
    }

    fn say(&mut self, text: &str) {
        self.print(text);
    }

    fn is_dry(&self) -> bool {
        false
    }

    fn links(&mut self, ns: Option<&str>) -> Vec<String> {
        let _ = self.settle_flights();
        let ns: Ns = ns.map(|n| n.to_string().into());
        let Ok(nl) = self.nl(&ns) else {
            return Vec::new();
        };
        let mut out: Vec<String> = match self.rt.block_on(links::dump(&nl)) {
            Ok(all) => all
                .iter()
                .filter_map(|l| links::name_of(l).map(str::to_string))
                .collect(),
            Err(_) => Vec::new(),
        };
        out.sort();
        out
    }

    fn namespaces(&mut self) -> Vec<String> {
        netns::list()
    }

    fn names(&mut self) -> Vec<String> {
        let _ = self.settle_flights();
        // namespaces, and the links of this namespace and of each named one (a few dozen at most,
        // so completion stays quick)
        let spaces = netns::list();
        let mut out = spaces.clone();
        let mut where_: Vec<Ns> = vec![None];
        where_.extend(spaces.into_iter().take(64).map(|n| Some(n.into())));
        for ns in where_ {
            if let Ok(nl) = self.nl(&ns)
                && let Ok(all) = self.rt.block_on(links::dump(&nl))
            {
                out.extend(
                    all.iter()
                        .filter_map(|l| links::name_of(l).map(str::to_string)),
                );
            }
        }
        out.sort();
        out.dedup();
        out
    }
}
