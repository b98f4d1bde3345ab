//! Ops as the commands a person would type: iproute2 (`ip`, `bridge`), `sysctl`, `etcdctl`, a shell.
//! This is what `--dry-run` prints; the output is a shell script that does the same thing where such
//! commands exist, and a `#` comment naming netsh's own service where they do not.
//!
//! A line is written straight onto a `String` from small pieces (`IpCmd`, `Quoted`, `Addr`, ...)
//! that each push their bytes (`Put`), not through `core::fmt`: a dry run of a big script renders one
//! line per statement, and the formatting machinery was the largest cost of the whole run.

use super::*;
use std::fmt::{self, Display, Formatter, Write};

/// A piece of a dry-run line that writes itself onto it.
trait Put {
    fn put(&self, out: &mut String);
}

impl Put for str {
    fn put(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl Put for String {
    fn put(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl Put for super::Name {
    fn put(&self, out: &mut String) {
        out.push_str(self);
    }
}

impl<T: Put + ?Sized> Put for &T {
    fn put(&self, out: &mut String) {
        (**self).put(out);
    }
}

macro_rules! put_integers {
    ($($t:ty),*) => {$(
        impl Put for $t {
            fn put(&self, out: &mut String) {
                out.push_str(itoa::Buffer::new().format(*self));
            }
        }
    )*};
}
put_integers!(u8, u16, u32, usize);

/// Any other value, through its `Display` (the pieces seldom printed).
struct Shown<T>(T);

impl<T: Display> Put for Shown<T> {
    fn put(&self, out: &mut String) {
        // writing to a String cannot fail
        let _ = write!(out, "{}", self.0);
    }
}

/// Writes pieces one after another onto a line.
macro_rules! put {
    ($out:expr $(, $piece:expr)* $(,)?) => {{
        $( Put::put(&$piece, $out); )*
    }};
}

/// `Display` for a piece, through its `Put`: for the few places that format one on its own.
macro_rules! display_by_put {
    ($($t:ident),*) => {$(
        impl Display for $t<'_> {
            fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
                let mut s = String::new();
                self.put(&mut s);
                f.write_str(&s)
            }
        }
    )*};
}
display_by_put!(Quoted, Mac);

/// Whether a word can go to a POSIX shell as it is.
fn shell_safe(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_./:=@,+%".contains(&c))
}

/// A word quoted for a POSIX shell when it needs it.
pub struct Quoted<'a>(pub &'a str);

impl Put for Quoted<'_> {
    fn put(&self, out: &mut String) {
        if shell_safe(self.0) {
            return out.push_str(self.0);
        }
        out.push('\'');
        for (i, piece) in self.0.split('\'').enumerate() {
            if i > 0 {
                out.push_str(r"'\''");
            }
            out.push_str(piece);
        }
        out.push('\'');
    }
}

/// Quotes a word for a POSIX shell when it needs it.
pub fn shell_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    Quoted(s).put(&mut out);
    out
}

/// A MAC address as ip(8) writes it: 02:42:ac:11:00:02.
pub fn format_mac(m: &[u8; 6]) -> String {
    Mac(m).to_string()
}

/// A MAC address as `02:42:ac:11:00:02`.
pub struct Mac<'a>(pub &'a [u8; 6]);

impl Put for Mac<'_> {
    fn put(&self, out: &mut String) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(':');
            }
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
}

/// An address, IPv4 written digit by digit (std's `Display` goes through the formatting machinery
/// once per octet).
struct Addr<'a>(&'a IpAddr);

impl Put for Addr<'_> {
    fn put(&self, out: &mut String) {
        match self.0 {
            IpAddr::V4(v4) => {
                for (i, octet) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        out.push('.');
                    }
                    octet.put(out);
                }
            }
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => put_ipv6(v6, out),
            IpAddr::V6(_) => Shown(self.0).put(out),
        }
    }
}

