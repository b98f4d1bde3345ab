//! The command line: files, -c, stdin, shebang scripts with arguments, exit codes, --help.

mod util;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use util::{Netsh, bin};

#[test]
fn runs_a_file_with_arguments() {
    Netsh::dry("netns add $1\necho $@")
        .script_args(["docker1", "x"])
        .run()
        .code(0)
        .stdout_is("ip netns add docker1\necho 'docker1 x'\n");
}

#[test]
fn runs_statements_given_with_c() {
    Netsh::new()
        .args(["--dry-run", "-c", "netns add a; echo $1", "arg1"])
        .run()
        .code(0)
        .stdout_is("ip netns add a\necho arg1\n");
}

#[test]
fn reads_the_script_from_stdin_with_a_dash() {
    Netsh::new()
        .args(["--dry-run", "-", "x"])
        .stdin("echo $1\n")
        .run()
        .code(0)
        .stdout_is("echo x\n");
}

#[test]
fn reads_piped_stdin_without_a_file() {
    Netsh::new()
        .args(["--dry-run"])
        .stdin("netns add piped\n")
        .run()
        .code(0)
        .stdout_is("ip netns add piped\n");
}

#[test]
fn a_shebang_script_runs_as_a_program_with_its_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let bindir = dir.path().join("bin");
    std::fs::create_dir(&bindir).unwrap();
    std::os::unix::fs::symlink(bin(), bindir.join("netsh")).unwrap();
    let script = dir.path().join("lab");
    std::fs::write(
        &script,
        "#!/usr/bin/env -S netsh --dry-run\nnetns add $1\nfor h in $@ { echo \"host $h\" }\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bindir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // Another test thread forking while the script was open for writing makes exec fail with
    // ETXTBSY for a moment (a known race of writing and running a file in a threaded process).
    let run = || {
        Command::new(&script)
            .args(["docker1", "--not-an-option"])
            .env("PATH", &path)
            .output()
    };
    let mut out = run();
    for _ in 0..50 {
        match &out {
            Err(e) if e.raw_os_error() == Some(26) => {
                std::thread::sleep(std::time::Duration::from_millis(20));
                out = run();
            }
            _ => break,
        }
    }
    let out = out.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "ip netns add docker1\necho 'host docker1'\necho 'host --not-an-option'\n"
    );
}

#[test]
fn exit_2_on_check_errors_and_nothing_runs() {
    let out = Netsh::dry("netns add a\nvlan 5000 on eth1\nnetns add b")
        .run()
        .code(2);
    assert_eq!(
        out.stdout, "",
        "nothing may run when the script does not check"
    );
    out.stderr_has("1 error found; nothing was run");
}

#[test]
fn exit_1_on_a_run_time_failure_after_the_earlier_statements() {
    let out = Netsh::dry("netns add a\nlet x = 5000\nvlan $x on eth1\nnetns add b")
        .run()
        .code(1);
    assert_eq!(out.stdout, "ip netns add a\n");
}

#[test]
fn check_only_runs_nothing() {
    Netsh::new()
        .args(["--check", "-c", "netns add a"])
        .run()
        .code(0)
        .stdout_is("");
}

#[test]
fn json_diagnostics_are_one_object_per_line() {
    let out = Netsh::new()
        .args([
            "--check",
            "--json",
            "-c",
            "vlan 5000 on eth1\nmacvlan brige on eth0",
        ])
        .run()
        .code(2);
    let d = out.diagnostics();
    assert_eq!(d.len(), 2);
    assert_eq!(
        d[0],
        ("netsh::check::bad_vlan_id".into(), "-c:1:6".into(), 5, 9)
    );
    assert_eq!(d[1].0, "netsh::check::unexpected_argument");
}

#[test]
fn invalid_utf8_is_refused() {
    let out = Netsh::new()
        .args(["--dry-run"])
        .script(b"netns add a\n\xff\xfe\n")
        .run()
        .code(2);
    out.stderr_has("is not UTF-8 text (invalid byte at offset 12)");
}

#[test]
fn a_missing_file_is_a_clear_error() {
    Netsh::new()
        .args(["--dry-run", "/no/such/file.netsh"])
        .run()
        .code(2)
        .stderr_has("cannot read /no/such/file.netsh");
}

#[test]
fn help_teaches_with_examples() {
    let out = Netsh::new().arg("--help").run().code(0);
    for part in [
        "--dry-run",
        "--sandbox",
        "-c <STATEMENTS>",
        "Examples:",
        "#!/usr/bin/env netsh",
        "Exit status",
    ] {
        assert!(
            out.stdout.contains(part),
            "--help lacks {part:?}:\n{}",
            out.stdout
        );
    }
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    Netsh::new()
        .arg("--dryrun")
        .run()
        .code(2)
        .stderr_has("--dry-run");
}

#[test]
fn help_statement_lists_statements() {
    let out = Netsh::new().args(["--dry-run", "-c", "help"]).run().code(0);
    for part in ["macvlan", "proxy-ndp", "network create", "for X in LIST"] {
        assert!(out.stdout.contains(part), "help lacks {part:?}");
    }
}
