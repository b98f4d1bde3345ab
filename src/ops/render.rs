//! Ops as the commands a person would type: iproute2 (`ip`, `bridge`), `sysctl`, `etcdctl`, a shell.
//! This is what `--dry-run` prints; the output is a shell script that does the same thing where such
//! commands exist, and a `#` comment naming netsh's own service where they do not.
//!
//! Everything is written straight into the formatter through small `Display` pieces (`IpCmd`,
//! `Quoted`, `Opt`), never through intermediate strings: a dry run of a big script renders one line per
//! statement, and building each line from `format!` pieces was the largest cost of the whole run.

use super::*;
use std::fmt::{self, Display, Formatter};

/// Whether a word can go to a POSIX shell as it is.
fn shell_safe(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_./:=@,+%".contains(&c))
}

/// A word quoted for a POSIX shell when it needs it.
pub struct Quoted<'a>(pub &'a str);

impl Display for Quoted<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if shell_safe(self.0) {
            return f.write_str(self.0);
        }
        f.write_str("'")?;
        for (i, piece) in self.0.split('\'').enumerate() {
            if i > 0 {
                f.write_str(r"'\''")?;
            }
            f.write_str(piece)?;
        }
        f.write_str("'")
    }
}

/// Quotes a word for a POSIX shell when it needs it.
pub fn shell_quote(s: &str) -> String {
    Quoted(s).to_string()
}

/// A MAC address as `02:42:ac:11:00:02`.
pub struct Mac<'a>(pub &'a [u8; 6]);

impl Display for Mac<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b':'; 17];
        for (i, b) in self.0.iter().enumerate() {
            out[i * 3] = HEX[(b >> 4) as usize];
            out[i * 3 + 1] = HEX[(b & 15) as usize];
        }
        // only ASCII hex digits and colons were written
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

/// An address, IPv4 written digit by digit: std's `Display` goes through the formatting machinery
/// once per octet, which made addresses the costliest part of a dry-run line.
pub struct Addr<'a>(pub &'a IpAddr);

impl Display for Addr<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let IpAddr::V4(v4) = self.0 else {
            return write!(f, "{}", self.0);
        };
        let mut out = [0u8; 15];
        let mut n = 0;
        for (i, octet) in v4.octets().into_iter().enumerate() {
            if i > 0 {
                out[n] = b'.';
                n += 1;
            }
            n += write_decimal(&mut out[n..], octet);
        }
        f.write_str(std::str::from_utf8(&out[..n]).map_err(|_| fmt::Error)?)
    }
}

/// Writes `v` in decimal at the start of `out` (room for three digits), returning the length.
fn write_decimal(out: &mut [u8], v: u8) -> usize {
    let digits = [v / 100, v / 10 % 10, v % 10];
    let skip = if v >= 100 {
        0
    } else if v >= 10 {
        1
    } else {
        2
    };
    for (o, d) in out.iter_mut().zip(&digits[skip..]) {
        *o = b'0' + d;
    }
    3 - skip
}

/// A network as `ADDRESS/LENGTH`.
pub struct Net<'a>(pub &'a IpNet);

impl Display for Net<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Addr(&self.0.addr()), self.0.prefix_len())
    }
}

/// `ip` or `ip -n NS`.
struct IpCmd<'a>(&'a Ns);

impl Display for IpCmd<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => write!(f, "ip -n {}", Quoted(n)),
            None => f.write_str("ip"),
        }
    }
}

/// `ip netns exec NS ` for commands that have no `-n` of their own; nothing outside a namespace.
struct InNs<'a>(&'a Ns);

impl Display for InNs<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => write!(f, "ip netns exec {} ", Quoted(n)),
            None => Ok(()),
        }
    }
}

/// ` in NS` for netsh's own comments; nothing outside a namespace.
struct InSuffix<'a>(&'a Ns);

impl Display for InSuffix<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => write!(f, " in {n}"),
            None => Ok(()),
        }
    }
}

/// ` KEY VALUE` when the value is given.
fn opt<T: Display>(f: &mut Formatter<'_>, key: &str, v: &Option<T>) -> fmt::Result {
    match v {
        Some(v) => write!(f, " {key} {v}"),
        None => Ok(()),
    }
}

