//! Argument types: how a word that fills an argument is read and validated. The same function runs at
//! check time on literal words and at run time on words whose variables have been expanded, so a value
//! is judged the same way wherever it comes from.

use crate::base::diag::{Code, did_you_mean};
use ipnet::IpNet;
use std::borrow::Cow;
use std::net::IpAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// An interface name (at most 15 bytes, as IFNAMSIZ allows).
    Ifname,
    /// A network namespace (lab host) name.
    Ns,
    /// A name of netsh's own: a network, a switch, a container.
    Label,
    Int {
        min: u64,
        max: u64,
    },
    VlanId,
    Vni,
    Port,
    Mtu,
    /// A route table: a number or main, local, default.
    Table,
    Ip,
    Ip4,
    Ip6,
    /// An address with its prefix length (`10.0.0.1/24`); a bare address is an error.
    Cidr,
    /// A network prefix: no host bits set (`10.0.0.0/24`).
    Prefix,
    Prefix6,
    /// `default`, a prefix, or an address (a host route).
    RouteDest,
    /// An IPv6 address or prefix (proxy-ndp).
    Ip6OrPrefix,
    Mac,
    Text,
    Path,
    Url,
    /// A capture filter (`udp port 8472 and host 10.1.1.2`), see ops::Filter.
    Filter,
    /// A sysctl key, dotted (`net.ipv4.ip_forward`) or slashed (`net/ipv4/ip_forward`).
    SysctlKey,
    /// A duration in seconds, fractions allowed.
    Seconds,
    /// An address, or the name of a container or host to resolve.
    Target,
    /// `NAME=IP`, Docker's `--aux-address`.
    Aux,
    /// Flannel's network config: a JSON object, or a network prefix for the keyword form.
    NetConfig,
    /// Exactly this word.
    Literal(&'static str),
    /// One of a fixed set of words.
    Choice(&'static [&'static str]),
}

/// A word read as its type. Text borrows the word it was read from when it can: the check pass and
/// the evaluator read every literal word of a script, and copying each was most of their allocations.
#[derive(Clone, Debug, PartialEq)]
pub enum Val<'a> {
    Text(Cow<'a, str>),
    Int(u64),
    Float(f64),
    Ip(IpAddr),
    Net(IpNet),
    Mac([u8; 6]),
    /// The route destination `default`.
    Default,
    /// A switch keyword that was given (`nodad`, `json`).
    Flag,
}

impl Val<'_> {
    /// The same value, owning its text (for a word that was expanded into a temporary string).
    pub fn into_owned(self) -> Val<'static> {
        match self {
            Val::Text(s) => Val::Text(Cow::Owned(s.into_owned())),
            Val::Int(n) => Val::Int(n),
            Val::Float(f) => Val::Float(f),
            Val::Ip(ip) => Val::Ip(ip),
            Val::Net(n) => Val::Net(n),
            Val::Mac(m) => Val::Mac(m),
            Val::Default => Val::Default,
            Val::Flag => Val::Flag,
        }
    }

    /// `text`, kept inline when short (see `ops::Name`).
    pub fn name(&self) -> crate::ops::Name {
        match self {
            Val::Text(s) => s.as_ref().into(),
            other => other.text().into(),
        }
    }

    pub fn text(&self) -> String {
        match self {
            Val::Text(s) => s.to_string(),
            Val::Int(n) => n.to_string(),
            Val::Float(f) => f.to_string(),
            Val::Ip(ip) => ip.to_string(),
            Val::Net(n) => n.to_string(),
            Val::Mac(m) => crate::ops::format_mac(m),
            Val::Default => "default".into(),
            Val::Flag => String::new(),
        }
    }
}

/// Why a word is not of its type: the code, the message, and help.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeError {
    pub code: Code,
    pub message: String,
    pub help: Option<String>,
    /// Where in the word the problem is (a byte offset), when it is one place inside it.
    pub at: Option<usize>,
}

/// A byte offset from serde_json's 1-based line and column.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (start + column.saturating_sub(1)).min(text.len().saturating_sub(1))
}

