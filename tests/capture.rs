//! `capture`: packets of a lab link recorded while the script goes on, to pcap (read back with
//! `tcpdump -r`) or one line per packet; bad input is a located error that starts nothing; a capture
//! ends with its script, also when the script is stopped by a signal or killed. Every run is in
//! `--sandbox`.

mod util;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use util::Netsh;

/// Two namespaces joined by a veth (eth0 on both sides).
const PAIR: &str = "netns add a
netns add b
sysctl net.ipv6.conf.all.disable_ipv6 = 1 in a
sysctl net.ipv6.conf.default.disable_ipv6 = 1 in a
sysctl net.ipv6.conf.all.disable_ipv6 = 1 in b
sysctl net.ipv6.conf.default.disable_ipv6 = 1 in b
veth eth0 peer eth0 in a peer-in b
addr add 10.1.1.1/24 dev eth0 in a
addr add 10.1.1.2/24 dev eth0 in b
link set eth0 up in a
link set eth0 up in b
expect reach 10.1.1.2 from a
";

/// The VXLAN lab: the veth carries VNI 1 on UDP 8472 between 192.168.0.1 and .2; vx1 holds the
/// overlay's addresses, 10.100.93.2 in a and 10.100.5.2 in b. Both labs wait until the other side
/// answers, so that the captures after them see the ping's packets and no neighbour discovery;
/// IPv6 is off in both labs, so no multicast listener report or solicitation comes in between.
const VXLAN: &str = "netns add a
netns add b
sysctl net.ipv6.conf.all.disable_ipv6 = 1 in a
sysctl net.ipv6.conf.default.disable_ipv6 = 1 in a
sysctl net.ipv6.conf.all.disable_ipv6 = 1 in b
sysctl net.ipv6.conf.default.disable_ipv6 = 1 in b
veth eth0 peer eth0 in a peer-in b
addr add 192.168.0.1/24 dev eth0 in a
addr add 192.168.0.2/24 dev eth0 in b
link set eth0 up in a
link set eth0 up in b
vxlan vx1 vni 1 port 8472 dev eth0 local 192.168.0.1 remote 192.168.0.2 in a
vxlan vx1 vni 1 port 8472 dev eth0 local 192.168.0.2 remote 192.168.0.1 in b
addr add 10.100.93.2/16 dev vx1 in a
addr add 10.100.5.2/16 dev vx1 in b
link set vx1 up in a
link set vx1 up in b
expect reach 10.100.5.2 from a
";

