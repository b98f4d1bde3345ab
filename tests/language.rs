//! The language itself: variables, lists, ranges, interpolation, loops, conditions, procedures,
//! `source`, `in` contexts. Checked through dry-run output.

mod util;
use util::Netsh;

fn dry(script: &str) -> String {
    Netsh::dry(script).run().code(0).stdout
}

#[test]
fn variables_interpolate_inside_words_and_strings() {
    let out = dry(
        "let i = 7\nlet dev = eth0\naddr add 10.10.10.10$i/24 dev $dev\necho \"host ${i}x on $dev\" 'raw $i'",
    );
    assert_eq!(
        out,
        "ip addr add 10.10.10.107/24 dev eth0\necho 'host 7x on eth0 raw $i'\n"
    );
}

#[test]
fn for_walks_lists_ranges_and_list_variables() {
    let out = dry(
        "let hosts = [docker1, docker2]\nfor h in $hosts { netns add $h }\nfor i in 1..3 { echo $i }\nfor x in [a, 5..6] { echo $x }",
    );
    assert_eq!(
        out,
        "ip netns add docker1\nip netns add docker2\necho 1\necho 2\necho 3\necho a\necho 5\necho 6\n"
    );
}

#[test]
fn lists_may_span_lines_and_lines_may_continue() {
    let out = dry("let hosts = [\n  a,\n  b,\n]\nfor h in $hosts { netns add \\\n  $h }");
    assert_eq!(out, "ip netns add a\nip netns add b\n");
}

#[test]
fn semicolons_and_comments() {
    let out = dry(
        "#!/usr/bin/env netsh\nnetns add a; netns add b # two\necho \"# not a comment\" foo#bar",
    );
    assert_eq!(
        out,
        "ip netns add a\nip netns add b\necho '# not a comment foo#bar'\n"
    );
}

#[test]
fn if_else_and_else_if_with_conditions() {
    let script = "let m = bridge\n\
        if $m == vepa { echo one } else if $m == bridge and not $m == x { echo two } else { echo three }\n\
        if $m != bridge or 1 == 1 { echo four }\n\
        let l = [a, b]\n\
        if $l contains b { echo five }\n\
        if \"abcdef\" contains cd { echo six }\n\
        if \"\" { echo no } else { echo seven }";
    assert_eq!(
        dry(script),
        "echo two\necho four\necho five\necho six\necho seven\n"
    );
}

#[test]
fn exists_sees_what_the_dry_run_made() {
    let script = "if exists link eth1.19 { echo present } else { vlan 19 on eth1 }\n\
        if exists link eth1.19 { echo present } else { vlan 19 on eth1 }\n\
        netns add ns1\nif exists netns ns1 { echo ns }\n\
        addr add 10.0.0.1/24 dev eth0 in ns1\nif exists addr 10.0.0.1 in ns1 { echo addr }\nif exists addr 10.0.0.1 { echo wrong-ns }";
    assert_eq!(
        dry(script),
        "ip link add eth1.19 link eth1 type vlan id 19\necho present\nip netns add ns1\necho ns\nip -n ns1 addr add 10.0.0.1/24 dev eth0\necho addr\n"
    );
}

#[test]
fn procedures_take_parameters_and_a_namespace() {
    let script = "fn host(name, ip) {\n  netns add $name\n  addr add $ip dev eth0 in $name\n}\n\
        host docker1 10.10.10.101/24\n\
        fn up(dev) { link set $dev up }\n\
        up eth0 in docker2";
    assert_eq!(
        dry(script),
        "ip netns add docker1\nip -n docker1 addr add 10.10.10.101/24 dev eth0\nip -n docker2 link set eth0 up\n"
    );
}

#[test]
fn parameters_shadow_globals_and_locals_stay_local() {
    let script =
        "let name = global\nfn f(name) { let inner = $name; echo $name }\nf param\necho $name";
    assert_eq!(dry(script), "echo param\necho global\n");
}

#[test]
fn recursion_with_a_base_case_runs() {
    let script = "fn count(n) {\n  echo $n\n  if $n != 0 { if $n == 3 { count 2 } else if $n == 2 { count 1 } else { count 0 } }\n}\ncount 3";
    assert_eq!(dry(script), "echo 3\necho 2\necho 1\necho 0\n");
}

