//! Flannel's network config (`<prefix>/config`): parsed and checked as flanneld does
//! (`ParseConfig` + `CheckNetworkConfig`), with the defaults it fills in, and errors in words.

use crate::ops::BackendType;
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};
use serde_json::{Map, Value, json};

use super::json_fields::{kind, present};

/// The `Backend` object: its type and the options netsh understands. `raw` keeps all of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Backend {
    pub kind: BackendType,
    /// VXLAN network identifier (`VNI`, default 1).
    pub vni: u32,
    /// UDP port (`Port`; default 8285 for udp, 8472 for vxlan, unused by host-gw).
    pub port: u16,
    /// VXLAN `DirectRouting`: plain routes to hosts on the same L2 segment.
    pub direct_routing: bool,
    /// The Backend object as written (or `null` when the config had none).
    pub raw: Value,
}

/// A checked network config with flannel's defaults filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkConfig {
    pub enable_ipv4: bool,
    /// The whole overlay network (`Network`); `None` only when `EnableIPv4` is false.
    pub network: Option<Ipv4Net>,
    pub subnet_len: u8,
    pub subnet_min: Ipv4Addr,
    pub subnet_max: Ipv4Addr,
    pub enable_ipv6: bool,
    pub ipv6: Option<Ipv6Config>,
    pub backend: Backend,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Ipv6Config {
    pub network: Ipv6Net,
    pub subnet_len: u8,
    pub subnet_min: Ipv6Addr,
    pub subnet_max: Ipv6Addr,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// Not JSON at all; `line`/`column` (1-based) and `offset` (bytes) point at the problem.
    #[error("the network config is not valid JSON: {message} (line {line}, column {column})")]
    Json {
        message: String,
        line: usize,
        column: usize,
        offset: usize,
    },
    #[error("the network config must be a JSON object, not {0}")]
    NotAnObject(&'static str),
    #[error("{field} must be {expected}, got {got}")]
    FieldType {
        field: &'static str,
        expected: &'static str,
        got: String,
    },
    #[error("{0}")]
    Invalid(String),
}

fn invalid(message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(message.into())
}

/// Byte offset of a 1-based line and column in `text`.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (line_start + column.saturating_sub(1)).min(text.len())
}

fn string_field<'a>(
    obj: &'a Map<String, Value>,
    field: &'static str,
    expected: &'static str,
) -> Result<Option<&'a str>, ConfigError> {
    match present(obj, field) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(ConfigError::FieldType {
            field,
            expected,
            got: kind(other).to_string(),
        }),
    }
}

fn parsed<T: std::str::FromStr>(
    obj: &Map<String, Value>,
    field: &'static str,
    expected: &'static str,
) -> Result<Option<T>, ConfigError> {
    match string_field(obj, field, expected)? {
        None => Ok(None),
        Some(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| ConfigError::FieldType {
                field,
                expected,
                got: format!("{s:?}"),
            }),
    }
}

fn number_field(
    obj: &Map<String, Value>,
    field: &'static str,
    max: u64,
) -> Result<Option<u64>, ConfigError> {
    match present(obj, field) {
        None => Ok(None),
        Some(v) => match v.as_u64().filter(|n| *n <= max) {
            Some(n) => Ok(Some(n)),
            None => Err(ConfigError::FieldType {
                field,
                expected: "a whole number in range",
                got: v.to_string(),
            }),
        },
    }
}

fn bool_field(obj: &Map<String, Value>, field: &'static str) -> Result<Option<bool>, ConfigError> {
    match present(obj, field) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(ConfigError::FieldType {
            field,
            expected: "true or false",
            got: kind(other).to_string(),
        }),
    }
}

