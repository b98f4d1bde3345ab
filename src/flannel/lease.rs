//! Subnet leases as flanneld keeps them: the JSON value, choosing a subnet, and acquiring,
//! renewing and releasing it atomically in a store.
//!
//! Choosing follows flanneld's `tryAcquireLease`: reuse a lease that already carries this host's
//! PublicIP (if it still fits the config), else the subnet from an earlier subnet.env if nobody
//! holds it, else a random one among the first 100 free subnets from SubnetMin. The write is a
//! create-if-absent under a TTL lease, so two hosts can never hold one subnet; a host that loses a
//! race reads again and picks again.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use ipnet::{Ipv4Net, Ipv6Net};
use serde_json::{Map, Value};

use super::config::NetworkConfig;
use super::json_fields::present;
use super::keys::{parse_subnet_key, subnet_key};
use super::registry::Registry;
use crate::ops::BackendType;
use crate::store::{KeyValue, LeaseId, Revision, StoreError};

/// flanneld's lease time: 24 hours, renewed before it runs out.
pub const SUBNET_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// flanneld renews this long before a lease expires (`--subnet-lease-renew-margin`, 60 min).
pub const RENEW_MARGIN: Duration = Duration::from_secs(60 * 60);

/// How long after acquiring or renewing a lease with `ttl` to renew it: flanneld's margin before
/// expiry, or half the TTL when the TTL is shorter than twice the margin.
pub fn renew_after(ttl: Duration) -> Duration {
    if ttl >= RENEW_MARGIN * 2 {
        ttl - RENEW_MARGIN
    } else {
        ttl / 2
    }
}

/// How many free subnets flanneld collects before picking one at random.
const CANDIDATES: usize = 100;

/// How many free subnets per acquisition running at once to pick from, so that a crowd's
/// random picks rarely collide (each collision is a lost race: one more write to the store).
const CROWD_SPREAD: usize = 4;

/// How many times to re-read and retry after losing a race (flanneld: 10; we allow more so a
/// crowd of hosts starting together all get through).
const RACE_RETRIES: usize = 100;

/// The lease value, flannel's `LeaseAttrs`.
#[derive(Clone, Debug, PartialEq)]
pub struct LeaseAttrs {
    pub public_ip: Ipv4Addr,
    pub public_ipv6: Option<Ipv6Addr>,
    pub backend_type: String,
    /// Backend-specific data, e.g. `{"VNI":1,"VtepMAC":"..."}` for vxlan; kept as written.
    pub backend_data: Option<Value>,
    pub backend_v6_data: Option<Value>,
}

impl LeaseAttrs {
    /// Exactly what Go's `json.Marshal(LeaseAttrs)` writes: fields in order, `PublicIPv6` always
    /// present (null when unset), the other three omitted when empty.
    pub fn to_json(&self) -> String {
        let mut out = Map::new();
        out.insert("PublicIP".into(), Value::String(self.public_ip.to_string()));
        out.insert(
            "PublicIPv6".into(),
            self.public_ipv6
                .map_or(Value::Null, |ip| Value::String(ip.to_string())),
        );
        if !self.backend_type.is_empty() {
            out.insert(
                "BackendType".into(),
                Value::String(self.backend_type.clone()),
            );
        }
        if let Some(data) = &self.backend_data {
            out.insert("BackendData".into(), data.clone());
        }
        if let Some(data) = &self.backend_v6_data {
            out.insert("BackendV6Data".into(), data.clone());
        }
        Value::Object(out).to_string()
    }