#[test]
fn procedures_may_call_procedures_defined_later() {
    assert_eq!(dry("fn a() { b }\nfn b() { echo b }\na"), "echo b\n");
}

#[test]
fn a_user_procedure_may_shadow_a_statement() {
    // LANGUAGE.md's example defines `fn host(name, ip)`; after the definition, `host` calls it.
    let script = "fn host(name, ip) { netns add $name }\nhost docker1 10.10.10.101/24";
    assert_eq!(dry(script), "ip netns add docker1\n");
}

#[test]
fn in_blocks_nest_and_a_trailing_in_wins() {
    let script = "in docker1 {\n  link set eth0 up\n  in docker2 { link set eth1 up }\n  link set eth2 up in docker3\n}\nlink set eth3 up";
    assert_eq!(
        dry(script),
        "ip -n docker1 link set eth0 up\nip -n docker2 link set eth1 up\nip -n docker3 link set eth2 up\nip link set eth3 up\n"
    );
}

#[test]
fn macvlan_parent_is_found_where_the_statement_starts() {
    let out = dry("in docker1 { macvlan bridge on eth0 in web1 }");
    assert_eq!(
        out,
        // made on its parent's side and placed in web1 by the same request
        "ip -n docker1 link add macvlan1 link eth0 netns web1 type macvlan mode bridge\n"
    );
}

#[test]
fn transaction_blocks_run_their_statements() {
    assert_eq!(
        dry("transaction {\n  netns add a\n  netns add b\n}"),
        "ip netns add a\nip netns add b\n"
    );
}

#[test]
fn source_runs_another_file_relative_to_the_sourcing_one() {
    let out = Netsh::dry("source lib/common.netsh\nmkhost docker1\necho $greeting")
        .file(
            "lib/common.netsh",
            "let greeting = hi\nfn mkhost(n) { netns add $n }\nsource more.netsh",
        )
        .file("lib/more.netsh", "echo more")
        .run()
        .code(0);
    assert_eq!(out.stdout, "echo more\nip netns add docker1\necho hi\n");
}

#[test]
fn sourced_files_are_checked_too() {
    Netsh::dry("source bad.netsh")
        .file("bad.netsh", "echo ok\nvlan 5000 on eth1")
        .run()
        .code(2)
        .stderr_has("bad.netsh:2:6: VLAN id 5000 is out of range");
}

#[test]
fn a_file_sourced_through_a_variable_is_checked_before_any_of_it_runs() {
    let out = Netsh::dry("let lib = bad\nnetns add first\nsource $lib.netsh")
        .file("bad.netsh", "netns add second\nvlan 5000 on eth1")
        .run()
        // a run-time failure of `source` (its path is known only when it runs): rolled back, exit 1
        .code(1)
        .stderr_has("bad.netsh:2:6: VLAN id 5000 is out of range");
    // the script's own statement ran; nothing of the sourced file did
    assert_eq!(out.stdout, "ip netns add first\n");
    Netsh::dry("let lib = good\nlet n = 3\nfn mk(x) { netns add $x }\nsource $lib.netsh")
        .file("good.netsh", "mk ns$n")
        .run()
        .code(0)
        .stdout_is("ip netns add ns3\n");
}

#[test]
fn a_source_cycle_is_reported() {
    Netsh::dry("source a.netsh")
        .file("a.netsh", "source b.netsh")
        .file("b.netsh", "source a.netsh")
        .run()
        .code(2)
        .stderr_has("netsh::check::source_cycle");
}

#[test]
fn script_arguments_and_environment() {
    let out = Netsh::dry("echo $1 $2 $#\nfor a in $@ { echo \"arg $a\" }\necho $NETSH_TEST_VAR")
        .script_args(["docker1", "10.10.10.101/24"])
        .env("NETSH_TEST_VAR", "from-env")
        .run()
        .code(0);
    assert_eq!(
        out.stdout,
        "echo 'docker1 10.10.10.101/24 2'\necho 'arg docker1'\necho 'arg 10.10.10.101/24'\necho from-env\n"
    );
}

