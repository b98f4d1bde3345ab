//! `network create`'s Docker rules found by `--check`, each on the argument at fault, nothing run.

mod util;

fn check(script: &str) -> (i32, String) {
    let out = util::netsh(&["--check", "-c", script]);
    (out.code, out.stderr)
}

#[test]
fn every_bad_argument_is_reported_where_it_stands() {
    let script = "network create n driver macvlan parent eth0.5000 subnet 10.0.0.0/16 subnet 10.0.5.0/24 gateway 10.9.0.1 ip-range 10.1.0.0/24 aux h=10.7.0.1";
    let (code, err) = check(script);
    assert_eq!(code, 2, "{err}");
    let col = |word: &str| script.find(word).unwrap() + 1;
    for (at, text) in [
        ("eth0.5000", "vlan id out of range: 5000"),
        ("10.0.5.0/24", "Pool overlaps with other one"),
        ("10.9.0.1", "the gateway 10.9.0.1 is in none"),
        ("10.1.0.0/24", "the ip-range 10.1.0.0/24 is in none"),
        ("h=10.7.0.1", "the aux address h=10.7.0.1 is in none"),
    ] {
        let line = format!("-c:1:{}: {text}", col(at));
        assert!(err.contains(&line), "missing {line:?} in:\n{err}");
    }
    assert!(err.contains("5 errors found; nothing was run"), "{err}");
}

#[test]
fn a_valid_network_checks_clean() {
    let (code, err) = check(
        "network create n driver macvlan parent eth1.19 subnet 10.10.10.0/24 subnet 2003:ab11::/64 \
         ip-range 10.10.10.128/25 gateway 10.10.10.1 aux h=10.10.10.101 ipv6",
    );
    assert_eq!(code, 0, "{err}");
}