/// An IPv6 address as std writes it (RFC 5952: lowercase hex, the longest run of two or more zero
/// groups, the first of equals, as `::`), without `core::fmt`. IPv4-mapped addresses are not
/// handled here.
fn put_ipv6(a: &std::net::Ipv6Addr, out: &mut String) {
    let groups = a.segments();
    let (mut best, mut run) = ((0, 0), (0, 0)); // (start, length) of zero runs
    for (i, &g) in groups.iter().enumerate() {
        if g == 0 {
            run = if run.1 == 0 {
                (i, 1)
            } else {
                (run.0, run.1 + 1)
            };
            if run.1 > best.1 {
                best = run;
            }
        } else {
            run = (0, 0);
        }
    }
    let hex = |out: &mut String, chunk: &[u16]| {
        for (i, &g) in chunk.iter().enumerate() {
            if i > 0 {
                out.push(':');
            }
            let digits = (16 - g.leading_zeros()).div_ceil(4).max(1);
            for d in (0..digits).rev() {
                out.push(char::from(
                    b"0123456789abcdef"[usize::from(g >> (4 * d) & 0xf)],
                ));
            }
        }
    };
    if best.1 > 1 {
        hex(out, &groups[..best.0]);
        out.push_str("::");
        hex(out, &groups[best.0 + best.1..]);
    } else {
        hex(out, &groups);
    }
}

/// A network as `ADDRESS/LENGTH`.
struct Net<'a>(&'a IpNet);

impl Put for Net<'_> {
    fn put(&self, out: &mut String) {
        put!(out, Addr(&self.0.addr()), "/", self.0.prefix_len());
    }
}

/// `ip` or `ip -n NS`.
struct IpCmd<'a>(&'a Ns);

impl Put for IpCmd<'_> {
    fn put(&self, out: &mut String) {
        match self.0 {
            Some(n) => put!(out, "ip -n ", Quoted(n)),
            None => out.push_str("ip"),
        }
    }
}

/// `ip netns exec NS ` for commands that have no `-n` of their own; nothing outside a namespace.
struct InNs<'a>(&'a Ns);

impl Put for InNs<'_> {
    fn put(&self, out: &mut String) {
        if let Some(n) = self.0 {
            put!(out, "ip netns exec ", Quoted(n), " ");
        }
    }
}

/// ` in NS` for netsh's own comments; nothing outside a namespace.
struct InSuffix<'a>(&'a Ns);

impl Put for InSuffix<'_> {
    fn put(&self, out: &mut String) {
        if let Some(n) = self.0 {
            put!(out, " in ", n);
        }
    }
}

/// ` KEY VALUE` when the value is given.
fn opt<T: Put>(out: &mut String, key: &str, v: Option<T>) {
    if let Some(v) = v {
        put!(out, " ", key, " ", v);
    }
}

/// ` WORD` when the flag is set.
fn flag(out: &mut String, word: &str, set: bool) {
    if set {
        out.push_str(word);
    }
}

impl Put for Route {
    fn put(&self, out: &mut String) {
        match &self.dest {
            Dest::Default(_) => out.push_str("default"),
            Dest::Net(n) => Net(n).put(out),
        }
        opt(out, "via", self.via.as_ref().map(Addr));
        opt(out, "dev", self.dev.as_ref());
        flag(out, " onlink", self.onlink);
        opt(out, "metric", self.metric);
        opt(out, "table", self.table);
        opt(out, "src", self.src.as_ref().map(Addr));
    }
}

/// `ip link add NAME link PARENT type `: the start of a link made on a parent.
fn child_of(out: &mut String, ip: IpCmd, name: &str, parent: &str) {
    put!(out, ip, " link add ", name, " link ", parent, " type ");
}

fn link_add(out: &mut String, ns: &Ns, name: &str, kind: &LinkKind) {
    let ip = IpCmd(ns);
    match kind {
        LinkKind::Veth { peer, peer_ns } => {
            put!(out, ip, " link add ", name, " type veth peer name ", peer);
            opt(out, "netns", peer_ns.as_ref());
        }
        LinkKind::Bridge => put!(out, ip, " link add ", name, " type bridge"),
        LinkKind::Dummy => put!(out, ip, " link add ", name, " type dummy"),
        LinkKind::Tun => put!(out, ip, " tuntap add dev ", name, " mode tun"),
        LinkKind::Macvlan { parent, mode } => {
            child_of(out, ip, name, parent);
            put!(out, kind.kernel_kind().0, " mode ", mode.word())
        }
        LinkKind::Ipvlan { parent, mode } => {
            child_of(out, ip, name, parent);
            put!(out, kind.kernel_kind().0, " mode ", mode.word())
        }
        LinkKind::Vlan { parent, id } => {
            child_of(out, ip, name, parent);
            put!(out, "vlan id ", id)
        }
        LinkKind::Vxlan(v) => {
            put!(out, ip, " link add ", name, " type vxlan id ", v.vni);
            opt(out, "dstport", v.port);
            opt(out, "dev", v.dev.as_ref());
            opt(out, "local", v.local.as_ref().map(Addr));
            opt(out, "remote", v.remote.as_ref().map(Addr));
            opt(out, "group", v.group.as_ref().map(Addr));
            match v.learning {
                Some(true) => out.push_str(" learning"),
                Some(false) => out.push_str(" nolearning"),
                None => {}
            }
        }
    }
}

