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

#[test]
fn help_from_the_shell_lists_the_statements() {
    Netsh::new()
        .arg("help")
        .run()
        .code(0)
        .stdout_has("statements (`help STATEMENT` for one):")
        .stdout_has("macvlan")
        .stdout_has("for X in LIST");
}

#[test]
fn help_from_the_shell_prints_a_statements_usage() {
    Netsh::new()
        .args(["help", "macvlan"])
        .run()
        .code(0)
        .stdout_has("macvlan [vepa|bridge|private|passthru] on PARENT")
        .stdout_has("example: macvlan");
}

#[test]
fn help_for_an_unknown_topic_suggests_one() {
    Netsh::new()
        .args(["help", "macvaln"])
        .run()
        .code(2)
        .stderr_has("no statement `macvaln`; did you mean `macvlan`?");
}

#[test]
fn a_command_word_after_a_flag_or_a_file_is_a_script_argument() {
    // `help` only means the command as netsh's first word; here it is the script's $1
    Netsh::new()
        .args(["--dry-run", "-c", "echo $1", "help"])
        .run()
        .code(0)
        .stdout_is("echo help\n");
}

#[test]
fn bash_completion_parses_and_offers_statements_after_help() {
    let out = Netsh::new().args(["completions", "bash"]).run().code(0);
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("netsh.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let check = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "bash -n rejects the script: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        out.stdout.contains("macvlan"),
        "no statement in:\n{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("--dry-run"),
        "no flag in:\n{}",
        out.stdout
    );
}

#[test]
fn zsh_and_fish_completions_offer_statements() {
    for shell in ["zsh", "fish"] {
        let out = Netsh::new().args(["completions", shell]).run().code(0);
        assert!(
            // fish names long flags without their dashes: `-l sandbox`
            out.stdout.contains("proxy-ndp") && out.stdout.contains("sandbox"),
            "{shell} completion lacks a statement or a flag:\n{}",
            out.stdout
        );
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    Netsh::new()
        .args(["completions", "tcsh"])
        .run()
        .code(2)
        .stderr_has("invalid value 'tcsh'");
}

#[test]
fn the_man_page_is_roff_that_lists_the_statements() {
    let out = Netsh::new().arg("man").run().code(0);
    assert!(
        out.stdout.starts_with(".TH netsh 1"),
        "not roff:\n{}",
        out.stdout
    );
    // a statement only the statement table names (roff escapes the `-` of most others)
    assert!(
        out.stdout.contains("network create"),
        "no statement in:\n{}",
        out.stdout
    );
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("netsh.1");
    std::fs::write(&page, &out.stdout).unwrap();
    // render it as man(1) would, with whichever formatter this machine has
    let rendered = ["man", "groff"].iter().find_map(|tool| {
        let mut cmd = Command::new(tool);
        match *tool {
            "man" => cmd
                .arg("-l")
                .arg(&page)
                .env("MANPAGER", "cat")
                .env("MANWIDTH", "100"),
            // plain text: no bold or underline escapes
            _ => cmd.args(["-man", "-Tascii", "-P", "-cbou"]).arg(&page),
        };
        cmd.output().ok().map(|o| (tool, o))
    });
    let Some((tool, o)) = rendered else {
        println!("neither man nor groff is installed: the page is not rendered");
        return;
    };
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && text.contains("network rm NAME") && text.contains("DESCRIPTION"),
        "{tool} cannot render the page:\n{text}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A run that would create more namespaces and links than `--max-objects` allows stops at the
/// first one too many, names the flag, and undoes what it made; the flag raises the limit.
#[test]
fn a_run_creating_more_objects_than_max_objects_stops_and_says_which_flag() {
    requires!(Root);
    let script = "for i in 1..6 { netns add n$i }\nveth a peer b in n1\nshow netns\n";
    let out = Netsh::new()
        .sandbox()
        .args(["--max-objects", "6"])
        .script(script)
        .run()
        .code(1)
        .stderr_has("this run would create more than 6 namespaces and links")
        .stderr_has("--max-objects N");
    assert!(
        !out.stdout.contains("n6"),
        "nothing ran after: {}",
        out.stdout
    );
    // raised, the same run goes through
    Netsh::new()
        .sandbox()
        .args(["--max-objects", "7"])
        .script(script)
        .run()
        .code(0)
        .stdout_has("n6");
    // a limit that is not a number is a usage error before anything runs
    Netsh::new()
        .args(["--max-objects", "many", "-c", "netns add x"])
        .run()
        .code(2);
}