/// Flannel's own checks of a literal config (SubnetLen limits, SubnetMin/Max alignment, backend
/// types), so a script that would store a config flanneld refuses fails before it runs. The
/// error points at the key it is about.
fn flannel_config(text: &str) -> Result<(), TypeError> {
    let Err(e) = crate::flannel::NetworkConfig::parse(text) else {
        return Ok(());
    };
    let message = format!("flannel would refuse this network config: {e}");
    const KEYS: &[&str] = &[
        "IPv6SubnetMin",
        "IPv6SubnetMax",
        "IPv6SubnetLen",
        "IPv6Network",
        "SubnetMin",
        "SubnetMax",
        "SubnetLen",
        "EnableIPv6",
        "Network",
        "Backend",
        "VNI",
        "Port",
        "Type",
    ];
    let at = KEYS
        .iter()
        .find(|k| message.contains(*k))
        .and_then(|k| text.find(&format!("\"{k}\"")))
        .map(|i| i + 1);
    Err(TypeError {
        at,
        ..err(Code::BadJson, message, None)
    })
}

fn err(code: Code, message: impl Into<String>, help: impl Into<Option<String>>) -> TypeError {
    TypeError {
        code,
        message: message.into(),
        help: help.into(),
        at: None,
    }
}

impl Ty {
    /// What a value of this type is called in messages ("an IPv4 address").
    pub fn describe(self) -> String {
        match self {
            Ty::Ifname => "an interface name".into(),
            Ty::Ns => "a namespace name".into(),
            Ty::Label => "a name".into(),
            Ty::Int { min, max } => format!("a number from {min} to {max}"),
            Ty::VlanId => "a VLAN id (1..4094)".into(),
            Ty::Vni => "a VXLAN network identifier (0..16777215)".into(),
            Ty::Port => "a port (1..65535)".into(),
            Ty::Mtu => "an MTU (68..65535)".into(),
            Ty::Table => "a route table (a number, main, local or default)".into(),
            Ty::Ip => "an IP address".into(),
            Ty::Ip4 => "an IPv4 address".into(),
            Ty::Ip6 => "an IPv6 address".into(),
            Ty::Cidr => "an address with a prefix length (10.0.0.1/24)".into(),
            Ty::Prefix => "a network prefix (10.0.0.0/24)".into(),
            Ty::Prefix6 => "an IPv6 prefix (2003:cd11::/64)".into(),
            Ty::RouteDest => "a destination: `default` or a prefix".into(),
            Ty::Ip6OrPrefix => "an IPv6 address or prefix".into(),
            Ty::Mac => "a MAC address (02:42:ac:11:00:02)".into(),
            Ty::Text => "a string".into(),
            Ty::Path => "a file path".into(),
            Ty::Url => "a URL (http://10.0.0.1:8080/)".into(),
            Ty::Filter => {
                "a capture filter (icmp, udp port 8472, host 10.1.1.2, ... joined with and/or)"
                    .into()
            }
            Ty::SysctlKey => "a sysctl key (net.ipv4.ip_forward)".into(),
            Ty::Seconds => "a number of seconds".into(),
            Ty::Target => "an address or a host name".into(),
            Ty::Aux => "NAME=IP".into(),
            Ty::NetConfig => "a flannel network config (JSON, or a network prefix)".into(),
            Ty::Literal(w) => format!("`{w}`"),
            Ty::Choice(c) => format!("one of {}", c.join(", ")),
        }
    }

