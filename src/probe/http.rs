//! The HTTP client of `expect http URL contains TEXT [status N]` (hyper) and a tiny server for `serve http PORT
//! text "..." in NS` (like the book's web_server images: every request gets the same text). Both open
//! their sockets on a thread inside the namespace. The server keeps its own thread, so it answers
//! while the script goes on (and while netsh waits in a check), until the process exits.

use crate::base::error::RunError;
use crate::sys::netns;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::time::Duration;

/// An `http://HOST[:PORT]/PATH` URL, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub host: String,
    pub port: u16,
    pub path: String,
}

pub fn parse_url(url: &str) -> Result<Url, RunError> {
    let bad = |why: &str| {
        RunError::new(format!("`{url}` is not a usable URL: {why}"))
            .help("write http://10.0.0.2:8080/ (only http is built in)")
    };
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad("it must start with http://"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let (h, after) = inner
            .split_once(']')
            .ok_or_else(|| bad("an IPv6 address needs its closing ]"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad("the port is not a number"))?,
            None if after.is_empty() => 80,
            None => return Err(bad("unexpected text after ]")),
        };
        (h.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (
                h.to_string(),
                p.parse().map_err(|_| bad("the port is not a number"))?,
            ),
            None => (authority.to_string(), 80),
        }
    };
    if host.is_empty() {
        return Err(bad("it names no host"));
    }
    Ok(Url { host, port, path })
}

/// What a server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status code: 200, 404.
    pub status: u16,
    /// The status line's words, as in `404 Not Found`.
    pub reason: String,
    /// The body (at most 1 MiB of it), as text.
    pub body: String,
}

impl Answer {
    /// `404 Not Found`.
    pub fn status_line(&self) -> String {
        format!("{} {}", self.status, self.reason)
    }
}

/// The most of a body that is read.
const MAX_BODY: usize = 1 << 20;

/// GETs `url` (already resolved to `ip`) from namespace `ns` with hyper, retrying until `timeout`
/// while the server is not up yet. The outer error stops the run (no namespace, a signal: Ctrl-C
/// ends the wait at once); the inner one says why no answer came.
pub fn get(
    ns: Option<&str>,
    url: &Url,
    ip: IpAddr,
    timeout: Duration,
) -> Result<Result<Answer, String>, RunError> {
    let url = url.clone();
    netns::run_in(ns, move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| RunError::os("cannot start the HTTP client", &e))?;
        rt.block_on(async {
            tokio::select! {
                answer = retrying(&url, ip, timeout) => Ok(answer),
                sig = signalled() => Err(crate::sys::signals::stopped(sig)),
            }
        })
    })?
}

/// Resolves when a signal is pending (looked at every 50 ms).
async fn signalled() -> i32 {
    loop {
        if let Some(sig) = crate::sys::signals::pending() {
            return sig;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn retrying(url: &Url, ip: IpAddr, timeout: Duration) -> Result<Answer, String> {
    let deadline = tokio::time::Instant::now() + timeout;
    // the reason of the last attempt that failed on its own: when the deadline then cuts a later
    // attempt short, that reason ("cannot connect ...") says more than "no answer"
    let mut last: Option<String> = None;
    loop {
        match tokio::time::timeout_at(deadline, fetch(url, ip)).await {
            Ok(Ok(answer)) => return Ok(answer),
            Ok(Err(e)) => last = Some(e),
            Err(_) => break,
        }
        if tokio::time::Instant::now() + Duration::from_millis(100) >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(last.unwrap_or_else(|| {
        format!(
            "no answer from {} within {}s",
            SocketAddr::new(ip, url.port),
            timeout.as_secs_f64()
        )
    }))
}

async fn fetch(url: &Url, ip: IpAddr) -> Result<Answer, String> {
    use http_body_util::{BodyExt, Empty};
    use hyper::body::Bytes;
    let addr = SocketAddr::new(ip, url.port);
    let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| {
        format!(
            "cannot connect to {addr}: {}",
            crate::base::error::io_text(&e)
        )
    })?;
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("cannot talk HTTP to {addr}: {e}"))?;
    // the connection is driven beside the request; it ends with the answer (or the timeout)
    let driven = tokio::spawn(conn);
    let host = if url.host.contains(':') {
        format!("[{}]", url.host)
    } else {
        url.host.clone()
    };
    let host = if url.port == 80 {
        host
    } else {
        format!("{host}:{}", url.port)
    };
    let request = hyper::Request::get(url.path.as_str())
        .header(hyper::header::HOST, host)
        .header(hyper::header::USER_AGENT, "netsh")
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("cannot make a request for {}: {e}", url.path))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("no answer from {addr}: {e}"))?;
    let status = response.status();
    // a longer body is cut at MAX_BODY, not refused
    let mut body = response.into_body();
    let mut got: Vec<u8> = Vec::new();
    while got.len() < MAX_BODY {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    got.extend_from_slice(&data);
                }
            }
            Some(Err(e)) => return Err(format!("cannot read the answer of {addr}: {e}")),
            None => break,
        }
    }
    got.truncate(MAX_BODY);
    driven.abort();
    Ok(Answer {
        status: status.as_u16(),
        reason: status.canonical_reason().unwrap_or("").to_string(),
        body: String::from_utf8_lossy(&got).into_owned(),
    })
}

