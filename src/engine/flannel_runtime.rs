//! Flannel in a real run: the store, the network config, each host's lease (with its renewal task
//! and subnet.env), docker-opts, and the overlay services. Store connections, renewals and overlays
//! run on a small multi-threaded tokio runtime of their own, so they keep running while the
//! interpreter is busy elsewhere (a `ping`, an `exec`, a `wait`).

use crate::base::error::{self, RunError};
use crate::base::json_stream::{self, Type};
use crate::engine::lease_renewal::{HeldLease, Registration, ResetSignal, held, renew};
use crate::engine::overlay::external::{self, External};
use crate::engine::overlay::service::Service;
use crate::engine::overlay::{Kind, Names, Order, udp_backend, vxlan};
use crate::flannel::docker_opts::{self, DockerOptsFlags};
use crate::flannel::keys::DEFAULT_PREFIX;
use crate::flannel::subnet_env::SubnetEnv;
use crate::flannel::{LeaseError, LeaseOrigin, LeaseRequest, Registry};
use crate::netlink::handle::{Connections, Netlink};
use crate::ops::BackendType;
use crate::ops::{DockerOpts, Lease, Ns, Overlay, StoreSpec};
use crate::store::{
    DEFAULT_EMBEDDED_PATH, EmbeddedStore, EtcdAuth, EtcdOptions, EtcdStore, EtcdTls, KeyValue,
    Store,
};
use crate::sys::sysctl;
use ipnet::Ipv4Net;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::{Handle, Runtime};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// One host's lease and what runs for it.
struct HostState {
    /// Replaced by the renewal when it registers the lease again after a store reset.
    lease: HeldLease,
    env_path: PathBuf,
    env: SubnetEnv,
    ext: External,
    public_ip: Ipv4Addr,
    /// Tells the host's overlay to stop, and how (the lease was released or lost, a rollback,
    /// the end of the run).
    stop: Arc<watch::Sender<Order>>,
    /// The overlay's word to the renewal that the store was reset.
    reset: Arc<ResetSignal>,
    renewer: JoinHandle<()>,
    overlay: Option<JoinHandle<()>>,
    /// The udp overlay's tunnel, running while this is held.
    udp: Option<crate::tunnel::UdpBackend>,
}

impl Drop for HostState {
    fn drop(&mut self) {
        self.renewer.abort();
        if let Some(o) = &self.overlay {
            o.abort();
        }
    }
}

/// What a `lease` replaced, so a rollback can give the lease back and put that back: the host's
/// subnet.env as it was, and the lease this host's PublicIP held in the store before.
#[derive(Clone, Debug)]
pub struct LeaseBefore {
    pub subnet: Ipv4Net,
    env_path: PathBuf,
    env: Option<String>,
    replaced: Option<KeyValue>,
    /// The host's lease was found as it is and kept: it existed before, so a rollback keeps it.
    kept: bool,
    /// subnet.env was written (what it held differed).
    env_written: bool,
}

impl LeaseBefore {
    /// Whether the `lease` changed nothing: it kept the host's lease and subnet.env held what it
    /// would write.
    pub fn changed_nothing(&self) -> bool {
        self.kept && !self.env_written
    }

    /// Whether the lease existed before the `lease` and was kept (a rollback does not give it back).
    pub fn kept(&self) -> bool {
        self.kept
    }
}

/// What an `overlay` would run: see `Flannel::plan`.
struct Plan {
    where_: String,
    reg: Registry,
    config: crate::flannel::NetworkConfig,
    kind: Kind,
    nl: Netlink,
    ext: External,
    public_ip: Ipv4Addr,
    own: Ipv4Net,
    key: String,
    store_lease: Option<crate::store::LeaseId>,
}

/// What starting an overlay did that a rollback may take back.
pub struct Started {
    /// The lease's key and its value before the overlay published its backend in it; `None`
    /// when the lease said so already.
    pub published: Option<(String, KeyValue)>,
    /// The device that lives as long as this process holds it (the udp tunnel's TUN): it goes
    /// when netsh exits, so making it again is part of the service, not a change.
    pub tunnel: Option<&'static str>,
}

/// The note for a `flannel.N` device an overlay removes.
fn removed_note(host: &str, name: &str, device: &vxlan::Device) -> String {
    if name == device.name() {
        format!("{host}: replaced {name}, which had other settings than its overlay's")
    } else {
        format!("{host}: removed {name}, left over from another VNI")
    }
}