    /// Reads `text` as a value of this type. `what` names the argument in messages ("macvlan mode").
    pub fn parse<'a>(self, text: &'a str, what: &str) -> Result<Val<'a>, TypeError> {
        match self {
            Ty::Ifname => ifname(text).map(|_| Val::Text(Cow::Borrowed(text))),
            Ty::Ns => name_like(text, 255, "namespace name").map(|_| Val::Text(Cow::Borrowed(text))),
            Ty::Label => name_like(text, 64, "name").map(|_| Val::Text(Cow::Borrowed(text))),
            Ty::Int { min, max } => number(text, min, max, Code::BadNumber, what),
            Ty::VlanId => number(text, 1, 4094, Code::BadVlanId, "VLAN id"),
            Ty::Vni => number(text, 0, 16_777_215, Code::BadVni, "VNI"),
            Ty::Port => number(text, 1, 65535, Code::BadPort, "port"),
            Ty::Mtu => number(text, 68, 65535, Code::BadNumber, "MTU"),
            Ty::Table => match text {
                "main" => Ok(Val::Int(254)),
                "local" => Ok(Val::Int(255)),
                "default" => Ok(Val::Int(253)),
                _ => number(text, 1, u32::MAX as u64, Code::BadNumber, "route table"),
            },
            Ty::Ip => ip(text).map(Val::Ip),
            Ty::Ip4 => match ip(text)? {
                IpAddr::V4(a) => Ok(Val::Ip(a.into())),
                IpAddr::V6(_) => Err(err(
                    Code::BadAddress,
                    format!("`{text}` is an IPv6 address; {what} must be IPv4"),
                    None,
                )),
            },
            Ty::Ip6 => match ip(text)? {
                IpAddr::V6(a) => Ok(Val::Ip(a.into())),
                IpAddr::V4(_) => Err(err(
                    Code::BadAddress,
                    format!("`{text}` is an IPv4 address; {what} must be IPv6"),
                    None,
                )),
            },
            Ty::Cidr => cidr(text).map(Val::Net),
            Ty::Prefix => prefix(text).map(Val::Net),
            Ty::Prefix6 => match prefix(text)? {
                n @ IpNet::V6(_) => Ok(Val::Net(n)),
                IpNet::V4(_) => Err(err(Code::BadPrefix, format!("`{text}` is an IPv4 prefix; {what} must be IPv6"), None)),
            },
            Ty::RouteDest => {
                if text == "default" {
                    Ok(Val::Default)
                } else if text.contains('/') {
                    prefix(text).map(Val::Net)
                } else {
                    let a = ip(text).map_err(|e| TypeError {
                        help: Some("a route destination is `default`, a prefix such as 10.100.0.0/16, or one address".into()),
                        ..e
                    })?;
                    Ok(Val::Net(IpNet::from(a)))
                }
            }
            Ty::Ip6OrPrefix => {
                let v = if text.contains('/') {
                    Val::Net(prefix(text)?)
                } else {
                    Val::Ip(ip(text)?)
                };
                match &v {
                    Val::Net(IpNet::V6(_)) | Val::Ip(IpAddr::V6(_)) => Ok(v),
                    _ => Err(err(
                        Code::BadAddress,
                        format!("`{text}` is IPv4; NDP proxying is for IPv6 addresses"),
                        Some("for IPv4 the kernel answers ARP for its own addresses; see `sysctl net.ipv4.conf.IF.proxy_arp = 1`".to_string()),
                    )),
                }
            }
            Ty::Mac => mac(text).map(Val::Mac),
            Ty::Text | Ty::Path => Ok(Val::Text(Cow::Borrowed(text))),
            Ty::Url => {
                if (text.starts_with("http://") || text.starts_with("https://")) && text.len() > 8 {
                    Ok(Val::Text(Cow::Borrowed(text)))
                } else {
                    Err(err(Code::BadValue, format!("`{text}` is not an http URL"), Some("write it as http://ADDRESS[:PORT]/PATH".to_string())))
                }
            }
            Ty::Filter => match crate::ops::Filter::parse(text) {
                Ok(_) => Ok(Val::Text(Cow::Borrowed(text))),
                Err(e) => Err(TypeError {
                    at: Some(e.at),
                    ..err(Code::BadValue, format!("bad capture filter: {}", e.message), Some(crate::ops::FILTER_HELP.to_string()))
                }),
            },
            Ty::SysctlKey => sysctl_key(text).map(|_| Val::Text(Cow::Borrowed(text))),
            Ty::Seconds => match text.parse::<f64>() {
                Ok(s) if s > 0.0 && s <= 86_400.0 => Ok(Val::Float(s)),
                _ => Err(err(Code::BadNumber, format!("`{text}` is not a number of seconds"), Some("write a number such as 2 or 0.5".to_string()))),
            },
            Ty::Target => match text.parse::<IpAddr>() {
                Ok(a) => Ok(Val::Ip(a)),
                Err(_) if looks_numeric(text) => ip(text).map(Val::Ip),
                Err(_) => name_like(text, 255, "host name").map(|_| Val::Text(Cow::Borrowed(text))),
            },
            Ty::Aux => match text.split_once('=') {
                Some((name, addr)) if !name.is_empty() => {
                    ip(addr)?;
                    Ok(Val::Text(Cow::Borrowed(text)))
                }
                _ => Err(err(Code::BadValue, format!("`{text}` is not NAME=IP"), Some("an aux address reserves an address under a name, e.g. aux router=192.168.10.5".to_string()))),
            },
            Ty::NetConfig => {
                if text.trim_start().starts_with('{') {
                    match serde_json::from_str::<serde_json::Value>(text) {
                        Ok(serde_json::Value::Object(_)) => flannel_config(text).map(|()| Val::Text(Cow::Borrowed(text))),
                        Ok(_) => Err(err(Code::BadJson, "the network config must be a JSON object", None)),
                        Err(e) => Err(TypeError {
                            at: Some(offset_of(text, e.line(), e.column())),
                            ..err(Code::BadJson, format!("the network config is not valid JSON: {e}"), Some("quote JSON with '...' so that nothing in it is expanded".to_string()))
                        }),
                    }
                } else {
                    prefix(text).map(Val::Net)
                }
            }
            Ty::Literal(w) => {
                if text == w {
                    Ok(Val::Flag)
                } else {
                    Err(err(Code::UnexpectedArgument, format!("expected `{w}`, found `{text}`"), None))
                }
            }
            Ty::Choice(options) => {
                if options.contains(&text) {
                    Ok(Val::Text(Cow::Borrowed(text)))
                } else {
                    let mut help = format!("a {what} is one of {}", options.join(", "));
                    if let Some(d) = did_you_mean(text, options.iter().copied()) {
                        help = format!("{d} {help}");
                    }
                    Err(err(Code::BadChoice, format!("`{text}` is not a {what}"), Some(help)))
                }
            }
        }
    }
}

