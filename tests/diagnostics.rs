//! One test per kind of error: the code, the line:column, and exactly which text the span covers.
//! Every such script exits 2 and prints nothing on stdout (nothing ran).

mod util;
use util::errors_of;

macro_rules! diag {
    ($name:ident, $script:expr, $code:expr, $loc:expr, $spanned:expr) => {
        #[test]
        fn $name() {
            let (status, diags) = errors_of($script);
            assert_eq!(status, 2, "exit status for {:?}: {diags:?}", $script);
            let want = (
                format!("netsh::{}", $code),
                $loc.to_string(),
                $spanned.to_string(),
            );
            assert!(diags.contains(&want), "expected {want:?} among {diags:?}");
        }
    };
}

diag!(syntax, "let x 5", "parse::syntax", "1:7", "5");
diag!(
    syntax_in_fn_params,
    "fn f(a b) { }",
    "parse::syntax",
    "1:8",
    "b"
);
diag!(
    stray_else,
    "if x { echo a }\nelse { echo b }",
    "parse::syntax",
    "2:1",
    "else"
);
diag!(
    unterminated_string,
    "echo ok\necho \"abc",
    "parse::unterminated_string",
    "2:6",
    "\""
);
diag!(
    unterminated_block,
    "in ns1 {\n  netns add a\n",
    "parse::unterminated_block",
    "1:8",
    "{"
);
diag!(
    unexpected_close,
    "netns add a }",
    "parse::unexpected_close",
    "1:13",
    "}"
);
diag!(
    unknown_statement,
    "macvlam bridge on eth0",
    "check::unknown_statement",
    "1:1",
    "macvlam"
);
diag!(
    unknown_subcommand,
    "link sett eth0 up",
    "check::unknown_subcommand",
    "1:6",
    "sett"
);
diag!(
    missing_argument,
    "veth v1 peer",
    "check::missing_argument",
    "1:9",
    "peer"
);
diag!(
    missing_required_keyword,
    "macvlan bridge",
    "check::missing_argument",
    "1:15",
    ""
);
diag!(
    unexpected_argument,
    "bridge br0 stp",
    "check::unexpected_argument",
    "1:12",
    "stp"
);
diag!(
    duplicate_argument,
    "macvlan on eth0 on eth1",
    "check::duplicate_argument",
    "1:17",
    "on"
);
diag!(
    conflicting_arguments,
    "link set eth0 master br0 nomaster",
    "check::conflicting_arguments",
    "1:26",
    "nomaster"
);
diag!(
    list_not_allowed,
    "netns add [a, b]",
    "check::list_not_allowed",
    "1:11",
    "[a, b]"
);
diag!(
    bad_cidr,
    "addr add 10.0.0.300/24 dev eth0",
    "check::bad_cidr",
    "1:10",
    "10.0.0.300/24"
);
diag!(
    bad_cidr_length,
    "addr add 10.0.0.1/33 dev eth0",
    "check::bad_cidr",
    "1:10",
    "10.0.0.1/33"
);
diag!(
    bad_prefix,
    "route add 10.1.1.1/24 via 10.0.0.1",
    "check::bad_prefix",
    "1:11",
    "10.1.1.1/24"
);
diag!(
    bad_address,
    "route add default via 10.0.0.256",
    "check::bad_address",
    "1:23",
    "10.0.0.256"
);
diag!(
    bad_mac,
    "neigh add 10.0.0.1 lladdr 02:42:zz:00:00:01 dev eth0",
    "check::bad_mac",
    "1:27",
    "02:42:zz:00:00:01"
);
diag!(
    bad_vlan_id,
    "vlan 4095 on eth1",
    "check::bad_vlan_id",
    "1:6",
    "4095"
);
diag!(
    bad_vlan_id_zero,
    "vlan 0 on eth1",
    "check::bad_vlan_id",
    "1:6",
    "0"
);
diag!(
    bad_vni,
    "vxlan vx1 vni 16777216",
    "check::bad_vni",
    "1:15",
    "16777216"
);
diag!(
    bad_port,
    "vxlan vx1 vni 1 port 70000",
    "check::bad_port",
    "1:22",
    "70000"
);
diag!(
    bad_number,
    "link set eth0 mtu 9x",
    "check::bad_number",
    "1:19",
    "9x"
);
diag!(
    bad_choice_mode,
    "macvlan on eth0 name m1 mode x",
    "check::unexpected_argument",
    "1:25",
    "mode"
);
diag!(
    bad_choice_value,
    "show lnks",
    "check::bad_choice",
    "1:6",
    "lnks"
);
diag!(
    bad_choice_backend,
    "network config 10.100.0.0/16 backend vxlna",
    "check::bad_choice",
    "1:38",
    "vxlna"
);
diag!(
    bad_name,
    "bridge averyveryverylongname",
    "check::bad_name",
    "1:8",
    "averyveryverylongname"
);
diag!(
    bad_json,
    "network config '{\"Network\": }'",
    "check::bad_json",
    // inside the JSON, at the character serde_json stopped at
    "1:29",
    "}"
);
diag!(
    bad_value_url,
    "expect http 10.0.0.1 contains ok",
    "check::bad_value",
    "1:13",
    "10.0.0.1"
);
diag!(
    unknown_variable,
    "let net = 10.0.0.0/8\nroute add $nte via 10.0.0.1",
    "check::unknown_variable",
    "2:11",
    "$nte"
);
diag!(
    unknown_variable_braced,
    "echo \"${missing}\"",
    "check::unknown_variable",
    "1:7",
    "${missing}"
);
diag!(
    missing_script_argument,
    "echo $2",
    "check::unknown_variable",
    "1:6",
    "$2"
);
diag!(
    duplicate_procedure,
    "fn f() { echo a }\nfn f() { echo b }",
    "check::duplicate_procedure",
    "2:4",
    "f"
);
diag!(
    wrong_arity,
    "fn host(name, ip) { netns add $name }\nhost docker1",
    "check::wrong_arity",
    "2:1",
    "host"
);
diag!(
    endless_recursion,
    "fn f(n) { echo $n; f $n }",
    "check::endless_recursion",
    "1:20",
    "f"
);
diag!(
    endless_mutual_recursion,
    "fn a() { b }\nfn b() { a }",
    "check::endless_recursion",
    "2:10",
    "a"
);
diag!(
    call_before_definition,
    "greet\nfn greet() { echo hi }",
    "check::unknown_statement",
    "1:1",
    "greet"
);
diag!(
    source_not_found,
    "source no/such/file.netsh",
    "check::source_not_found",
    "1:8",
    "no/such/file.netsh"
);
diag!(
    block_required,
    "in docker1",
    "check::block_required",
    "1:1",
    "in docker1"
);
diag!(
    exists_kind,
    "if exists bridge br0 { echo }",
    "check::bad_choice",
    "1:11",
    "bridge"
);
diag!(
    fn_in_block,
    "in a { fn f() { echo } }",
    "parse::syntax",
    "1:11",
    "f"
);

