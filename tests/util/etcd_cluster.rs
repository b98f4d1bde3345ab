//! A real three-member etcd cluster for tests: each member on its own free loopback client and
//! peer ports with its own data directory, bootstrapped together with `--initial-cluster`.
//! Members can be killed (SIGKILL, as a crash) and started again on their data; the leader is
//! found by asking each member's maintenance status. Everything is killed when dropped.
#![allow(dead_code)]

use super::etcd::{free_port, healthy};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Member {
    pub name: String,
    pub client_port: u16,
    pub peer_port: u16,
    child: Option<Child>,
}

pub struct EtcdCluster {
    pub members: Vec<Member>,
    dir: tempfile::TempDir,
    token: String,
}

impl Member {
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    fn peer_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.peer_port)
    }

    pub fn running(&self) -> bool {
        self.child.is_some()
    }
}

impl EtcdCluster {
    /// Starts three members and waits until the cluster has a leader. Ports picked free may be
    /// taken by a parallel test before etcd binds them: then the cluster is started again on
    /// other ports.
    pub fn start() -> EtcdCluster {
        let mut last = String::new();
        for _ in 0..3 {
            let mut cluster = EtcdCluster {
                members: (0..3)
                    .map(|i| Member {
                        name: format!("m{i}"),
                        client_port: free_port(),
                        peer_port: free_port(),
                        child: None,
                    })
                    .collect(),
                dir: tempfile::tempdir().expect("temp dir for etcd"),
                token: format!("netsh-test-{}", rand::random::<u32>()),
            };
            for i in 0..3 {
                cluster.spawn(i);
            }
            match (0..3).try_for_each(|i| cluster.wait_healthy(i)) {
                Ok(()) => return cluster,
                Err(why) => last = why,
            }
        }
        panic!("the etcd cluster did not start: {last}");
    }

    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(Member::endpoint).collect()
    }

    /// The endpoints of the members running now.
    pub fn running_endpoints(&self) -> Vec<String> {
        self.members
            .iter()
            .filter(|m| m.running())
            .map(Member::endpoint)
            .collect()
    }

    fn initial_cluster(&self) -> String {
        self.members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer_url()))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn spawn(&mut self, i: usize) {
        let initial = self.initial_cluster();
        let data = self.dir.path().join(&self.members[i].name);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(
                self.dir
                    .path()
                    .join(format!("{}.log", self.members[i].name)),
            )
            .expect("etcd log file");
        let m = &mut self.members[i];
        let mut cmd = Command::new("etcd");
        cmd.arg(format!("--name={}", m.name))
            .arg(format!("--data-dir={}", data.display()))
            .arg(format!("--listen-client-urls={}", m.endpoint()))
            .arg(format!("--advertise-client-urls={}", m.endpoint()))
            .arg(format!("--listen-peer-urls={}", m.peer_url()))
            .arg(format!("--initial-advertise-peer-urls={}", m.peer_url()))
            .arg(format!("--initial-cluster={initial}"))
            .arg(format!("--initial-cluster-token={}", self.token))
            .arg("--initial-cluster-state=new")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("etcd log file"))
            .stderr(log);
        // If the test process dies without dropping us, the kernel kills etcd too.
        unsafe {
            cmd.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                    .map_err(std::io::Error::from)
            });
        }
        m.child = Some(
            cmd.spawn()
                .expect("cannot run etcd (install etcd-server: scripts/setup)"),
        );
    }

    /// Waits (up to 60 s) until member `i` says it is healthy (it sees a leader).
    fn wait_healthy(&mut self, i: usize) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let m = &mut self.members[i];
            if let Some(Ok(Some(status))) = m.child.as_mut().map(|c| c.try_wait()) {
                m.child = None;
                return Err(format!("etcd exited with {status}: {}", self.log(i)));
            }
            if healthy(self.members[i].client_port) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!(
            "etcd {} did not become healthy in 60 s: {}",
            self.members[i].name,
            self.log(i)
        ))
    }

    /// Kills member `i` at once (SIGKILL), keeping its data directory.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts member `i` again on its data and waits until it is healthy.
    pub fn restart(&mut self, i: usize) {
        self.kill(i);
        self.spawn(i);
        if let Err(why) = self.wait_healthy(i) {
            panic!("{why}");
        }
    }

    /// The member that is leader, by the word of the running members (`None` while there is
    /// none, as during an election).
    pub async fn leader(&self) -> Option<usize> {
        // each member's status names the member that answered and the leader it follows
        let mut ids = Vec::new();
        let mut leaders = Vec::new();
        for (i, m) in self.members.iter().enumerate().filter(|(_, m)| m.running()) {
            let status = async {
                let mut client = etcd_client::Client::connect([m.endpoint()], None).await?;
                client.status().await
            };
            if let Ok(Ok(s)) = tokio::time::timeout(Duration::from_secs(2), status).await {
                ids.push((i, s.header().map_or(0, |h| h.member_id())));
                leaders.push(s.leader());
            }
        }
        let leader = *leaders.first()?;
        if leader == 0 || leaders.iter().any(|l| *l != leader) {
            return None;
        }
        ids.iter().find(|(_, id)| *id == leader).map(|(i, _)| *i)
    }

    /// Waits (up to `limit`) until the running members agree on a leader; returns it.
    pub async fn wait_leader(&self, limit: Duration) -> usize {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(i) = self.leader().await {
                return i;
            }
            assert!(
                Instant::now() < deadline,
                "no etcd leader within {limit:?}: {}",
                (0..3).map(|i| self.log(i)).collect::<Vec<_>>().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn log(&self, i: usize) -> String {
        let name = &self.members[i].name;
        let text = std::fs::read_to_string(self.dir.path().join(format!("{name}.log")))
            .unwrap_or_default();
        // the tail is what explains a failure
        let tail: Vec<&str> = text.lines().rev().take(20).collect();
        format!(
            "--- {name}\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
    }
}
