//! Typed storage errors.
//!
//! Owns: `StorageError`, the one error type every storage operation returns. Every variant that comes
//! from the disk names the file (and the byte offset where one is known) so an operator can act on the
//! message alone. Must not: map errors to ZooKeeper error codes or decide whether to exit (the group
//! committer and the runtime decide that).

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in `storage/`.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// An I/O call failed; `op` says which (open, write, fdatasync, rename, ...).
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A checksum or structure error before the tail of the txn log. Startup must stop: cutting here
    /// could lose acknowledged writes, so only an operator may decide (with `repair-log`).
    #[error(
        "txn log {path} is corrupt at byte offset {offset} (record zxid 0x{zxid:x}, last good zxid \
         0x{last_good_zxid:x}): {reason}. Valid records follow, so this is not a torn tail. To cut the \
         log at this point (a backup is kept) run: zkserver repair-log {path} --offset {offset}"
    )]
    CorruptLog {
        path: PathBuf,
        offset: u64,
        zxid: i64,
        last_good_zxid: i64,
        reason: String,
    },

    /// A file whose header is not ours (wrong magic or unknown version).
    #[error("{path}: bad header: {reason}")]
    BadHeader { path: PathBuf, reason: String },

    /// A snapshot failed validation (truncated, wrong trailer, crc mismatch).
    #[error("snapshot {path} is invalid: {reason}")]
    BadSnapshot { path: PathBuf, reason: String },

    /// Snapshots exist but none passes its checks, and the txn log does not reach back to the start
    /// of the database: loading would silently lose the txns before the log.
    #[error(
        "none of the {count} snapshots is valid (newest {newest}: {reason}) and the txn log does not \
         reach back to the start of the database (first txn: {first_txn}); refusing to start with \
         a partial history. Restore a snapshot from a backup or another member, or move the \
         damaged ones aside only if the log holds the whole history"
    )]
    NoValidSnapshot {
        count: usize,
        newest: PathBuf,
        reason: String,
        first_txn: String,
    },

    /// `append` was given a zxid that is not greater than the last one.
    #[error("zxid 0x{zxid:x} does not follow last zxid 0x{last:x}")]
    ZxidOrder { zxid: i64, last: i64 },

    /// `append` was given an empty txn; a zero length marks the end of a segment on disk.
    #[error("txn for zxid 0x{zxid:x} is empty")]
    EmptyTxn { zxid: i64 },

    /// A txn too large for the u32 length field.
    #[error("txn for zxid 0x{zxid:x} is {len} bytes, larger than the record limit")]
    TxnTooLarge { zxid: i64, len: usize },

    /// `repair_log` was asked to cut at an offset outside the records of the file.
    #[error("cannot repair {path} at offset {offset}: {reason}")]
    BadRepairOffset {
        path: PathBuf,
        offset: u64,
        reason: String,
    },

    /// An epoch file (or `zkserver.syncBase`) holds something other than a decimal integer.
    #[error("epoch file {path} holds {content:?}, not a decimal number")]
    BadEpochFile { path: PathBuf, content: String },

    /// The group committer is gone (shut down or died on a fatal error).
    #[error("group committer has stopped")]
    CommitterStopped,
}

impl StorageError {
    /// Wraps an `io::Error` with the operation and the file it concerned.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StorageError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// Short alias used across the module.
pub type Result<T> = std::result::Result<T, StorageError>;
