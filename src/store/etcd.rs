//! The etcd store: etcd's v3 API as etcd 3.4 has it (KV, txn, lease, watch, auth).
//!
//! The client talks to one endpoint at a time. When a call fails because that endpoint is
//! unreachable, the store reconnects to the next endpoint in the list and retries the call, so
//! `store etcd A,B,C` keeps working while any one of them answers. Connecting is retried a bounded
//! number of times with backoff, and the final error names every endpoint tried.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use etcd_client::{
    Certificate, Client, Compare, CompareOp, ConnectOptions, DeleteOptions, EventType, GetOptions,
    Identity, PutOptions, TlsOptions, Txn, TxnOp, WatchOptions,
};
use tokio::sync::Mutex;

use super::{
    EventKind, KeyValue, Lease, LeaseId, Revision, Snapshot, Store, StoreError, WatchEvent,
    WatchStream, ttl_seconds,
};

/// Client certificate files for a TLS connection (flannel's `-etcd-cafile/-certfile/-keyfile`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EtcdTls {
    /// The CA that signed the server's certificate; the system roots are not used.
    pub ca: Option<PathBuf>,
    /// Client certificate and key, both or neither.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// User name and password for etcd's auth.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdAuth {
    pub user: String,
    pub password: String,
}

/// How to reach etcd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdOptions {
    /// `host:port` or URLs; `https://` (or plain `host:port` with [`EtcdTls`]) uses TLS.
    pub endpoints: Vec<String>,
    pub tls: Option<EtcdTls>,
    pub auth: Option<EtcdAuth>,
    /// How long one connection attempt to one endpoint may take.
    pub connect_timeout: Duration,
    /// Rounds over all endpoints before giving up, with doubling backoff between rounds.
    pub connect_rounds: u32,
}

impl EtcdOptions {
    pub fn new(endpoints: impl IntoIterator<Item = impl Into<String>>) -> Self {
        EtcdOptions {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            tls: None,
            auth: None,
            connect_timeout: Duration::from_secs(3),
            connect_rounds: 3,
        }
    }
}

/// A store in etcd. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct EtcdStore {
    shared: Arc<Shared>,
}

struct Shared {
    options: EtcdOptions,
    tls: Option<TlsOptions>,
    /// The live client and the index of the endpoint it talks to.
    current: Mutex<(Client, usize)>,
}

/// Whether an error means "this endpoint is not answering", which is worth a failover.
/// `Cancelled` is what tonic reports when the server closes the connection under a call in
/// flight (a member being stopped), so it counts as unreachable too.
fn is_unreachable(e: &etcd_client::Error) -> bool {
    match e {
        etcd_client::Error::TransportError(_) | etcd_client::Error::IoError(_) => true,
        etcd_client::Error::GRpcStatus(s) => matches!(
            s.code(),
            tonic::Code::Unavailable
                | tonic::Code::DeadlineExceeded
                | tonic::Code::Unknown
                | tonic::Code::Cancelled
        ),
        _ => false,
    }
}

fn read_file(path: &PathBuf, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))
}

fn tls_options(tls: &EtcdTls) -> Result<TlsOptions, String> {
    let mut options = TlsOptions::new();
    if let Some(ca) = &tls.ca {
        options = options.ca_certificate(Certificate::from_pem(read_file(ca, "CA file")?));
    }
    match (&tls.cert, &tls.key) {
        (Some(cert), Some(key)) => {
            options = options.identity(Identity::from_pem(
                read_file(cert, "certificate")?,
                read_file(key, "key")?,
            ));
        }
        (None, None) => {}
        _ => return Err("a client certificate needs both `cert` and `key`".to_string()),
    }
    Ok(options)
}

impl EtcdStore {
    /// Connects to the first endpoint that answers, in order, retrying in rounds with backoff.
    pub async fn connect(options: EtcdOptions) -> Result<Self, StoreError> {
        let endpoints = options.endpoints.join(",");
        if options.endpoints.is_empty() {
            return Err(StoreError::Etcd {
                endpoints,
                message: "no endpoints given".to_string(),
            });
        }
        let tls = match &options.tls {
            Some(t) => Some(tls_options(t).map_err(|message| StoreError::Etcd {
                endpoints: endpoints.clone(),
                message,
            })?),
            None => None,
        };
        let (client, index) = connect_any(&options, tls.as_ref(), 0).await?;
        Ok(EtcdStore {
            shared: Arc::new(Shared {
                options,
                tls,
                current: Mutex::new((client, index)),
            }),
        })
    }