impl NetworkConfig {
    /// Parses and checks flannel's config JSON, filling in flannel's defaults.
    pub fn parse(text: &str) -> Result<NetworkConfig, ConfigError> {
        let value: Value = serde_json::from_str(text).map_err(|e| ConfigError::Json {
            message: e
                .to_string()
                .split(" at line")
                .next()
                .unwrap_or("")
                .to_string(),
            line: e.line(),
            column: e.column(),
            offset: offset_of(text, e.line(), e.column()),
        })?;
        let Value::Object(obj) = &value else {
            return Err(ConfigError::NotAnObject(kind(&value)));
        };
        let enable_ipv4 = bool_field(obj, "EnableIPv4")?.unwrap_or(true);
        let enable_ipv6 = bool_field(obj, "EnableIPv6")?.unwrap_or(false);
        let backend = parse_backend(present(obj, "Backend"))?;

        let mut config = NetworkConfig {
            enable_ipv4,
            network: None,
            subnet_len: 0,
            subnet_min: Ipv4Addr::UNSPECIFIED,
            subnet_max: Ipv4Addr::UNSPECIFIED,
            enable_ipv6,
            ipv6: None,
            backend,
        };
        if enable_ipv4 {
            let network: Option<Ipv4Net> = parsed(obj, "Network", "a network like \"10.0.0.0/8\"")?;
            let subnet_len = number_field(obj, "SubnetLen", 255)?.unwrap_or(0);
            let min = parsed(obj, "SubnetMin", "an IPv4 address")?;
            let max = parsed(obj, "SubnetMax", "an IPv4 address")?;
            check_ipv4(&mut config, network, subnet_len, min, max)?;
        }
        if enable_ipv6 {
            let network: Option<Ipv6Net> =
                parsed(obj, "IPv6Network", "a network like \"fc00::/48\"")?;
            let subnet_len = number_field(obj, "IPv6SubnetLen", 255)?.unwrap_or(0);
            let min = parsed(obj, "IPv6SubnetMin", "an IPv6 address")?;
            let max = parsed(obj, "IPv6SubnetMax", "an IPv6 address")?;
            config.ipv6 = Some(check_ipv6(network, subnet_len, min, max)?);
        }
        Ok(config)
    }

    /// The number of subnets between SubnetMin and SubnetMax, both included.
    pub fn subnet_count(&self) -> u64 {
        let size = subnet_size_v4(self.subnet_len);
        let (min, max) = (u32::from(self.subnet_min), u32::from(self.subnet_max));
        if max < min {
            0
        } else {
            u64::from(max - min) / size + 1
        }
    }

    /// The config as flannel JSON with every default written out (for the keyword form and
    /// `show config`).
    pub fn to_json(&self) -> String {
        let mut out = Map::new();
        if let Some(network) = self.network {
            out.insert("Network".into(), json!(network.to_string()));
            out.insert("SubnetLen".into(), json!(self.subnet_len));
            out.insert("SubnetMin".into(), json!(self.subnet_min.to_string()));
            out.insert("SubnetMax".into(), json!(self.subnet_max.to_string()));
        }
        if !self.enable_ipv4 {
            out.insert("EnableIPv4".into(), json!(false));
        }
        if let Some(v6) = &self.ipv6 {
            out.insert("EnableIPv6".into(), json!(true));
            out.insert("IPv6Network".into(), json!(v6.network.to_string()));
            out.insert("IPv6SubnetLen".into(), json!(v6.subnet_len));
            out.insert("IPv6SubnetMin".into(), json!(v6.subnet_min.to_string()));
            out.insert("IPv6SubnetMax".into(), json!(v6.subnet_max.to_string()));
        }
        let mut backend = match &self.backend.raw {
            Value::Object(o) => o.clone(),
            _ => Map::new(),
        };
        backend.insert("Type".into(), json!(self.backend.kind.name()));
        if self.backend.kind == BackendType::Vxlan {
            backend.insert("VNI".into(), json!(self.backend.vni));
        }
        if self.backend.kind != BackendType::HostGw {
            backend.insert("Port".into(), json!(self.backend.port));
        }
        out.insert("Backend".into(), Value::Object(backend));
        Value::Object(out).to_string()
    }
}

/// Addresses in an IPv4 subnet of length `len` (never panics, whatever `len` is).
pub(crate) fn subnet_size_v4(len: u8) -> u64 {
    1u64 << 32u32.saturating_sub(u32::from(len))
}

/// Addresses in an IPv6 subnet of length `len`, saturating at `u128::MAX` for a /0.
pub(crate) fn subnet_size_v6(len: u8) -> u128 {
    1u128
        .checked_shl(128u32.saturating_sub(u32::from(len)))
        .unwrap_or(u128::MAX)
}

fn parse_backend(raw: Option<&Value>) -> Result<Backend, ConfigError> {
    let Some(raw) = raw else {
        // flannel: no Backend at all means udp.
        return Ok(Backend {
            kind: BackendType::Udp,
            vni: 1,
            port: BackendType::Udp.default_port(),
            direct_routing: false,
            raw: Value::Null,
        });
    };
    let Value::Object(obj) = raw else {
        return Err(ConfigError::FieldType {
            field: "Backend",
            expected: "an object like {\"Type\": \"vxlan\"}",
            got: kind(raw).to_string(),
        });
    };
    let kind = match string_field(obj, "Type", "a backend name")? {
        Some("udp") => BackendType::Udp,
        Some("vxlan") => BackendType::Vxlan,
        Some("host-gw") => BackendType::HostGw,
        Some(other) => {
            return Err(invalid(format!(
                "Backend.Type {other:?} is not a backend netsh runs (it has udp, vxlan and host-gw)"
            )));
        }
        None => {
            return Err(invalid(
                "Backend.Type is missing: say \"udp\", \"vxlan\" or \"host-gw\"",
            ));
        }
    };
    let vni = number_field(obj, "VNI", 0xFF_FFFF)?.unwrap_or(1);
    let port = number_field(obj, "Port", 65535)?.unwrap_or(0);
    let port = if port == 0 {
        kind.default_port()
    } else {
        port as u16
    };
    Ok(Backend {
        kind,
        vni: vni as u32,
        port,
        direct_routing: bool_field(obj, "DirectRouting")?.unwrap_or(false),
        raw: raw.clone(),
    })
}