fn looks_numeric(text: &str) -> bool {
    text.chars().next().is_some_and(|c| c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == '.' || c == ':')
        || text.contains(':')
}

fn ifname(text: &str) -> Result<(), TypeError> {
    if text.is_empty() || text.len() > 15 {
        return Err(err(
            Code::BadName,
            format!(
                "`{text}` is not a valid interface name: it has {} bytes",
                text.len()
            ),
            Some("Linux interface names have 1 to 15 bytes".to_string()),
        ));
    }
    // the kernel takes no `:` in a link's name (it wrote aliases as `eth0:1`); a check error here
    // says so before a dry run prints it or a run sends it
    if text.contains(':') {
        return Err(err(
            Code::BadName,
            format!(
                "`{}` is not a valid interface name: it has a `:`",
                text.escape_debug()
            ),
            Some("Linux interface names have no `:`, `/` or spaces".to_string()),
        ));
    }
    name_like(text, 15, "interface name")
}

fn name_like(text: &str, max: usize, what: &str) -> Result<(), TypeError> {
    // ASCII names (nearly all) are checked byte by byte; others by character
    // one pass for ASCII names (nearly all): a byte above 0x7e is DEL or part of a multi-byte
    // character, and those are judged by character
    let suspect = |b: u8| b == b'/' || b <= b' ' || b > b'~';
    let bad_char = text.bytes().any(suspect)
        && text
            .chars()
            .any(|c| c == '/' || c.is_whitespace() || c.is_control());
    let bad = text.is_empty() || text.len() > max || text == "." || text == ".." || bad_char;
    if bad {
        Err(err(
            Code::BadName,
            format!("`{}` is not a valid {what}", text.escape_debug()),
            Some(format!(
                "a {what} has 1 to {max} characters, without `/` or spaces"
            )),
        ))
    } else {
        Ok(())
    }
}

fn number(
    text: &str,
    min: u64,
    max: u64,
    code: Code,
    what: &str,
) -> Result<Val<'static>, TypeError> {
    match text.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(Val::Int(n)),
        Ok(n) => Err(err(
            code,
            format!("{what} {n} is out of range"),
            Some(format!("a {what} is from {min} to {max}")),
        )),
        Err(_) => Err(err(
            code,
            format!("`{text}` is not a number"),
            Some(format!("a {what} is a number from {min} to {max}")),
        )),
    }
}

/// A dotted-quad IPv4 address read byte by byte, as strictly as std reads one (four numbers up to
/// 255, no leading zeros); None for anything else, which std's parser then reads or rejects.
fn quick_ipv4(text: &str) -> Option<std::net::Ipv4Addr> {
    let bytes = text.as_bytes();
    if bytes.len() > 15 {
        return None;
    }
    let (mut octets, mut n) = ([0u8; 4], 0);
    let (mut value, mut digits, mut first) = (0u32, 0, 0u8);
    // one pass over the bytes; a final '.' closes the last number
    for &b in bytes.iter().chain(std::iter::once(&b'.')) {
        if b == b'.' {
            if digits == 0 || (digits > 1 && first == b'0') || value > 255 || n == 4 {
                return None;
            }
            octets[n] = value as u8;
            (n, value, digits) = (n + 1, 0, 0);
        } else if b.is_ascii_digit() && digits < 3 {
            if digits == 0 {
                first = b;
            }
            value = value * 10 + u32::from(b - b'0');
            digits += 1;
        } else {
            return None;
        }
    }
    (n == 4).then_some(std::net::Ipv4Addr::from(octets))
}