    /// The endpoint currently in use.
    pub async fn endpoint(&self) -> String {
        let index = self.shared.current.lock().await.1;
        self.shared.options.endpoints[index].clone()
    }

    fn error(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Etcd {
            endpoints: self.shared.options.endpoints.join(","),
            message: e.to_string(),
        }
    }

    /// Runs `call` on the current client; if the endpoint is unreachable, fails over to the
    /// others (starting after it) and runs it once more.
    async fn call<T, F, Fut>(&self, call: F) -> Result<T, StoreError>
    where
        F: Fn(Client) -> Fut,
        Fut: std::future::Future<Output = Result<T, etcd_client::Error>>,
    {
        let (client, index) = self.shared.current.lock().await.clone();
        match call(client).await {
            Ok(v) => Ok(v),
            Err(e) if is_unreachable(&e) => {
                let client = self.failover(index).await?;
                call(client).await.map_err(|e| self.error(e))
            }
            Err(e) => Err(self.error(e)),
        }
    }

    /// Replaces the client that failed (at endpoint `failed`) with one to the next endpoint that
    /// answers. If another task already replaced it, uses that one.
    async fn failover(&self, failed: usize) -> Result<Client, StoreError> {
        let mut current = self.shared.current.lock().await;
        if current.1 != failed {
            return Ok(current.0.clone());
        }
        let next = (failed + 1) % self.shared.options.endpoints.len();
        let (client, index) =
            connect_any(&self.shared.options, self.shared.tls.as_ref(), next).await?;
        *current = (client.clone(), index);
        Ok(client)
    }
}

/// Tries every endpoint, starting at `first`, for `connect_rounds` rounds.
async fn connect_any(
    options: &EtcdOptions,
    tls: Option<&TlsOptions>,
    first: usize,
) -> Result<(Client, usize), StoreError> {
    let count = options.endpoints.len();
    let mut failures = Vec::new();
    let mut backoff = Duration::from_millis(200);
    for round in 0..options.connect_rounds.max(1) {
        if round > 0 {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
        failures.clear();
        for offset in 0..count {
            let index = (first + offset) % count;
            let endpoint = &options.endpoints[index];
            match connect_one(options, tls, endpoint).await {
                Ok(client) => return Ok((client, index)),
                // every member checks the same credentials: no point asking the others
                Err(message) if is_auth_failure(&message) => {
                    return Err(StoreError::AuthFailed {
                        endpoints: options.endpoints.join(","),
                        user: options
                            .auth
                            .as_ref()
                            .map_or_else(String::new, |a| a.user.clone()),
                        detail: format!("{endpoint}: {message}"),
                    });
                }
                Err(message) => failures.push(format!("{endpoint}: {message}")),
            }
        }
    }
    Err(StoreError::Etcd {
        endpoints: options.endpoints.join(","),
        message: format!(
            "no endpoint answered after {} rounds ({})",
            options.connect_rounds.max(1),
            failures.join("; ")
        ),
    })
}

/// Whether etcd's answer means the credentials were refused (or none were given to an etcd that
/// requires them), as opposed to the endpoint not answering.
fn is_auth_failure(message: &str) -> bool {
    [
        "authentication failed",
        "user name is empty",
        "invalid auth token",
    ]
    .iter()
    .any(|m| message.contains(m))
}

/// The URL tonic dials: `host:port` gets `https://` with TLS, else `http://`.
fn endpoint_url(endpoint: &str, tls: bool) -> Result<String, String> {
    match endpoint.split_once("://") {
        Some(("http", _)) if tls => {
            Err("TLS options need an https:// endpoint (or plain host:port)".to_string())
        }
        Some(("http" | "https", _)) => Ok(endpoint.to_string()),
        Some((scheme, _)) => Err(format!("`{scheme}://` is not an etcd endpoint scheme")),
        None if tls => Ok(format!("https://{endpoint}")),
        None => Ok(format!("http://{endpoint}")),
    }
}

/// One endpoint's client. Its connections are dialled from the namespace netsh started in
/// (`dial`), so a `--sandbox` run still reaches an etcd on the machine's loopback.
async fn connect_one(
    options: &EtcdOptions,
    tls: Option<&TlsOptions>,
    endpoint: &str,
) -> Result<Client, String> {
    let url = endpoint_url(endpoint, tls.is_some())?;
    let mut channel = tonic::transport::Endpoint::from_shared(url)
        .map_err(|e| format!("not a URL: {e}"))?
        .connect_timeout(options.connect_timeout)
        .keep_alive_while_idle(true)
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(5));
    if let Some(tls) = tls {
        channel = channel.tls_config(tls.clone()).map_err(|e| e.to_string())?;
    }
    let mut connect = ConnectOptions::new();
    if let Some(auth) = &options.auth {
        connect = connect.with_user(auth.user.clone(), auth.password.clone());
    }
    let attempt = async {
        let channel = channel
            .connect_with_connector(super::dial::Dialer)
            .await
            .map_err(|e| error_chain(&e))?;
        let mut client = Client::from_channel(etcd_client::Channel::Tonic(channel), Some(connect))
            .await
            .map_err(|e| e.to_string())?;
        // ask for something to know the endpoint really answers (and that auth holds)
        client.status().await.map_err(|e| e.to_string())?;
        Ok(client)
    };
    match tokio::time::timeout(options.connect_timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "no answer within {} ms",
            options.connect_timeout.as_millis()
        )),
    }
}