fn check_ipv4(
    config: &mut NetworkConfig,
    network: Option<Ipv4Net>,
    subnet_len: u64,
    min: Option<Ipv4Addr>,
    max: Option<Ipv4Addr>,
) -> Result<(), ConfigError> {
    // Like flannel, 0.0.0.0/0 counts as no network.
    let network = network
        .map(|n| n.trunc())
        .filter(|n| n.prefix_len() != 0 || !n.network().is_unspecified())
        .ok_or_else(|| {
            invalid("Network is missing: the config needs the whole overlay, e.g. \"Network\": \"10.100.0.0/16\"")
        })?;
    let prefix = u64::from(network.prefix_len());
    let subnet_len = if subnet_len > 0 {
        if subnet_len > 30 {
            return Err(invalid(format!(
                "SubnetLen {subnet_len} is too long: at most 30, so each host's subnet holds a bridge and a tunnel address"
            )));
        }
        if subnet_len < prefix + 2 {
            return Err(invalid(format!(
                "SubnetLen {subnet_len} leaves room for fewer than four subnets in {network}: use at least {}",
                prefix + 2
            )));
        }
        subnet_len
    } else if prefix > 28 {
        return Err(invalid(format!(
            "Network {network} is too small: flannel needs at least a /28"
        )));
    } else if prefix <= 22 {
        24
    } else {
        prefix + 2
    };
    let size = 1u32 << (32 - subnet_len);
    let first = u32::from(network.network());
    let after = u64::from(first) + (1u64 << (32 - prefix));

    let min = match min.filter(|a| !a.is_unspecified()) {
        None => Ipv4Addr::from(first.wrapping_add(size)),
        Some(a) if network.contains(&a) => a,
        Some(a) => {
            return Err(invalid(format!(
                "SubnetMin {a} is not inside Network {network}"
            )));
        }
    };
    let max = match max.filter(|a| !a.is_unspecified()) {
        None => Ipv4Addr::from((after - u64::from(size)) as u32),
        Some(a) if network.contains(&a) => a,
        Some(a) => {
            return Err(invalid(format!(
                "SubnetMax {a} is not inside Network {network}"
            )));
        }
    };
    let mask = u32::MAX << (32 - subnet_len);
    for (name, addr) in [("SubnetMin", min), ("SubnetMax", max)] {
        if u32::from(addr) & mask != u32::from(addr) {
            return Err(invalid(format!(
                "{name} {addr} is not on a /{subnet_len} boundary (SubnetLen): try {}",
                Ipv4Addr::from(u32::from(addr) & mask)
            )));
        }
    }
    if u32::from(min) > u32::from(max) {
        return Err(invalid(format!(
            "SubnetMin {min} is above SubnetMax {max}: no subnet could ever be leased"
        )));
    }
    config.network = Some(network);
    config.subnet_len = subnet_len as u8;
    config.subnet_min = min;
    config.subnet_max = max;
    Ok(())
}