/// Waits (a little) for a stopped overlay to withdraw what it installed.
fn wait_withdrawn(overlay: &JoinHandle<()>) {
    wait_stopped(&[overlay]);
}

/// Waits up to 2 s for overlay services that were told to stop.
fn wait_stopped(overlays: &[&JoinHandle<()>]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while !overlays.iter().all(|o| o.is_finished()) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub struct Flannel {
    rt: Arc<Runtime>,
    store: Option<Arc<dyn Store>>,
    prefix: String,
    hosts: HashMap<Ns, HostState>,
    names: Names,
    connections: Connections,
}

impl Drop for Flannel {
    /// The run ends: each overlay applies the leases its watch has not delivered yet (the
    /// embedded store's watch polls), so every host's kernel is left in line with the store
    /// rather than with whatever the last poll before the end had seen.
    fn drop(&mut self) {
        let running: Vec<&JoinHandle<()>> = self
            .hosts
            .values()
            .filter_map(|st| {
                let o = st.overlay.as_ref().filter(|o| !o.is_finished())?;
                st.stop.send(Order::Settle).ok()?;
                Some(o)
            })
            .collect();
        wait_stopped(&running);
    }
}

fn host_name(host: &Ns) -> String {
    host.clone()
        .unwrap_or_else(|| "this host".into())
        .to_string()
}

/// flanneld's path, or one per lab host so hosts of one machine do not share it.
pub fn default_env_path(host: &Ns) -> PathBuf {
    match host {
        None => PathBuf::from("/run/flannel/subnet.env"),
        Some(h) => PathBuf::from(format!("/run/flannel/{h}/subnet.env")),
    }
}

fn default_docker_opts_path(host: &Ns) -> PathBuf {
    match host {
        None => PathBuf::from("/run/docker_opts.env"),
        Some(h) => PathBuf::from(format!("/run/flannel/{h}/docker_opts.env")),
    }
}

fn lease_error(e: LeaseError) -> RunError {
    let help = match &e {
        LeaseError::OutOfSubnets { .. } => Some(
            "raise SubnetMax (or lower SubnetMin, or use a smaller SubnetLen) in the network config, or release a lease",
        ),
        LeaseError::NoConfig { .. } => Some("`network config '{\"Network\":\"10.100.0.0/16\"}'`"),
        _ => None,
    };
    let err = RunError::new(e.to_string());
    match help {
        Some(h) => err.help(h),
        None => err,
    }
}

fn store_error(e: crate::store::StoreError) -> RunError {
    let kind = match e {
        crate::store::StoreError::LeaseNotFound(_) => error::Kind::Gone,
        _ => error::Kind::Store,
    };
    RunError::of(kind, e.to_string())
}

fn mac_text(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl Flannel {
    /// The flannel runtime of a run, on the run's tokio runtime and netlink connections.
    pub fn new(rt: Arc<Runtime>, connections: Connections) -> Flannel {
        Flannel {
            rt,
            store: None,
            prefix: DEFAULT_PREFIX.to_string(),
            hosts: HashMap::new(),
            names: Names::default(),
            connections,
        }
    }

    fn print(&self, ty: Type, text: &str) {
        json_stream::text(ty, text);
    }

    /// Overlays running (for `wait`).
    pub fn services(&self) -> usize {
        self.hosts.values().filter(|h| h.overlay.is_some()).count()
    }

    fn nl(&mut self, ns: &Ns) -> Result<Netlink, RunError> {
        self.connections.get(ns.as_deref(), &self.rt)
    }

    /// A deleted namespace's connection is stale.
    pub fn forget(&mut self, ns: &str) {
        self.connections.forget(ns);
    }

    pub fn select(&mut self, spec: &StoreSpec) -> Result<(), RunError> {
        let store: Arc<dyn Store> = match spec {
            StoreSpec::Embedded { path } => {
                let path = path.clone().unwrap_or_else(|| DEFAULT_EMBEDDED_PATH.into());
                let s = self
                    .rt
                    .block_on(EmbeddedStore::open(&path))
                    .map_err(store_error)?;
                Arc::new(s)
            }
            StoreSpec::Etcd(spec) => {
                let mut o = EtcdOptions::new(spec.endpoints.clone());
                if spec.ca.is_some() || spec.cert.is_some() || spec.key.is_some() {
                    o.tls = Some(EtcdTls {
                        ca: spec.ca.clone().map(PathBuf::from),
                        cert: spec.cert.clone().map(PathBuf::from),
                        key: spec.key.clone().map(PathBuf::from),
                    });
                }
                if let (Some(user), Some(password)) = (&spec.user, &spec.password) {
                    o.auth = Some(EtcdAuth {
                        user: user.clone(),
                        password: password.clone(),
                    });
                }
                if let Some(p) = &spec.prefix {
                    self.prefix = p.clone();
                }
                Arc::new(
                    self.rt
                        .block_on(EtcdStore::connect(o))
                        .map_err(store_error)?,
                )
            }
        };
        self.store = Some(store);
        Ok(())
    }

    /// The selected store (the embedded default when none was) and the runtime its calls run on.
    pub fn store(&mut self) -> Result<(Arc<dyn Store>, Handle), RunError> {
        if self.store.is_none() {
            self.select(&StoreSpec::Embedded { path: None })?;
        }
        let store = self
            .store
            .clone()
            .ok_or_else(|| RunError::new("no store"))?;
        Ok((store, self.rt.handle().clone()))
    }

    fn registry(&mut self) -> Result<Registry, RunError> {
        let (store, _) = self.store()?;
        Ok(Registry::new(store, Some(&self.prefix)))
    }

    /// Stores the network config; returns its key and what the key held before.
    pub fn network_config(
        &mut self,
        prefix: &str,
        json: &str,
    ) -> Result<(String, Option<KeyValue>), RunError> {
        self.prefix = prefix.trim_end_matches('/').to_string();
        let reg = self.registry()?;
        let key = crate::flannel::keys::config_key(reg.prefix());
        let old = self
            .rt
            .block_on(reg.store().get(&key))
            .map_err(store_error)?;
        self.rt
            .block_on(reg.set_config(json))
            .map_err(lease_error)?;
        Ok((key, old))
    }

    /// Puts a key back as it was: deleted when it was absent, else its old value (on its old
    /// lease, which must still be alive).
    pub fn restore_key(&mut self, key: &str, old: Option<&KeyValue>) -> Result<(), RunError> {
        let store = self
            .store
            .clone()
            .ok_or_else(|| RunError::new("no store"))?;
        let done = match old {
            None => self.rt.block_on(store.delete(key)).map(drop),
            Some(kv) => self
                .rt
                .block_on(store.put(key, &kv.value, kv.lease))
                .map(drop),
        };
        done.map_err(|e| RunError::new(format!("cannot put back {key}: {e}")))
    }

    /// Takes a lease for `host`; returns what it replaced (for a rollback).
    pub fn lease(&mut self, host: &Ns, spec: &Lease) -> Result<LeaseBefore, RunError> {
        let where_ = host_name(host);
        let nl = self.nl(host)?;
        let ext = self
            .rt
            .block_on(external::find(&nl, spec.iface.as_deref(), &where_))?;
        let given = match spec.public_ip {
            Some(IpAddr::V4(a)) => Some(a),
            Some(IpAddr::V6(a)) => {
                return Err(RunError::new(format!(
                    "public-ip {a} must be IPv4 (flannel's PublicIP)"
                )));
            }
            None => None,
        };
        let public_ip = ext.public_ip(given, &where_)?;
        let reg = self.registry()?;
        let (config, config_text) = self.rt.block_on(reg.config()).map_err(lease_error)?;
        let env_path = spec
            .subnet_file
            .clone()
            .map_or_else(|| default_env_path(host), PathBuf::from);
        let mut req = LeaseRequest::new(public_ip, config.backend.kind);
        if let Some(secs) = spec.ttl_secs {
            req.ttl = Duration::from_secs(u64::from(secs));
        }
        req.previous_subnet = SubnetEnv::read(&env_path)
            .ok()
            .flatten()
            .and_then(|e| e.subnet);
        // a second `lease` for the same host replaces the first one's tasks
        self.hosts.remove(host);
        let replaced = self.rt.block_on(async {
            let mine = reg
                .leases()
                .await?
                .into_iter()
                .find(|l| l.attrs.public_ip == public_ip);
            match mine {
                Some(l) => reg.store().get(&l.key).await,
                None => Ok(None),
            }
        });
        let old_env = std::fs::read_to_string(&env_path).ok();
        // this host's lease as the request would write it is kept (a re-run changes nothing);
        // else one is acquired (reusing this PublicIP's lease, or a new subnet)
        let kept = self
            .rt
            .block_on(reg.keep(&config, &req))
            .map_err(lease_error)?;
        let acquired = match kept {
            Some(lease) => lease,
            None => self
                .rt
                .block_on(reg.acquire(&config, &req))
                .map_err(lease_error)?,
        };
        let kept = acquired.origin == LeaseOrigin::Kept;
        let mut before = LeaseBefore {
            subnet: acquired.lease.subnet,
            env_path: env_path.clone(),
            env: old_env,
            // a kept lease replaced nothing
            replaced: if kept {
                None
            } else {
                replaced.map_err(store_error)?
            },
            kept,
            env_written: false,
        };
        let subnet = acquired.lease.subnet;
        let mtu = match config.backend.kind {
            BackendType::Vxlan => ext.mtu.saturating_sub(vxlan::OVERHEAD),
            BackendType::Udp => ext.mtu.saturating_sub(28),
            BackendType::HostGw => ext.mtu,
        };
        let env = SubnetEnv::for_lease(&config, subnet, acquired.lease.ipv6_subnet, mtu, false);
        before.env_written = env
            .write(&env_path)
            .map_err(|e| RunError::os(format!("cannot write {}", env_path.display()), &e))?;
        let whose = host
            .as_ref()
            .map(|h| format!(" ({h}, public IP {public_ip})"))
            .unwrap_or_default();
        self.print(Type::Note, &format!("Lease acquired: {subnet}{whose}"));
        if let Ok(mut n) = self.names.lock() {
            n.insert(public_ip, where_.clone());
        }
        let (stop, _) = watch::channel(Order::Run);
        let stop = Arc::new(stop);
        let lease: HeldLease = Arc::new(std::sync::Mutex::new(acquired));
        let registration = Registration {
            config: config_text,
            request: req,
        };
        let reset = Arc::new(ResetSignal::default());
        let renewer = self.rt.spawn(renew(
            reg,
            lease.clone(),
            stop.clone(),
            where_,
            registration,
            reset.clone(),
        ));
        self.hosts.insert(
            host.clone(),
            HostState {
                lease,
                env_path,
                env,
                ext,
                public_ip,
                stop,
                reset,
                renewer,
                overlay: None,
                udp: None,
            },
        );
        Ok(before)
    }

    pub fn release(&mut self, host: &Ns) -> Result<(), RunError> {
        let (subnet, released) = self.give_back(host)?;
        self.print(
            Type::Note,
            &if released {
                format!("Lease released: {subnet}")
            } else {
                format!("Lease on {subnet} was already gone")
            },
        );
        Ok(())
    }

    /// Stops the host's overlay (which takes its entries out), then revokes the lease and removes
    /// subnet.env. Returns the subnet, and whether the lease was still there to give back.
    fn give_back(&mut self, host: &Ns) -> Result<(Ipv4Net, bool), RunError> {
        let Some(st) = self.hosts.remove(host) else {
            return Err(RunError::new(format!(
                "{} holds no lease from this run",
                host_name(host)
            )));
        };
        let _ = st.stop.send(Order::Withdraw);
        // the renewal may be registering the lease again: stop it first
        st.renewer.abort();
        let lease = held(&st.lease);
        let reg = self.registry()?;
        let released = self.rt.block_on(reg.release(&lease)).map_err(lease_error)?;
        let _ = std::fs::remove_file(&st.env_path);
        if let Some(o) = &st.overlay {
            // give the overlay a moment to withdraw before its task is aborted with `st`
            wait_withdrawn(o);
        }
        Ok((lease.lease.subnet, released))
    }

    /// Undoes a `lease`: gives it back, then puts back the subnet.env and the store's lease of
    /// this host that it replaced.
    pub fn unlease(&mut self, host: &Ns, before: &LeaseBefore) -> Result<(), RunError> {
        if before.kept {
            // the lease was there before the run: it stays (its renewal and overlay stop with
            // their tasks, leaving the kernel as it is), only subnet.env goes back
            self.hosts.remove(host);
        } else {
            self.give_back(host)?;
        }
        let path = &before.env_path;
        let env = match &before.env {
            // the same safe write as the lease's: a symlink put at the path meanwhile is replaced
            Some(text) => {
                crate::flannel::subnet_env::write_atomically(path, text.as_bytes()).map(drop)
            }
            None => std::fs::remove_file(path).or_else(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Ok(()),
                _ => Err(e),
            }),
        };
        env.map_err(|e| RunError::os(format!("cannot put back {}", path.display()), &e))?;
        match &before.replaced {
            Some(kv) => self.restore_key(&kv.key, Some(kv)),
            None => Ok(()),
        }
    }

    /// Stops the host's overlay service for a rollback: it puts the entries for the other hosts
    /// back as its start left them, and the start's undo takes out what the start made, so what
    /// it found in place stays (the udp tunnel stops with it). The lease stays.
    pub fn stop_overlay(&mut self, host: &Ns) -> Result<(), RunError> {
        let Some(st) = self.hosts.get_mut(host) else {
            return Ok(()); // the lease went first, and the overlay with it
        };
        if let Some(o) = st.overlay.take() {
            let _ = st.stop.send(Order::PutBack);
            wait_withdrawn(&o);
            o.abort();
            // the lease is still held: its renewal may stop a later overlay again
            st.stop.send_replace(Order::Run);
        }
        st.udp = None;
        Ok(())
    }

    /// What `overlay` would run for `host`: the backend with its settings, the external
    /// interface, and the host's lease (address, subnet, key and TTL lease).
    fn plan(&mut self, host: &Ns, spec: &Overlay) -> Result<Plan, RunError> {
        let where_ = host_name(host);
        if !self.hosts.contains_key(host) {
            return Err(
                RunError::new(format!("{where_} holds no lease: an overlay needs one"))
                    .help("`lease in HOST` before `overlay in HOST`"),
            );
        }
        let reg = self.registry()?;
        let (config, _) = self.rt.block_on(reg.config()).map_err(lease_error)?;
        let kind = match spec.backend.unwrap_or(config.backend.kind) {
            BackendType::HostGw => Kind::HostGw,
            BackendType::Vxlan => {
                let from_config = config.backend.kind == BackendType::Vxlan;
                Kind::Vxlan {
                    vni: spec
                        .vni
                        .unwrap_or(if from_config { config.backend.vni } else { 1 }),
                    port: spec.port.unwrap_or(if from_config {
                        config.backend.port
                    } else {
                        8472
                    }),
                    direct_routing: spec.direct_routing
                        || (from_config && config.backend.direct_routing),
                }
            }
            BackendType::Udp => Kind::Udp {
                peers: crate::tunnel::peers::PeerTable::new(),
            },
        };
        let nl = self.nl(host)?;
        let (ext, public_ip, own, key, store_lease) = {
            let st = self
                .hosts
                .get(host)
                .ok_or_else(|| RunError::new("lease vanished"))?;
            let lease = held(&st.lease);
            (
                st.ext.clone(),
                st.public_ip,
                lease.lease.subnet,
                lease.lease.key.clone(),
                lease.lease.store_lease,
            )
        };
        let ext = match &spec.iface {
            Some(i) => self.rt.block_on(external::find(&nl, Some(i), &where_))?,
            None => ext,
        };
        Ok(Plan {
            where_,
            reg,
            config,
            kind,
            nl,
            ext,
            public_ip,
            own,
            key,
            store_lease,
        })
    }

    /// The `flannel.N` devices of `host` that its overlay would not keep (another VNI's, one
    /// with other settings, or, for the udp and host-gw backends, any: a vxlan overlay's
    /// leftover, whose routes would shadow the new backend's), each said in a note: the caller
    /// removes them through the run's record, so a rollback brings them back.
    pub fn misfit_devices(&mut self, host: &Ns, spec: &Overlay) -> Result<Vec<String>, RunError> {
        let plan = self.plan(host, spec)?;
        let device = match plan.kind {
            Kind::Vxlan { vni, port, .. } => Some(vxlan::Device::new(
                vni,
                port,
                &plan.ext,
                plan.public_ip,
                plan.own,
            )),
            Kind::HostGw | Kind::Udp { .. } => None,
        };
        let misfits = self
            .rt
            .block_on(vxlan::misfits(&plan.nl, device.as_ref()))?;
        for m in &misfits {
            let note = match &device {
                Some(d) => removed_note(&plan.where_, m, d),
                None => format!(
                    "{}: removed {m}, left over from the vxlan backend",
                    plan.where_
                ),
            };
            self.print(Type::Note, &note);
        }
        Ok(misfits)
    }

    /// Starts the host's overlay. Returns what it published: the lease's key and its value
    /// before (for a rollback), or `None` when the lease said so already; and the device that
    /// lives only as long as this process (the udp tunnel's TUN), if any.
    pub fn overlay(&mut self, host: &Ns, spec: &Overlay) -> Result<Started, RunError> {
        let Plan {
            where_,
            reg,
            config,
            kind,
            nl,
            ext,
            public_ip,
            own,
            key,
            store_lease,
        } = self.plan(host, spec)?;

        sysctl::set(host.as_deref(), "net.ipv4.ip_forward", "1")?;
        // the lease says which backend this host runs and, for vxlan, its VTEP's MAC
        let mut udp_backend = None;
        let backend_data = match &kind {
            Kind::HostGw => None,
            // flanneld's udp leases carry no BackendData
            Kind::Udp { peers } => {
                let from_config = config.backend.kind == BackendType::Udp;
                let port = spec.port.unwrap_or(if from_config {
                    config.backend.port
                } else {
                    crate::tunnel::wire::DEFAULT_PORT
                });
                let network = config.network.ok_or_else(|| {
                    RunError::new("the udp overlay needs an IPv4 Network in the config")
                })?;
                udp_backend = Some(self.rt.block_on(udp_backend::setup(
                    host.as_deref(),
                    &nl,
                    port,
                    &ext,
                    own,
                    network,
                    peers.clone(),
                ))?);
                None
            }
            Kind::Vxlan { vni, port, .. } => {
                let device = vxlan::Device::new(*vni, *port, &ext, public_ip, own);
                let (mac, removed) = self.rt.block_on(vxlan::setup(&nl, &device))?;
                for r in removed {
                    self.print(Type::Note, &removed_note(&where_, &r, &device));
                }
                Some(serde_json::json!({"VNI": vni, "VtepMAC": mac_text(&mac)}))
            }
        };
        let store = self
            .store
            .clone()
            .ok_or_else(|| RunError::new("no store"))?;
        let publish = async {
            let Some(kv) = store.get(&key).await? else {
                return Ok::<_, crate::store::StoreError>(None);
            };
            let Some(mut l) = crate::flannel::SubnetLease::from_key_value(&kv) else {
                return Ok(None);
            };
            l.attrs.backend_type = kind.name().to_string();
            l.attrs.backend_data = backend_data.clone();
            let value = l.attrs.to_json();
            // the lease says so already (a re-run): no write
            if kv.value == value.as_bytes() {
                return Ok(Some(None));
            }
            let replaced = store
                .replace(&key, value.as_bytes(), store_lease, kv.mod_revision)
                .await?;
            Ok(replaced.map(|_| Some(kv)))
        };
        let Some(old_lease) = self.rt.block_on(publish).map_err(store_error)? else {
            return Err(RunError::new(format!(
                "the lease on {own} changed or vanished while the overlay started; take the lease again"
            )));
        };
        let tunnel = matches!(kind, Kind::Udp { .. }).then_some(udp_backend::DEVICE);
        let (leases, events) = self.rt.block_on(reg.watch_leases()).map_err(store_error)?;
        let mut service = Service::new(where_, nl, own, ext, public_ip, kind, self.names.clone());
        self.rt.block_on(service.start(&leases));
        let st = self
            .hosts
            .get_mut(host)
            .ok_or_else(|| RunError::new("lease vanished"))?;
        if let Some(old) = st.overlay.take() {
            old.abort();
        }
        // a new udp tunnel replaces the old one (dropping a backend stops it)
        st.udp = udp_backend;
        let stop = st.stop.subscribe();
        let reset = st.reset.clone();
        st.overlay = Some(self.rt.spawn(service.run(reg, events, stop, reset)));
        Ok(Started {
            published: old_lease.map(|kv| (key, kv)),
            tunnel,
        })
    }

    pub fn docker_opts(&mut self, host: &Ns, opts: &DockerOpts) -> Result<(), RunError> {
        let env_path = self
            .hosts
            .get(host)
            .map_or_else(|| default_env_path(host), |st| st.env_path.clone());
        let text = std::fs::read_to_string(&env_path).map_err(|e| {
            RunError::os(format!("cannot read {}", env_path.display()), &e)
                .help("`lease in HOST` writes it")
        })?;
        let flags = DockerOptsFlags {
            combined: opts.combined,
            key: opts.key.clone().unwrap_or_else(|| "DOCKER_OPTS".into()),
            no_masq: opts.no_masq,
            ..DockerOptsFlags::default()
        };
        let out = docker_opts::render(&text, &flags);
        let file = opts
            .file
            .clone()
            .map_or_else(|| default_docker_opts_path(host), PathBuf::from);
        docker_opts::write(&file, &out)
            .map_err(|e| RunError::os(format!("cannot write {}", file.display()), &e))?;
        self.print(Type::DockerOpts, &out);
        Ok(())
    }

    /// `show config` / `show leases`; `None` for what is not flannel's.
    pub fn show(&mut self, what: &str, json: bool) -> Option<Result<(), RunError>> {
        match what {
            "config" => Some(self.show_config(json)),
            "leases" => Some(self.show_leases(json)),
            _ => None,
        }
    }

    /// `show tunnel [in HOST]`: the udp tunnel's counters (packets, bytes, drops by reason).
    pub fn show_tunnel(&self, host: &Ns, json: bool) -> Result<(), RunError> {
        let Some(backend) = self.hosts.get(host).and_then(|st| st.udp.as_ref()) else {
            return Err(
                RunError::new(format!("{} runs no udp tunnel", host_name(host)))
                    .help("`overlay udp in HOST` starts one"),
            );
        };
        let counters = backend.counters();
        let text = |_: &[serde_json::Value]| {
            let lines: Vec<String> = counters
                .pairs()
                .map(|(k, v)| format!("{k:<24} {v}"))
                .collect();
            lines.join("\n")
        };
        json_stream::show(
            "tunnel",
            host.as_deref(),
            json,
            vec![counters.to_json()],
            text,
        );
        Ok(())
    }

    fn show_config(&mut self, json: bool) -> Result<(), RunError> {
        let reg = self.registry()?;
        let (config, text) = self.rt.block_on(reg.config()).map_err(lease_error)?;
        let full = config.to_json();
        if json_stream::json() || json {
            let row = serde_json::from_str(&full).unwrap_or(serde_json::Value::String(full));
            json_stream::show("config", None, json, vec![row], |_| String::new());
        } else {
            self.print(Type::Show, &text);
        }
        Ok(())
    }

    fn show_leases(&mut self, json: bool) -> Result<(), RunError> {
        let reg = self.registry()?;
        let leases = self.rt.block_on(reg.leases()).map_err(store_error)?;
        let names = self.names.lock().map(|n| n.clone()).unwrap_or_default();
        let rows: Vec<serde_json::Value> = leases
            .iter()
            .map(|l| {
                let mac = l
                    .attrs
                    .backend_data
                    .as_ref()
                    .and_then(|d| d.get("VtepMAC"))
                    .and_then(|m| m.as_str())
                    .unwrap_or("");
                serde_json::json!({
                    "subnet": l.subnet.to_string(),
                    "public_ip": l.attrs.public_ip.to_string(),
                    "backend": l.attrs.backend_type,
                    "vtep_mac": mac,
                    "host": names.get(&l.attrs.public_ip),
                })
            })
            .collect();
        json_stream::show("leases", None, json, rows, leases_text);
        Ok(())
    }
}

/// `show leases` as text: one line per lease.
fn leases_text(rows: &[serde_json::Value]) -> String {
    let mut out = String::new();
    for r in rows {
        let s = |k: &str| r[k].as_str().unwrap_or("").to_string();
        out += &format!(
            "{:<18} {:<16} {:<8} {:<17} {}\n",
            s("subnet"),
            s("public_ip"),
            s("backend"),
            s("vtep_mac"),
            s("host")
        );
    }
    out
}

impl Flannel {
    /// docker0's address and MTU from the host's lease (`--bip=$FLANNEL_SUBNET --mtu=$FLANNEL_MTU`).
    pub fn bridge(&self, host: &Ns) -> Option<(Ipv4Net, Option<u32>)> {
        let st = self.hosts.get(host)?;
        let sn = st.env.subnet?;
        let first = Ipv4Addr::from(u32::from(sn.network()).saturating_add(1));
        Some((Ipv4Net::new(first, sn.prefix_len()).ok()?, st.env.mtu))
    }
}
