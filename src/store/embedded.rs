//! The embedded store: one redb file that several netsh processes on a machine share.
//!
//! redb's `MultiWriter` mode lets every process keep the file open; write transactions are
//! serialised by byte-range locks on the file (a writer waits for another process's write
//! transaction to end), readers never block, and every commit is durable before it returns.
//!
//! The data model copies etcd's: a store-wide revision bumped once per changing transaction,
//! create/mod revisions per key, TTL leases, and an event log that watchers read. Watchers in any
//! process poll the revision counter (a cheap read transaction) and read the log past what they
//! have seen. Expired leases are swept by whichever process writes next or watches, and are hidden
//! from reads before the sweep happens, so a key never outlives its lease.

use crate::base::safe_file;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use redb::{ConcurrencyMode, Database, ReadableDatabase, ReadableTable, Table, TableDefinition};

use super::{
    EventKind, KeyValue, Lease, LeaseId, Revision, Snapshot, Store, StoreError, WatchEvent,
    WatchStream, ttl_seconds,
};

/// Where `store embedded` keeps its file when no path is given.
pub const DEFAULT_EMBEDDED_PATH: &str = "/var/lib/netsh/store.redb";

/// key → (value, create_revision, mod_revision, lease id or 0)
const KV: TableDefinition<&str, (&[u8], i64, i64, i64)> = TableDefinition::new("kv");
/// lease id → (ttl seconds, expiry in unix milliseconds)
const LEASES: TableDefinition<i64, (i64, i64)> = TableDefinition::new("leases");
/// (revision, sequence within the revision) → (kind: 0 put / 1 delete, key, value)
const EVENTS: TableDefinition<(i64, u32), (u8, &str, &[u8])> = TableDefinition::new("events");
/// "revision" → current revision; "compacted" → the newest revision whose events were dropped.
const META: TableDefinition<&str, i64> = TableDefinition::new("meta");

/// Tuning for [`EmbeddedStore::open_with`]; [`Default`] is what [`EmbeddedStore::open`] uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmbeddedOptions {
    /// How many revisions of events are kept for watchers that fall behind (default 10 000).
    /// Every process sharing the file trims to its own setting; keep them equal.
    pub history_revisions: i64,
    /// How often a watcher looks for new revisions and expired leases (default 50 ms).
    pub watch_poll: Duration,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions {
            history_revisions: 10_000,
            watch_poll: Duration::from_millis(50),
        }
    }
}

/// A store in a redb file. Cheap to clone; clones share the open file.
#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// Dropped by hand (see the Drop impl): closing a damaged file can panic in redb.
    db: std::mem::ManuallyDrop<Database>,
    path: PathBuf,
    options: EmbeddedOptions,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // SAFETY: `db` is taken once, here, and not used after.
        let db = unsafe { std::mem::ManuallyDrop::take(&mut self.db) };
        if let Err(e) = quiet_panics(&self.path, move || {
            drop(db);
            Ok(())
        }) {
            eprintln!("netsh: {e}");
        }
    }
}

impl EmbeddedStore {
    /// Opens (creating if needed, with its directory) the store file at `path`.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, EmbeddedOptions::default()).await
    }

    /// [`Self::open`] with non-default tuning.
    pub async fn open_with(
        path: impl AsRef<Path>,
        options: EmbeddedOptions,
    ) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let open_path = path.clone();
        let inner = tokio::task::spawn_blocking(move || {
            quiet_panics(&open_path.clone(), || Inner::open(open_path, options))
        })
        .await
        .map_err(|e| embedded_error(&path, e))??;
        Ok(EmbeddedStore {
            inner: Arc::new(inner),
        })
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs blocking redb work off the async threads.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || quiet_panics(&inner.path.clone(), || work(&inner)))
            .await
            .map_err(|e| embedded_error(&self.inner.path, e))?
    }
}