/// An error with its causes (tonic's "transport error" alone says nothing).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text = format!("{text}: {c}");
        cause = c.source();
    }
    text
}

fn to_key_value(kv: &etcd_client::KeyValue) -> KeyValue {
    KeyValue {
        key: String::from_utf8_lossy(kv.key()).into_owned(),
        value: kv.value().to_vec(),
        create_revision: kv.create_revision(),
        mod_revision: kv.mod_revision(),
        lease: (kv.lease() != 0).then_some(LeaseId(kv.lease())),
    }
}

fn snapshot(resp: &etcd_client::GetResponse) -> Snapshot {
    Snapshot {
        kvs: resp.kvs().iter().map(to_key_value).collect(),
        revision: header_revision(resp.header()),
    }
}

fn put_options(lease: Option<LeaseId>) -> Option<PutOptions> {
    lease.map(|l| PutOptions::new().with_lease(l.0))
}

fn header_revision(header: Option<&etcd_client::ResponseHeader>) -> i64 {
    header.map_or(0, |h| h.revision())
}

impl EtcdStore {
    /// A put guarded by `compare`; the new revision if the guard held.
    async fn put_if(
        &self,
        key: &str,
        value: &[u8],
        lease: Option<LeaseId>,
        compare: Compare,
    ) -> Result<Option<Revision>, StoreError> {
        let result = self
            .call(|mut c| {
                let txn = Txn::new().when([compare.clone()]).and_then([TxnOp::put(
                    key,
                    value,
                    put_options(lease),
                )]);
                async move { c.txn(txn).await }
            })
            .await;
        match result {
            Ok(resp) if resp.succeeded() => Ok(Some(header_revision(resp.header()))),
            Ok(_) => Ok(None),
            Err(e) if e.to_string().contains("lease not found") => {
                Err(StoreError::LeaseNotFound(lease.unwrap_or(LeaseId(0))))
            }
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl Store for EtcdStore {
    fn describe(&self) -> String {
        format!("etcd {}", self.shared.options.endpoints.join(","))
    }

    async fn revision(&self) -> Result<Revision, StoreError> {
        // Status needs no key permission, so a user limited to the flannel prefix can ask.
        let resp = self.call(|mut c| async move { c.status().await }).await?;
        Ok(header_revision(resp.header()))
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let resp = self
            .call(|mut c| async move { c.get(key, None).await })
            .await?;
        Ok(resp.kvs().first().map(to_key_value))
    }

    async fn get_prefix(&self, prefix: &str) -> Result<Snapshot, StoreError> {
        let resp = self
            .call(|mut c| async move { c.get(prefix, Some(GetOptions::new().with_prefix())).await })
            .await?;
        Ok(snapshot(&resp))
    }

    async fn get_prefix_since(
        &self,
        prefix: &str,
        min_mod_revision: Revision,
    ) -> Result<Snapshot, StoreError> {
        // etcd filters on its side, so only the changed keys cross the wire
        let resp = self
            .call(|mut c| async move {
                let options = GetOptions::new()
                    .with_prefix()
                    .with_min_mod_revision(min_mod_revision);
                c.get(prefix, Some(options)).await
            })
            .await?;
        Ok(snapshot(&resp))
    }

    async fn put(
        &self,
        key: &str,
        value: &[u8],
        lease: Option<LeaseId>,
    ) -> Result<Revision, StoreError> {
        let result = self
            .call(|mut c| async move { c.put(key, value, put_options(lease)).await })
            .await;
        match result {
            Ok(resp) => Ok(header_revision(resp.header())),
            Err(e) if e.to_string().contains("lease not found") => {
                Err(StoreError::LeaseNotFound(lease.unwrap_or(LeaseId(0))))
            }
            Err(e) => Err(e),
        }
    }

    async fn create(
        &self,
        key: &str,
        value: &[u8],
        lease: Option<LeaseId>,
    ) -> Result<Option<Revision>, StoreError> {
        let absent = Compare::create_revision(key, CompareOp::Equal, 0);
        self.put_if(key, value, lease, absent).await
    }

    async fn replace(
        &self,
        key: &str,
        value: &[u8],
        lease: Option<LeaseId>,
        mod_revision: Revision,
    ) -> Result<Option<Revision>, StoreError> {
        let unchanged = Compare::mod_revision(key, CompareOp::Equal, mod_revision);
        // A missing key has mod_revision 0; `replace(.., 0)` must not create it.
        if mod_revision == 0 {
            return Ok(None);
        }
        self.put_if(key, value, lease, unchanged).await
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let resp = self
            .call(|mut c| async move { c.delete(key, None::<DeleteOptions>).await })
            .await?;
        Ok(resp.deleted() > 0)
    }

    async fn grant(&self, ttl: Duration) -> Result<Lease, StoreError> {
        let secs = ttl_seconds(ttl);
        let resp = self
            .call(|mut c| async move { c.lease_grant(secs, None).await })
            .await?;
        if !resp.error().is_empty() {
            return Err(self.error(resp.error()));
        }
        Ok(Lease {
            id: LeaseId(resp.id()),
            ttl: Duration::from_secs(resp.ttl().max(0).unsigned_abs()),
        })
    }

    async fn keep_alive(&self, lease: LeaseId) -> Result<Duration, StoreError> {
        let ttl = match self
            .call(|mut c| async move {
                let (mut keeper, mut stream) = c.lease_keep_alive(lease.0).await?;
                keeper.keep_alive().await?;
                let resp = stream.message().await?;
                Ok(resp.map_or(0, |r| r.ttl()))
            })
            .await
        {
            Ok(ttl) => ttl,
            Err(StoreError::Etcd { message, .. }) if message.contains("lease not found") => 0,
            Err(e) => return Err(e),
        };
        if ttl <= 0 {
            return Err(StoreError::LeaseNotFound(lease));
        }
        Ok(Duration::from_secs(ttl.unsigned_abs()))
    }

    async fn revoke(&self, lease: LeaseId) -> Result<(), StoreError> {
        let result = self
            .call(|mut c| async move { c.lease_revoke(lease.0).await })
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(StoreError::Etcd { message, .. }) if message.contains("lease not found") => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn watch_prefix(
        &self,
        prefix: &str,
        start: Option<Revision>,
    ) -> Result<WatchStream, StoreError> {
        let start = match start {
            Some(s) => s,
            None => self.revision().await? + 1,
        };
        let (stream, pending, _) = self.open_watch(prefix, start).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        let store = self.clone();
        let prefix = prefix.to_string();
        tokio::spawn(async move { store.pump_watch(prefix, start, (stream, pending), tx).await });
        Ok(Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })))
    }
}

impl EtcdStore {
    /// Opens a watch from `start`, waiting for etcd to confirm it (or refuse it as compacted);
    /// also returns etcd's current revision as the confirmation gave it.
    async fn open_watch(
        &self,
        prefix: &str,
        start: Revision,
    ) -> Result<
        (
            etcd_client::WatchStream,
            Option<etcd_client::WatchResponse>,
            Revision,
        ),
        StoreError,
    > {
        let mut stream = self
            .call(|mut c| async move {
                let options = WatchOptions::new().with_prefix().with_start_revision(start);
                c.watch(prefix, Some(options)).await
            })
            .await?;
        let created = self.first_message(&mut stream, start).await?;
        // etcd confirms creation first and reports a compacted start in a later message. A watch
        // into the past always gets a next message promptly (the history or the compaction), so
        // wait for it; one from the future gets nothing until a change, so do not.
        let current = created.header().map_or(0, |h| h.revision());
        if start > current {
            return Ok((stream, None, current));
        }
        let next = tokio::time::timeout(
            Duration::from_secs(10),
            self.first_message(&mut stream, start),
        )
        .await
        .map_err(|_| self.error("etcd did not answer a watch of past revisions"))??;
        Ok((stream, Some(next), current))
    }