#[test]
fn a_word_is_typed_when_its_variables_are_known() {
    let out = Netsh::dry("let i = 300\necho before\naddr add 10.0.0.$i/24 dev eth0")
        .run()
        .code(1);
    assert_eq!(out.stdout, "echo before\n");
    out.stderr_has("`10.0.0.300/24` is not an address/prefix-length")
        .stderr_has("expanded to `10.0.0.300/24`");
}

#[test]
fn a_list_variable_cannot_fill_a_single_argument() {
    Netsh::dry("let l = [a, b]\nnetns add $l")
        .run()
        .code(1)
        .stderr_has("netsh::check::list_not_allowed");
}

#[test]
fn deep_recursion_stops_with_a_diagnostic() {
    let script = "fn f(n) { if $n == x { echo never } else { f $n } }\nf 1";
    Netsh::dry(script)
        .run()
        .code(1)
        .stderr_has("netsh::run::recursion_limit");
}

#[test]
fn expect_fails_with_what_was_found() {
    // A real run would evaluate the expectation; the dry run prints it. Here the condition is plain
    // data, so the check pass and a dry run agree on its meaning.
    let out = dry("let out = \"Web Server #1\"\nexpect $out contains \"#2\"");
    assert_eq!(out, "# expect $out contains \"#2\"\n");
}

#[test]
fn exists_in_a_file_sourced_through_a_variable_sees_what_the_dry_run_made() {
    // the check pass cannot see into this file, so the dry run keeps its model of what it made
    let dir = tempfile::tempdir().expect("a temporary directory");
    let probe = dir.path().join("probe.netsh");
    std::fs::write(
        &probe,
        "if exists netns ns1 { echo seen } else { echo unseen }\n",
    )
    .expect("the sourced file is written");
    let script = format!("netns add ns1\nlet f = \"{}\"\nsource $f", probe.display());
    assert_eq!(dry(&script), "ip netns add ns1\necho seen\n");
}

#[test]
fn malformed_descending_and_huge_ranges_are_check_errors_not_words() {
    for (script, code, says) in [
        (
            "for n in 1...3 { netns add ns$n }",
            "netsh::check::bad_value",
            "`1...3` is not a range",
        ),
        (
            "for n in 3..1 { netns add ns$n }",
            "netsh::check::bad_value",
            "`3..1` counts down",
        ),
        (
            "let l = [a, 1..]",
            "netsh::check::bad_value",
            "`1..` is not a range",
        ),
        (
            "for i in 1..1000002 { echo $i }",
            "netsh::check::too_large",
            "holds 1000002 numbers",
        ),
    ] {
        Netsh::dry(script)
            .run()
            .code(2)
            .stderr_has(code)
            .stderr_has(says);
    }
    // words that do not start like a range stay words
    dry("for p in ../lib a..b { echo $p }");
}

#[test]
fn a_range_known_only_at_run_time_is_checked_when_walked() {
    Netsh::dry("let n = 0\nfor i in 1..$n { netns add ns$i }")
        .run()
        .code(1)
        .stderr_has(":2:10: `1..0` counts down")
        .stdout_is("");
}

#[test]
fn a_list_or_word_doubled_in_a_loop_stops_with_a_located_error() {
    Netsh::dry("let x = [a]\nfor i in 1..40 { let x = [$x, $x] }")
        .run()
        .code(1)
        .stderr_has("netsh::check::too_large")
        .stderr_has(":2:26: this list grows past 1000000 items");
    Netsh::dry("let x = a\nfor i in 1..40 { let x = \"$x$x\" }")
        .run()
        .code(1)
        .stderr_has(":2:26: this word grows to");
}

#[test]
fn a_byte_order_mark_at_the_start_is_skipped() {
    Netsh::new()
        .arg("--dry-run")
        .script(b"\xEF\xBB\xBFnetns add a\nvlan 5000 on eth1\n")
        .run()
        .code(2)
        // columns count from the first character after the mark
        .stderr_has("main.netsh:2:6: VLAN id 5000 is out of range");
    Netsh::new()
        .arg("--dry-run")
        .script(b"\xEF\xBB\xBFnetns add a\n")
        .run()
        .code(0)
        .stdout_is("ip netns add a\n");
}

