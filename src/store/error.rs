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

    #[error("the value of {key} is not UTF-8 text")]
    NotUtf8 { key: String },

    #[error("embedded store {path}: {message}")]
    Embedded { path: String, message: String },

    #[error("etcd ({endpoints}): {message}")]
    Etcd { endpoints: String, message: String },
}