/// An IPv6 address of hex groups and at most one `::`, read in one pass; None for anything else
/// (an embedded IPv4 address, a mistake), which std's parser then reads or rejects. What this
/// accepts, std reads the same (a test compares them).
fn quick_ipv6(text: &str) -> Option<std::net::Ipv6Addr> {
    let bytes = text.as_bytes();
    if bytes.len() < 2 || bytes.len() > 39 {
        return None;
    }
    let (mut groups, mut n) = ([0u16; 8], 0);
    let mut gap = None; // where `::` stands, in groups
    let mut i = 0;
    if bytes.starts_with(b"::") {
        gap = Some(0);
        i = 2;
    }
    while i < bytes.len() {
        let (mut value, start) = (0u16, i);
        while i < bytes.len() && i - start < 4 {
            let digit = match bytes[i] {
                b @ b'0'..=b'9' => b - b'0',
                b @ b'a'..=b'f' => b - b'a' + 10,
                b @ b'A'..=b'F' => b - b'A' + 10,
                _ => break,
            };
            value = value << 4 | u16::from(digit);
            i += 1;
        }
        if i == start || n == 8 {
            return None;
        }
        groups[n] = value;
        n += 1;
        match bytes.get(i) {
            None => break,
            Some(b':') if bytes.get(i + 1) == Some(&b':') => {
                if gap.is_some() {
                    return None;
                }
                gap = Some(n);
                i += 2;
            }
            Some(b':') if i + 1 < bytes.len() => i += 1,
            _ => return None,
        }
    }
    let mut out = [0u16; 8];
    match gap {
        None if n == 8 => out = groups,
        Some(at) if n < 8 => {
            out[..at].copy_from_slice(&groups[..at]);
            out[8 - (n - at)..].copy_from_slice(&groups[at..n]);
        }
        _ => return None,
    }
    Some(std::net::Ipv6Addr::from(out))
}

fn ip(text: &str) -> Result<IpAddr, TypeError> {
    if let Some(a) = quick_ipv4(text) {
        return Ok(IpAddr::V4(a));
    }
    if let Some(a) = quick_ipv6(text) {
        return Ok(IpAddr::V6(a));
    }
    text.parse::<IpAddr>().map_err(|_| {
        let help = if text.contains('/') {
            "an address without a prefix length is wanted here".to_string()
        } else if text.split('.').count() == 4 {
            "an IPv4 address has four numbers from 0 to 255, as 10.10.10.101".to_string()
        } else {
            "write an IPv4 address (10.10.10.101) or an IPv6 address (2003:ab11::1)".to_string()
        };
        err(
            Code::BadAddress,
            format!("`{text}` is not an IP address"),
            Some(help),
        )
    })
}

fn cidr(text: &str) -> Result<IpNet, TypeError> {
    let Some(slash) = memchr::memchr(b'/', text.as_bytes()) else {
        // a bare address once meant /32 or /128 silently; the usage asks for the length
        let addr = ip(text).map_err(|e| TypeError {
            code: Code::BadCidr,
            ..e
        })?;
        let len = if addr.is_ipv4() { 32 } else { 128 };
        return Err(err(
            Code::BadCidr,
            format!("`{text}` has no prefix length"),
            Some(format!("write {text}/{len} for a single address")),
        ));
    };
    // the address as `ip` reads it, the length by hand: several times faster than ipnet's parser
    let (addr, len) = (&text[..slash], &text[slash + 1..]);
    let digits = !len.is_empty() && len.len() <= 3 && len.bytes().all(|b| b.is_ascii_digit());
    if let (true, Ok(addr), Ok(len)) = (digits, ip(addr), len.parse::<u8>())
        && let Ok(net) = IpNet::new(addr, len)
    {
        return Ok(net);
    }
    text.parse::<IpNet>().map_err(|_| {
        let (addr, len) = text.split_once('/').unwrap_or((text, ""));
        let help = if addr.parse::<IpAddr>().is_err() {
            format!("`{addr}` is not an IP address")
        } else {
            let max = if addr.contains(':') { 128 } else { 32 };
            format!("the prefix length `{len}` must be a number from 0 to {max}")
        };
        err(
            Code::BadCidr,
            format!("`{text}` is not an address/prefix-length"),
            Some(help),
        )
    })
}

