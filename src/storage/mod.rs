//! Durable storage: the txn log, snapshots, the epoch files, group commit, recovery and retention.
//!
//! Owns every byte zkserver keeps on disk. Stores and returns **opaque** txns (ZooKeeper's own
//! `TxnHeader` + txn records, produced elsewhere) keyed by zxid, and opaque snapshot bodies. Must not:
//! interpret txn bodies (only `tools` peeks at the header for operators), decide quorum, or use tokio
//! (it runs on std threads; the runtime bridges).
//!
//! # On-disk layout
//!
//! ```text
//! <dataDir>/myid                      (config's business)
//! <dataDir>/version-2/currentEpoch    decimal text (no newline, as Apache), replaced atomically
//! <dataDir>/version-2/acceptedEpoch   decimal text (no newline, as Apache), replaced atomically
//! <dataDir>/version-2/snapshot.<hex>  snapshots, <hex> = zxid, lowercase, no padding
//! <dataLogDir>/version-2/log.<hex>    txn log segments, <hex> = zxid of the segment's first record
//! ```
//! `dataLogDir` defaults to `dataDir`. Files ending `.tmp` are unfinished writes (removed at start);
//! `.bak-<unix seconds>` are backups made by `repair-log` (ignored).
//!
//! ## Txn log segment `log.<hex>` (all integers big-endian)
//!
//! ```text
//! offset  size  field
//! 0       4     magic "ZKRL" (5a 4b 52 4c)
//! 4       4     u32 format version = 1
//! 8       8     reserved, zero
//! 16      ...   records, back to back:
//!               +0   4  u32 len  = number of txn bytes (> 0)
//!               +4   4  u32 crc  = crc32 (IEEE, crc32fast) over the 8 zxid bytes then the txn bytes
//!               +8   8  i64 zxid (strictly increasing across the whole log)
//!               +16  len txn bytes (opaque)
//! ...           a record header whose 16 bytes are all zero, or the end of the file, ends the segment
//! ```
//! A segment is created with its header, sized to `preAllocSize` (default 64 MiB) with zeros, fsynced
//! and its directory fsynced; it grows in `preAllocSize` steps, each step's new size fsynced at once,
//! so the per-batch `fdatasync` has no file size to persist. Each batch is one positioned `write` and
//! one `fdatasync` (`forceSync=no` skips the fdatasync: faster, but an OS crash or power loss can lose
//! acknowledged writes — unsafe, as in ZooKeeper). At a roll (each snapshot) the segment is trimmed to
//! its last record and the next append opens `log.<next zxid>`. After a restart appends continue in the
//! last segment.
//!
//! Recovery (see `recovery`): a bad record or stray bytes at the end of the LAST segment with no valid
//! record after them is a torn tail: cut, with a warning naming file and offset. Anything else bad stops
//! startup naming file, byte offset, zxid and `zkserver repair-log <file> --offset <n>`, which cuts the
//! file there (backup `<file>.bak-<ts>`) and moves later segments aside.
//!
//! ## Snapshot `snapshot.<hex>`
//!
//! ```text
//! offset      size  field
//! 0           4     magic "ZKRS" (5a 4b 52 53)
//! 4           4     u32 format version = 1
//! 8           8     i64 zxid (the last zxid applied when the snapshot started; equals <hex>)
//! 16          n     body (opaque, streamed by the tree)
//! 16+n        8     u64 n (body length)
//! 24+n        4     u32 crc32 of the body
//! 28+n        4     end magic "ZKRE" (5a 4b 52 45)
//! ```
//! Written as `snapshot.<hex>.tmp` through a 1 MiB buffer, fsynced, renamed, directory fsynced. The
//! newest snapshot whose trailer and crc hold is loaded; an invalid newest one is skipped with a
//! warning naming the file. Retention keeps `snapRetainCount` (>= 3) snapshots, never deleting the
//! newest valid one, and the log segments not wholly older than the oldest kept snapshot.

mod apache_format;
mod apache_snapshot;
mod api;
mod epoch;
mod error;
mod format;
mod fsutil;
mod group_commit;
mod log;
mod memory;
mod open;
mod purge;
mod reader;
mod recovery;
mod segment;
mod snapshot;
mod snapshot_io;
mod sync_base;
mod tools;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod apache_tests;

pub use apache_format::encode_apache_entry;
pub use apache_snapshot::{write_apache_snapshot, ApacheSnapInfo, ApacheZxidDigest};
pub use api::{LoadedSnapshot, SnapshotFormat, SnapshotInfo, SnapshotStore, TxnLog};
pub use epoch::{read_epoch, write_epoch, EpochFile};
pub use error::StorageError;
pub use group_commit::{
    CommitMetrics, CommitSender, FatalHandler, GroupCommitter, MAX_BATCH_BYTES, MAX_BATCH_TXNS,
};
pub use log::{FileTxnLog, LogOptions};
pub use memory::{MemSnapshotStore, MemTxnLog};
pub use open::{Recovered, Storage, StorageOptions};
pub use purge::{purge, purge_stores, PurgeReport, MIN_RETAIN};
pub use reader::read_segments_from;
pub use recovery::{repair_log, RepairReport};
pub use segment::LogFormat;
pub use snapshot::{FileSnapshotStore, SnapshotCheck};
pub use sync_base::{read_sync_base, write_sync_base};
pub use tools::{describe_txn, iso8601_utc, log_dump, snapshot_dump, LogDumpSummary};