#[test]
fn every_error_of_a_file_is_reported_in_one_run() {
    let (status, diags) = errors_of(
        "macvlan brige on eth0\naddr add 10.0.0.300/24 dev eth0\nvlan 5000 on eth1\necho \"$nope\"\nveth\n",
    );
    assert_eq!(status, 2);
    let codes: Vec<&str> = diags.iter().map(|d| d.0.as_str()).collect();
    assert_eq!(
        codes,
        [
            "netsh::check::unexpected_argument",
            "netsh::check::bad_cidr",
            "netsh::check::bad_vlan_id",
            "netsh::check::unknown_variable",
            "netsh::check::missing_argument",
            "netsh::check::missing_argument"
        ]
    );
}

#[test]
fn recursion_with_a_base_case_is_fine() {
    let (status, diags) = errors_of("fn down(n) { if $n != 0 { down 0 } }\ndown 3");
    assert_eq!((status, diags), (0, vec![]));
}

#[test]
fn help_text_names_the_alternatives() {
    let out = util::Netsh::new()
        .args(["--check", "-c", "macvlan brige on eth0\nforwarding maybe"])
        .run()
        .code(2);
    let plain: String = out.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(plain.contains("did you mean `bridge`?"), "{plain}");
    assert!(plain.contains("vepa|bridge|private|passthru"), "{plain}");
    assert!(plain.contains("a state is one of on, off"), "{plain}");
}

// a bare address used to mean /32 or /128 silently
diag!(
    addr_add_needs_a_prefix,
    "addr add 10.0.0.1 dev v1",
    "check::bad_cidr",
    "1:10",
    "10.0.0.1"
);
diag!(
    addr_add_v6_needs_a_prefix,
    "netns add a\naddr add 2001:db8::1 dev v1 in a",
    "check::bad_cidr",
    "2:10",
    "2001:db8::1"
);
// what the literals decide fails before anything runs, not halfway through
diag!(
    route_v6_via_v4_gateway,
    "netns add a\nroute add 2001:db8::/64 via 10.0.0.1 dev v1",
    "check::bad_address",
    "2:29",
    "10.0.0.1"
);
diag!(
    route_v4_via_v6_gateway,
    "route replace 10.0.0.0/8 via 2001:db8::1",
    "check::bad_address",
    "1:30",
    "2001:db8::1"
);
diag!(
    sysctl_equals_without_value,
    "netns add a\nsysctl net.ipv4.ip_forward =",
    "check::missing_argument",
    "2:28",
    "="
);
diag!(
    show_unknown_thing,
    "show linsk",
    "check::bad_choice",
    "1:6",
    "linsk"
);

#[test]
fn iproute2_commands_are_answered_with_the_netsh_statement() {
    let out = util::Netsh::new()
        .args([
            "--check",
            "-c",
            "ip link show\nlink add v1 type veth peer name v2",
        ])
        .run()
        .code(2);
    let plain: String = out.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        plain.contains("netsh writes this as `show links`"),
        "{plain}"
    );
    assert!(
        plain.contains("netsh writes this as `veth v1 peer v2`"),
        "{plain}"
    );
}
