//! A real etcd server for tests: started on free loopback ports with a temporary data dir,
//! waited on until healthy, killed (with its data) when dropped.
//!
//! Needs the `etcd` binary (Debian's `etcd-server`, installed by `scripts/setup`).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// TLS files for a server started with [`EtcdServer::start_tls`].
pub struct TlsFiles {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

pub struct EtcdServer {
    child: Option<Child>,
    dir: tempfile::TempDir,
    client_port: u16,
    peer_port: u16,
    tls: Option<TlsFiles>,
}

/// A port nothing listens on right now (the kernel picks it; we release it for etcd).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

impl EtcdServer {
    /// Starts a plain-HTTP etcd and waits until it reports healthy.
    pub fn start() -> EtcdServer {
        let mut server = EtcdServer {
            child: None,
            dir: tempfile::tempdir().expect("temp dir for etcd"),
            client_port: free_port(),
            peer_port: free_port(),
            tls: None,
        };
        server.launch_on_free_ports();
        server
    }

    /// A port picked free may be taken by a parallel test before etcd binds it: then etcd
    /// exits at once, and we try again on other ports.
    fn launch_on_free_ports(&mut self) {
        for _ in 0..3 {
            match self.try_launch() {
                Ok(()) => return,
                Err(_) => {
                    self.stop();
                    self.client_port = free_port();
                    self.peer_port = free_port();
                    let _ = std::fs::remove_dir_all(self.dir.path().join("data"));
                }
            }
        }
        self.launch();
    }

    /// Starts an etcd that requires TLS with client certificates (made with `openssl`).
    pub fn start_tls() -> EtcdServer {
        let dir = tempfile::tempdir().expect("temp dir for etcd");
        let tls = make_certificates(dir.path());
        let mut server = EtcdServer {
            child: None,
            dir,
            client_port: free_port(),
            peer_port: free_port(),
            tls: Some(tls),
        };
        server.launch_on_free_ports();
        server
    }

    /// `host:port` for clients (with `https://` when TLS is on).
    pub fn endpoint(&self) -> String {
        match self.tls {
            Some(_) => format!("https://127.0.0.1:{}", self.client_port),
            None => format!("http://127.0.0.1:{}", self.client_port),
        }
    }

    pub fn tls(&self) -> Option<&TlsFiles> {
        self.tls.as_ref()
    }

    /// Kills the server, keeping its data and ports, so [`Self::restart`] brings it back.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// Kills the server and brings it back on the same ports with an empty data directory, as
    /// an operator who lost the disk would: every key, lease and revision is gone.
    pub fn restart_empty(&mut self) {
        self.stop();
        std::fs::remove_dir_all(self.dir.path().join("data")).expect("remove etcd's data");
        self.launch();
    }

    fn launch(&mut self) {
        if let Err(why) = self.try_launch() {
            panic!("{why}");
        }
    }

    fn try_launch(&mut self) -> Result<(), String> {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let client_url = format!("{scheme}://127.0.0.1:{}", self.client_port);
        let peer_url = format!("http://127.0.0.1:{}", self.peer_port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("etcd.log"))
            .expect("etcd log file");
        let mut cmd = Command::new("etcd");
        cmd.arg("--name=test")
            .arg(format!(
                "--data-dir={}",
                self.dir.path().join("data").display()
            ))
            .arg(format!("--listen-client-urls={client_url}"))
            .arg(format!("--advertise-client-urls={client_url}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=test={peer_url}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("etcd log file"))
            .stderr(log);
        if let Some(tls) = &self.tls {
            cmd.arg(format!("--cert-file={}", tls.server_cert.display()))
                .arg(format!("--key-file={}", tls.server_key.display()))
                .arg(format!("--trusted-ca-file={}", tls.ca.display()))
                .arg("--client-cert-auth");
        }
        // If the test process dies without dropping us, the kernel kills etcd too.
        unsafe {
            cmd.pre_exec(|| {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
                    .map_err(std::io::Error::from)
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot run etcd (install etcd-server: scripts/setup): {e}"))?;
        self.child = Some(child);
        self.wait_ready()
    }

    /// Waits until etcd accepts connections on its client port (TLS) or reports health (HTTP).
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                return Err(format!("etcd exited with {status}: {}", self.log()));
            }
            let ready = match self.tls {
                Some(_) => TcpStream::connect(("127.0.0.1", self.client_port)).is_ok(),
                None => self.healthy(),
            };
            if ready {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "etcd did not become healthy in 30 s: {}",
            self.log()
        ))
    }

    fn healthy(&self) -> bool {
        healthy(self.client_port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("etcd.log")).unwrap_or_default()
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("cannot run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA.
fn make_certificates(dir: &Path) -> TlsFiles {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=test-ca",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n",
    )
    .expect("write server.ext");
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n")
        .expect("write client.ext");
    for (name, cn) in [("server", "127.0.0.1"), ("client", "netsh")] {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={cn}"),
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &format!("{name}.ext"),
                "-out",
                &format!("{name}.crt"),
            ],
        );
    }
    TlsFiles {
        ca: dir.join("ca.crt"),
        server_cert: dir.join("server.crt"),
        server_key: dir.join("server.key"),
        client_cert: dir.join("client.crt"),
        client_key: dir.join("client.key"),
    }
}

/// Whether the etcd serving clients on `port` (loopback) says it is healthy.
pub fn healthy(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if s.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    body.contains("\"health\":\"true\"")
}