/// `tcpdump -n -r FILE ARGS...`: its packet lines; a file tcpdump cannot read fails the test.
fn tcpdump_read(file: &Path, args: &[&str]) -> Vec<String> {
    let out = Command::new("tcpdump")
        .arg("-n")
        .arg("-r")
        .arg(file)
        .args(args)
        .output()
        .expect("tcpdump runs (scripts/setup installs it)");
    assert!(
        out.status.success(),
        "tcpdump -r {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_capture_of_four_packets_holds_four_packets_of_the_ping_that_follows() {
    let keep = tempfile::tempdir().expect("a temp dir");
    let dir = keep.path();
    let out = Netsh::new()
        .sandbox()
        .script(format!(
            "{PAIR}capture eth0 in a count 4 to {0}/a.pcap
capture eth0 in a filter icmp count 4 to {0}/icmp.pcap
ping 10.1.1.2 from a count 3
",
            dir.display()
        ))
        .run()
        .ok();
    assert_eq!(
        tcpdump_read(&dir.join("a.pcap"), &[]).len(),
        4,
        "{}",
        out.stderr
    );
    let icmp = tcpdump_read(&dir.join("icmp.pcap"), &[]);
    assert_eq!(icmp.len(), 4, "{icmp:?}");
    let requests = icmp
        .iter()
        .filter(|l| l.contains("10.1.1.1 > 10.1.1.2: ICMP echo request"))
        .count();
    let replies = icmp
        .iter()
        .filter(|l| l.contains("10.1.1.2 > 10.1.1.1: ICMP echo reply"))
        .count();
    assert_eq!((requests, replies), (2, 2), "{icmp:?}");
    assert!(
        out.stderr.contains(&format!(
            "netsh: capture on eth0 in a: 4 packets to {}/icmp.pcap",
            dir.display()
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn a_capture_across_vxlan_holds_the_outer_udp_with_vni_1_and_the_inner_icmp() {
    let keep = tempfile::tempdir().expect("a temp dir");
    let dir = keep.path();
    let out = Netsh::new()
        .sandbox()
        .script(format!(
            "{VXLAN}capture eth0 in a filter \"udp port 8472\" to {}/vx.pcap
capture eth0 in a filter \"udp port 8472\"
ping 10.100.5.2 from a count 2
",
            dir.display()
        ))
        .run()
        .ok();
    // on stdout: outer → inner
    for line in [
        "192.168.0.1:",
        " > 192.168.0.2:8472 UDP VXLAN vni 1 → 10.100.93.2 > 10.100.5.2 ICMP echo request",
    ] {
        assert!(
            out.stdout.contains(line),
            "stdout lacks {line:?}:\n{}",
            out.stdout
        );
    }
    assert!(
        out.stdout.lines().any(|l| l.starts_with("192.168.0.2:")
            && l.ends_with("UDP VXLAN vni 1 → 10.100.5.2 > 10.100.93.2 ICMP echo reply")),
        "{}",
        out.stdout
    );
    // in the file, as tcpdump reads it: UDP to 8472 decoded as VXLAN, VNI 1, the ICMP inside
    let lines = tcpdump_read(&dir.join("vx.pcap"), &["-T", "vxlan"]);
    let text = lines.join("\n");
    assert!(
        // tcpdump writes the inner packet on a line of its own, without a time
        lines
            .iter()
            .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
            .all(|l| l.contains(".8472: VXLAN")),
        "a packet not on UDP 8472 got through the filter:\n{text}"
    );
    assert!(text.contains("VXLAN, flags [I] (0x08), vni 1"), "{text}");
    assert!(
        text.contains("10.100.93.2 > 10.100.5.2: ICMP echo request"),
        "{text}"
    );
    assert!(
        text.contains("10.100.5.2 > 10.100.93.2: ICMP echo reply"),
        "{text}"
    );
}

#[test]
fn with_json_each_packet_is_an_object_with_the_tunnel_and_the_packet_inside() {
    let out = Netsh::new()
        .sandbox()
        .arg("--json")
        .script(format!(
            "{VXLAN}capture eth0 in a filter \"udp port 8472\" count 1\nping 10.100.5.2 from a count 1\n"
        ))
        .run()
        .ok();
    let packets: Vec<_> = out
        .json()
        .into_iter()
        .filter(|v| v["capture"] == "eth0")
        .collect();
    assert_eq!(packets.len(), 1, "{}", out.stdout);
    let p = &packets[0];
    assert_eq!(p["ns"], "a");
    assert_eq!(p["proto"], "udp");
    assert!(p["dport"] == 8472 || p["sport"] == 8472, "{p}");
    assert_eq!(p["vni"], 1);
    assert_eq!(p["inner"]["network"], "ip");
    assert!(p["len"].as_u64().is_some_and(|n| n > 50), "{p}");
}

#[test]
fn a_dry_run_shows_the_tcpdump_command() {
    Netsh::dry("capture eth0 in a count 4 to a.pcap\ncapture vx1 for 2 filter 'udp port 8472 and host 10.1.1.2'\n")
        .run()
        .ok()
        .stdout_is(
            "ip netns exec a tcpdump -i eth0 -c 4 -w a.pcap &\ntimeout 2 tcpdump -n -l -i vx1 'udp port 8472 and host 10.1.1.2' &\n",
        );
}

#[test]
fn a_filter_that_does_not_parse_is_a_check_error_at_its_word() {
    let (code, errors) = util::errors_of("capture eth0 filter \"udp port 8472 and hots 10.1.1.2\"");
    assert_eq!(code, 2);
    assert_eq!(errors.len(), 1, "{errors:?}");
    let (code, at, text) = &errors[0];
    assert_eq!(code, "netsh::check::bad_value");
    // the word `hots`, inside the quoted filter
    assert_eq!((at.as_str(), text.as_str()), ("1:40", "h"), "{errors:?}");
}

#[test]
fn a_missing_interface_is_a_located_error_and_leaves_no_file() {
    let keep = tempfile::tempdir().expect("a temp dir");
    let file = keep.path().join("x.pcap");
    Netsh::new()
        .sandbox()
        .script(format!(
            "netns add a\ncapture eth9 in a to {}\n",
            file.display()
        ))
        .run()
        .fails_with("Cannot find device \"eth9\" in a")
        .stderr_has("main.netsh:2:9");
    assert!(!file.exists(), "a capture that did not start left its file");
}

#[test]
fn a_file_that_cannot_be_written_is_a_located_error() {
    // a directory, and a file in a directory that is not there
    Netsh::new()
        .sandbox()
        .file("sub/keep", "")
        .script("netns add a\ncapture lo in a to sub\n")
        .run()
        .fails_with("cannot write the capture to sub: Is a directory")
        .stderr_has("main.netsh:2:20");
    Netsh::new()
        .sandbox()
        .script("netns add a\n\ncapture lo in a count 1 to no/such/dir.pcap\n")
        .run()
        .fails_with("cannot write the capture to no/such/dir.pcap: No such file or directory")
        .stderr_has("main.netsh:3:28");
}

/// Runs `script` in a sandbox (with `args`) in the background; returns once it printed `marker`
/// on stdout.
fn start_until(
    args: &[&str],
    script: &str,
    marker: &str,
) -> (std::process::Child, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(dir.path().join("main.netsh"), script).expect("script");
    let mut child = Command::new(util::bin())
        .arg("--sandbox")
        .args(args)
        .arg("main.netsh")
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("stderr")).expect("stderr file"))
        .spawn()
        .expect("netsh starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.contains(marker) => break,
            Some(Ok(_)) => continue,
            _ => panic!(
                "netsh ended before printing {marker:?}:\n{}",
                std::fs::read_to_string(dir.path().join("stderr")).unwrap_or_default()
            ),
        }
    }
    // the rest of stdout is read (and dropped) so that netsh never blocks on a full pipe
    std::thread::spawn(move || lines.for_each(drop));
    (child, dir)
}

#[test]
fn sigterm_stops_the_capture_and_its_file_is_complete() {
    // without a rollback: deleting the lab's links would end the capture on its own
    let (child, dir) = start_until(
        &["--no-rollback"],
        &format!(
            "{PAIR}capture eth0 in a filter icmp to a.pcap\nping 10.1.1.2 from a count 3\nwait\n"
        ),
        "services running",
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("kill");
    let status = child.wait_with_output().expect("netsh ends").status;
    assert_eq!(status.code(), Some(143));
    // three requests, three replies, written before netsh exited
    assert_eq!(tcpdump_read(&dir.path().join("a.pcap"), &[]).len(), 6);
}

/// The `net:[inode]` of every task of every process, and the `socket:[inode]` of every open fd.
fn held_namespaces_and_sockets() -> String {
    let mut held = String::new();
    for p in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        for t in std::fs::read_dir(p.path().join("task"))
            .into_iter()
            .flatten()
            .flatten()
        {
            if let Ok(l) = std::fs::read_link(t.path().join("ns/net")) {
                held += &format!("{} {}\n", p.path().display(), l.display());
            }
        }
        for f in std::fs::read_dir(p.path().join("fd"))
            .into_iter()
            .flatten()
            .flatten()
        {
            if let Ok(l) = std::fs::read_link(f.path()) {
                held += &format!("{} {}\n", p.path().display(), l.display());
            }
        }
    }
    held
}

#[test]
fn a_run_killed_with_9_leaves_no_capture_thread_socket_or_namespace_behind() {
    let (mut child, _dir) = start_until(
        &[],
        &format!("{PAIR}capture eth0 in a to a.pcap\nwait\n"),
        "services running",
    );
    let pid = child.id();
    // the capture thread: its namespace (a) and, from a's packet table, its socket
    let task = std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("tasks")
        .flatten()
        .find(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == "capture-eth0")
        })
        .expect("a thread named capture-eth0")
        .path();
    let netns = std::fs::read_link(task.join("ns/net")).expect("its namespace");
    let packet = std::fs::read_to_string(task.join("net/packet")).expect("a's packet sockets");
    let sockets: Vec<String> = packet
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().last().map(|i| format!("socket:[{i}]")))
        .collect();
    assert!(!sockets.is_empty(), "no packet socket in a:\n{packet}");
    let netns = netns.display().to_string();
    assert!(
        held_namespaces_and_sockets().contains(&netns),
        "the check sees the namespace while netsh lives"
    );

    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let held = held_namespaces_and_sockets();
    let left: Vec<&str> = held
        .lines()
        .filter(|l| {
            l.ends_with(&format!(" {netns}"))
                || sockets.iter().any(|s| l.ends_with(&format!(" {s}")))
        })
        .collect();
    assert!(left.is_empty(), "still held after kill -9: {left:?}");
}
