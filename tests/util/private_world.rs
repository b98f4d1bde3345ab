//! Shell steps in a private network and mount namespace of their own (`unshare`), `ip -j`
//! snapshots of every namespace there, and their comparison (the transaction tests).

use super::Out;
use std::process::Command;

pub const NETSH: &str = env!("CARGO_BIN_EXE_netsh");

/// Shell functions the steps can use: `run` (above), `snap` prints the state of every namespace (links with their
/// details, addresses, routes of all tables, neighbours, proxy entries, the FDB, forwarding sysctls).
const SNAP: &str = r#"
# run NAME CMD...: runs CMD, then prints `--- NAME STATUS` and what CMD printed (both streams)
run() { name=$1; shift; r=$("$@" 2>&1); c=$?; echo "--- $name $c"; printf '%s\n' "$r"; }
# settled CMD...: CMD's output once two readings in a row agree and neither was interrupted. A
# kernel dump that a change interrupts (a link's operational state applied late, after its run) can
# leave entries out; ip(8) then says "Dump was interrupted" (on stderr, read here with stdout).
settled() {
  prev=$("$@" 2>&1); i=0
  while cur=$("$@" 2>&1); { [ "$cur" != "$prev" ] || case "$cur" in *nterrupted*) true ;; *) false ;; esac; } && [ $i -lt 40 ]; do
    prev=$cur; i=$((i + 1)); sleep 0.05
  done
  printf '%s' "$cur"
}
snap() {
  for n in '' $(ip netns list | cut -d' ' -f1 | sort); do
    if [ -z "$n" ]; then x=""; else x="ip netns exec $n"; fi
    echo "== namespace $n"
    settled $x ip -d -j link show; echo
    settled $x ip -j addr show; echo
    $x ip -j route show table all; echo
    $x ip -j -6 route show table all; echo
    $x ip -j neigh show nud permanent; echo
    $x ip -j -6 neigh show proxy; echo
    $x bridge -j fdb show; echo
    $x sysctl -n net.ipv4.ip_forward net.ipv6.conf.all.forwarding
    for f in /proc/sys/net/ipv6/conf/*/proxy_ndp; do [ -e "$f" ] && $x cat "$f"; done
  done
}
"#;

/// The shell functions `run` and `snap`, for a script that a netsh run executes itself.
pub fn snap_functions() -> &'static str {
    SNAP
}

/// Mounts a private /run/netns, /run/netsh, /run/flannel and /var/lib/netsh (the default store)
/// and brings up lo: what a fresh machine's network state looks like.
const FRESH: &str = "set -u\nmount -t tmpfs tmpfs /run/netns\nfor d in /run/netsh /run/flannel /var/lib/netsh; do mkdir -p $d && mount -t tmpfs tmpfs $d; done\nip link set lo up\n";

/// A command that runs the netsh under test, with the arguments added to it, in a fresh private
/// world (the builder's `.private_world()`).
pub fn command() -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "-n", "--propagation", "private", "sh", "-c"])
        .arg(format!("{FRESH}exec \"$NETSH\" \"$@\""))
        .arg("netsh")
        .env("NETSH", NETSH);
    cmd
}

/// A command that runs the shell `steps` in a fresh private world, with `run` and `snap`.
fn steps_command(steps: &str) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "-n", "--propagation", "private", "sh", "-c"])
        .arg(format!("{FRESH}{SNAP}\n{steps}"))
        .env("NETSH", NETSH);
    cmd
}

/// Runs `steps` (sh) in a fresh network and mount namespace with its own /run/netns, /run/netsh,
/// /run/flannel and /var/lib/netsh (the default store). `$NETSH` is the binary under test.
pub fn private(steps: &str) -> Out {
    let out = steps_command(steps).output().expect("unshare runs");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `private`, started and not waited for: a test reads its stdout as it comes (to act when the
/// steps print a line) and its stderr at the end.
pub fn spawn(steps: &str) -> std::process::Child {
    steps_command(steps)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("unshare runs")
}

/// The parts of stdout between `--- NAME` marker lines, by name.
pub fn sections(stdout: &str) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let mut name = String::new();
    for line in stdout.lines() {
        if let Some(n) = line.strip_prefix("--- ") {
            name = n.to_string();
            out.entry(name.clone()).or_insert_with(String::new);
        } else if !name.is_empty() {
            let s = out.entry(name.clone()).or_insert_with(String::new);
            s.push_str(line);
            s.push('\n');
        }
    }
    out
}

/// A snapshot without what differs between two builds of the same state: interface indexes (and
/// the names `ip` makes from them, `if7`), random MACs and the link-local addresses made from them,
/// link-local routes and neighbours, timers.
pub fn normalized(snap: &str) -> String {
    const DROP: &[&str] = &[
        "ifindex",
        "link_index",
        "link",
        "link_netnsid",
        "address",
        "perm_address",
        "broadcast",
        "valid_life_time",
        "preferred_life_time",
        "id",
        "no",
        "designated_root",
        "bridge_id",
        "root_id",
        "hello_timer",
        "tcn_timer",
        "topology_change_timer",
        "gc_timer",
        "forward_delay_timer",
        "message_age_timer",
        "hold_timer",
        "used",
        "updated",
        "ifalias",
        "altnames",
        // offload limits the kernel derives from the links around at creation
        "tso_max_size",
        "tso_max_segs",
        "gso_max_size",
        "gso_max_segs",
        "gro_max_size",
        "gso_ipv4_max_size",
        "gro_ipv4_max_size",
    ];
    fn clean(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for k in DROP {
                    m.remove(*k);
                }
                for (_, x) in m.iter_mut() {
                    clean(x);
                }
            }
            serde_json::Value::Array(a) => {
                a.retain(|x| !kernel_own(x));
                for x in a.iter_mut() {
                    clean(x);
                }
            }
            _ => {}
        }
    }
    snap.lines()
        .map(|l| match serde_json::from_str::<serde_json::Value>(l) {
            Ok(mut v) if l.starts_with('[') || l.starts_with('{') => {
                clean(&mut v);
                canonical(&mut v);
                v.to_string()
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Orders every object's keys and then every array's entries by their text, so that two
/// snapshots of the same state print the same lines (serde_json keeps insertion order here, and
/// removing a field moves the last one into its place; a rebuilt state lists its objects in the
/// order of their new indexes). Run it again after removing fields: the order follows them.
pub fn canonical(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            let mut fields: Vec<(String, serde_json::Value)> =
                std::mem::take(m).into_iter().collect();
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            for (k, mut x) in fields {
                canonical(&mut x);
                m.insert(k, x);
            }
        }
        serde_json::Value::Array(a) => {
            a.iter_mut().for_each(canonical);
            a.sort_by_cached_key(|x| x.to_string());
        }
        _ => {}
    }
}

/// An entry the kernel makes and drops on its own: a link-local address, route or neighbour,
/// a multicast route or FDB entry, and a bridge port's own FDB entry (its random MAC). Only the
/// entry's own fields are read: a link that holds a link-local address is not such an entry
/// (the kernel adds that address a moment after the link's carrier comes up, so testing the whole
/// link made a snapshot lose or keep the link by timing).
fn kernel_own(entry: &serde_json::Value) -> bool {
    let Some(fields) = entry.as_object() else {
        return false;
    };
    let field = |k: &str| fields.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let link_local = ["local", "dst"]
        .iter()
        .any(|k| field(k).starts_with("fe80:") || field(k) == "ff00::/8");
    let multicast_mac = ["33:33:", "01:00:5e"]
        .iter()
        .any(|p| field("mac").starts_with(p));
    let port_entry =
        fields.contains_key("mac") && fields.contains_key("master") && !fields.contains_key("dst");
    link_local || multicast_mac || port_entry
}

/// The first line where two snapshots differ, for a readable failure.
pub fn first_difference(a: &str, b: &str) -> Option<String> {
    let (la, lb): (Vec<_>, Vec<_>) = (a.lines().collect(), b.lines().collect());
    for i in 0..la.len().max(lb.len()) {
        let (x, y) = (la.get(i), lb.get(i));
        if x != y {
            let parse = |l: Option<&&str>| l.and_then(|l| serde_json::from_str(l).ok());
            if let (Some(p), Some(q)) = (parse(x), parse(y)) {
                return Some(format!("line {i}: {}", json_difference(&p, &q, "")));
            }
            return Some(format!("line {i}:\n  before: {x:?}\n  after:  {y:?}"));
        }
    }
    None
}

/// Where two JSON values first differ, as a path and the two values there.
fn json_difference(a: &serde_json::Value, b: &serde_json::Value, path: &str) -> String {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) if w == v => {}
                    Some(w) => return json_difference(v, w, &format!("{path}.{k}")),
                    None => return format!("{path}.{k}: before {v}, after missing"),
                }
            }
            for (k, w) in y {
                if !x.contains_key(k) {
                    return format!("{path}.{k}: before missing, after {w}");
                }
            }
            format!("{path}: equal")
        }
        // links: matched by name, so one that differs is shown as itself
        (Value::Array(x), Value::Array(y))
            if x.len() == y.len() && x.iter().chain(y).all(|e| e.get("ifname").is_some()) =>
        {
            for v in x {
                match y.iter().find(|w| w.get("ifname") == v.get("ifname")) {
                    Some(w) if w == v => {}
                    Some(w) => {
                        return json_difference(v, w, &format!("{path}({})", v["ifname"]));
                    }
                    None => return format!("{path}: {} before, missing after", v["ifname"]),
                }
            }
            format!("{path}: equal")
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                if v != w {
                    let name = v
                        .get("ifname")
                        .or(v.get("dst"))
                        .map(|n| format!("({n})"))
                        .unwrap_or_default();
                    return json_difference(v, w, &format!("{path}[{i}]{name}"));
                }
            }
            format!("{path}: equal")
        }
        (Value::Array(x), Value::Array(y)) => {
            let named = |v: &Vec<Value>| -> Vec<String> {
                v.iter()
                    .map(|e| {
                        e.get("ifname")
                            .or(e.get("dst"))
                            .or(e.get("local"))
                            .map_or_else(|| e.to_string(), |n| n.to_string())
                    })
                    .collect()
            };
            format!(
                "{path}: before {} entries {:?}, after {} entries {:?}",
                x.len(),
                named(x),
                y.len(),
                named(y)
            )
        }
        _ => format!("{path}: before {a}, after {b}"),
    }
}