fn link_set(out: &mut String, ns: &Ns, name: &str, c: &LinkChange) {
    put!(out, IpCmd(ns), " link set ", name);
    match c.up {
        Some(true) => out.push_str(" up"),
        Some(false) => out.push_str(" down"),
        None => {}
    }
    opt(out, "mtu", c.mtu);
    match &c.master {
        Some(Some(m)) => put!(out, " master ", m),
        Some(None) => out.push_str(" nomaster"),
        None => {}
    }
    opt(out, "address", c.address.as_ref().map(Mac));
    opt(out, "netns", c.netns.as_ref());
    opt(out, "name", c.rename.as_ref());
}

fn shell_words(out: &mut String, argv: &[String]) {
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        Quoted(a).put(out);
    }
}

/// `this host` when an Op names no host.
fn host_or_this(host: &Ns) -> &str {
    host.as_deref().unwrap_or("this host")
}

fn show(out: &mut String, ns: &Ns, what: &str, json: bool) {
    let (ip, j) = (IpCmd(ns), if json { " -j" } else { "" });
    match what {
        "links" => put!(out, ip, j, " link show"),
        "addrs" => put!(out, ip, j, " addr show"),
        "routes" => put!(out, ip, j, " route show; ", ip, j, " -6 route show"),
        "neigh" => put!(out, ip, j, " neigh show"),
        "fdb" => match ns {
            Some(n) => put!(out, "bridge -n ", Quoted(n), j, " fdb show"),
            None => put!(out, "bridge", j, " fdb show"),
        },
        "netns" => out.push_str("ip netns list"),
        other => put!(out, "# netsh: show ", other, InSuffix(ns)),
    }
}

fn ping_command(out: &mut String, from: &Ns, count: u32, timeout: f64, src: &Option<IpAddr>) {
    put!(out, InNs(from), "ping -c ", count, " -W ", Shown(timeout));
    opt(out, "-I", src.as_ref().map(Shown));
}

fn network_create(out: &mut String, host: &Ns, n: &Network) {
    put!(out, InNs(host), "docker network create -d ", n.driver);
    for sub in &n.subnets {
        put!(out, " --subnet=", Shown(sub));
    }
    for r in &n.ip_ranges {
        put!(out, " --ip-range=", Shown(r));
    }
    for g in &n.gateways {
        put!(out, " --gateway=", Shown(g));
    }
    for (name, ip) in &n.aux {
        put!(out, " --aux-address=", name, "=", Shown(ip));
    }
    flag(out, " --internal", n.internal);
    flag(out, " --ipv6", n.ipv6);
    if let Some(p) = &n.parent {
        put!(out, " -o parent=", p);
    }
    if let Some(m) = &n.mode {
        put!(out, " -o ", n.driver, "_mode=", m);
    }
    flag(out, " --scope=global", n.global);
    put!(out, " ", n.name);
}