#[test]
fn binary_input_is_located_by_line_and_column() {
    Netsh::new()
        .arg("--check")
        .script(b"netns add a\necho h\xC3\xA9\xFF\n")
        .run()
        .code(2)
        .stderr_has("main.netsh:2:8: the script is not UTF-8 text (invalid byte at offset 20)");
    Netsh::dry("source bin.netsh")
        .file("bin.netsh", b"echo a\n\xFF")
        .run()
        .code(2)
        .stderr_has("invalid byte at line 2, column 1, byte offset 7");
}

#[test]
fn source_reads_regular_files_only() {
    Netsh::dry("source /dev/zero")
        .run()
        .code(2)
        .stderr_has("netsh::check::source_not_found")
        .stderr_has("`/dev/zero` is not a regular file");
    // a path known only at run time: the run stops there and nothing after it runs
    Netsh::dry("netns add a\nlet d = /dev\nsource $d/zero\nnetns add b")
        .run()
        .code(1)
        .stderr_has("`/dev/zero` is not a regular file")
        .stdout_is("ip netns add a\n");
}

#[test]
fn a_bare_address_names_the_prefix_to_write() {
    Netsh::dry("addr add 10.0.0.1 dev v1")
        .run()
        .code(2)
        .stderr_has("`10.0.0.1` has no prefix length")
        .stderr_has("write 10.0.0.1/32 for a single address")
        .stdout_is("");
    Netsh::dry("addr add 2001:db8::1 dev v1")
        .run()
        .code(2)
        .stderr_has("write 2001:db8::1/128 for a single address");
    // an explicit host prefix is what the bare address used to mean
    assert_eq!(
        dry("addr add 10.0.0.1/32 dev v1"),
        "ip addr add 10.0.0.1/32 dev v1\n"
    );
}

#[test]
fn mixed_route_families_and_empty_sysctls_fail_the_check() {
    Netsh::dry("netns add a\nroute add 2001:db8::/64 via 10.0.0.1")
        .run()
        .code(2)
        .stderr_has("the gateway `10.0.0.1` is IPv4 but the destination `2001:db8::/64` is IPv6")
        .stdout_is("");
    Netsh::dry("netns add a\nsysctl net.ipv4.ip_forward =")
        .run()
        .code(2)
        .stderr_has("`sysctl KEY =` needs a value")
        .stdout_is("");
    // a variable decides at run time; the check lets it through
    assert_eq!(
        dry("let gw = 10.0.0.1\nroute add 10.1.0.0/16 via $gw"),
        "ip route add 10.1.0.0/16 via 10.0.0.1\n"
    );
}

#[test]
fn a_url_keeps_its_brackets() {
    let script = "expect http http://[2001:db8::1]:8080/x from a contains hi";
    assert_eq!(
        dry(script),
        "ip netns exec a curl -sf -m 3 'http://[2001:db8::1]:8080/x' | grep -qF hi || exit 1\n"
    );
    Netsh::new().arg("--check").script(script).run().code(0);
    // lists elsewhere are lists still, also next to a URL
    assert_eq!(
        dry("for u in [http://[::1]/, http://10.0.0.1/] { echo $u }"),
        "echo 'http://[::1]/'\necho http://10.0.0.1/\n"
    );
}

#[test]
fn mistyped_words_get_plain_messages_and_suggestions() {
    for (script, says) in [
        ("show linsk", "`linsk` is not a thing to show"),
        ("show linsk", "did you mean `links`?"),
        ("if exists linsk x { echo a }", "did you mean `link`?"),
        ("macvlan brige on eth0", "did you mean `bridge`?"),
        ("link set v1 mtuu 1400", "did you mean `mtu`?"),
        ("netns ad x", "did you mean `add`?"),
        ("lnk set v1 up", "did you mean `link`?"),
    ] {
        let out = Netsh::new().arg("--check").script(script).run().code(2);
        assert!(!out.stderr.contains("a what"), "{script}: {}", out.stderr);
        out.stderr_has(says);
    }
}
