//! Errors from either store, worded for the person running netsh.

use super::LeaseId;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store lease {:x} does not exist (it expired or was revoked)", .0.0)]
    LeaseNotFound(LeaseId),

    #[error(
        "the store no longer has history from revision {requested}; the oldest kept is {oldest}"
    )]
    Compacted { requested: i64, oldest: i64 },

    /// The store lost its data under us: its revision went backwards (an etcd restarted with an
    /// empty data directory). What was written before is gone and must be written again.
    #[error(
        "the store was reset: its revision went back from {seen} to {now}, so what was stored before is gone"
    )]
    Reset { seen: i64, now: i64 },

    #[error("the value of {key} is not UTF-8 text")]
    NotUtf8 { key: String },

    #[error("embedded store {path}: {message}")]
    Embedded { path: String, message: String },

    /// etcd refused the user name and password: retrying or another endpoint cannot help.
    #[error("etcd ({endpoints}): authentication failed for user `{user}`: {detail}")]
    AuthFailed {
        endpoints: String,
        user: String,
        detail: String,
    },

    #[error("etcd ({endpoints}): {message}")]
    Etcd { endpoints: String, message: String },
}