    /// Reads a lease value as Go's `json.Unmarshal` into `LeaseAttrs` would.
    fn parse(text: &str) -> Result<LeaseAttrs, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let Value::Object(obj) = value else {
            return Err("a lease value must be a JSON object".to_string());
        };
        let ip = |name: &str| -> Result<Option<String>, String> {
            match present(&obj, name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(format!("{name} must be a string, got {other}")),
            }
        };
        let public_ip = match ip("PublicIP")? {
            Some(s) => s
                .parse()
                .map_err(|_| format!("PublicIP {s:?} is not an IPv4 address"))?,
            None => Ipv4Addr::UNSPECIFIED,
        };
        let public_ipv6 = match ip("PublicIPv6")? {
            Some(s) => Some(
                s.parse()
                    .map_err(|_| format!("PublicIPv6 {s:?} is not an IPv6 address"))?,
            ),
            None => None,
        };
        let backend_type = match present(&obj, "BackendType") {
            None => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => return Err(format!("BackendType must be a string, got {other}")),
        };
        Ok(LeaseAttrs {
            public_ip,
            public_ipv6,
            backend_type,
            backend_data: present(&obj, "BackendData").cloned(),
            backend_v6_data: present(&obj, "BackendV6Data").cloned(),
        })
    }
}

/// A lease as found in the store.
#[derive(Clone, Debug, PartialEq)]
pub struct SubnetLease {
    pub subnet: Ipv4Net,
    pub ipv6_subnet: Option<Ipv6Net>,
    pub attrs: LeaseAttrs,
    /// The full store key, e.g. `/coreos.com/network/subnets/10.1.15.0-24`.
    pub key: String,
    /// The TTL lease the key hangs on; `None` for a reservation (a key without TTL).
    pub store_lease: Option<LeaseId>,
    pub mod_revision: Revision,
}

impl SubnetLease {
    /// Reads a store entry; `None` for keys that are not subnets or values that do not parse
    /// (flanneld skips those too).
    pub fn from_key_value(kv: &KeyValue) -> Option<SubnetLease> {
        let (subnet, ipv6_subnet) = parse_subnet_key(&kv.key)?;
        let attrs = LeaseAttrs::parse(kv.value_str().ok()?).ok()?;
        Some(SubnetLease {
            subnet,
            ipv6_subnet,
            attrs,
            key: kv.key.clone(),
            store_lease: kv.lease,
            mod_revision: kv.mod_revision,
        })
    }
}

/// What a host asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct LeaseRequest {
    pub public_ip: Ipv4Addr,
    pub public_ipv6: Option<Ipv6Addr>,
    pub backend_type: String,
    pub backend_data: Option<Value>,
    /// The subnet from this host's earlier subnet.env, tried before a random one.
    pub previous_subnet: Option<Ipv4Net>,
    pub previous_ipv6_subnet: Option<Ipv6Net>,
    pub ttl: Duration,
}

impl LeaseRequest {
    pub fn new(public_ip: Ipv4Addr, backend: BackendType) -> LeaseRequest {
        LeaseRequest {
            public_ip,
            public_ipv6: None,
            backend_type: backend.name().to_string(),
            backend_data: None,
            previous_subnet: None,
            previous_ipv6_subnet: None,
            ttl: SUBNET_TTL,
        }
    }

    fn attrs(&self) -> LeaseAttrs {
        LeaseAttrs {
            public_ip: self.public_ip,
            public_ipv6: self.public_ipv6,
            backend_type: self.backend_type.clone(),
            backend_data: self.backend_data.clone(),
            backend_v6_data: None,
        }
    }
}

/// How the subnet was chosen, for the message the user sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseOrigin {
    /// This host's lease, found as the request would write it: kept as it is, its TTL renewed.
    Kept,
    /// A lease already carried this PublicIP.
    Reused,
    /// The subnet named in an earlier subnet.env.
    Previous,
    /// A free subnet picked at random.
    New,
}