impl Inner {
    fn open(path: PathBuf, options: EmbeddedOptions) -> Result<Inner, StoreError> {
        // the store holds the run's leases and keys: root's alone (0700 directory, 0600 file),
        // whatever the umask
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            safe_file::create_dir(dir, 0o700).map_err(|e| {
                embedded_error(&path, format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_store_file(&path)?,
            Err(e) => return Err(embedded_error(&path, format!("cannot read it: {e}"))),
            Ok(_) => {}
        }
        // netsh only ever puts a complete new store at the path (see create_store_file), so an
        // empty file there is a store that lost its data: opening it would silently start afresh
        let meta = std::fs::metadata(&path)
            .map_err(|e| embedded_error(&path, format!("cannot read it: {e}")))?;
        if meta.len() == 0 {
            return Err(empty_store_error(&path));
        }
        let db = quiet_panics(&path, || {
            Database::builder()
                .set_concurrency_mode(ConcurrencyMode::MultiWriter)
                .create(&path)
                .map_err(|e| embedded_error(&path, e))
        })?;
        let inner = Inner {
            db: std::mem::ManuallyDrop::new(db),
            path,
            options,
        };
        // Create the tables once so read transactions can always open them.
        inner.write(|_| Ok(()))?;
        Ok(inner)
    }

    /// One durable write transaction: sweep expired leases, run `work`, record the revision.
    fn write<T>(
        &self,
        work: impl FnOnce(&mut Writer<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let txn = self
            .db
            .begin_write()
            .map_err(|e| embedded_error(&self.path, e))?;
        let result = {
            let mut w = Writer {
                kv: txn
                    .open_table(KV)
                    .map_err(|e| embedded_error(&self.path, e))?,
                leases: txn
                    .open_table(LEASES)
                    .map_err(|e| embedded_error(&self.path, e))?,
                events: txn
                    .open_table(EVENTS)
                    .map_err(|e| embedded_error(&self.path, e))?,
                meta: txn
                    .open_table(META)
                    .map_err(|e| embedded_error(&self.path, e))?,
                base_revision: 0,
                history: self.options.history_revisions.max(1),
                changed: false,
                touched: false,
                seq: 0,
                now_ms: now_ms(),
                path: &self.path,
            };
            w.base_revision = w.meta_get("revision")?.unwrap_or(1);
            w.sweep_expired()?;
            let result = work(&mut w)?;
            (result, w.finish()?)
        };
        let (result, wrote) = result;
        // A transaction that changed nothing (a lost create, a read-your-own check) is dropped
        // rather than committed: no fsync, no waiting for the disk.
        if wrote {
            txn.commit().map_err(|e| embedded_error(&self.path, e))?;
        } else {
            txn.abort().map_err(|e| embedded_error(&self.path, e))?;
        }
        Ok(result)
    }

    fn read<T>(
        &self,
        work: impl FnOnce(&Reader) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let txn = self
            .db
            .begin_read()
            .map_err(|e| embedded_error(&self.path, e))?;
        let reader = Reader {
            kv: txn
                .open_table(KV)
                .map_err(|e| embedded_error(&self.path, e))?,
            leases: txn
                .open_table(LEASES)
                .map_err(|e| embedded_error(&self.path, e))?,
            events: txn
                .open_table(EVENTS)
                .map_err(|e| embedded_error(&self.path, e))?,
            meta: txn
                .open_table(META)
                .map_err(|e| embedded_error(&self.path, e))?,
            now_ms: now_ms(),
            path: &self.path,
        };
        work(&reader)
    }
}

/// Makes a new, complete store file at `path` (mode 0600, whatever the umask): initialised under
/// a temporary name next to it, then linked into place, so no process ever sees a half-made
/// store there. When another process links its store first, that one is used.
fn create_store_file(path: &Path) -> Result<(), StoreError> {
    let (tmp, file) = safe_file::create_temp(path, 0o600)
        .map_err(|e| embedded_error(path, format!("cannot create a file beside it: {e}")))?;
    drop(file);
    let made = quiet_panics(path, || {
        let db = Database::builder()
            .set_concurrency_mode(ConcurrencyMode::MultiWriter)
            .create(&tmp)
            .map_err(|e| embedded_error(path, e))?;
        let txn = db.begin_write().map_err(|e| embedded_error(path, e))?;
        txn.commit().map_err(|e| embedded_error(path, e))
    })
    .and_then(|()| match std::fs::hard_link(&tmp, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(embedded_error(path, format!("cannot create it: {e}"))),
    });
    let _ = std::fs::remove_file(&tmp);
    made
}

fn empty_store_error(path: &Path) -> StoreError {
    embedded_error(
        path,
        "the file is empty (0 bytes), not a store: its data is lost; netsh does not start a new store over it (remove the file to start afresh)",
    )
}

thread_local! {
    /// Set while this thread runs redb code whose panics become errors (see `quiet_panics`).
    static IN_STORE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs redb code, turning a panic (redb panics on some damaged pages) into an error that names
/// the file, with no panic message printed: a damaged store is bad input, not a netsh bug.
fn quiet_panics<T>(
    path: &Path,
    work: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_STORE.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    let was = IN_STORE.with(|q| q.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
    IN_STORE.with(|q| q.set(was));
    // redb's panic message ("entered unreachable code") says nothing to the person running netsh
    result.unwrap_or_else(|_| Err(damaged_error(path)))
}

fn damaged_error(path: &Path) -> StoreError {
    embedded_error(
        path,
        "the store file is damaged and cannot be read; move it away to start a new store, or restore it from a backup",
    )
}

fn embedded_error(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Embedded {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

type KvRow<'a> = (&'a [u8], i64, i64, i64);

fn to_key_value(key: &str, row: KvRow<'_>) -> KeyValue {
    let (value, create_revision, mod_revision, lease) = row;
    KeyValue {
        key: key.to_string(),
        value: value.to_vec(),
        create_revision,
        mod_revision,
        lease: (lease != 0).then_some(LeaseId(lease)),
    }
}

/// The tables of one write transaction, and the revision it will commit as.
struct Writer<'t> {
    kv: Table<'t, &'static str, KvRow<'static>>,
    leases: Table<'t, i64, (i64, i64)>,
    events: Table<'t, (i64, u32), (u8, &'static str, &'static [u8])>,
    meta: Table<'t, &'static str, i64>,
    base_revision: i64,
    /// Revisions of events to keep.
    history: i64,
    changed: bool,
    /// Whether anything at all was written (leases change without a new revision).
    touched: bool,
    seq: u32,
    now_ms: i64,
    path: &'t Path,
}

impl Writer<'_> {
    fn meta_get(&self, name: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .meta
            .get(name)
            .map_err(|e| embedded_error(self.path, e))?
            .map(|g| g.value()))
    }

    /// The revision this transaction's changes get (one per transaction, like etcd).
    fn change_revision(&mut self) -> i64 {
        self.changed = true;
        self.base_revision + 1
    }

    fn log(&mut self, kind: EventKind, key: &str, value: &[u8]) -> Result<i64, StoreError> {
        let revision = self.change_revision();
        let code = match kind {
            EventKind::Put => 0u8,
            EventKind::Delete => 1u8,
        };
        self.events
            .insert((revision, self.seq), (code, key, value))
            .map_err(|e| embedded_error(self.path, e))?;
        self.seq += 1;
        Ok(revision)
    }

    fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let row = self.kv.get(key).map_err(|e| embedded_error(self.path, e))?;
        Ok(row.map(|g| to_key_value(key, g.value())))
    }

    fn lease_alive(&self, lease: LeaseId) -> Result<bool, StoreError> {
        let row = self
            .leases
            .get(lease.0)
            .map_err(|e| embedded_error(self.path, e))?;
        Ok(row.is_some_and(|g| g.value().1 > self.now_ms))
    }

    fn set(&mut self, key: &str, value: &[u8], lease: Option<LeaseId>) -> Result<i64, StoreError> {
        if let Some(lease) = lease
            && !self.lease_alive(lease)?
        {
            return Err(StoreError::LeaseNotFound(lease));
        }
        let create_revision = self.get(key)?.map(|kv| kv.create_revision);
        let revision = self.log(EventKind::Put, key, value)?;
        let row = (
            value,
            create_revision.unwrap_or(revision),
            revision,
            lease.map_or(0, |l| l.0),
        );
        self.kv
            .insert(key, row)
            .map_err(|e| embedded_error(self.path, e))?;
        Ok(revision)
    }

    fn delete(&mut self, key: &str) -> Result<bool, StoreError> {
        let existed = self
            .kv
            .remove(key)
            .map_err(|e| embedded_error(self.path, e))?
            .is_some();
        if existed {
            self.log(EventKind::Delete, key, &[])?;
        }
        Ok(existed)
    }

    /// Deletes the lease and every key attached to it.
    fn end_lease(&mut self, lease: i64) -> Result<(), StoreError> {
        self.touched = true;
        self.leases
            .remove(lease)
            .map_err(|e| embedded_error(self.path, e))?;
        let mut keys = Vec::new();
        for entry in self.kv.iter().map_err(|e| embedded_error(self.path, e))? {
            let (k, v) = entry.map_err(|e| embedded_error(self.path, e))?;
            if v.value().3 == lease {
                keys.push(k.value().to_string());
            }
        }
        for key in keys {
            self.delete(&key)?;
        }
        Ok(())
    }

    fn sweep_expired(&mut self) -> Result<(), StoreError> {
        let mut expired = Vec::new();
        for entry in self
            .leases
            .iter()
            .map_err(|e| embedded_error(self.path, e))?
        {
            let (id, row) = entry.map_err(|e| embedded_error(self.path, e))?;
            if row.value().1 <= self.now_ms {
                expired.push(id.value());
            }
        }
        for id in expired {
            self.end_lease(id)?;
        }
        Ok(())
    }

    /// Records the new revision and drops events older than the kept history; whether
    /// the transaction wrote anything and so must be committed.
    fn finish(&mut self) -> Result<bool, StoreError> {
        let fresh = self.meta_get("revision")?.is_none();
        if !self.changed && !fresh {
            return Ok(self.touched);
        }
        let revision = if self.changed {
            self.base_revision + 1
        } else {
            self.base_revision
        };
        self.meta
            .insert("revision", revision)
            .map_err(|e| embedded_error(self.path, e))?;
        let floor = revision - self.history;
        let mut compacted = self.meta_get("compacted")?.unwrap_or(0);
        loop {
            let first = self
                .events
                .first()
                .map_err(|e| embedded_error(self.path, e))?;
            let Some(rev) = first.map(|(k, _)| k.value().0) else {
                break;
            };
            if rev > floor {
                break;
            }
            self.events
                .pop_first()
                .map_err(|e| embedded_error(self.path, e))?;
            compacted = compacted.max(rev);
        }
        self.meta
            .insert("compacted", compacted)
            .map_err(|e| embedded_error(self.path, e))?;
        Ok(true)
    }
}

/// The tables of one read transaction.
struct Reader<'p> {
    kv: redb::ReadOnlyTable<&'static str, KvRow<'static>>,
    leases: redb::ReadOnlyTable<i64, (i64, i64)>,
    events: redb::ReadOnlyTable<(i64, u32), (u8, &'static str, &'static [u8])>,
    meta: redb::ReadOnlyTable<&'static str, i64>,
    now_ms: i64,
    path: &'p Path,
}

impl Reader<'_> {
    fn meta_get(&self, name: &str) -> Result<i64, StoreError> {
        Ok(self
            .meta
            .get(name)
            .map_err(|e| embedded_error(self.path, e))?
            .map_or(0, |g| g.value()))
    }

