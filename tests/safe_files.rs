//! The files netsh writes as root (subnet.env, docker opts, the journal, the embedded store) are
//! written safely: a planted symlink is not followed, modes do not depend on the umask, and `down`
//! refuses a journal others could have written. Each test runs in `private_world` (its own
//! /run/netsh, /run/flannel, /var/lib/netsh), as root.

mod util;

use util::private_world::{private, sections};

/// A world-writable directory (not sticky, so `fs.protected_symlinks` does not apply to root's
/// own links there) and a 0600 victim file outside it.
const SETUP: &str = "d=/run/netsh/ww; mkdir -m 777 $d
printf 'secret\\n' > /run/netsh/victim; chmod 600 /run/netsh/victim
";

const CONFIG: &str = "store embedded
network config '{\"Network\":\"10.100.0.0/16\",\"Backend\":{\"Type\":\"host-gw\"}}'
";

fn get(out: &util::Out, key: &str) -> String {
    sections(&out.stdout)
        .get(key)
        .cloned()
        .unwrap_or_else(|| panic!("no {key:?} in:\n{}\n{}", out.stdout, out.stderr))
}

#[test]
fn a_symlink_at_the_old_fixed_temporary_name_is_not_followed() {
    requires!(Root);
    let out = private(&format!(
        "{SETUP}ln -s /run/netsh/victim $d/subnet.env.tmp; ln -s /run/netsh/victim $d/docker.env.tmp
cat > /run/netsh/lab.netsh <<'EOF'
{CONFIG}lease iface lo public-ip 10.9.9.1 subnet-file /run/netsh/ww/subnet.env
docker-opts combined file /run/netsh/ww/docker.env
EOF
run netsh $NETSH /run/netsh/lab.netsh
echo '--- victim'; cat /run/netsh/victim
echo '--- files'; stat -c '%n %F' $d/subnet.env $d/docker.env
echo '--- env'; cat $d/subnet.env
echo '--- left'; ls -A $d"
    ));
    get(&out, "netsh 0");
    assert_eq!(get(&out, "victim"), "secret\n");
    assert_eq!(
        get(&out, "files"),
        "/run/netsh/ww/subnet.env regular file\n/run/netsh/ww/docker.env regular file\n"
    );
    assert!(get(&out, "env").contains("FLANNEL_NETWORK=10.100.0.0/16"));
    // the planted names are left as they were, and no temporary file is left behind
    assert_eq!(
        get(&out, "left"),
        "docker.env\ndocker.env.tmp\nsubnet.env\nsubnet.env.tmp\n"
    );
}

#[test]
fn a_rollback_puts_subnet_env_back_as_a_0644_file_under_umask_000() {
    requires!(Root);
    let out = private(&format!(
        "umask 000
{SETUP}printf 'FLANNEL_MTU=1\\n' > $d/subnet.env; chmod 644 $d/subnet.env
cat > /run/netsh/lab.netsh <<'EOF'
{CONFIG}lease iface lo public-ip 10.9.9.1 subnet-file /run/netsh/ww/subnet.env
exec false
EOF
run netsh $NETSH /run/netsh/lab.netsh
echo '--- env'; stat -c '%F %a' $d/subnet.env; cat $d/subnet.env
echo '--- left'; ls -A $d"
    ));
    get(&out, "netsh 1");
    assert_eq!(get(&out, "env"), "regular file 644\nFLANNEL_MTU=1\n");
    assert_eq!(get(&out, "left"), "subnet.env\n");
}

#[test]
fn under_umask_000_the_files_get_their_own_modes() {
    requires!(Root);
    let out = private(
        "umask 000
cat > /run/netsh/lab.netsh <<'EOF'
store embedded /var/lib/netsh/sub/store.redb
network config '{\"Network\":\"10.100.0.0/16\",\"Backend\":{\"Type\":\"host-gw\"}}'
lease iface lo public-ip 10.9.9.1 subnet-file /run/flannel/x/subnet.env
docker-opts combined file /run/flannel/x/docker.env
netns add a
EOF
run netsh $NETSH --no-rollback /run/netsh/lab.netsh
echo '--- modes'
stat -c '%n %a' /run/flannel/x /run/flannel/x/subnet.env /run/flannel/x/docker.env \\
  /var/lib/netsh/sub /var/lib/netsh/sub/store.redb /run/netsh/journal /run/netsh/journal/*.journal",
    );
    get(&out, "netsh 0");
    let modes = get(&out, "modes");
    let lines: Vec<&str> = modes.lines().collect();
    assert_eq!(
        lines[..6],
        [
            "/run/flannel/x 755",
            "/run/flannel/x/subnet.env 644",
            "/run/flannel/x/docker.env 644",
            "/var/lib/netsh/sub 700",
            "/var/lib/netsh/sub/store.redb 600",
            "/run/netsh/journal 700",
        ],
        "{modes}"
    );
    assert!(
        lines.len() == 7 && lines[6].ends_with(".journal 600"),
        "{modes}"
    );
}

#[test]
fn down_refuses_a_journal_others_can_write_and_runs_nothing() {
    requires!(Root);
    let out = private(
        "printf 'netns add a\\n' > /run/netsh/lab.netsh
run netsh $NETSH /run/netsh/lab.netsh
j=$(ls /run/netsh/journal/*.journal)
echo 'exec \"touch /run/netsh/pwned\"' >> $j; chmod 666 $j
run down $NETSH down /run/netsh/lab.netsh
echo '--- after'; ls /run/netsh/pwned 2>&1; ip netns list
chmod 600 $j; sed -i '/pwned/d' $j
run 'down again' $NETSH down /run/netsh/lab.netsh
echo '--- at last'; ip netns list",
    );
    get(&out, "netsh 0");
    let down = get(&out, "down 2");
    assert!(
        down.contains("refusing the journal")
            && down.contains(".journal is writable by others (mode 0666)"),
        "{down}"
    );
    let after = get(&out, "after");
    assert!(after.contains("No such file"), "{after}");
    assert!(after.lines().any(|l| l.starts_with("a")), "{after}");
    // the same journal, made root's alone again, is run
    get(&out, "down again 0");
    assert_eq!(get(&out, "at last"), "");
}
