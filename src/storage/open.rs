//! `Storage::open`: what the runtime calls once at startup.
//!
//! Owns: opening the snapshot store and the txn log (running log recovery), removing unfinished
//! snapshot temp files, and handing back the newest valid snapshot plus the txns to replay after it.
//! Must not: apply txns or decide the next zxid (the runtime does, from what is returned).

use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::api::{SnapshotStore, TxnLog};
use super::error::Result;
use super::log::{FileTxnLog, LogOptions};
use super::purge::{purge, PurgeReport, MIN_RETAIN};
use super::snapshot::FileSnapshotStore;

/// Settings from zoo.cfg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageOptions {
    /// `preAllocSize` in bytes (zoo.cfg gives KiB).
    pub pre_alloc_size: u64,
    /// `forceSync`; `false` is unsafe (see the module doc).
    pub force_sync: bool,
    /// `autopurge.snapRetainCount` (raised to 3).
    pub snap_retain_count: usize,
}

impl Default for StorageOptions {
    fn default() -> Self {
        StorageOptions {
            pre_alloc_size: LogOptions::default().pre_alloc_size,
            force_sync: true,
            snap_retain_count: MIN_RETAIN,
        }
    }
}

/// What was on disk at startup.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Newest valid snapshot: (zxid, body).
    pub snapshot: Option<(i64, Bytes)>,
    /// Every logged txn with a zxid above the snapshot's, in order, to replay onto it.
    pub txns_after_snapshot: Vec<(i64, Bytes)>,
}

/// The opened stores. Hand `log` to a `GroupCommitter`; `snapshots` can move to a snapshot thread.
pub struct Storage {
    pub log: FileTxnLog,
    pub snapshots: FileSnapshotStore,
    pub data_dir: PathBuf,
    pub log_dir: PathBuf,
    pub options: StorageOptions,
}

impl Storage {
    /// Opens both stores, recovers the log and loads what the tree must be rebuilt from.
    pub fn open(
        data_dir: &Path,
        log_dir: &Path,
        options: StorageOptions,
    ) -> Result<(Storage, Recovered)> {
        let snapshots = FileSnapshotStore::open(data_dir)?;
        snapshots.remove_temp_files()?;
        let log = FileTxnLog::open(
            log_dir,
            LogOptions {
                pre_alloc_size: options.pre_alloc_size,
                force_sync: options.force_sync,
            },
        )?;
        let snapshot = snapshots.newest_valid()?;
        let from = snapshot
            .as_ref()
            .map_or(i64::MIN, |(z, _)| z.saturating_add(1));
        let txns_after_snapshot = log.read_from(from)?;
        if let Some((z, _)) = &snapshot {
            if log.last_zxid() < *z {
                tracing::warn!(
                    snapshot_zxid = format_args!("0x{z:x}"),
                    log_zxid = format_args!("0x{:x}", log.last_zxid()),
                    "txn log ends before the newest snapshot"
                );
            }
        }
        let storage = Storage {
            log,
            snapshots,
            data_dir: data_dir.to_path_buf(),
            log_dir: log_dir.to_path_buf(),
            options,
        };
        Ok((
            storage,
            Recovered {
                snapshot,
                txns_after_snapshot,
            },
        ))
    }

    /// Runs retention with the configured `snapRetainCount` (the runtime's purgeInterval timer).
    pub fn purge(&self) -> Result<PurgeReport> {
        purge(
            &self.data_dir,
            &self.log_dir,
            self.options.snap_retain_count,
        )
    }
}