fn check_ipv6(
    network: Option<Ipv6Net>,
    subnet_len: u64,
    min: Option<Ipv6Addr>,
    max: Option<Ipv6Addr>,
) -> Result<Ipv6Config, ConfigError> {
    let network = network
        .map(|n| n.trunc())
        .filter(|n| n.prefix_len() != 0 || !n.network().is_unspecified())
        .ok_or_else(|| {
            invalid(
                "IPv6Network is missing: EnableIPv6 needs it, e.g. \"IPv6Network\": \"fc00::/48\"",
            )
        })?;
    let prefix = u64::from(network.prefix_len());
    let subnet_len = if subnet_len > 0 {
        if subnet_len > 126 {
            return Err(invalid(format!(
                "IPv6SubnetLen {subnet_len} is too long: at most 126"
            )));
        }
        if subnet_len < prefix + 2 {
            return Err(invalid(format!(
                "IPv6SubnetLen {subnet_len} leaves room for fewer than four subnets in {network}: use at least {}",
                prefix + 2
            )));
        }
        subnet_len
    } else if prefix > 124 {
        return Err(invalid(format!(
            "IPv6Network {network} is too small: flannel needs at least a /124"
        )));
    } else if prefix <= 62 {
        64
    } else {
        prefix + 2
    };
    let size = 1u128 << (128 - subnet_len);
    let first = u128::from(network.network());
    let last = u128::from(network.broadcast());
    let min = match min.filter(|a| !a.is_unspecified()) {
        None => Ipv6Addr::from(first + size),
        Some(a) if network.contains(&a) => a,
        Some(a) => {
            return Err(invalid(format!(
                "IPv6SubnetMin {a} is not inside IPv6Network {network}"
            )));
        }
    };
    let max = match max.filter(|a| !a.is_unspecified()) {
        None => Ipv6Addr::from(last - (size - 1)),
        Some(a) if network.contains(&a) => a,
        Some(a) => {
            return Err(invalid(format!(
                "IPv6SubnetMax {a} is not inside IPv6Network {network}"
            )));
        }
    };
    for (name, addr) in [("IPv6SubnetMin", min), ("IPv6SubnetMax", max)] {
        if u128::from(addr) % size != 0 {
            return Err(invalid(format!(
                "{name} {addr} is not on a /{subnet_len} boundary (IPv6SubnetLen)"
            )));
        }
    }
    Ok(Ipv6Config {
        network,
        subnet_len: subnet_len as u8,
        subnet_min: min,
        subnet_max: max,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> NetworkConfig {
        NetworkConfig::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn error(text: &str) -> String {
        match NetworkConfig::parse(text) {
            Ok(c) => panic!("{text} should be refused, parsed as {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn defaults_for_a_big_network() {
        let c = parse(r#"{"Network": "10.100.0.0/16"}"#);
        assert_eq!(c.network, Some("10.100.0.0/16".parse().unwrap()));
        assert_eq!(c.subnet_len, 24);
        assert_eq!(
            c.subnet_min,
            Ipv4Addr::new(10, 100, 1, 0),
            "the first subnet is skipped"
        );
        assert_eq!(c.subnet_max, Ipv4Addr::new(10, 100, 255, 0));
        assert_eq!(c.subnet_count(), 255);
        assert_eq!(
            c.backend.kind,
            BackendType::Udp,
            "flannel's code defaults to udp"
        );
        assert_eq!(c.backend.port, 8285);
    }

    #[test]
    fn small_networks_get_prefix_plus_two() {
        let c = parse(r#"{"Network": "10.5.0.0/23"}"#);
        assert_eq!(c.subnet_len, 25);
        assert_eq!(c.subnet_min, Ipv4Addr::new(10, 5, 0, 128));
        assert_eq!(c.subnet_max, Ipv4Addr::new(10, 5, 1, 128));
        assert_eq!(c.subnet_count(), 3);
        assert_eq!(parse(r#"{"Network": "10.5.0.0/22"}"#).subnet_len, 24);
        assert_eq!(parse(r#"{"Network": "10.5.0.0/28"}"#).subnet_len, 30);
        assert!(error(r#"{"Network": "10.5.0.0/29"}"#).contains("at least a /28"));
    }

    #[test]
    fn subnet_len_limits() {
        assert!(error(r#"{"Network": "10.0.0.0/8", "SubnetLen": 31}"#).contains("at most 30"));
        let e = error(r#"{"Network": "10.0.0.0/16", "SubnetLen": 17}"#);
        assert!(
            e.contains("fewer than four subnets") && e.contains("at least 18"),
            "{e}"
        );
        assert_eq!(
            parse(r#"{"Network": "10.0.0.0/16", "SubnetLen": 18}"#).subnet_count(),
            3
        );
    }

    #[test]
    fn subnet_min_and_max_checked() {
        let c = parse(
            r#"{"Network": "10.5.0.0/16", "SubnetLen": 25, "SubnetMin": "10.5.0.128", "SubnetMax": "10.5.1.128"}"#,
        );
        assert_eq!(c.subnet_count(), 3);
        let e = error(r#"{"Network": "10.5.0.0/16", "SubnetMin": "10.5.1.7"}"#);
        assert!(
            e.contains("not on a /24 boundary") && e.contains("10.5.1.0"),
            "{e}"
        );
        let e = error(r#"{"Network": "10.5.0.0/16", "SubnetMax": "10.6.0.0"}"#);
        assert!(e.contains("not inside Network 10.5.0.0/16"), "{e}");
        let e = error(
            r#"{"Network": "10.5.0.0/16", "SubnetMin": "10.5.9.0", "SubnetMax": "10.5.2.0"}"#,
        );
        assert!(e.contains("above SubnetMax"), "{e}");
    }

    #[test]
    fn network_required_and_typed() {
        assert!(error("{}").contains("Network is missing"));
        assert!(error(r#"{"Network": "0.0.0.0/0"}"#).contains("Network is missing"));
        let e = error(r#"{"Network": 10}"#);
        assert!(
            e.contains("Network must be a network") && e.contains("a number"),
            "{e}"
        );
        assert!(error(r#"{"Network": "10.0.0.0/40"}"#).contains("\"10.0.0.0/40\""));
        assert!(error(r#"{"Network": "10.0.0.0/8", "SubnetLen": "24"}"#).contains("SubnetLen"));
        assert!(error("[1]").contains("JSON object, not an array"));
    }

    #[test]
    fn keys_match_case_insensitively_like_go() {
        let c = parse(r#"{"network": "10.1.0.0/16", "backend": {"type": "vxlan", "vni": 7}}"#);
        assert_eq!(c.network, Some("10.1.0.0/16".parse().unwrap()));
        assert_eq!(
            (c.backend.kind, c.backend.vni, c.backend.port),
            (BackendType::Vxlan, 7, 8472)
        );
    }

    #[test]
    fn backends_and_their_options() {
        let c = parse(r#"{"Network": "10.1.0.0/16", "Backend": {"Type": "vxlan"}}"#);
        assert_eq!(
            (c.backend.vni, c.backend.port, c.backend.direct_routing),
            (1, 8472, false)
        );
        let c = parse(
            r#"{"Network": "10.1.0.0/16", "Backend": {"Type": "vxlan", "Port": 4789, "DirectRouting": true}}"#,
        );
        assert_eq!((c.backend.port, c.backend.direct_routing), (4789, true));
        let c = parse(r#"{"Network": "10.1.0.0/16", "Backend": {"Type": "host-gw"}}"#);
        assert_eq!(c.backend.kind, BackendType::HostGw);
        let e = error(r#"{"Network": "10.1.0.0/16", "Backend": {"Type": "wireguard"}}"#);
        assert!(
            e.contains("\"wireguard\"") && e.contains("udp, vxlan and host-gw"),
            "{e}"
        );
        assert!(error(r#"{"Network": "10.1.0.0/16", "Backend": {}}"#).contains("Type is missing"));
        assert!(
            error(r#"{"Network": "10.1.0.0/16", "Backend": {"Type": "vxlan", "VNI": -1}}"#)
                .contains("VNI")
        );
    }

    #[test]
    fn malformed_json_points_inside_it() {
        let text = "{\n  \"Network\": \"10.1.0.0/16\",\n  \"SubnetLen\": 24,,\n}";
        match NetworkConfig::parse(text) {
            Err(ConfigError::Json {
                line,
                column,
                offset,
                ..
            }) => {
                assert_eq!(line, 3);
                assert_eq!(
                    &text[offset..offset + 1],
                    ",",
                    "offset {offset} col {column}"
                );
            }
            other => panic!("expected a JSON error, got {other:?}"),
        }
    }

    #[test]
    fn dual_stack_defaults() {
        let c =
            parse(r#"{"Network": "10.1.0.0/16", "EnableIPv6": true, "IPv6Network": "fc00::/48"}"#);
        let v6 = c.ipv6.expect("ipv6 config");
        assert_eq!(v6.subnet_len, 64);
        assert_eq!(v6.subnet_min, "fc00:0:0:1::".parse::<Ipv6Addr>().unwrap());
        assert_eq!(
            v6.subnet_max,
            "fc00:0:0:ffff::".parse::<Ipv6Addr>().unwrap()
        );
        assert!(
            error(r#"{"Network": "10.1.0.0/16", "EnableIPv6": true}"#)
                .contains("IPv6Network is missing")
        );
        let c = parse(r#"{"EnableIPv4": false, "EnableIPv6": true, "IPv6Network": "fc00::/120"}"#);
        assert_eq!(c.network, None);
        assert_eq!(c.ipv6.unwrap().subnet_len, 122);
    }

    #[test]
    fn to_json_round_trips() {
        let c = parse(
            r#"{"Network": "10.1.0.0/16", "SubnetLen": 20, "Backend": {"Type": "vxlan", "VNI": 4}}"#,
        );
        let again = parse(&c.to_json());
        assert_eq!(
            again,
            NetworkConfig {
                backend: Backend {
                    raw: again.backend.raw.clone(),
                    ..c.backend.clone()
                },
                ..c
            }
        );
    }
}