/// ` WORD` when the flag is set.
fn flag(f: &mut Formatter<'_>, word: &str, set: bool) -> fmt::Result {
    if set { f.write_str(word) } else { Ok(()) }
}

impl Display for Route {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.dest {
            Dest::Default(_) => f.write_str("default")?,
            Dest::Net(n) => write!(f, "{}", Net(n))?,
        }
        opt(f, "via", &self.via.as_ref().map(Addr))?;
        opt(f, "dev", &self.dev)?;
        flag(f, " onlink", self.onlink)?;
        opt(f, "metric", &self.metric)?;
        opt(f, "table", &self.table)?;
        opt(f, "src", &self.src.as_ref().map(Addr))
    }
}

fn link_add(f: &mut Formatter<'_>, ns: &Ns, name: &str, kind: &LinkKind) -> fmt::Result {
    let ip = IpCmd(ns);
    match kind {
        LinkKind::Veth { peer, peer_ns } => {
            write!(f, "{ip} link add {name} type veth peer name {peer}")?;
            opt(f, "netns", peer_ns)
        }
        LinkKind::Bridge => write!(f, "{ip} link add {name} type bridge"),
        LinkKind::Dummy => write!(f, "{ip} link add {name} type dummy"),
        LinkKind::Tun => write!(f, "{ip} tuntap add dev {name} mode tun"),
        LinkKind::Macvlan { parent, mode } => {
            write!(
                f,
                "{ip} link add {name} link {parent} type macvlan mode {mode}"
            )
        }
        LinkKind::Ipvlan { parent, mode } => {
            write!(
                f,
                "{ip} link add {name} link {parent} type ipvlan mode {mode}"
            )
        }
        LinkKind::Vlan { parent, id } => {
            write!(f, "{ip} link add {name} link {parent} type vlan id {id}")
        }
        LinkKind::Vxlan(v) => {
            write!(f, "{ip} link add {name} type vxlan id {}", v.vni)?;
            opt(f, "dstport", &v.port)?;
            opt(f, "dev", &v.dev)?;
            opt(f, "local", &v.local)?;
            opt(f, "remote", &v.remote)?;
            opt(f, "group", &v.group)?;
            match v.learning {
                Some(true) => f.write_str(" learning"),
                Some(false) => f.write_str(" nolearning"),
                None => Ok(()),
            }
        }
    }
}

fn link_set(f: &mut Formatter<'_>, ns: &Ns, name: &str, c: &LinkChange) -> fmt::Result {
    write!(f, "{} link set {name}", IpCmd(ns))?;
    match c.up {
        Some(true) => f.write_str(" up")?,
        Some(false) => f.write_str(" down")?,
        None => {}
    }
    opt(f, "mtu", &c.mtu)?;
    match &c.master {
        Some(Some(m)) => write!(f, " master {m}")?,
        Some(None) => f.write_str(" nomaster")?,
        None => {}
    }
    opt(f, "address", &c.address.as_ref().map(Mac))?;
    opt(f, "netns", &c.netns)?;
    opt(f, "name", &c.rename)
}

fn shell_words(f: &mut Formatter<'_>, argv: &[String]) -> fmt::Result {
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        write!(f, "{}", Quoted(a))?;
    }
    Ok(())
}

/// `this host` when an Op names no host.
fn host_or_this(host: &Ns) -> &str {
    host.as_deref().unwrap_or("this host")
}

fn show(f: &mut Formatter<'_>, ns: &Ns, what: &str, json: bool) -> fmt::Result {
    let (ip, j) = (IpCmd(ns), if json { " -j" } else { "" });
    match what {
        "links" => write!(f, "{ip}{j} link show"),
        "addrs" => write!(f, "{ip}{j} addr show"),
        "routes" => write!(f, "{ip}{j} route show; {ip}{j} -6 route show"),
        "neigh" => write!(f, "{ip}{j} neigh show"),
        "fdb" => match ns {
            Some(n) => write!(f, "bridge -n {}{j} fdb show", Quoted(n)),
            None => write!(f, "bridge{j} fdb show"),
        },
        "netns" => f.write_str("ip netns list"),
        other => write!(f, "# netsh: show {other}{}", InSuffix(ns)),
    }
}