fn prefix(text: &str) -> Result<IpNet, TypeError> {
    if !text.contains('/') {
        return Err(err(
            Code::BadCidr,
            format!("`{text}` has no prefix length"),
            Some(format!(
                "a network is written with its length, e.g. `{text}/24`"
            )),
        ));
    }
    let net = cidr(text)?;
    if net.addr() != net.network() {
        return Err(err(
            Code::BadPrefix,
            format!("`{text}` has host bits set"),
            Some(format!("did you mean `{}`?", net.trunc())),
        ));
    }
    Ok(net)
}

fn mac(text: &str) -> Result<[u8; 6], TypeError> {
    let mut out = [0u8; 6];
    let mut parts = text.split([':', '-']);
    let ok = out.iter_mut().all(|o| {
        parts.next().is_some_and(|p| {
            p.len() <= 2 && !p.is_empty() && u8::from_str_radix(p, 16).map(|v| *o = v).is_ok()
        })
    }) && parts.next().is_none();
    if ok {
        Ok(out)
    } else {
        Err(err(
            Code::BadMac,
            format!("`{text}` is not a MAC address"),
            Some("a MAC address is six hex bytes, as 02:42:ac:11:00:02".to_string()),
        ))
    }
}

fn sysctl_key(text: &str) -> Result<(), TypeError> {
    let key = text.split_once('=').map_or(text, |(k, _)| k);
    let ok = !key.is_empty()
        && !key.starts_with(['.', '/'])
        && !key.contains("..")
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '_' | '-' | '@' | ':'));
    if ok {
        Ok(())
    } else {
        Err(err(
            Code::BadValue,
            format!("`{text}` is not a sysctl key"),
            Some(
                "a key looks like net.ipv4.ip_forward or net.ipv6.conf.eth0.proxy_ndp".to_string(),
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::test_rng::Xorshift;

    /// Text made of the bytes IPv6 addresses are written with, shaped like them often enough.
    fn address_like(rng: &mut Xorshift) -> String {
        let alphabet = b"0123456789abcdefABCDEFg:::::.";
        let len = rng.below(42) as usize;
        let mut text: String = (0..len)
            .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize] as char)
            .collect();
        if rng.below(2) == 0 {
            // a well-formed address with some groups zeroed, written with or without `::`
            let groups: Vec<u16> = (0..8)
                .map(|_| {
                    if rng.below(3) == 0 {
                        0
                    } else {
                        rng.next_u64() as u16
                    }
                })
                .collect();
            text = std::net::Ipv6Addr::from(<[u16; 8]>::try_from(groups).unwrap()).to_string();
            if rng.below(2) == 0 {
                text = text.to_uppercase();
            }
        }
        text
    }

    #[test]
    fn the_quick_ipv6_reader_reads_what_std_reads_and_nothing_else() {
        let mut rng = Xorshift(0x9e37_79b9_7f4a_7c15);
        let mut read = 0;
        for _ in 0..300_000 {
            let text = address_like(&mut rng);
            if let Some(quick) = quick_ipv6(&text) {
                assert_eq!(
                    text.parse::<std::net::Ipv6Addr>().ok(),
                    Some(quick),
                    "{text:?}"
                );
                read += 1;
            }
        }
        assert!(read > 100_000, "the quick reader took only {read} texts");
        for text in [
            "::",
            "::1",
            "1::",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "fe80::1",
            "2003:ab11::8000:242:ac11:2",
        ] {
            assert_eq!(quick_ipv6(text), text.parse().ok(), "{text}");
            assert!(quick_ipv6(text).is_some(), "{text}");
        }
        for text in [
            ":",
            ":1",
            "1:",
            "1:::2",
            "1::2::3",
            "12345::",
            "1:2:3:4:5:6:7:8:9",
            "::ffff:1.2.3.4",
            "1:2:3:4:5:6:7:8::",
        ] {
            assert_eq!(quick_ipv6(text), None, "{text}");
        }
    }

    #[test]
    fn addresses_and_prefixes() {
        assert_eq!(
            Ty::Cidr.parse("10.10.10.101/24", "").unwrap(),
            Val::Net("10.10.10.101/24".parse().unwrap())
        );
        // a bare address needs its prefix written out
        let bare = Ty::Cidr.parse("10.0.0.1", "").unwrap_err();
        assert_eq!(bare.code, Code::BadCidr);
        assert!(bare.help.unwrap_or_default().contains("10.0.0.1/32"));
        assert_eq!(
            Ty::Cidr.parse("10.0.0.1/33", "").unwrap_err().code,
            Code::BadCidr
        );
        assert_eq!(
            Ty::Cidr.parse("10.0.0/8", "").unwrap_err().code,
            Code::BadCidr
        );
        let e = Ty::Prefix.parse("10.100.15.1/24", "").unwrap_err();
        assert_eq!(e.code, Code::BadPrefix);
        assert_eq!(e.help.as_deref(), Some("did you mean `10.100.15.0/24`?"));
        assert!(Ty::Prefix.parse("2003:ab11:0:0:c000::/66", "").is_ok());
        assert_eq!(Ty::RouteDest.parse("default", "").unwrap(), Val::Default);
        assert_eq!(
            Ty::Ip4.parse("::1", "gateway").unwrap_err().code,
            Code::BadAddress
        );
        assert_eq!(
            Ty::Ip.parse("10.10.10.300", "").unwrap_err().code,
            Code::BadAddress
        );
        assert!(Ty::Ip6OrPrefix.parse("10.0.0.1", "").is_err());
        assert!(
            Ty::Ip6OrPrefix
                .parse("2003:ab11::8000:242:ac11:2", "")
                .is_ok()
        );
    }

    #[test]
    fn the_quick_ipv4_reader_agrees_with_std() {
        for text in [
            "0.0.0.0",
            "10.10.10.101",
            "255.255.255.255",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            "1.2.3.4 ",
            "+1.2.3.4",
            "1.2.3.-4",
            "",
            ".",
            "1.2.3.4.",
            "0.00.0.0",
            "1000.1.1.1",
            "::1",
            "1.2.3.4/24",
            "١.٢.٣.٤",
        ] {
            let std = text.parse::<std::net::Ipv4Addr>().ok();
            let quick = quick_ipv4(text);
            // the quick reader may decline what std reads, never accept what std rejects
            assert!(
                quick.is_none() || quick == std,
                "{text:?}: {quick:?} vs {std:?}"
            );
            assert_eq!(ip(text).ok(), text.parse::<IpAddr>().ok(), "{text:?}");
        }
    }

    #[test]
    fn numbers_names_and_macs() {
        assert_eq!(
            Ty::VlanId.parse("4095", "").unwrap_err().code,
            Code::BadVlanId
        );
        assert_eq!(Ty::VlanId.parse("19", "").unwrap(), Val::Int(19));
        assert_eq!(
            Ty::Vni.parse("16777216", "").unwrap_err().code,
            Code::BadVni
        );
        assert_eq!(Ty::Port.parse("0", "").unwrap_err().code, Code::BadPort);
        assert_eq!(
            Ty::Ifname
                .parse("averyveryverylongname", "")
                .unwrap_err()
                .code,
            Code::BadName
        );
        assert!(Ty::Ifname.parse("eth1.19", "").is_ok());
        assert_eq!(
            Ty::Mac.parse("02:42:ac:11:00:02", "").unwrap(),
            Val::Mac([2, 0x42, 0xac, 0x11, 0, 2])
        );
        assert_eq!(
            Ty::Mac.parse("02:42:ac:11:00", "").unwrap_err().code,
            Code::BadMac
        );
        let e = Ty::Choice(&["vepa", "bridge", "private", "passthru"])
            .parse("brige", "macvlan mode")
            .unwrap_err();
        assert_eq!(e.code, Code::BadChoice);
        assert_eq!(
            e.help.as_deref(),
            Some("did you mean `bridge`? a macvlan mode is one of vepa, bridge, private, passthru")
        );
        assert_eq!(
            Ty::NetConfig.parse("{\"Network\":", "").unwrap_err().code,
            Code::BadJson
        );
        assert!(
            Ty::NetConfig
                .parse("{\"Network\":\"10.100.0.0/16\"}", "")
                .is_ok()
        );
    }
}