impl Op {
    /// Writes the Op as the command a person would type, without a newline, onto `out`.
    pub fn render(&self, out: &mut String) {
        match self {
            Op::NetnsAdd { name } => put!(out, "ip netns add ", Quoted(name)),
            Op::NetnsDel { name } => put!(out, "ip netns del ", Quoted(name)),
            Op::NetnsList => out.push_str("ip netns list"),
            Op::LinkAdd { ns, name, kind } => link_add(out, ns, name, kind),
            Op::LinkSet { ns, name, change } => link_set(out, ns, name, change),
            Op::LinkDel { ns, name } => put!(out, IpCmd(ns), " link del ", name),
            Op::AddrAdd {
                ns,
                dev,
                addr,
                nodad,
            } => {
                put!(out, IpCmd(ns), " addr add ", Net(addr), " dev ", dev);
                flag(out, " nodad", *nodad);
            }
            Op::AddrDel { ns, dev, addr } => {
                put!(out, IpCmd(ns), " addr del ", Shown(addr), " dev ", dev)
            }
            Op::Route { ns, action, route } => {
                let v6 = matches!(route.dest, Dest::Default(Family::V6)) && route.via.is_none();
                let family = if v6 { " -6" } else { "" };
                put!(
                    out,
                    IpCmd(ns),
                    family,
                    " route ",
                    action.word(),
                    " ",
                    **route
                );
            }
            Op::NeighAdd {
                ns,
                addr,
                lladdr,
                dev,
                permanent,
                router,
            } => {
                put!(
                    out,
                    IpCmd(ns),
                    " neigh add ",
                    Addr(addr),
                    " lladdr ",
                    Mac(lladdr),
                    " dev ",
                    dev
                );
                flag(out, " nud permanent", *permanent);
                flag(out, " router", *router);
            }
            Op::NeighDel { ns, addr, dev } => {
                put!(out, IpCmd(ns), " neigh del ", Shown(addr), " dev ", dev)
            }
            Op::NeighProxyAdd { ns, addr, dev } => {
                put!(
                    out,
                    IpCmd(ns),
                    " -6 neigh add proxy ",
                    Shown(addr),
                    " dev ",
                    dev
                )
            }
            Op::NeighProxyDel { ns, addr, dev } => {
                put!(
                    out,
                    IpCmd(ns),
                    " -6 neigh del proxy ",
                    Shown(addr),
                    " dev ",
                    dev
                )
            }
            Op::Fdb {
                ns,
                action,
                mac,
                dev,
                dst,
            } => {
                match ns {
                    Some(n) => put!(out, "bridge -n ", Quoted(n), " fdb"),
                    None => out.push_str("bridge fdb"),
                }
                put!(out, " ", action.word(), " ", Mac(mac), " dev ", dev);
                opt(out, "dst", dst.as_ref().map(Addr));
            }
            Op::SysctlSet { ns, key, value } => {
                put!(out, InNs(ns), "sysctl -w ");
                if shell_safe(key) && shell_safe(value) {
                    put!(out, key, "=", value);
                } else {
                    Quoted(&format!("{key}={value}")).put(out);
                }
            }
            Op::SysctlShow { ns, key } => put!(out, InNs(ns), "sysctl ", key),
            Op::Exec { ns, argv } => {
                InNs(ns).put(out);
                shell_words(out, argv);
            }
            Op::Show { ns, what, json } => show(out, ns, what, *json),
            Op::Echo(text) => put!(out, "echo ", Quoted(text)),
            Op::Ping {
                from,
                target,
                src,
                count,
                timeout,
            } => {
                ping_command(out, from, *count, *timeout, src);
                put!(out, " ", target);
            }
            Op::Expect {
                from,
                target,
                src,
                timeout,
                check,
            } => match check {
                Check::Reach => {
                    ping_command(out, from, 1, *timeout, src);
                    put!(out, " ", target, " >/dev/null || exit 1");
                }
                Check::NoReach => {
                    out.push_str("! ");
                    ping_command(out, from, 1, *timeout, src);
                    put!(out, " ", target, " >/dev/null || exit 1");
                }
                Check::Http {
                    url,
                    contains,
                    status: None,
                } => put!(
                    out,
                    InNs(from),
                    "curl -sf -m ",
                    Shown(timeout),
                    " ",
                    Quoted(url),
                    " | grep -qF ",
                    Quoted(contains),
                    " || exit 1"
                ),
                // the body, then the status on a line of its own
                Check::Http {
                    url,
                    contains,
                    status: Some(code),
                } => put!(
                    out,
                    "page=$(",
                    InNs(from),
                    "curl -s -m ",
                    Shown(timeout),
                    " -w '\\n%{http_code}' ",
                    Quoted(url),
                    "); [ \"${page##*$'\\n'}\" = ",
                    code,
                    " ] && printf '%s' \"$page\" | grep -qF ",
                    Quoted(contains),
                    " || exit 1"
                ),
            },
            Op::ServeHttp { ns, port, text } => put!(
                out,
                "# netsh: serve http on port ",
                port,
                InSuffix(ns),
                " answering ",
                Quoted(text)
            ),
            Op::NdpResponder { ns, prefix, dev } => put!(
                out,
                InNs(ns),
                "sysctl -w net.ipv6.conf.",
                dev,
                ".proxy_ndp=1\n# netsh: answer neighbour solicitations for ",
                Shown(prefix),
                " on ",
                dev,
                InSuffix(ns)
            ),
            Op::Dump { ns } => put!(out, "# netsh: dump", InSuffix(ns)),
            Op::Wait => out.push_str("# netsh: wait for Ctrl-C, keeping services running"),
            Op::StoreSelect(StoreSpec::Embedded { path }) => put!(
                out,
                "# netsh: store embedded ",
                path.as_deref().unwrap_or("(default path)")
            ),
            Op::StoreSelect(StoreSpec::Etcd(e)) => put!(
                out,
                "export ETCDCTL_API=3 ETCDCTL_ENDPOINTS=",
                e.endpoints.join(",")
            ),
            Op::NetworkConfig { prefix, json } => {
                put!(out, "etcdctl put ", prefix, "/config ", Quoted(json))
            }
            Op::LeaseAcquire { host, lease } => {
                put!(out, "# netsh: flanneld lease for ", host_or_this(host));
                opt(out, "iface", lease.iface.as_ref());
                opt(out, "public-ip", lease.public_ip.as_ref().map(Shown));
                opt(out, "subnet-file", lease.subnet_file.as_ref());
            }
            Op::LeaseRelease { host } => {
                put!(out, "# netsh: release the lease of ", host_or_this(host))
            }
            Op::Overlay { host, overlay } => {
                put!(
                    out,
                    "# netsh: run the ",
                    overlay.backend.map_or("configured", BackendType::name),
                    " overlay for ",
                    host_or_this(host)
                );
                opt(out, "vni", overlay.vni);
                opt(out, "port", overlay.port);
                flag(out, " direct-routing", overlay.direct_routing);
            }
            Op::DockerOpts { host, opts } => {
                put!(out, InNs(host), "mk-docker-opts.sh");
                flag(out, " -c", opts.combined);
                opt(out, "-d", opts.file.as_ref());
                opt(out, "-k", opts.key.as_ref());
                flag(out, " -m", opts.no_masq);
            }
            Op::NetworkCreate { host, network } => network_create(out, host, network),
            Op::NetworkRm { host, name } => put!(out, InNs(host), "docker network rm ", name),
            Op::ContainerAdd { host, container: c } => {
                put!(out, InNs(host), "docker run -d --name ", c.name);
                if let Some(n) = &c.network {
                    put!(out, " --net=", n);
                }
                opt(out, "--ip", c.ip.as_ref().map(Shown));
                opt(out, "--ip6", c.ip6.as_ref().map(Shown));
            }
            Op::DockerBridge { host, bridge: b } => {
                put!(out, InNs(host), "dockerd");
                if let Some(bip) = &b.bip {
                    put!(out, " --bip=", Shown(bip));
                }
                if let Some(v6) = &b.fixed_cidr_v6 {
                    put!(out, " --ipv6 --fixed-cidr-v6=", Shown(v6));
                }
                if let Some(mtu) = b.mtu {
                    put!(out, " --mtu=", mtu);
                }
            }
        }
    }
}

impl Display for Op {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut line = String::new();
        self.render(&mut line);
        f.write_str(&line)
    }
}

impl Display for Route {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut line = String::new();
        self.put(&mut line);
        f.write_str(&line)
    }
}

#[cfg(test)]
mod tests {
    use super::put_ipv6;
    use std::net::Ipv6Addr;

    #[test]
    fn ipv6_addresses_are_written_as_std_writes_them() {
        let mut rng = crate::base::test_rng::Xorshift(0x2545_f491_4f6c_dd1d);
        for _ in 0..200_000 {
            // zero groups are common in real addresses and decide where `::` goes
            let groups: [u16; 8] = std::array::from_fn(|_| match rng.below(4) {
                0 | 1 => 0,
                2 => rng.below(16) as u16,
                _ => rng.next_u64() as u16,
            });
            let a = Ipv6Addr::from(groups);
            if a.to_ipv4_mapped().is_some() {
                continue;
            }
            let mut out = String::new();
            put_ipv6(&a, &mut out);
            assert_eq!(out, a.to_string(), "{groups:x?}");
        }
    }
}
