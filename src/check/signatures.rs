//! The statement table: every built-in statement, its words, arguments and their types. The checker,
//! the evaluator, `help` and the REPL's completion all read this one table.

use super::types::Ty;
use rustc_hash::FxHashMap;
use std::sync::OnceLock;

/// Which statement a command is; the evaluator dispatches on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Id {
    NetnsAdd,
    NetnsDel,
    NetnsList,
    Veth,
    Bridge,
    Dummy,
    Tun,
    Macvlan,
    Ipvlan,
    Vlan,
    Vxlan,
    LinkSet,
    LinkDel,
    AddrAdd,
    AddrDel,
    RouteAdd,
    RouteReplace,
    RouteDel,
    NeighAdd,
    NeighDel,
    FdbAdd,
    FdbAppend,
    FdbDel,
    Sysctl,
    Forwarding,
    ProxyNdp,
    Switch,
    Host,
    Router,
    Container,
    ServeHttp,
    DockerBridge,
    Ping,
    Capture,
    ExpectReach,
    ExpectNoReach,
    ExpectHttp,
    ExpectLink,
    ExpectRoute,
    ExpectNoRoute,
    ExpectNeigh,
    ExpectFile,
    Exec,
    Show,
    ShowTopology,
    Echo,
    Wait,
    Help,
    Source,
    Dump,
    StoreEmbedded,
    StoreEtcd,
    NetworkConfig,
    Lease,
    LeaseRelease,
    Overlay,
    DockerOpts,
    NetworkCreate,
    NetworkRm,
}

/// A positional argument, right after the statement's leading words.
#[derive(Debug)]
pub struct Param {
    pub name: &'static str,
    pub ty: Ty,
    pub optional: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptKind {
    /// `key VALUE`
    Value(Ty),
    /// a bare keyword: `nodad`, `json`
    Switch,
    /// a bare word from a set, the argument named `key`: `bridge` for a macvlan's mode
    OneOf(&'static [&'static str]),
}

/// A keyword argument; they may come in any order after the positionals.
#[derive(Debug)]
pub struct Opt {
    pub key: &'static str,
    pub kind: OptKind,
    pub required: bool,
    pub repeat: bool,
    /// What the value is called in messages: "macvlan mode".
    pub what: &'static str,
}

#[derive(Debug)]
pub struct Sig {
    pub id: Id,
    pub path: &'static [&'static str],
    pub pos: &'static [Param],
    pub opts: &'static [Opt],
    /// Takes a trailing `in NS`.
    pub ns: bool,
    /// Takes any number of further words (echo, exec, help).
    pub rest: bool,
    /// Pairs of keywords that exclude each other.
    pub conflicts: &'static [(&'static str, &'static str)],
    pub about: &'static str,
    pub example: &'static str,
}

/// What a bare word is to a statement when it is one of its keywords.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keyword {
    /// `in`, before the namespace.
    Ns,
    /// The key of option `i` (`dev`, `nodad`), or a word of its set (`bridge` for a macvlan mode).
    Opt(u8),
}

