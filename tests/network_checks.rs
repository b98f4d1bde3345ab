//! `network create`'s Docker rules found by `--check`, each on the argument at fault, nothing run;
//! `proxy-ndp ... for NETWORK` checked by a dry run against the networks it made.

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

#[test]
fn a_dry_run_checks_proxy_ndp_for_a_network_and_says_what_netsh_does() {
    let net = "network create n driver bridge subnet 10.1.0.0/24 subnet 2003:ab11:0:0:c000::/66 in docker1\n";
    let ok = util::netsh(&[
        "--dry-run",
        "-c",
        &format!("{net}proxy-ndp 2003:ab11:0:0:c000::/66 on eth0 for n in docker1"),
    ]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(
        ok.stdout.contains(
            "# netsh answers neighbour solicitations on eth0 in docker1 for the addresses \
             network n has handed out in 2003:ab11:0:0:c000::/66"
        ),
        "{}",
        ok.stdout
    );
    for (second, at, message) in [
        (
            "proxy-ndp 2003:ab11::/64 on eth0 for m in docker1",
            "m in",
            "network m not found on docker1",
        ),
        (
            "proxy-ndp 2003:ab11:0:0:8000::/66 on eth0 for n in docker1",
            "2003:ab11:0:0:8000::/66",
            "2003:ab11:0:0:8000::/66 is not in the network n (2003:ab11:0:0:c000::/66)",
        ),
        (
            "proxy-ndp 2003:ab11::c000:0:0:5 on eth0 for n in docker1",
            "2003:ab11::c000:0:0:5",
            "`for n` needs a prefix",
        ),
    ] {
        let out = util::netsh(&["--dry-run", "-c", &format!("{net}{second}")]);
        assert_eq!(out.code, 1, "{second}: {}", out.stderr);
        let line = format!("-c:2:{}: {message}", second.find(at).unwrap() + 1);
        assert!(
            out.stderr.contains(&line),
            "missing {line:?} in:\n{}",
            out.stderr
        );
    }
}