    /// The next message of a fresh watch, with compaction and cancellation turned into errors.
    async fn first_message(
        &self,
        stream: &mut etcd_client::WatchStream,
        start: Revision,
    ) -> Result<etcd_client::WatchResponse, StoreError> {
        match stream.message().await {
            Ok(Some(resp)) if resp.compact_revision() > 0 => Err(StoreError::Compacted {
                requested: start,
                oldest: resp.compact_revision(),
            }),
            Ok(Some(resp)) if resp.canceled() => Err(self.error(format!(
                "etcd cancelled the watch: {}",
                resp.cancel_reason()
            ))),
            Ok(Some(resp)) => Ok(resp),
            Ok(None) => Err(self.error("etcd closed the watch as it opened")),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Forwards events; when the connection drops, reopens the watch after the last revision
    /// delivered (failing over between endpoints), so a restarted etcd does not end the watch.
    async fn pump_watch(
        self,
        prefix: String,
        start: Revision,
        (mut stream, mut pending): (etcd_client::WatchStream, Option<etcd_client::WatchResponse>),
        tx: tokio::sync::mpsc::Sender<Result<WatchEvent, StoreError>>,
    ) {
        let mut next = start;
        let mut backoff = Duration::from_millis(100);
        loop {
            let message = match pending.take() {
                Some(resp) => Ok(Some(resp)),
                None => tokio::select! {
                    m = stream.message() => m,
                    _ = tx.closed() => return,
                },
            };
            match message {
                Ok(Some(resp)) => {
                    if resp.compact_revision() > 0 {
                        let _ = tx
                            .send(Err(StoreError::Compacted {
                                requested: next,
                                oldest: resp.compact_revision(),
                            }))
                            .await;
                        return;
                    }
                    backoff = Duration::from_millis(100);
                    for event in resp.events() {
                        let Some(kv) = event.kv() else { continue };
                        let kind = match event.event_type() {
                            EventType::Put => EventKind::Put,
                            EventType::Delete => EventKind::Delete,
                        };
                        next = next.max(kv.mod_revision() + 1);
                        let event = WatchEvent {
                            kind,
                            key: String::from_utf8_lossy(kv.key()).into_owned(),
                            value: kv.value().to_vec(),
                            revision: kv.mod_revision(),
                        };
                        if tx.send(Ok(event)).await.is_err() {
                            return;
                        }
                    }
                }
                // The stream ended or broke: reopen it where it left off.
                Ok(None) | Err(_) => loop {
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = tx.closed() => return,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    match self.open_watch(&prefix, next).await {
                        // etcd is behind what this watch already delivered: it lost its data
                        // (restarted with an empty data directory) and the events after `next`
                        // would be another history's; the reader must read everything afresh
                        Ok((_, _, current)) if current + 1 < next => {
                            let _ = tx
                                .send(Err(StoreError::Reset {
                                    seen: next - 1,
                                    now: current,
                                }))
                                .await;
                            return;
                        }
                        Ok((s, p, _)) => {
                            stream = s;
                            pending = p;
                            break;
                        }
                        Err(e @ StoreError::Compacted { .. }) => {
                            let _ = tx.send(Err(e)).await;
                            return;
                        }
                        Err(_) => {
                            // The failed call already tried to fail over; keep trying.
                            let index = self.shared.current.lock().await.1;
                            let _ = self.failover(index).await;
                        }
                    }
                },
            }
        }
    }
}