    fn revision(&self) -> Result<i64, StoreError> {
        Ok(self.meta_get("revision")?.max(1))
    }

    /// A key whose lease has expired is gone, even if no writer has swept it yet.
    fn visible(&self, kv: KeyValue) -> Result<Option<KeyValue>, StoreError> {
        let Some(lease) = kv.lease else {
            return Ok(Some(kv));
        };
        let row = self
            .leases
            .get(lease.0)
            .map_err(|e| embedded_error(self.path, e))?;
        let alive = row.is_some_and(|g| g.value().1 > self.now_ms);
        Ok(alive.then_some(kv))
    }

    fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let row = self.kv.get(key).map_err(|e| embedded_error(self.path, e))?;
        match row {
            Some(g) => self.visible(to_key_value(key, g.value())),
            None => Ok(None),
        }
    }

    fn get_prefix(&self, prefix: &str) -> Result<Vec<KeyValue>, StoreError> {
        let mut out = Vec::new();
        let range = self
            .kv
            .range::<&str>((Bound::Included(prefix), Bound::Unbounded))
            .map_err(|e| embedded_error(self.path, e))?;
        for entry in range {
            let (k, v) = entry.map_err(|e| embedded_error(self.path, e))?;
            let key = k.value();
            if !key.starts_with(prefix) {
                break;
            }
            if let Some(kv) = self.visible(to_key_value(key, v.value()))? {
                out.push(kv);
            }
        }
        Ok(out)
    }

    fn any_lease_expired(&self) -> Result<bool, StoreError> {
        for entry in self
            .leases
            .iter()
            .map_err(|e| embedded_error(self.path, e))?
        {
            let (_, row) = entry.map_err(|e| embedded_error(self.path, e))?;
            if row.value().1 <= self.now_ms {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Events after revision `after`, for keys under `prefix`, and the current revision.
    fn events_after(&self, after: i64, prefix: &str) -> Result<(Vec<WatchEvent>, i64), StoreError> {
        let compacted = self.meta_get("compacted")?;
        if after < compacted {
            return Err(StoreError::Compacted {
                requested: after + 1,
                oldest: compacted + 1,
            });
        }
        let revision = self.revision()?;
        let mut out = Vec::new();
        let range = self
            .events
            .range((after.saturating_add(1), 0)..)
            .map_err(|e| embedded_error(self.path, e))?;
        for entry in range {
            let (k, v) = entry.map_err(|e| embedded_error(self.path, e))?;
            let (rev, _) = k.value();
            if rev > revision {
                break;
            }
            let (code, key, value) = v.value();
            if key.starts_with(prefix) {
                out.push(WatchEvent {
                    kind: if code == 0 {
                        EventKind::Put
                    } else {
                        EventKind::Delete
                    },
                    key: key.to_string(),
                    value: value.to_vec(),
                    revision: rev,
                });
            }
        }
        Ok((out, revision))
    }
}

#[async_trait]
impl Store for EmbeddedStore {
    fn describe(&self) -> String {
        format!("embedded {}", self.inner.path.display())
    }

    async fn revision(&self) -> Result<Revision, StoreError> {
        self.blocking(|db| db.read(|r| r.revision())).await
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let key = key.to_string();
        self.blocking(move |db| db.read(|r| r.get(&key))).await
    }

    async fn get_prefix(&self, prefix: &str) -> Result<Snapshot, StoreError> {
        let prefix = prefix.to_string();
        self.blocking(move |db| {
            db.read(|r| {
                Ok(Snapshot {
                    kvs: r.get_prefix(&prefix)?,
                    revision: r.revision()?,
                })
            })
        })
        .await
    }

    async fn put(
        &self,
        key: &str,
        value: &[u8],
        lease: Option<LeaseId>,
    ) -> Result<Revision, StoreError> {
        let (key, value) = (key.to_string(), value.to_vec());
        self.blocking(move |db| db.write(|w| w.set(&key, &value, lease)))
            .await
    }

    async fn create(
        &self,
        key: &str,
        value: &[u8],
        lease: Option<LeaseId>,
    ) -> Result<Option<Revision>, StoreError> {
        let (key, value) = (key.to_string(), value.to_vec());
        self.blocking(move |db| {
            db.write(|w| {
                if w.get(&key)?.is_some() {
                    return Ok(None);
                }
                w.set(&key, &value, lease).map(Some)
            })
        })
        .await
    }

    async fn replace(
        &self,
        key: &str,
        value: &[u8],
        lease: Option<LeaseId>,
        mod_revision: Revision,
    ) -> Result<Option<Revision>, StoreError> {
        let (key, value) = (key.to_string(), value.to_vec());
        self.blocking(move |db| {
            db.write(|w| match w.get(&key)? {
                Some(kv) if kv.mod_revision == mod_revision => w.set(&key, &value, lease).map(Some),
                _ => Ok(None),
            })
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        let key = key.to_string();
        self.blocking(move |db| db.write(|w| w.delete(&key))).await
    }

    async fn grant(&self, ttl: Duration) -> Result<Lease, StoreError> {
        let secs = ttl_seconds(ttl);
        self.blocking(move |db| {
            db.write(|w| {
                let expiry = w.now_ms.saturating_add(secs.saturating_mul(1000));
                loop {
                    // Positive like etcd's ids; 0 means "no lease" in the key table.
                    let id = rand::random_range(1..i64::MAX);
                    if w.leases
                        .get(id)
                        .map_err(|e| embedded_error(w.path, e))?
                        .is_none()
                    {
                        w.touched = true;
                        w.leases
                            .insert(id, (secs, expiry))
                            .map_err(|e| embedded_error(w.path, e))?;
                        return Ok(Lease {
                            id: LeaseId(id),
                            ttl: Duration::from_secs(secs.unsigned_abs()),
                        });
                    }
                }
            })
        })
        .await
    }

    async fn keep_alive(&self, lease: LeaseId) -> Result<Duration, StoreError> {
        self.blocking(move |db| {
            db.write(|w| {
                let row = w
                    .leases
                    .get(lease.0)
                    .map_err(|e| embedded_error(w.path, e))?
                    .map(|g| g.value());
                let Some((secs, _)) = row else {
                    return Err(StoreError::LeaseNotFound(lease));
                };
                let expiry = w.now_ms.saturating_add(secs.saturating_mul(1000));
                w.touched = true;
                w.leases
                    .insert(lease.0, (secs, expiry))
                    .map_err(|e| embedded_error(w.path, e))?;
                Ok(Duration::from_secs(secs.unsigned_abs()))
            })
        })
        .await
    }

    async fn revoke(&self, lease: LeaseId) -> Result<(), StoreError> {
        self.blocking(move |db| db.write(|w| w.end_lease(lease.0)))
            .await
    }

    async fn watch_prefix(
        &self,
        prefix: &str,
        start: Option<Revision>,
    ) -> Result<WatchStream, StoreError> {
        let prefix = prefix.to_string();
        let seen = match start {
            Some(start) => start.saturating_sub(1).max(0),
            None => self.revision().await?,
        };
        // Check the start against the kept history now, so the caller gets the error directly.
        {
            let prefix = prefix.clone();
            self.blocking(move |db| db.read(|r| r.events_after(seen, &prefix).map(|_| ())))
                .await?;
        }
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        let store = self.clone();
        tokio::spawn(async move { store.pump_watch(prefix, seen, tx).await });
        Ok(Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })))
    }
}

impl EmbeddedStore {
    /// Feeds a watch until its receiver is dropped or an error has been delivered.
    async fn pump_watch(
        self,
        prefix: String,
        mut seen: i64,
        tx: tokio::sync::mpsc::Sender<Result<WatchEvent, StoreError>>,
    ) {
        loop {
            let scan_prefix = prefix.clone();
            let polled = self
                .blocking(move |db| {
                    db.read(|r| {
                        let (events, revision) = r.events_after(seen, &scan_prefix)?;
                        Ok((events, revision, r.any_lease_expired()?))
                    })
                })
                .await;
            match polled {
                Ok((events, revision, expired)) => {
                    for event in events {
                        if tx.send(Ok(event)).await.is_err() {
                            return;
                        }
                    }
                    seen = revision;
                    if expired {
                        // Sweeping is a write: it deletes the keys and logs their delete events,
                        // which the next poll delivers (to every watcher, in every process).
                        if let Err(e) = self.blocking(|db| db.write(|_| Ok(()))).await {
                            let _ = tx.send(Err(e)).await;
                            return;
                        }
                        continue;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.inner.options.watch_poll) => {}
                _ = tx.closed() => return,
            }
        }
    }
}