/// The response every request gets.
pub fn response(text: &str) -> String {
    let body = format!("{text}\n");
    format!(
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nServer: netsh\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Starts a server in `ns` on `port` (IPv4 and IPv6); returns once it listens.
pub fn serve(ns: Option<&str>, port: u16, text: &str) -> Result<(), RunError> {
    let file = match ns {
        Some(n) => Some(netns::open(n)?),
        None => None,
    };
    let reply = response(text);
    let (tx, rx) = std::sync::mpsc::channel::<Result<(), String>>();
    std::thread::Builder::new()
        .name(format!("http-{port}"))
        .spawn(move || {
            if let Some(f) = &file
                && let Err(e) = nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET)
            {
                let _ = tx.send(Err(format!("cannot enter the namespace: {}", e.desc())));
                return;
            }
            // [::] takes IPv4 too unless bindv6only is set; fall back to IPv4 alone
            let listener =
                TcpListener::bind(("::", port)).or_else(|_| TcpListener::bind(("0.0.0.0", port)));
            let listener = match listener {
                Ok(l) => l,
                Err(e) => {
                    let _ = tx.send(Err(format!(
                        "cannot listen on port {port}: {}",
                        crate::base::error::io_text(&e)
                    )));
                    return;
                }
            };
            let _ = tx.send(Ok(()));
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 4096];
                let mut seen = Vec::new();
                while let Ok(n) = conn.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    if seen.windows(4).any(|w| w == b"\r\n\r\n") || seen.len() > 65536 {
                        break;
                    }
                }
                let _ = conn.write_all(reply.as_bytes());
            }
        })
        .map_err(|e| RunError::new(format!("cannot start the web server: {e}")))?;
    match rx.recv() {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(RunError::new(e)),
        Err(_) => Err(RunError::new(
            "the web server thread stopped before it listened",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_port_and_path() {
        assert_eq!(
            parse_url("http://10.0.0.2:8080/x").unwrap(),
            Url {
                host: "10.0.0.2".into(),
                port: 8080,
                path: "/x".into()
            }
        );
        assert_eq!(
            parse_url("http://web1").unwrap(),
            Url {
                host: "web1".into(),
                port: 80,
                path: "/".into()
            }
        );
        assert_eq!(
            parse_url("http://[2003:ab11::2]:81/").unwrap().host,
            "2003:ab11::2"
        );
        assert!(parse_url("https://x").is_err());
        assert!(parse_url("http://:80").is_err());
        assert!(parse_url("http://a:port").is_err());
    }

    #[test]
    fn a_served_page_is_fetched() {
        serve(None, 0, "unused").ok(); // port 0: listens anywhere, proves the path does not panic
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        serve(None, port, "Web Server #2").unwrap();
        let url = parse_url(&format!("http://127.0.0.1:{port}/")).unwrap();
        let answer = get(
            None,
            &url,
            "127.0.0.1".parse().unwrap(),
            Duration::from_secs(2),
        )
        .unwrap()
        .unwrap();
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, "Web Server #2\n");
    }
}
