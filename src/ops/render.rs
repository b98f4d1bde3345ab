//! Ops as the commands a person would type: iproute2 (`ip`, `bridge`), `sysctl`, `etcdctl`, a shell.
//! This is what `--dry-run` prints; the output is a shell script that does the same thing where such
//! commands exist, and a `#` comment naming netsh's own service where they do not.

use super::*;
use crate::check::types::format_mac;
use std::fmt::{self, Display, Formatter, Write};

/// Quotes a word for a POSIX shell when it needs it.
pub fn shell_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn ip(ns: &Ns) -> String {
    match ns {
        Some(n) => format!("ip -n {}", shell_quote(n)),
        None => "ip".to_string(),
    }
}

/// `ip netns exec NS ` for commands that have no `-n` of their own.
fn in_ns(ns: &Ns) -> String {
    match ns {
        Some(n) => format!("ip netns exec {} ", shell_quote(n)),
        None => String::new(),
    }
}

fn opt<T: Display>(out: &mut String, key: &str, v: &Option<T>) {
    if let Some(v) = v {
        let _ = write!(out, " {key} {v}");
    }
}

impl Display for Route {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.dest {
            Dest::Default(_) => f.write_str("default")?,
            Dest::Net(n) => write!(f, "{n}")?,
        }
        let mut s = String::new();
        opt(&mut s, "via", &self.via);
        opt(&mut s, "dev", &self.dev);
        if self.onlink {
            s += " onlink";
        }
        opt(&mut s, "metric", &self.metric);
        opt(&mut s, "table", &self.table);
        opt(&mut s, "src", &self.src);
        f.write_str(&s)
    }
}

fn link_add(ns: &Ns, name: &str, kind: &LinkKind) -> String {
    let ip = ip(ns);
    match kind {
        LinkKind::Veth { peer, peer_ns } => {
            let mut s = format!("{ip} link add {name} type veth peer name {peer}");
            opt(&mut s, "netns", peer_ns);
            s
        }
        LinkKind::Bridge => format!("{ip} link add {name} type bridge"),
        LinkKind::Dummy => format!("{ip} link add {name} type dummy"),
        LinkKind::Tun => format!("{ip} tuntap add dev {name} mode tun"),
        LinkKind::Macvlan { parent, mode } => {
            format!("{ip} link add {name} link {parent} type macvlan mode {mode}")
        }
        LinkKind::Ipvlan { parent, mode } => {
            format!("{ip} link add {name} link {parent} type ipvlan mode {mode}")
        }
        LinkKind::Vlan { parent, id } => {
            format!("{ip} link add {name} link {parent} type vlan id {id}")
        }
        LinkKind::Vxlan(v) => {
            let mut s = format!("{ip} link add {name} type vxlan id {}", v.vni);
            opt(&mut s, "dstport", &v.port);
            opt(&mut s, "dev", &v.dev);
            opt(&mut s, "local", &v.local);
            opt(&mut s, "remote", &v.remote);
            opt(&mut s, "group", &v.group);
            match v.learning {
                Some(true) => s += " learning",
                Some(false) => s += " nolearning",
                None => {}
            }
            s
        }
    }
}

fn link_set(ns: &Ns, name: &str, c: &LinkChange) -> String {
    let mut s = format!("{} link set {name}", ip(ns));
    match c.up {
        Some(true) => s += " up",
        Some(false) => s += " down",
        None => {}
    }
    opt(&mut s, "mtu", &c.mtu);
    match &c.master {
        Some(Some(m)) => s += &format!(" master {m}"),
        Some(None) => s += " nomaster",
        None => {}
    }
    if let Some(mac) = &c.address {
        s += &format!(" address {}", format_mac(mac));
    }
    opt(&mut s, "netns", &c.netns);
    opt(&mut s, "name", &c.rename);
    s
}

fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Display for Op {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let line = match self {
            Op::NetnsAdd { name } => format!("ip netns add {}", shell_quote(name)),
            Op::NetnsDel { name } => format!("ip netns del {}", shell_quote(name)),
            Op::NetnsList => "ip netns list".to_string(),
            Op::LinkAdd { ns, name, kind } => link_add(ns, name, kind),
            Op::LinkSet { ns, name, change } => link_set(ns, name, change),
            Op::LinkDel { ns, name } => format!("{} link del {name}", ip(ns)),
            Op::AddrAdd {
                ns,
                dev,
                addr,
                nodad,
            } => {
                format!(
                    "{} addr add {addr} dev {dev}{}",
                    ip(ns),
                    if *nodad { " nodad" } else { "" }
                )
            }
            Op::AddrDel { ns, dev, addr } => format!("{} addr del {addr} dev {dev}", ip(ns)),
            Op::Route { ns, action, route } => {
                let verb = match action {
                    RouteAction::Add => "add",
                    RouteAction::Replace => "replace",
                    RouteAction::Del => "del",
                };
                let v6 = matches!(route.dest, Dest::Default(Family::V6)) && route.via.is_none();
                format!(
                    "{}{} route {verb} {route}",
                    ip(ns),
                    if v6 { " -6" } else { "" }
                )
            }
            Op::NeighAdd {
                ns,
                addr,
                lladdr,
                dev,
                permanent,
                router,
            } => format!(
                "{} neigh add {addr} lladdr {} dev {dev}{}{}",
                ip(ns),
                format_mac(lladdr),
                if *permanent { " nud permanent" } else { "" },
                if *router { " router" } else { "" }
            ),
            Op::NeighDel { ns, addr, dev } => format!("{} neigh del {addr} dev {dev}", ip(ns)),
            Op::NeighProxyAdd { ns, addr, dev } => {
                format!("{} -6 neigh add proxy {addr} dev {dev}", ip(ns))
            }
            Op::Fdb {
                ns,
                action,
                mac,
                dev,
                dst,
            } => {
                let verb = match action {
                    FdbAction::Add => "add",
                    FdbAction::Append => "append",
                    FdbAction::Del => "del",
                };
                let mut s = match ns {
                    Some(n) => format!(
                        "bridge -n {} fdb {verb} {} dev {dev}",
                        shell_quote(n),
                        format_mac(mac)
                    ),
                    None => format!("bridge fdb {verb} {} dev {dev}", format_mac(mac)),
                };
                opt(&mut s, "dst", dst);
                s
            }
            Op::SysctlSet { ns, key, value } => format!(
                "{}sysctl -w {}",
                in_ns(ns),
                shell_quote(&format!("{key}={value}"))
            ),
            Op::SysctlShow { ns, key } => format!("{}sysctl {key}", in_ns(ns)),
            Op::Exec { ns, argv } => format!("{}{}", in_ns(ns), shell_words(argv)),
            Op::Show { ns, what, json } => {
                let j = if *json { " -j" } else { "" };
                match what.as_str() {
                    "links" => format!("{}{j} link show", ip(ns)),
                    "addrs" => format!("{}{j} addr show", ip(ns)),
                    "routes" => format!("{}{j} route show; {}{j} -6 route show", ip(ns), ip(ns)),
                    "neigh" => format!("{}{j} neigh show", ip(ns)),
                    "fdb" => match ns {
                        Some(n) => format!("bridge -n {}{j} fdb show", shell_quote(n)),
                        None => format!("bridge{j} fdb show"),
                    },
                    "netns" => "ip netns list".to_string(),
                    other => format!(
                        "# netsh: show {other}{}",
                        ns.as_ref().map(|n| format!(" in {n}")).unwrap_or_default()
                    ),
                }
            }
            Op::Echo(text) => format!("echo {}", shell_quote(text)),
            Op::Ping {
                from,
                target,
                src,
                count,
                timeout,
            } => {
                let mut s = format!("{}ping -c {count} -W {timeout}", in_ns(from));
                opt(&mut s, "-I", src);
                format!("{s} {target}")
            }
            Op::Expect {
                from,
                target,
                src,
                timeout,
                check,
            } => {
                let mut ping = format!("{}ping -c 1 -W {timeout}", in_ns(from));
                opt(&mut ping, "-I", src);
                match check {
                    Check::Reach => format!("{ping} {target} >/dev/null || exit 1"),
                    Check::NoReach => format!("! {ping} {target} >/dev/null || exit 1"),
                    Check::Http { url, contains } => format!(
                        "{}curl -s -m {timeout} {} | grep -qF {} || exit 1",
                        in_ns(from),
                        shell_quote(url),
                        shell_quote(contains)
                    ),
                }
            }
            Op::ServeHttp { ns, port, text } => format!(
                "# netsh: serve http on port {port}{} answering {}",
                ns.as_ref().map(|n| format!(" in {n}")).unwrap_or_default(),
                shell_quote(text)
            ),
            Op::NdpResponder { ns, prefix, dev } => format!(
                "{}sysctl -w net.ipv6.conf.{dev}.proxy_ndp=1\n# netsh: answer neighbour solicitations for {prefix} on {dev}{}",
                in_ns(ns),
                ns.as_ref().map(|n| format!(" in {n}")).unwrap_or_default()
            ),
            Op::Dump { ns } => format!(
                "# netsh: dump{}",
                ns.as_ref().map(|n| format!(" in {n}")).unwrap_or_default()
            ),
            Op::Wait => "# netsh: wait for Ctrl-C, keeping services running".to_string(),
            Op::StoreSelect(StoreSpec::Embedded { path }) => {
                format!(
                    "# netsh: store embedded {}",
                    path.as_deref().unwrap_or("(default path)")
                )
            }
            Op::StoreSelect(StoreSpec::Etcd(e)) => format!(
                "export ETCDCTL_API=3 ETCDCTL_ENDPOINTS={}",
                e.endpoints.join(",")
            ),
            Op::NetworkConfig { prefix, json } => {
                format!("etcdctl put {prefix}/config {}", shell_quote(json))
            }
            Op::LeaseAcquire { host, lease } => {
                let mut s = format!(
                    "# netsh: flanneld lease for {}",
                    host.as_deref().unwrap_or("this host")
                );
                opt(&mut s, "iface", &lease.iface);
                opt(&mut s, "public-ip", &lease.public_ip);
                opt(&mut s, "subnet-file", &lease.subnet_file);
                s
            }
            Op::LeaseRelease { host } => format!(
                "# netsh: release the lease of {}",
                host.as_deref().unwrap_or("this host")
            ),
            Op::Overlay { host, overlay } => {
                let mut s = format!(
                    "# netsh: run the {} overlay for {}",
                    overlay.backend.as_deref().unwrap_or("configured"),
                    host.as_deref().unwrap_or("this host")
                );
                opt(&mut s, "vni", &overlay.vni);
                opt(&mut s, "port", &overlay.port);
                if overlay.direct_routing {
                    s += " direct-routing";
                }
                s
            }
            Op::DockerOpts { host, opts } => {
                let mut s = format!("{}mk-docker-opts.sh", in_ns(host));
                if opts.combined {
                    s += " -c";
                }
                opt(&mut s, "-d", &opts.file);
                opt(&mut s, "-k", &opts.key);
                if opts.no_masq {
                    s += " -m";
                }
                s
            }
            Op::NetworkCreate { host, network: n } => {
                let mut s = format!("{}docker network create -d {}", in_ns(host), n.driver);
                for sub in &n.subnets {
                    s += &format!(" --subnet={sub}");
                }
                for r in &n.ip_ranges {
                    s += &format!(" --ip-range={r}");
                }
                for g in &n.gateways {
                    s += &format!(" --gateway={g}");
                }
                for (name, ip) in &n.aux {
                    s += &format!(" --aux-address={name}={ip}");
                }
                if n.internal {
                    s += " --internal";
                }
                if n.ipv6 {
                    s += " --ipv6";
                }
                if let Some(p) = &n.parent {
                    s += &format!(" -o parent={p}");
                }
                if let Some(m) = &n.mode {
                    s += &format!(" -o {}_mode={m}", n.driver);
                }
                if n.global {
                    s += " --scope=global";
                }
                format!("{s} {}", n.name)
            }
            Op::NetworkRm { host, name } => format!("{}docker network rm {name}", in_ns(host)),
            Op::ContainerAdd { host, container: c } => {
                let mut s = format!("{}docker run -d --name {}", in_ns(host), c.name);
                if let Some(n) = &c.network {
                    s += &format!(" --net={n}");
                }
                opt(&mut s, "--ip", &c.ip);
                opt(&mut s, "--ip6", &c.ip6);
                s
            }
            Op::DockerBridge { host, bridge: b } => {
                let mut s = format!("{}dockerd", in_ns(host));
                if let Some(bip) = &b.bip {
                    s += &format!(" --bip={bip}");
                }
                if let Some(v6) = &b.fixed_cidr_v6 {
                    s += &format!(" --ipv6 --fixed-cidr-v6={v6}");
                }
                if let Some(mtu) = b.mtu {
                    s += &format!(" --mtu={mtu}");
                }
                s
            }
        };
        f.write_str(&line)
    }
}