/// A lease this host holds.
#[derive(Clone, Debug, PartialEq)]
pub struct AcquiredLease {
    pub lease: SubnetLease,
    pub origin: LeaseOrigin,
    /// The TTL the store granted (`None` for a reservation, which never expires).
    pub ttl: Option<Duration>,
    /// How many races this host lost to others before it got the subnet.
    pub conflicts: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error(
        "no network config at {key}: store one first (`network config '{{\"Network\": \"10.1.0.0/16\"}}'`)"
    )]
    NoConfig { key: String },

    #[error("the network config at {key} is not usable: {error}")]
    BadConfig {
        key: String,
        error: super::ConfigError,
    },

    #[error("leases need an IPv4 Network in the config (EnableIPv4 is false)")]
    NoIpv4,

    #[error(
        "out of subnets: searched {first} to {last} ({total} subnets of /{len}); {held} leases hold that range"
    )]
    OutOfSubnets {
        first: Ipv4Net,
        last: Ipv4Net,
        len: u8,
        total: u64,
        held: usize,
    },

    #[error("out of IPv6 subnets: searched {first} to {last}")]
    OutOfIpv6Subnets { first: Ipv6Net, last: Ipv6Net },

    #[error("gave up after losing {attempts} races for a subnet to other hosts")]
    Contended { attempts: usize },

    #[error("the lease on {subnet} is gone ({why}); this host no longer owns the subnet")]
    Lost { subnet: Ipv4Net, why: &'static str },

    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether an existing subnet still fits the config (flanneld's `isSubnetConfigCompat`).
fn fits(config: &NetworkConfig, subnet: Ipv4Net, ipv6: Option<Ipv6Net>) -> bool {
    let v4 = subnet.prefix_len() == config.subnet_len
        && subnet.network() >= config.subnet_min
        && subnet.network() <= config.subnet_max;
    let v6 = match (&config.ipv6, ipv6) {
        (None, None) => true,
        (Some(c), Some(sn)) => {
            sn.prefix_len() == c.subnet_len
                && sn.network() >= c.subnet_min
                && sn.network() <= c.subnet_max
        }
        _ => false,
    };
    v4 && v6
}

/// Free subnets from SubnetMin upwards, at most `window` of them (flanneld's `allocateSubnet`
/// with its window of [`CANDIDATES`]), then one picked at random; or why there is none.
pub(crate) fn allocate(
    config: &NetworkConfig,
    leases: &[SubnetLease],
    window: usize,
) -> Result<(Ipv4Net, Option<Ipv6Net>), LeaseError> {
    let len = config.subnet_len;
    let size = super::config::subnet_size_v4(len);
    let (min, max) = (
        u64::from(u32::from(config.subnet_min)),
        u64::from(u32::from(config.subnet_max)),
    );
    let net = |addr: u64| Ipv4Net::new(Ipv4Addr::from(addr as u32), len).unwrap_or_default();
    let taken = leases.iter().map(|l| {
        let n = l.subnet;
        (
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        )
    });
    let free: Vec<Ipv4Net> = free_subnets(
        taken.collect(),
        u128::from(min),
        u128::from(max),
        u128::from(size),
        window,
    )
    .into_iter()
    .map(|a| net(a as u64))
    .collect();
    if free.is_empty() {
        let held = leases
            .iter()
            .filter(|l| {
                let a = u64::from(u32::from(l.subnet.network()));
                a >= min && a <= max
            })
            .count();
        return Err(LeaseError::OutOfSubnets {
            first: net(min),
            last: net(max),
            len,
            total: config.subnet_count(),
            held,
        });
    }
    let v4 = free[rand::random_range(0..free.len())];
    let v6 = match &config.ipv6 {
        None => None,
        Some(c) => Some(allocate_ipv6(c, leases, window)?),
    };
    Ok((v4, v6))
}

/// The first `window` subnets of `size` addresses from `min` to `max` (network addresses) that
/// overlap none of the `taken` address ranges (inclusive). One sweep over the merged ranges, so a
/// wide window over many leases stays cheap (checking each candidate against every lease did not).
fn free_subnets(
    mut taken: Vec<(u128, u128)>,
    min: u128,
    max: u128,
    size: u128,
    window: usize,
) -> Vec<u128> {
    taken.sort_unstable();
    let mut merged: Vec<(u128, u128)> = Vec::with_capacity(taken.len());
    for (start, end) in taken {
        match merged.last_mut() {
            Some(last) if start <= last.1.saturating_add(1) => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let (mut free, mut i, mut addr) = (Vec::new(), 0, min);
    while addr <= max && free.len() < window {
        let end = addr.saturating_add(size - 1);
        while merged.get(i).is_some_and(|r| r.1 < addr) {
            i += 1;
        }
        if merged.get(i).is_none_or(|r| r.0 > end) {
            free.push(addr);
        }
        match addr.checked_add(size) {
            Some(next) => addr = next,
            None => break,
        }
    }
    free
}

fn allocate_ipv6(
    config: &super::config::Ipv6Config,
    leases: &[SubnetLease],
    window: usize,
) -> Result<Ipv6Net, LeaseError> {
    let len = config.subnet_len;
    let size = super::config::subnet_size_v6(len);
    let net = |addr: u128| Ipv6Net::new(Ipv6Addr::from(addr), len).unwrap_or_default();
    let (min, max) = (u128::from(config.subnet_min), u128::from(config.subnet_max));
    let taken = leases
        .iter()
        .filter_map(|l| l.ipv6_subnet)
        .map(|n| (u128::from(n.network()), u128::from(n.broadcast())));
    let free: Vec<Ipv6Net> = free_subnets(taken.collect(), min, max, size, window)
        .into_iter()
        .map(net)
        .collect();
    if free.is_empty() {
        return Err(LeaseError::OutOfIpv6Subnets {
            first: net(min),
            last: net(max),
        });
    }
    Ok(free[rand::random_range(0..free.len())])
}

impl Registry {
    /// This host's lease, when the store holds one that `request` would leave as it is: the same
    /// PublicIP(s) and backend type, backend data the request does not contradict (an overlay
    /// publishes it after the lease), a subnet that fits `config`, and a TTL lease that is still
    /// alive and as long as the request's. It is kept without a write: its TTL is renewed (what
    /// flanneld does when it starts and finds its lease) and its value, key and revision stay.
    /// `None`: it must be acquired (`acquire` reuses or replaces it).
    pub async fn keep(
        &self,
        config: &NetworkConfig,
        request: &LeaseRequest,
    ) -> Result<Option<AcquiredLease>, LeaseError> {
        if config.network.is_none() {
            return Ok(None);
        }
        // the shared view finds it without reading every lease (a crowd of hosts stays linear);
        // the key itself is read again, as the store holds it now
        let seen = self
            .known_leases(false)
            .await?
            .into_iter()
            .find(|l| l.attrs.public_ip == request.public_ip);
        let Some(seen) = seen else {
            return Ok(None);
        };
        let Some(mine) = self
            .store()
            .get(&seen.key)
            .await?
            .as_ref()
            .and_then(SubnetLease::from_key_value)
            .filter(|l| l.attrs.public_ip == request.public_ip)
        else {
            return Ok(None);
        };
        let same = mine.attrs.public_ipv6 == request.public_ipv6
            && mine.attrs.backend_type == request.backend_type
            && (request.backend_data.is_none() || mine.attrs.backend_data == request.backend_data)
            && fits(config, mine.subnet, mine.ipv6_subnet);
        if !same {
            return Ok(None);
        }
        let ttl = match mine.store_lease {
            // a reservation never expires
            None => None,
            Some(id) => match self.store().keep_alive(id).await {
                Ok(ttl) if ttl == request.ttl => Some(ttl),
                // another TTL asked for: a new TTL lease, as `acquire` grants it
                Ok(_) => return Ok(None),
                Err(StoreError::LeaseNotFound(_)) => return Ok(None),
                Err(e) => return Err(e.into()),
            },
        };
        Ok(Some(AcquiredLease {
            lease: mine,
            origin: LeaseOrigin::Kept,
            ttl,
            conflicts: 0,
        }))
    }

    /// Acquires a subnet for this host (see the module docs for how it is chosen).
    pub async fn acquire(
        &self,
        config: &NetworkConfig,
        request: &LeaseRequest,
    ) -> Result<AcquiredLease, LeaseError> {
        if config.network.is_none() {
            return Err(LeaseError::NoIpv4);
        }
        let _running = self.view().running();
        // One TTL lease for all attempts; revoked if we end up not using it.
        let granted = self.store().grant(request.ttl).await?;
        let result = self
            .acquire_with(config, request, granted.id, granted.ttl)
            .await;
        let used = matches!(&result, Ok(a) if a.lease.store_lease == Some(granted.id));
        if !used {
            let _ = self.store().revoke(granted.id).await;
        }
        result
    }

    async fn acquire_with(
        &self,
        config: &NetworkConfig,
        request: &LeaseRequest,
        store_lease: LeaseId,
        ttl: Duration,
    ) -> Result<AcquiredLease, LeaseError> {
        let attrs = request.attrs();
        let value = attrs.to_json();
        // The leases as we last read them, plus the subnets we since lost races for. A lost race
        // only tells us one more subnet is taken, so we pick again from this view instead of
        // re-reading every lease (which made a crowd of hosts quadratic); we re-read now and then,
        // and always before saying "out of subnets".
        let mut view: Option<Vec<SubnetLease>> = None;
        // whether the next read must be a full one (a catch-up read does not see deletes)
        let mut full = false;
        // flanneld's window, widened for a crowd acquiring through this registry at once
        let mut window = CANDIDATES.max(CROWD_SPREAD * self.view().crowd());
        for conflicts in 0..RACE_RETRIES {
            let fresh = view.is_none();
            let was_full = full;
            let leases = match &mut view {
                Some(v) => v,
                None => view.insert(self.known_leases(std::mem::take(&mut full)).await?),
            };

            let mine = leases
                .iter()
                .find(|l| fresh && l.attrs.public_ip == request.public_ip);
            if let Some(mine) = mine {
                if fits(config, mine.subnet, mine.ipv6_subnet) {
                    // A reservation (no TTL) stays one; a leased key moves to our new lease.
                    let lease = mine.store_lease.map(|_| store_lease);
                    let replaced = self
                        .store()
                        .replace(&mine.key, value.as_bytes(), lease, mine.mod_revision)
                        .await?;
                    if let Some(revision) = replaced {
                        return Ok(AcquiredLease {
                            lease: SubnetLease {
                                attrs,
                                store_lease: lease,
                                mod_revision: revision,
                                ..mine.clone()
                            },
                            origin: LeaseOrigin::Reused,
                            ttl: lease.map(|_| ttl),
                            conflicts,
                        });
                    }
                } else {
                    // flanneld deletes a lease of ours that no longer fits the config.
                    self.store().delete(&mine.key).await?;
                }
                view = None;
                full = true;
                continue;
            }

            let previous = request.previous_subnet.filter(|sn| {
                fits(config, *sn, request.previous_ipv6_subnet)
                    && !leases
                        .iter()
                        .any(|l| l.subnet.contains(sn) || sn.contains(&l.subnet))
            });
            let (subnet, ipv6_subnet, origin) = match previous {
                Some(sn) => (sn, request.previous_ipv6_subnet, LeaseOrigin::Previous),
                None => match allocate(config, leases, window) {
                    Ok((sn, sn6)) => (sn, sn6, LeaseOrigin::New),
                    // "out of subnets" only on the word of a full read
                    Err(_) if !(fresh && was_full) => {
                        view = None;
                        full = true;
                        continue;
                    }
                    Err(e) => return Err(e),
                },
            };
            let key = subnet_key(self.prefix(), subnet, ipv6_subnet);
            let created = self
                .store()
                .create(&key, value.as_bytes(), Some(store_lease))
                .await?;
            if let Some(revision) = created {
                return Ok(AcquiredLease {
                    lease: SubnetLease {
                        subnet,
                        ipv6_subnet,
                        attrs,
                        key,
                        store_lease: Some(store_lease),
                        mod_revision: revision,
                    },
                    origin,
                    ttl: Some(ttl),
                    conflicts,
                });
            }
            // Someone took it between our read and our write. Note it, look wider next time so
            // a crowd spreads out, and catch up with everyone else's leases every few losses.
            leases.push(SubnetLease {
                subnet,
                ipv6_subnet,
                attrs: LeaseAttrs {
                    public_ip: Ipv4Addr::UNSPECIFIED,
                    public_ipv6: None,
                    backend_type: String::new(),
                    backend_data: None,
                    backend_v6_data: None,
                },
                key,
                store_lease: None,
                mod_revision: 0,
            });
            window = window.saturating_mul(4);
            if conflicts % 8 == 7 {
                view = None;
            }
        }
        Err(LeaseError::Contended {
            attempts: RACE_RETRIES,
        })
    }

    /// Restarts the lease's TTL. Fails with [`LeaseError::Lost`] if the lease expired, was
    /// revoked, or its key was deleted or taken over behind our back.
    pub async fn renew(&self, lease: &AcquiredLease) -> Result<Option<Duration>, LeaseError> {
        let subnet = lease.lease.subnet;
        let current = self.store().get(&lease.lease.key).await?;
        let Some(current) = current else {
            return Err(LeaseError::Lost {
                subnet,
                why: "its key was deleted",
            });
        };
        if current.lease != lease.lease.store_lease {
            return Err(LeaseError::Lost {
                subnet,
                why: "another lease now holds its key",
            });
        }
        let Some(id) = lease.lease.store_lease else {
            return Ok(None);
        };
        match self.store().keep_alive(id).await {
            Ok(ttl) => Ok(Some(ttl)),
            Err(StoreError::LeaseNotFound(_)) => Err(LeaseError::Lost {
                subnet,
                why: "its TTL ran out or it was revoked",
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Gives the subnet back: revokes our TTL lease (which deletes the key), or deletes a
    /// reservation's key. Returns whether there was anything to release.
    pub async fn release(&self, lease: &AcquiredLease) -> Result<bool, LeaseError> {
        match lease.lease.store_lease {
            Some(id) => {
                let existed = self
                    .store()
                    .get(&lease.lease.key)
                    .await?
                    .is_some_and(|kv| kv.lease == Some(id));
                self.store().revoke(id).await?;
                Ok(existed)
            }
            None => Ok(self.store().delete(&lease.lease.key).await?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> NetworkConfig {
        NetworkConfig::parse(text).unwrap()
    }

    fn held(subnet: &str) -> SubnetLease {
        SubnetLease {
            subnet: subnet.parse().unwrap(),
            ipv6_subnet: None,
            attrs: LeaseAttrs::parse(r#"{"PublicIP":"10.0.0.1"}"#).unwrap(),
            key: String::new(),
            store_lease: None,
            mod_revision: 1,
        }
    }

    #[test]
    fn value_is_flannels_json() {
        let attrs = LeaseAttrs {
            public_ip: "10.10.10.101".parse().unwrap(),
            public_ipv6: None,
            backend_type: "vxlan".into(),
            backend_data: Some(
                serde_json::from_str(r#"{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:ff"}"#).unwrap(),
            ),
            backend_v6_data: None,
        };
        assert_eq!(
            attrs.to_json(),
            r#"{"PublicIP":"10.10.10.101","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:ff"}}"#
        );
        assert_eq!(LeaseAttrs::parse(&attrs.to_json()).unwrap(), attrs);
        let bare = LeaseAttrs::parse(r#"{"PublicIP":"10.0.0.2"}"#).unwrap();
        assert_eq!(
            bare.to_json(),
            r#"{"PublicIP":"10.0.0.2","PublicIPv6":null}"#
        );
        assert!(LeaseAttrs::parse(r#"{"PublicIP":"nope"}"#).is_err());
    }

    #[test]
    fn value_keys_match_like_go() {
        let attrs = LeaseAttrs::parse(
            r#"{"publicip":"10.0.0.7","PUBLICIPV6":"fd00::7","backendtype":"host-gw","Extra":1}"#,
        )
        .unwrap();
        assert_eq!(attrs.public_ip, Ipv4Addr::new(10, 0, 0, 7));
        assert_eq!(attrs.public_ipv6, Some("fd00::7".parse().unwrap()));
        assert_eq!(attrs.backend_type, "host-gw");
        assert_eq!(attrs.backend_data, None);
        assert!(LeaseAttrs::parse("[]").is_err());
        assert!(LeaseAttrs::parse(r#"{"PublicIP":7}"#).is_err());
    }

    #[test]
    fn allocation_picks_only_free_subnets_in_range() {
        let c = config(r#"{"Network": "10.5.0.0/23"}"#); // three /25s: .0.128, .1.0, .1.128
        let leases = [held("10.5.0.128/25"), held("10.5.1.128/25")];
        for _ in 0..20 {
            let (sn, v6) = allocate(&c, &leases, CANDIDATES).unwrap();
            assert_eq!(sn, "10.5.1.0/25".parse::<Ipv4Net>().unwrap());
            assert_eq!(v6, None);
        }
    }

    #[test]
    fn allocation_spreads_over_the_first_hundred() {
        let c = config(r#"{"Network": "10.0.0.0/8"}"#);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let (sn, _) = allocate(&c, &[], CANDIDATES).unwrap();
            let third = sn.network().octets()[2];
            assert!(
                sn.network().octets()[1] == 0 && (1..=100).contains(&third),
                "{sn}"
            );
            seen.insert(sn);
        }
        assert!(
            seen.len() > 20,
            "random choice, got {} distinct",
            seen.len()
        );
    }

    #[test]
    fn out_of_subnets_says_where_it_looked() {
        let c = config(r#"{"Network": "10.5.0.0/23"}"#);
        let leases = [
            held("10.5.0.128/25"),
            held("10.5.1.0/25"),
            held("10.5.1.128/25"),
        ];
        let e = allocate(&c, &leases, CANDIDATES).unwrap_err().to_string();
        assert_eq!(
            e,
            "out of subnets: searched 10.5.0.128/25 to 10.5.1.128/25 (3 subnets of /25); 3 leases hold that range"
        );
    }

    #[test]
    fn renewal_comes_before_expiry() {
        assert_eq!(renew_after(SUBNET_TTL), Duration::from_secs(23 * 3600));
        assert_eq!(
            renew_after(Duration::from_secs(60)),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn hand_built_configs_do_not_panic() {
        let mut c = config(r#"{"Network": "10.5.0.0/16"}"#);
        for len in [0, 31, 32, 40, 255] {
            c.subnet_len = len;
            let _ = allocate(&c, &[held("10.5.1.0/24")], CANDIDATES);
            let _ = c.subnet_count();
        }
    }

    #[test]
    fn fits_follows_flannel() {
        let c = config(r#"{"Network": "10.5.0.0/16", "SubnetMax": "10.5.9.0"}"#);
        assert!(fits(&c, "10.5.3.0/24".parse().unwrap(), None));
        assert!(
            !fits(&c, "10.5.0.0/24".parse().unwrap(), None),
            "below SubnetMin"
        );
        assert!(
            !fits(&c, "10.5.10.0/24".parse().unwrap(), None),
            "above SubnetMax"
        );
        assert!(
            !fits(&c, "10.5.3.0/25".parse().unwrap(), None),
            "wrong length"
        );
    }
}
