//! `Storage::open`: what the runtime calls once at startup.
//!
//! Owns: opening the snapshot store and the txn log (running log recovery), removing unfinished
//! snapshot temp files, and handing back the newest valid snapshot plus the txns to replay after it.
//! Either may be Apache ZooKeeper's (a dataDir Apache wrote): the snapshot says its format, the txns
//! are the same records in both. Also `load_readonly`, the same answer without touching the files
//! (operator tools on a stopped server). Must not: apply txns or decide the next zxid (the runtime
//! does, from what is returned).

use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::api::{LoadedSnapshot, SnapshotStore, TxnLog};
use super::error::{Result, StorageError};
use super::format::VERSION_DIR;
use super::fsutil::list_snapshot_files;
use super::log::{FileTxnLog, LogOptions};
use super::purge::{purge, PurgeReport, MIN_RETAIN};
use super::reader::read_segments_from;
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
    /// Newest valid snapshot, in either server's format.
    pub snapshot: Option<LoadedSnapshot>,
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
            .map_or(i64::MIN, |s| s.zxid.saturating_add(1));
        let txns_after_snapshot = log.read_from(from)?;
        check_history(snapshots.dir(), snapshot.as_ref(), &txns_after_snapshot)?;
        if let Some(s) = &snapshot {
            let z = &s.zxid;
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

    /// The newest valid snapshot and the txns after it, like `open`, but without changing any
    /// file: no torn tail is cut and no directory is created (a torn tail of the last segment
    /// just ends the txns, as it would be cut at the next start).
    pub fn load_readonly(data_dir: &Path, log_dir: &Path) -> Result<Recovered> {
        let snap_dir = data_dir.join(VERSION_DIR);
        let mut snapshot = None;
        for (_, path) in list_snapshot_files(&snap_dir)?.into_iter().rev() {
            match FileSnapshotStore::load_file(&path) {
                Ok(s) => {
                    snapshot = Some(s);
                    break;
                }
                Err(e @ StorageError::BadSnapshot { .. }) => {
                    tracing::warn!(error = %e, "snapshot is invalid; falling back to the previous one");
                }
                Err(e) => return Err(e),
            }
        }
        let from = snapshot
            .as_ref()
            .map_or(i64::MIN, |s| s.zxid.saturating_add(1));
        let txns_after_snapshot = read_segments_from(&log_dir.join(VERSION_DIR), from)?;
        check_history(&snap_dir, snapshot.as_ref(), &txns_after_snapshot)?;
        Ok(Recovered {
            snapshot,
            txns_after_snapshot,
        })
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

/// Refuses to start from a partial history: when snapshots exist but none is valid, the txn log
/// must reach back to the first txn (zxid counter 1 of some epoch, the start of a database);
/// otherwise the txns before it would be silently missing.
fn check_history(
    snap_dir: &Path,
    snapshot: Option<&LoadedSnapshot>,
    txns: &[(i64, Bytes)],
) -> Result<()> {
    if snapshot.is_some() {
        return Ok(());
    }
    let files = list_snapshot_files(snap_dir)?;
    let Some((_, newest)) = files.last() else {
        return Ok(());
    };
    let first = txns.first().map(|(z, _)| *z);
    if first.is_some_and(|z| z & 0xffff_ffff == 1) {
        return Ok(());
    }
    let reason = match FileSnapshotStore::check(newest) {
        Err(e) => e.to_string(),
        Ok(_) => "valid now (changed while starting?)".into(),
    };
    Err(StorageError::NoValidSnapshot {
        count: files.len(),
        newest: newest.clone(),
        reason,
        first_txn: first.map_or_else(|| "none".into(), |z| format!("0x{z:x}")),
    })
}
