//! The check pass's tape of typed lines: a script runs the same from it as parsed again in full.
//! (A run-time failure on a taped line points at its argument as before: runtime_networks.rs
//! `host_dependent_errors_point_at_the_argument_responsible` runs such lines for real.)

use netsh::app::fuzzing::dry_runs;

fn same(text: &str) {
    let (taped, untaped) = dry_runs(text).expect("the script checks");
    assert_eq!(taped, untaped, "for {text:?}");
}

#[test]
fn plain_lines_among_blocks_loops_and_variables_run_as_without_the_tape() {
    same(
        "netns add a   # a comment\n\
         \n\
         let n = 3\n\
         veth v1 peer p1 peer-in a\n\
         \tlink set v1 up mtu 1450  \r\n\
         in a { addr add 10.0.0.1/24 dev p1; link set p1 up }\n\
         addr add 10.0.0.2/24 dev v1; route add 10.1.0.0/16 via 10.0.0.1 dev v1\n\
         for i in 1..$n {\n\
           netns add h$i\n\
         }\n\
         echo \"done with $n\"\n\
         macvlan bridge on eth0 name m1 in a\n\
         sysctl net.ipv4.conf.v1.forwarding = 1\n\
         neigh add 10.0.0.9 lladdr 02:42:ac:11:00:02 dev v1 permanent\n\
         addr add 2003:ab11::8/64 dev v1 nodad\n\
         route add default via 10.0.0.1\n\
         fdb add 02:42:ac:11:00:02 dev v1 dst 10.10.10.102\n\
         link del v1",
    );
}

#[test]
fn a_procedure_named_like_a_statement_is_called_where_it_is_defined() {
    // the first `wait` is the statement, the second the procedure defined in between
    let script = "netns add a\n\
                  wait\n\
                  fn wait() { echo \"proc wait\" }\n\
                  wait\n\
                  netns add b\n";
    same(script);
    let (taped, _) = dry_runs(script).expect("the script checks");
    assert_eq!(
        taped,
        "ip netns add a\nwait  # netsh: until Ctrl-C, keeping services running\n\
         echo 'proc wait'\nip netns add b\nok"
    );
}

#[test]
fn a_procedure_from_a_file_sourced_through_a_variable_is_called_from_a_plain_line() {
    // the check pass cannot see this file, so it puts `wait` on the tape as the statement
    let dir = tempfile::tempdir().expect("a temporary directory");
    let defs = dir.path().join("defs.netsh");
    std::fs::write(&defs, "fn wait() { echo \"proc wait\" }\n").expect("the file is written");
    let script = format!(
        "let f = \"{}\"\nsource $f\nwait\nnetns add b\n",
        defs.display()
    );
    same(&script);
    let (taped, _) = dry_runs(&script).expect("the script checks");
    assert_eq!(taped, "echo 'proc wait'\nip netns add b\nok");
}

#[test]
fn every_form_of_the_bench_script_runs_from_the_tape_as_parsed() {
    let forms = [
        "netns add ns1",
        "veth v1 peer p1 peer-in ns1",
        "addr add 10.0.1.1/24 dev v1",
        "link set v1 up mtu 1450",
        "route add 10.0.1.0/24 via 10.0.0.1 dev v1 metric 10",
        "macvlan bridge on eth0 name m1 in ns1",
        "sysctl net.ipv4.conf.v1.forwarding = 1",
        "neigh add 10.0.1.2 lladdr 02:42:ac:11:00:02 dev v1 permanent",
        "addr add 2003:ab11::1:2/64 dev v1 nodad",
        "fdb add 02:42:ac:11:00:02 dev v1 dst 10.10.10.102",
    ];
    same(&forms.join("\n"));
}