/// Each statement's keywords with what they are, in the order they win: `in`, then the keys of
/// valued options and switches, then the words of one-of options. Binding looks up every word of
/// every statement, twice per script (check, then run), so this is built once.
type KeywordTable = Box<[(&'static str, Keyword)]>;

fn keyword_table(sig: &Sig) -> KeywordTable {
    let mut table = Vec::new();
    if sig.ns {
        table.push(("in", Keyword::Ns));
    }
    for (i, o) in sig.opts.iter().enumerate() {
        if !matches!(o.kind, OptKind::OneOf(_)) {
            table.push((o.key, Keyword::Opt(i as u8)));
        }
    }
    for (i, o) in sig.opts.iter().enumerate() {
        if let OptKind::OneOf(words) = o.kind {
            table.extend(words.iter().map(|w| (*w, Keyword::Opt(i as u8))));
        }
    }
    table.into_boxed_slice()
}

impl Sig {
    /// What `text` is to this statement, if it is one of its keywords.
    pub fn keyword(&self, text: &str) -> Option<Keyword> {
        static TABLES: OnceLock<Vec<KeywordTable>> = OnceLock::new();
        let tables = TABLES.get_or_init(|| {
            let mut by_id: Vec<(usize, KeywordTable)> = TABLE
                .iter()
                .map(|s| (s.id as usize, keyword_table(s)))
                .collect();
            by_id.sort_by_key(|(id, _)| *id);
            by_id.into_iter().map(|(_, t)| t).collect()
        });
        let first = *text.as_bytes().first()?;
        // most words are values, not keywords: the length and first byte settle nearly every test
        tables[self.id as usize]
            .iter()
            .find(|(k, _)| k.as_bytes()[0] == first && same_word(k, text))
            .map(|&(_, kw)| kw)
    }

    pub fn opt(&self, key: &str) -> Option<(usize, &Opt)> {
        self.opts.iter().enumerate().find(|(_, o)| o.key == key)
    }

    /// The keywords this statement understands, for "did you mean" and completion.
    pub fn keywords(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.opts
            .iter()
            .flat_map(|o| match o.kind {
                OptKind::OneOf(words) => words,
                _ => std::slice::from_ref(&o.key),
            })
            .copied()
            .chain(self.ns.then_some("in"))
    }

    /// `macvlan [vepa|bridge|private|passthru] on PARENT [name NAME] [in NS]`
    pub fn usage(&self) -> String {
        let mut u = self.path.join(" ");
        for p in self.pos {
            let shown = match p.ty {
                Ty::Literal(w) => w.to_string(),
                Ty::Choice(c) => c.join("|"),
                _ => p.name.to_uppercase(),
            };
            if p.optional {
                u += &format!(" [{shown}]");
            } else {
                u += &format!(" {shown}");
            }
        }
        for o in self.opts {
            let shown = self.opt_usage(o);
            if o.required {
                u += &format!(" {shown}");
            } else {
                u += &format!(" [{shown}]");
            }
        }
        if self.rest {
            u += " ...";
        }
        if self.ns {
            u += " [in NS]";
        }
        u
    }

    /// How the usage line shows one keyword argument: `dev IF`, `nodad`, `vepa|bridge`.
    pub fn opt_usage(&self, o: &Opt) -> String {
        {
            let shown = match o.kind {
                OptKind::Value(Ty::Choice(c)) => format!("{} {}", o.key, c.join("|")),
                OptKind::Value(ty) => {
                    let shown = match (self.id, o.key) {
                        (Id::ProxyNdp, "on") => "IF".to_string(),
                        (Id::ProxyNdp, "for") => "NETWORK".to_string(),
                        (Id::Container, "on") => "NETWORK".to_string(),
                        (_, "netns") => "NS".to_string(),
                        _ => placeholder(o.key, ty),
                    };
                    format!("{} {shown}", o.key)
                }
                OptKind::Switch => o.key.to_string(),
                OptKind::OneOf(words) => words.join("|"),
            };
            if o.repeat {
                format!("{shown} ...")
            } else {
                shown
            }
        }
    }
}

/// How usage lines name a keyword's value: `dev IF`, `via GW`, `on PARENT`.
fn placeholder(key: &str, ty: Ty) -> String {
    let named = match (key, ty) {
        ("via", _) => "GW",
        ("on" | "parent", Ty::Ifname) => "PARENT",
        ("on", Ty::Label) => "SWITCH",
        ("master", _) => "BRIDGE",
        ("dev" | "iface", _) => "IF",
        ("to", Ty::Path) => "FILE.pcap",
        ("peer" | "name" | "netns" | "peer-in", _) => {
            return key
                .replace('-', "_")
                .to_uppercase()
                .replace("PEER_IN", "NS2");
        }
        (_, Ty::Ns) => "NS",
        (_, Ty::Ip | Ty::Ip4 | Ty::Ip6) => "IP",
        (_, Ty::Cidr) => "CIDR",
        (_, Ty::Prefix | Ty::Prefix6) => "PREFIX",
        (_, Ty::Mac) => "MAC",
        (_, Ty::Int { .. }) => "N",
        (_, Ty::Port) => "PORT",
        (_, Ty::Vni) => "VNI",
        (_, Ty::Mtu) => "MTU",
        (_, Ty::Path) => "PATH",
        (_, Ty::Url) => "URL",
        (_, Ty::Filter) => "FILTER",
        (_, Ty::Seconds) => "SECONDS",
        (_, Ty::Aux) => "NAME=IP",
        (_, Ty::Table) => "TABLE",
        (_, Ty::Text) => "TEXT",
        _ => return key.replace('-', "_").to_uppercase(),
    };
    named.to_string()
}

const fn p(name: &'static str, ty: Ty) -> Param {
    Param {
        name,
        ty,
        optional: false,
    }
}
const fn p_opt(name: &'static str, ty: Ty) -> Param {
    Param {
        name,
        ty,
        optional: true,
    }
}
const fn val(key: &'static str, ty: Ty) -> Opt {
    Opt {
        key,
        kind: OptKind::Value(ty),
        required: false,
        repeat: false,
        what: key,
    }
}
const fn req(key: &'static str, ty: Ty) -> Opt {
    Opt {
        key,
        kind: OptKind::Value(ty),
        required: true,
        repeat: false,
        what: key,
    }
}
const fn many(key: &'static str, ty: Ty) -> Opt {
    Opt {
        key,
        kind: OptKind::Value(ty),
        required: false,
        repeat: true,
        what: key,
    }
}
const fn switch(key: &'static str) -> Opt {
    Opt {
        key,
        kind: OptKind::Switch,
        required: false,
        repeat: false,
        what: key,
    }
}
const fn one_of(key: &'static str, words: &'static [&'static str], what: &'static str) -> Opt {
    Opt {
        key,
        kind: OptKind::OneOf(words),
        required: false,
        repeat: false,
        what,
    }
}

const fn sig(
    id: Id,
    path: &'static [&'static str],
    about: &'static str,
    example: &'static str,
) -> Sig {
    Sig {
        id,
        path,
        pos: &[],
        opts: &[],
        ns: true,
        rest: false,
        conflicts: &[],
        about,
        example,
    }
}

pub const MACVLAN_MODES: &[&str] = crate::ops::MacvlanMode::WORDS;
pub const IPVLAN_MODES: &[&str] = crate::ops::IpvlanMode::WORDS;
/// The link kinds `expect link ... kind K` knows (the kernel's names, as `ip -d link` shows them).
pub const LINK_KINDS: &[&str] = &[
    "bridge",
    "veth",
    "dummy",
    "tun",
    "macvlan",
    "macvtap",
    "ipvlan",
    "ipvtap",
    "vlan",
    "vxlan",
    "geneve",
    "ipip",
    "sit",
    "gre",
    "gretap",
    "ip6tnl",
    "ip6gre",
    "bond",
    "vrf",
    "wireguard",
    "ifb",
];
/// The modes `expect link ... mode M` knows: a macvlan's or an ipvlan's.
pub const LINK_MODES: &[&str] = &[
    "bridge", "private", "vepa", "passthru", "source", "l2", "l3", "l3s",
];
pub const BACKENDS: &[&str] = crate::ops::BackendType::NAMES;
pub const DRIVERS: &[&str] = &["bridge", "macvlan", "ipvlan"];
pub const SHOW_WHAT: &[&str] = &[
    "links", "addrs", "routes", "neigh", "fdb", "leases", "networks", "config", "tunnel", "netns",
];

/// Every built-in statement. Longer paths are matched before shorter ones (`lease release` before `lease`).
pub static TABLE: &[Sig] = &[
    // ---- namespaces and links --------------------------------------------------------------------
    Sig {
        pos: &[p("name", Ty::Ns)],
        ns: false,
        ..sig(
            Id::NetnsAdd,
            &["netns", "add"],
            "create a network namespace",
            "netns add docker1",
        )
    },
    Sig {
        pos: &[p("name", Ty::Ns)],
        ns: false,
        ..sig(
            Id::NetnsDel,
            &["netns", "del"],
            "delete a network namespace",
            "netns del docker1",
        )
    },
    Sig {
        ns: false,
        ..sig(
            Id::NetnsList,
            &["netns", "list"],
            "list the named network namespaces",
            "netns list",
        )
    },
    Sig {
        pos: &[p("name", Ty::Ifname)],
        opts: &[req("peer", Ty::Ifname), val("peer-in", Ty::Ns)],
        ..sig(
            Id::Veth,
            &["veth"],
            "create a veth pair; the peer is created directly in its namespace",
            "veth host_veth1 peer ns_veth1 peer-in net1_ns",
        )
    },
    Sig {
        pos: &[p("name", Ty::Ifname)],
        ..sig(
            Id::Bridge,
            &["bridge"],
            "create a Linux bridge",
            "bridge docker0",
        )
    },
    Sig {
        pos: &[p("name", Ty::Ifname)],
        ..sig(Id::Dummy, &["dummy"], "create a dummy link", "dummy dummy0")
    },
    Sig {
        pos: &[p("name", Ty::Ifname)],
        ..sig(
            Id::Tun,
            &["tun"],
            "create a persistent TUN device",
            "tun flannel0",
        )
    },
    Sig {
        opts: &[
            one_of("mode", MACVLAN_MODES, "macvlan mode"),
            req("on", Ty::Ifname),
            val("name", Ty::Ifname),
        ],
        ..sig(
            Id::Macvlan,
            &["macvlan"],
            "create a MacVLAN link on a parent (mode vepa unless named); with `in NS` it is moved there",
            "macvlan bridge on eth0 name macvlan1 in namespace1",
        )
    },
    Sig {
        opts: &[
            one_of("mode", IPVLAN_MODES, "ipvlan mode"),
            req("on", Ty::Ifname),
            val("name", Ty::Ifname),
        ],
        ..sig(
            Id::Ipvlan,
            &["ipvlan"],
            "create an IPVLAN link on a parent (mode l3 unless named)",
            "ipvlan l2 on eth0 name ipvlan1 in namespace1",
        )
    },
    Sig {
        pos: &[p("id", Ty::VlanId)],
        opts: &[req("on", Ty::Ifname), val("name", Ty::Ifname)],
        ..sig(
            Id::Vlan,
            &["vlan"],
            "create an 802.1Q VLAN subinterface (named PARENT.ID unless named)",
            "vlan 19 on eth1",
        )
    },
    Sig {
        pos: &[p("name", Ty::Ifname)],
        opts: &[
            req("vni", Ty::Vni),
            val("port", Ty::Port),
            val("dev", Ty::Ifname),
            val("local", Ty::Ip),
            val("remote", Ty::Ip),
            val("group", Ty::Ip),
            one_of("learning", &["learning", "nolearning"], "learning setting"),
        ],
        conflicts: &[("remote", "group")],
        ..sig(
            Id::Vxlan,
            &["vxlan"],
            "create a VXLAN link",
            "vxlan vxlan1 vni 1 port 8472 dev eth0 nolearning",
        )
    },
    Sig {
        pos: &[p("link", Ty::Ifname)],
        opts: &[
            one_of("state", &["up", "down"], "link state"),
            val("mtu", Ty::Mtu),
            val("master", Ty::Ifname),
            switch("nomaster"),
            val("address", Ty::Mac),
            val("netns", Ty::Ns),
            val("name", Ty::Ifname),
        ],
        conflicts: &[("master", "nomaster")],
        ..sig(
            Id::LinkSet,
            &["link", "set"],
            "change a link: state, MTU, bridge master, MAC, namespace, name",
            "link set eth1 up mtu 1450 master docker0",
        )
    },
    Sig {
        pos: &[p("link", Ty::Ifname)],
        ..sig(
            Id::LinkDel,
            &["link", "del"],
            "delete a link",
            "link del macvlan1",
        )
    },
    // ---- addresses, routes, neighbours, sysctls ------------------------------------------------
    Sig {
        pos: &[p("address", Ty::Cidr)],
        opts: &[req("dev", Ty::Ifname), switch("nodad")],
        ..sig(
            Id::AddrAdd,
            &["addr", "add"],
            "add an address (IPv4 or IPv6) to a link",
            "addr add 2003:ab11::1/64 dev eth0 nodad",
        )
    },
    Sig {
        pos: &[p("address", Ty::Cidr)],
        opts: &[req("dev", Ty::Ifname)],
        ..sig(
            Id::AddrDel,
            &["addr", "del"],
            "remove an address from a link",
            "addr del 10.10.10.101/24 dev eth0",
        )
    },
    Sig {
        pos: &[p("destination", Ty::RouteDest)],
        opts: ROUTE_OPTS,
        ..sig(
            Id::RouteAdd,
            &["route", "add"],
            "add a route (family from the destination or the gateway)",
            "route add 10.100.0.0/16 via 10.10.10.1",
        )
    },
    Sig {
        pos: &[p("destination", Ty::RouteDest)],
        opts: ROUTE_OPTS,
        ..sig(
            Id::RouteReplace,
            &["route", "replace"],
            "add a route, or replace the one with the same destination",
            "route replace default via 192.168.50.1",
        )
    },
    Sig {
        pos: &[p("destination", Ty::RouteDest)],
        opts: ROUTE_OPTS,
        ..sig(
            Id::RouteDel,
            &["route", "del"],
            "delete a route",
            "route del 10.100.0.0/16",
        )
    },
    Sig {
        pos: &[p("address", Ty::Ip)],
        opts: &[
            req("lladdr", Ty::Mac),
            req("dev", Ty::Ifname),
            switch("permanent"),
            switch("router"),
        ],
        ..sig(
            Id::NeighAdd,
            &["neigh", "add"],
            "add a neighbour (ARP or NDP) entry",
            "neigh add 10.100.15.0 lladdr 02:42:ac:11:00:02 dev flannel.1 permanent",
        )
    },
    Sig {
        pos: &[p("address", Ty::Ip)],
        opts: &[req("dev", Ty::Ifname), switch("proxy")],
        ..sig(
            Id::NeighDel,
            &["neigh", "del"],
            "delete a neighbour entry (`proxy`: a proxy-NDP entry, as `proxy-ndp ADDR on DEV` adds)",
            "neigh del 10.100.15.0 dev flannel.1",
        )
    },
    Sig {
        pos: &[p("mac", Ty::Mac)],
        opts: &[req("dev", Ty::Ifname), req("dst", Ty::Ip)],
        ..sig(
            Id::FdbAdd,
            &["fdb", "add"],
            "add a forwarding database entry (a VXLAN destination)",
            "fdb add 02:42:ac:11:00:02 dev flannel.1 dst 10.10.10.102",
        )
    },
    Sig {
        pos: &[p("mac", Ty::Mac)],
        opts: &[req("dev", Ty::Ifname), req("dst", Ty::Ip)],
        ..sig(
            Id::FdbAppend,
            &["fdb", "append"],
            "append a forwarding entry (another flood destination)",
            "fdb append 00:00:00:00:00:00 dev vxlan1 dst 10.10.10.102",
        )
    },
    Sig {
        pos: &[p("mac", Ty::Mac)],
        opts: &[req("dev", Ty::Ifname), val("dst", Ty::Ip)],
        ..sig(
            Id::FdbDel,
            &["fdb", "del"],
            "delete a forwarding database entry",
            "fdb del 02:42:ac:11:00:02 dev flannel.1",
        )
    },
    Sig {
        pos: &[
            p("key", Ty::SysctlKey),
            p_opt("=", Ty::Literal("=")),
            p_opt("value", Ty::Text),
        ],
        ..sig(
            Id::Sysctl,
            &["sysctl"],
            "set a sysctl (`KEY = VALUE`) or print it (`KEY`), in this namespace or NS",
            "sysctl net.ipv6.conf.eth0.proxy_ndp = 1",
        )
    },
    Sig {
        pos: &[p("state", Ty::Choice(&["on", "off"]))],
        opts: &[one_of("family", &["ipv4", "ipv6"], "address family")],
        ..sig(
            Id::Forwarding,
            &["forwarding"],
            "turn IP forwarding on or off (both families unless one is named)",
            "forwarding on ipv6",
        )
    },
    Sig {
        pos: &[p("target", Ty::Ip6OrPrefix)],
        opts: &[req("on", Ty::Ifname), val("for", Ty::Label)],
        ..sig(
            Id::ProxyNdp,
            &["proxy-ndp"],
            "answer Neighbour Solicitations for an address (kernel entry) or a prefix (a responder: every address, or `for NETWORK` only those its IPAM handed out)",
            "proxy-ndp 2003:ab11::8000:242:ac11:2 on eth0",
        )
    },
    // ---- lab building ----------------------------------------------------------------------------
    Sig {
        pos: &[p("name", Ty::Label)],
        ns: false,
        ..sig(
            Id::Switch,
            &["switch"],
            "an L2 segment: a bridge kept in a namespace of its own",
            "switch lan1",
        )
    },
    Sig {
        pos: &[p("name", Ty::Ns)],
        opts: &[
            req("on", Ty::Label),
            Opt {
                required: true,
                ..many("addr", Ty::Cidr)
            },
            many("gw", Ty::Ip),
            val("iface", Ty::Ifname),
        ],
        ns: false,
        ..sig(
            Id::Host,
            &["host"],
            "a lab host: a namespace with one link on a switch, its addresses and default route",
            "host docker1 on lan1 addr 10.10.10.101/24 gw 10.10.10.1",
        )
    },
    Sig {
        pos: &[p("name", Ty::Ns)],
        opts: &[
            Opt {
                required: true,
                ..many("on", Ty::Label)
            },
            Opt {
                required: true,
                ..many("addr", Ty::Cidr)
            },
        ],
        ns: false,
        ..sig(
            Id::Router,
            &["router"],
            "a lab router: a namespace on several switches with forwarding on",
            "router r1 on lan1 addr 10.10.10.1/24 on lan2 addr 192.168.50.1/24",
        )
    },
    Sig {
        pos: &[p("name", Ty::Ns)],
        opts: &[
            val("on", Ty::Label),
            val("ip", Ty::Ip4),
            val("ip6", Ty::Ip6),
        ],
        ..sig(
            Id::Container,
            &["container"],
            "a container: a namespace attached like `docker run --net=NETWORK` (docker0 by default)",
            "container web1 in docker1",
        )
    },
    Sig {
        pos: &[p("protocol", Ty::Choice(&["http"])), p("port", Ty::Port)],
        opts: &[val("text", Ty::Text)],
        ..sig(
            Id::ServeHttp,
            &["serve"],
            "a tiny web server answering every request with TEXT",
            "serve http 80 text \"Web Server #1\" in web1",
        )
    },
    Sig {
        opts: &[
            val("bip", Ty::Cidr),
            val("fixed-cidr-v6", Ty::Prefix6),
            val("mtu", Ty::Mtu),
        ],
        ..sig(
            Id::DockerBridge,
            &["docker-bridge"],
            "what dockerd's --bip, --ipv6 --fixed-cidr-v6 and --mtu do to docker0",
            "docker-bridge fixed-cidr-v6 2003:cd11::/64 in docker1",
        )
    },
    // ---- checks ------------------------------------------------------------------------------------
    Sig {
        pos: &[p("target", Ty::Target)],
        opts: &[
            val("from", Ty::Ns),
            val("src", Ty::Ip),
            val(
                "count",
                Ty::Int {
                    min: 1,
                    max: 100_000,
                },
            ),
            val("timeout", Ty::Seconds),
        ],
        ns: false,
        ..sig(
            Id::Ping,
            &["ping"],
            "send ICMP echo requests (built in: no ping program needed)",
            "ping 10.100.93.2 from web2 count 3",
        )
    },
    Sig {
        pos: &[p("if", Ty::Ifname)],
        opts: &[
            val(
                "count",
                Ty::Int {
                    min: 1,
                    max: 1_000_000_000,
                },
            ),
            val("for", Ty::Seconds),
            val("filter", Ty::Filter),
            val("to", Ty::Path),
        ],
        ..sig(
            Id::Capture,
            &["capture"],
            "record packets on a link (to a pcap file, else one line each) while the script goes on",
            "capture eth0 in web1 count 4 filter icmp to web1.pcap",
        )
    },
    Sig {
        pos: &[p("target", Ty::Target)],
        opts: &[
            val("from", Ty::Ns),
            val("src", Ty::Ip),
            val("timeout", Ty::Seconds),
        ],
        ns: false,
        ..sig(
            Id::ExpectReach,
            &["expect", "reach"],
            "fail the script unless TARGET answers a ping",
            "expect reach 10.100.93.2 from web2",
        )
    },
    Sig {
        pos: &[p("target", Ty::Target)],
        opts: &[
            val("from", Ty::Ns),
            val("src", Ty::Ip),
            val("timeout", Ty::Seconds),
        ],
        ns: false,
        ..sig(
            Id::ExpectNoReach,
            &["expect", "no-reach"],
            "fail the script if TARGET answers a ping",
            "expect no-reach 192.168.50.171 from namespace2",
        )
    },
    Sig {
        pos: &[p("url", Ty::Url)],
        opts: &[
            val("from", Ty::Ns),
            req("contains", Ty::Text),
            val("status", Ty::Int { min: 100, max: 599 }),
            val("timeout", Ty::Seconds),
        ],
        ns: false,
        ..sig(
            Id::ExpectHttp,
            &["expect", "http"],
            "fail the script unless an HTTP GET of URL succeeds (2xx, or status N) with TEXT",
            "expect http http://10.100.93.2/ from web2 contains \"Web Server #1\"",
        )
    },
    Sig {
        pos: &[p("name", Ty::Ifname)],
        opts: &[
            val("kind", Ty::Choice(LINK_KINDS)),
            val("mode", Ty::Choice(LINK_MODES)),
            val(
                "id",
                Ty::Int {
                    min: 0,
                    max: 16_777_215,
                },
            ),
            val("port", Ty::Port),
            val("mtu", Ty::Mtu),
            val("master", Ty::Ifname),
            one_of("state", &["up", "down"], "link state"),
            val("address", Ty::Mac),
            val("timeout", Ty::Seconds),
        ],
        ..sig(
            Id::ExpectLink,
            &["expect", "link"],
            "fail the script unless link NAME is there with each property given (read over netlink)",
            "expect link flannel.1 in docker4 kind vxlan id 1 port 8472 mtu 1450",
        )
    },
    Sig {
        pos: &[p("dest", Ty::RouteDest)],
        opts: &[
            val("via", Ty::Ip),
            val("dev", Ty::Ifname),
            val("timeout", Ty::Seconds),
        ],
        ..sig(
            Id::ExpectRoute,
            &["expect", "route"],
            "fail the script unless a route to DEST (via GW, dev IF) appears within the timeout",
            "expect route 10.100.0.0/16 dev flannel0 in docker1",
        )
    },
    Sig {
        pos: &[p("dest", Ty::RouteDest)],
        opts: &[val("timeout", Ty::Seconds)],
        ..sig(
            Id::ExpectNoRoute,
            &["expect", "no-route"],
            "fail the script unless the table has no route to DEST within the timeout",
            "expect no-route 10.100.0.0/16 in docker4",
        )
    },
    Sig {
        pos: &[p("address", Ty::Ip)],
        opts: &[
            val("dev", Ty::Ifname),
            val("lladdr", Ty::Mac),
            one_of("role", &["router", "host"], "neighbour role"),
            switch("proxy"),
            val("timeout", Ty::Seconds),
        ],
        ..sig(
            Id::ExpectNeigh,
            &["expect", "neigh"],
            "fail the script unless the neighbour table (with `proxy`, the proxy table) holds ADDR as given",
            "expect neigh 2003:ab11::2 dev eth0 router in net1",
        )
    },
    Sig {
        pos: &[p("path", Ty::Path)],
        opts: &[many("contains", Ty::Text), val("timeout", Ty::Seconds)],
        ns: false,
        ..sig(
            Id::ExpectFile,
            &["expect", "file"],
            "fail the script unless file PATH is there and holds each TEXT given",
            "expect file /run/flannel/docker4/subnet.env contains \"FLANNEL_MTU=1472\"",
        )
    },
    Sig {
        rest: true,
        ..sig(
            Id::Exec,
            &["exec"],
            "run a program (in NS), like `ip netns exec`",
            "exec \"ip -6 neigh show\" in net1",
        )
    },
    Sig {
        pos: &[p("thing to show", Ty::Choice(SHOW_WHAT))],
        opts: &[switch("json")],
        ..sig(
            Id::Show,
            &["show"],
            "show links, addrs, routes, neigh, fdb, leases, networks, config or tunnel",
            "show routes in docker1 json",
        )
    },
    Sig {
        opts: &[one_of(
            "picture",
            crate::ops::Picture::WORDS,
            "picture format",
        )],
        ..sig(
            Id::ShowTopology,
            &["show", "topology"],
            "show the lab: namespaces with their links, veth pairs, bridges, parents and overlays (as text, DOT, SVG or JSON)",
            "show topology in docker1 svg",
        )
    },
    Sig {
        rest: true,
        ns: false,
        ..sig(
            Id::Echo,
            &["echo"],
            "print words",
            "echo \"lease: $subnet\"",
        )
    },
    Sig {
        ns: false,
        ..sig(
            Id::Wait,
            &["wait"],
            "keep services (overlays, responders, web servers) running until Ctrl-C, then roll back",
            "wait",
        )
    },
    Sig {
        rest: true,
        ns: false,
        ..sig(
            Id::Help,
            &["help"],
            "list statements, or explain one",
            "help macvlan",
        )
    },
    Sig {
        pos: &[p("file", Ty::Path)],
        ns: false,
        ..sig(
            Id::Source,
            &["source"],
            "run another script's statements here (its procedures and variables too)",
            "source lib/common.netsh",
        )
    },
    Sig {
        ..sig(
            Id::Dump,
            &["dump"],
            "print the live state as a script that rebuilds it",
            "dump in docker1",
        )
    },
    // ---- flannel -----------------------------------------------------------------------------------
    Sig {
        pos: &[p_opt("path", Ty::Path)],
        ns: false,
        ..sig(
            Id::StoreEmbedded,
            &["store", "embedded"],
            "keep leases and networks in a file on this machine (the default)",
            "store embedded /var/lib/netsh/store.redb",
        )
    },
    Sig {
        pos: &[p("endpoints", Ty::Text)],
        opts: &[
            val("prefix", Ty::Text),
            val("ca", Ty::Path),
            val("cert", Ty::Path),
            val("key", Ty::Path),
            val("user", Ty::Text),
            val("password", Ty::Text),
        ],
        ns: false,
        ..sig(
            Id::StoreEtcd,
            &["store", "etcd"],
            "keep leases and networks in etcd, shared by several machines",
            "store etcd http://10.10.10.101:2379",
        )
    },
    Sig {
        pos: &[p("config", Ty::NetConfig)],
        opts: &[
            val("subnet-len", Ty::Int { min: 1, max: 30 }),
            val("subnet-min", Ty::Ip4),
            val("subnet-max", Ty::Ip4),
            val("backend", Ty::Choice(BACKENDS)),
            val("vni", Ty::Vni),
            val("port", Ty::Port),
            val("ipv6-network", Ty::Prefix6),
        ],
        ns: false,
        ..sig(
            Id::NetworkConfig,
            &["network", "config"],
            "set flannel's network config, as `etcdctl set /coreos.com/network/config`",
            "network config 10.100.0.0/16 backend vxlan",
        )
    },
    Sig {
        ..sig(
            Id::LeaseRelease,
            &["lease", "release"],
            "give back this host's subnet lease",
            "lease release in docker1",
        )
    },
    Sig {
        opts: &[
            val("iface", Ty::Ifname),
            val("public-ip", Ty::Ip4),
            val("subnet-file", Ty::Path),
            val("ttl", Ty::Seconds),
        ],
        ..sig(
            Id::Lease,
            &["lease"],
            "take a subnet lease for this host, as flanneld does, and write subnet.env",
            "lease in docker1",
        )
    },
    Sig {
        opts: &[
            one_of("backend", BACKENDS, "flannel backend"),
            val("vni", Ty::Vni),
            val("port", Ty::Port),
            switch("direct-routing"),
            val("iface", Ty::Ifname),
        ],
        ..sig(
            Id::Overlay,
            &["overlay"],
            "run this host's flannel overlay (backend from the config unless named)",
            "overlay vxlan vni 1 in docker1",
        )
    },
    Sig {
        opts: &[
            switch("combined"),
            val("file", Ty::Path),
            val("key", Ty::Text),
            switch("no-masq"),
        ],
        ..sig(
            Id::DockerOpts,
            &["docker-opts"],
            "print dockerd's options for this host's lease, as mk-docker-opts.sh",
            "docker-opts combined in docker1",
        )
    },
    // ---- docker networks ---------------------------------------------------------------------------
    Sig {
        pos: &[p("name", Ty::Label)],
        opts: &[
            req("driver", Ty::Choice(DRIVERS)),
            val("parent", Ty::Ifname),
            val(
                "mode",
                Ty::Choice(&["bridge", "private", "vepa", "passthru", "l2", "l3", "l3s"]),
            ),
            many("subnet", Ty::Prefix),
            many("ip-range", Ty::Prefix),
            many("gateway", Ty::Ip),
            many("aux", Ty::Aux),
            switch("internal"),
            switch("ipv6"),
            switch("ndp-proxy"),
            val("scope", Ty::Choice(&["local", "global"])),
        ],
        ..sig(
            Id::NetworkCreate,
            &["network", "create"],
            "create a Docker-style network: bridge, macvlan or ipvlan, with IPAM",
            "network create macvlan_net driver macvlan parent eth0 subnet 10.10.10.0/24 gateway 10.10.10.1",
        )
    },
    Sig {
        pos: &[p("name", Ty::Label)],
        ..sig(
            Id::NetworkRm,
            &["network", "rm"],
            "remove a Docker-style network",
            "network rm macvlan_net",
        )
    },
];

const ROUTE_OPTS: &[Opt] = &[
    val("via", Ty::Ip),
    val("dev", Ty::Ifname),
    switch("onlink"),
    val(
        "metric",
        Ty::Int {
            min: 0,
            max: u32::MAX as u64,
        },
    ),
    val("table", Ty::Table),
    val("src", Ty::Ip),
];

/// Whether two words are the same. Statement words and keywords are a few bytes long, and a byte
/// loop settles them quicker than a call to memcmp, which binding makes several times a line.
#[inline]
pub fn same_word(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// The statements whose leading words match `words` (longest path first).
pub fn lookup(first: &str, second: Option<&str>) -> Option<&'static Sig> {
    // this runs for every statement twice (check, then run): index the table by first word once
    static BY_FIRST: OnceLock<FxHashMap<&'static str, Vec<&'static Sig>>> = OnceLock::new();
    let index = BY_FIRST.get_or_init(|| {
        let mut m: FxHashMap<&'static str, Vec<&'static Sig>> = FxHashMap::default();
        for sig in TABLE {
            m.entry(sig.path[0]).or_default().push(sig);
        }
        m
    });
    let mut single = None;
    for &sig in index.get(first)? {
        match sig.path {
            [_, sub] if second.is_some_and(|s| same_word(sub, s)) => return Some(sig),
            [_] => single = Some(sig),
            _ => {}
        }
    }
    single
}

/// The subcommands of a two-word statement family (`link` → set, del), empty when `first` has none.
pub fn subcommands(first: &str) -> Vec<&'static str> {
    TABLE
        .iter()
        .filter(|s| s.path.len() == 2 && s.path[0] == first)
        .map(|s| s.path[1])
        .collect()
}

/// Every first word of a statement, plus the language's own keywords.
pub fn statement_words() -> Vec<&'static str> {
    let mut words: Vec<&'static str> = TABLE.iter().map(|s| s.path[0]).collect();
    words.extend(["let", "for", "if", "fn", "in", "transaction", "expect"]);
    words.sort_unstable();
    words.dedup();
    words
}
