//! `dump`: build a lab, dump it, tear it down, run the dump, and compare every namespace's state
//! through `ip -j` (in a private network namespace, see util::private_world).

mod util;

use util::private_world::{first_difference, normalized, private, sections};

fn round_trip(lab: &str) {
    let out = private(&format!(
        "run build $NETSH {lab}; sleep 2; snap
$NETSH -c dump > /tmp/netsh-dump-$$.netsh; echo \"--- dump $?\"; cat /tmp/netsh-dump-$$.netsh
run down $NETSH down {lab}; snap
run rebuild $NETSH /tmp/netsh-dump-$$.netsh
# carrier reaches a veth peer asynchronously (linkwatch): let it settle as the lab did during its checks
sleep 2; snap
run again $NETSH /tmp/netsh-dump-$$.netsh
rm -f /tmp/netsh-dump-$$.netsh"
    ));
    let s = sections(&out.stdout);
    let get = |k: &str| {
        s.get(k)
            .unwrap_or_else(|| {
                panic!(
                    "no {k:?} in {:?}\n{}\n{}",
                    s.keys().collect::<Vec<_>>(),
                    out.stdout,
                    out.stderr
                )
            })
            .clone()
    };
    let state = |t: String| {
        t.lines()
            .skip_while(|l| !l.starts_with("== namespace"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let built = state(get("build 0"));
    let dump = get("dump 0");
    assert!(dump.starts_with("# netsh dump"), "{dump}");
    let down = get("down 0");
    assert!(
        !down.contains("netns add") && down.contains("== namespace"),
        "{down}"
    );
    let rebuilt = state(get("rebuild 0"));
    if let Some(d) = first_difference(&normalized(&built), &normalized(&rebuilt)) {
        panic!("the dump did not rebuild the lab: first difference at {d}\n\ndump:\n{dump}");
    }
    assert!(
        get("again 0").contains("netsh: 0 changes"),
        "a dump re-run changes nothing"
    );
}

#[test]
fn the_test_lab_rebuilds_from_its_dump() {
    requires!(Root);
    round_trip(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/txn/lab.netsh"));
}

#[test]
fn the_quickstart_lab_rebuilds_from_its_dump() {
    requires!(Root);
    round_trip(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/quickstart.netsh"
    ));
}

#[test]
fn dump_in_a_namespace_covers_that_namespace_alone() {
    requires!(Root);
    let out = private(
        "$NETSH -c 'netns add d1; netns add d2; bridge x0 in d1; addr add 10.5.0.1/24 dev x0 in d1; link set x0 up in d1; bridge y0 in d2' 2>/dev/null
run dump $NETSH -c 'dump in d1'",
    );
    let s = sections(&out.stdout);
    let d = s
        .get("dump 0")
        .unwrap_or_else(|| panic!("{}{}", out.stdout, out.stderr));
    assert!(d.contains("bridge x0 in d1\n"), "{d}");
    assert!(d.contains("addr add 10.5.0.1/24 dev x0 in d1\n"), "{d}");
    assert!(!d.contains("y0") && !d.contains("netns add"), "{d}");
}