fn ping_command(
    f: &mut Formatter<'_>,
    from: &Ns,
    count: impl Display,
    timeout: impl Display,
    src: &Option<IpAddr>,
) -> fmt::Result {
    write!(f, "{}ping -c {count} -W {timeout}", InNs(from))?;
    opt(f, "-I", src)
}

fn network_create(f: &mut Formatter<'_>, host: &Ns, n: &Network) -> fmt::Result {
    write!(f, "{}docker network create -d {}", InNs(host), n.driver)?;
    for sub in &n.subnets {
        write!(f, " --subnet={sub}")?;
    }
    for r in &n.ip_ranges {
        write!(f, " --ip-range={r}")?;
    }
    for g in &n.gateways {
        write!(f, " --gateway={g}")?;
    }
    for (name, ip) in &n.aux {
        write!(f, " --aux-address={name}={ip}")?;
    }
    flag(f, " --internal", n.internal)?;
    flag(f, " --ipv6", n.ipv6)?;
    if let Some(p) = &n.parent {
        write!(f, " -o parent={p}")?;
    }
    if let Some(m) = &n.mode {
        write!(f, " -o {}_mode={m}", n.driver)?;
    }
    flag(f, " --scope=global", n.global)?;
    write!(f, " {}", n.name)
}

impl Display for Op {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Op::NetnsAdd { name } => write!(f, "ip netns add {}", Quoted(name)),
            Op::NetnsDel { name } => write!(f, "ip netns del {}", Quoted(name)),
            Op::NetnsList => f.write_str("ip netns list"),
            Op::LinkAdd { ns, name, kind } => link_add(f, ns, name, kind),
            Op::LinkSet { ns, name, change } => link_set(f, ns, name, change),
            Op::LinkDel { ns, name } => write!(f, "{} link del {name}", IpCmd(ns)),
            Op::AddrAdd {
                ns,
                dev,
                addr,
                nodad,
            } => {
                write!(f, "{} addr add {} dev {dev}", IpCmd(ns), Net(addr))?;
                flag(f, " nodad", *nodad)
            }
            Op::AddrDel { ns, dev, addr } => write!(f, "{} addr del {addr} dev {dev}", IpCmd(ns)),
            Op::Route { ns, action, route } => {
                let verb = action.word();
                let v6 = matches!(route.dest, Dest::Default(Family::V6)) && route.via.is_none();
                let family = if v6 { " -6" } else { "" };
                write!(f, "{}{family} route {verb} {route}", IpCmd(ns))
            }
            Op::NeighAdd {
                ns,
                addr,
                lladdr,
                dev,
                permanent,
                router,
            } => {
                write!(
                    f,
                    "{} neigh add {} lladdr {} dev {dev}",
                    IpCmd(ns),
                    Addr(addr),
                    Mac(lladdr)
                )?;
                flag(f, " nud permanent", *permanent)?;
                flag(f, " router", *router)
            }
            Op::NeighDel { ns, addr, dev } => {
                write!(f, "{} neigh del {addr} dev {dev}", IpCmd(ns))
            }
            Op::NeighProxyAdd { ns, addr, dev } => {
                write!(f, "{} -6 neigh add proxy {addr} dev {dev}", IpCmd(ns))
            }
            Op::Fdb {
                ns,
                action,
                mac,
                dev,
                dst,
            } => {
                let verb = action.word();
                match ns {
                    Some(n) => write!(f, "bridge -n {} fdb", Quoted(n))?,
                    None => f.write_str("bridge fdb")?,
                }
                write!(f, " {verb} {} dev {dev}", Mac(mac))?;
                opt(f, "dst", &dst.as_ref().map(Addr))
            }
            Op::SysctlSet { ns, key, value } => {
                write!(f, "{}sysctl -w ", InNs(ns))?;
                if shell_safe(key) && shell_safe(value) {
                    write!(f, "{key}={value}")
                } else {
                    write!(f, "{}", Quoted(&format!("{key}={value}")))
                }
            }
            Op::SysctlShow { ns, key } => write!(f, "{}sysctl {key}", InNs(ns)),
            Op::Exec { ns, argv } => {
                write!(f, "{}", InNs(ns))?;
                shell_words(f, argv)
            }
            Op::Show { ns, what, json } => show(f, ns, what, *json),
            Op::Echo(text) => write!(f, "echo {}", Quoted(text)),
            Op::Ping {
                from,
                target,
                src,
                count,
                timeout,
            } => {
                ping_command(f, from, count, timeout, src)?;
                write!(f, " {target}")
            }
            Op::Expect {
                from,
                target,
                src,
                timeout,
                check,
            } => match check {
                Check::Reach => {
                    ping_command(f, from, 1, timeout, src)?;
                    write!(f, " {target} >/dev/null || exit 1")
                }
                Check::NoReach => {
                    f.write_str("! ")?;
                    ping_command(f, from, 1, timeout, src)?;
                    write!(f, " {target} >/dev/null || exit 1")
                }
                Check::Http { url, contains } => write!(
                    f,
                    "{}curl -s -m {timeout} {} | grep -qF {} || exit 1",
                    InNs(from),
                    Quoted(url),
                    Quoted(contains)
                ),
            },
            Op::ServeHttp { ns, port, text } => write!(
                f,
                "# netsh: serve http on port {port}{} answering {}",
                InSuffix(ns),
                Quoted(text)
            ),
            Op::NdpResponder { ns, prefix, dev } => write!(
                f,
                "{}sysctl -w net.ipv6.conf.{dev}.proxy_ndp=1\n# netsh: answer neighbour solicitations for {prefix} on {dev}{}",
                InNs(ns),
                InSuffix(ns)
            ),
            Op::Dump { ns } => write!(f, "# netsh: dump{}", InSuffix(ns)),
            Op::Wait => f.write_str("# netsh: wait for Ctrl-C, keeping services running"),
            Op::StoreSelect(StoreSpec::Embedded { path }) => write!(
                f,
                "# netsh: store embedded {}",
                path.as_deref().unwrap_or("(default path)")
            ),
            Op::StoreSelect(StoreSpec::Etcd(e)) => write!(
                f,
                "export ETCDCTL_API=3 ETCDCTL_ENDPOINTS={}",
                e.endpoints.join(",")
            ),
            Op::NetworkConfig { prefix, json } => {
                write!(f, "etcdctl put {prefix}/config {}", Quoted(json))
            }
            Op::LeaseAcquire { host, lease } => {
                write!(f, "# netsh: flanneld lease for {}", host_or_this(host))?;
                opt(f, "iface", &lease.iface)?;
                opt(f, "public-ip", &lease.public_ip)?;
                opt(f, "subnet-file", &lease.subnet_file)
            }
            Op::LeaseRelease { host } => {
                write!(f, "# netsh: release the lease of {}", host_or_this(host))
            }
            Op::Overlay { host, overlay } => {
                write!(
                    f,
                    "# netsh: run the {} overlay for {}",
                    overlay.backend.as_deref().unwrap_or("configured"),
                    host_or_this(host)
                )?;
                opt(f, "vni", &overlay.vni)?;
                opt(f, "port", &overlay.port)?;
                flag(f, " direct-routing", overlay.direct_routing)
            }
            Op::DockerOpts { host, opts } => {
                write!(f, "{}mk-docker-opts.sh", InNs(host))?;
                flag(f, " -c", opts.combined)?;
                opt(f, "-d", &opts.file)?;
                opt(f, "-k", &opts.key)?;
                flag(f, " -m", opts.no_masq)
            }
            Op::NetworkCreate { host, network } => network_create(f, host, network),
            Op::NetworkRm { host, name } => {
                write!(f, "{}docker network rm {name}", InNs(host))
            }
            Op::ContainerAdd { host, container: c } => {
                write!(f, "{}docker run -d --name {}", InNs(host), c.name)?;
                if let Some(n) = &c.network {
                    write!(f, " --net={n}")?;
                }
                opt(f, "--ip", &c.ip)?;
                opt(f, "--ip6", &c.ip6)
            }
            Op::DockerBridge { host, bridge: b } => {
                write!(f, "{}dockerd", InNs(host))?;
                if let Some(bip) = &b.bip {
                    write!(f, " --bip={bip}")?;
                }
                if let Some(v6) = &b.fixed_cidr_v6 {
                    write!(f, " --ipv6 --fixed-cidr-v6={v6}")?;
                }
                if let Some(mtu) = b.mtu {
                    write!(f, " --mtu={mtu}")?;
                }
                Ok(())
            }
        }
    }
}
