//! The storage traits the runtime and the ensemble program against.
//!
//! Owns: `TxnLog` and `SnapshotStore`, implemented by the file store (`log`, `snapshot`) and by the
//! in-memory twin (`memory`), so simulations and tests run the same code paths as production. Must
//! not: hold implementation details.

use std::io::{self, Write};
use std::path::PathBuf;

use bytes::Bytes;

use super::apache_snapshot::ApacheZxidDigest;
use super::error::Result;

/// An append-only log of opaque txns keyed by strictly increasing zxids.
///
/// Durability contract: a record is durable only once a `sync` that started after its `append`
/// returns. Callers answer clients (or ACK proposals) only after that.
pub trait TxnLog: Send {
    /// Buffers a record; `zxid` must be greater than `last_zxid()` and `txn` non-empty.
    fn append(&mut self, zxid: i64, txn: &[u8]) -> Result<()>;
    /// Makes every appended record durable (fdatasync unless `force_sync` is off).
    fn sync(&mut self) -> Result<()>;
    /// Syncs, then makes the next append start a new segment (done at each snapshot so that retention
    /// can delete whole segments).
    fn roll(&mut self) -> Result<()>;
    /// Zxid of the last appended record; 0 when the log is empty.
    fn last_zxid(&self) -> i64;
    /// Zxid of the oldest record still held (after purges), `None` when empty. DIFF is possible only
    /// from a zxid at or after this one.
    fn first_zxid(&self) -> Result<Option<i64>>;
    /// Every record with zxid >= `zxid`, in order, including appended but not yet synced ones.
    fn read_from(&self, zxid: i64) -> Result<Vec<(i64, Bytes)>>;
    /// Drops every record with zxid > `zxid` (TRUNC); durable when it returns.
    fn truncate_after(&mut self, zxid: i64) -> Result<()>;
    /// Deletes segments whose records all have zxid < `zxid`; never the segment being appended to.
    fn purge_before(&mut self, zxid: i64) -> Result<()>;
}

/// Summary of one stored snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub zxid: i64,
    /// Body length in bytes (as far as the file claims; validity is checked on read).
    pub size: u64,
}

/// Which server wrote a snapshot, hence how its body is encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotFormat {
    /// zkserver's `ZKRS` file: the body is the tree's own encoding (`DataTree::read_snapshot`).
    Zkserver,
    /// Apache ZooKeeper's `ZKSN` file: the body is Apache's SNAP body
    /// (`DataTree::read_apache_snap`), with the tree digest Apache recorded, if any.
    Apache { digest: Option<ApacheZxidDigest> },
}

/// A snapshot that passed its checks, ready to rebuild a tree from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedSnapshot {
    pub zxid: i64,
    pub path: PathBuf,
    pub format: SnapshotFormat,
    pub body: Bytes,
}

/// A store of opaque snapshot bodies keyed by the zxid they were taken at.
///
/// `&self` everywhere: a snapshot is written from a background thread while the log keeps appending
/// and other threads read older snapshots.
pub trait SnapshotStore: Send + Sync {
    /// Streams a body through `body` and stores it atomically as the snapshot at `zxid`.
    fn write(
        &self,
        zxid: i64,
        body: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
    ) -> Result<SnapshotInfo>;
    /// The newest snapshot whose checksum holds, in either server's format, falling back (with a
    /// warning naming the file) to older ones when the newest is damaged.
    fn newest_valid(&self) -> Result<Option<LoadedSnapshot>>;
    /// Reads and validates zkserver's snapshot at `zxid` (an Apache file there is an error:
    /// `newest_valid` and `FileSnapshotStore::load_file` read those).
    fn read(&self, zxid: i64) -> Result<Bytes>;
    /// All snapshots, oldest first.
    fn list(&self) -> Result<Vec<SnapshotInfo>>;
    /// Deletes all but the newest `keep` snapshots, never the newest valid one; returns deleted zxids.
    fn retain(&self, keep: usize) -> Result<Vec<i64>>;
}
