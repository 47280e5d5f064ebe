//! Retention (`autopurge.snapRetainCount`): old snapshots and the log segments they make useless.
//!
//! Owns: the purge rule. Keep the newest `retain_count` (at least 3) snapshots, and never the newest
//! valid one; delete log segments wholly older than the oldest kept snapshot, i.e. a segment whose
//! NEXT segment starts at or before `oldest kept snapshot zxid + 1` (every txn it holds is already in
//! that snapshot). The segment being written is never deleted since it has no next one. Works on the
//! directories alone, so it can run on its timer while the log appends. Must not: decide when to run.

use std::path::Path;

use super::api::{SnapshotStore, TxnLog};
use super::error::Result;
use super::format::{LOG_PREFIX, VERSION_DIR};
use super::fsutil::{fsync_dir, list_zxid_files, remove_file};
use super::snapshot::FileSnapshotStore;

/// ZooKeeper's floor for `autopurge.snapRetainCount`.
pub const MIN_RETAIN: usize = 3;

/// What a purge removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PurgeReport {
    pub snapshots_removed: Vec<i64>,
    /// First zxids of the removed log segments.
    pub segments_removed: Vec<i64>,
}

/// Runs retention on `data_dir` (snapshots) and `log_dir` (txn log).
pub fn purge(data_dir: &Path, log_dir: &Path, retain_count: usize) -> Result<PurgeReport> {
    let snaps = FileSnapshotStore::open(data_dir)?;
    let snapshots_removed = snaps.retain(retain_count.max(MIN_RETAIN))?;
    let mut report = PurgeReport {
        snapshots_removed,
        segments_removed: Vec::new(),
    };
    let Some(oldest_kept) = snaps.list()?.first().map(|s| s.zxid) else {
        return Ok(report);
    };
    let dir = log_dir.join(VERSION_DIR);
    let files = list_zxid_files(&dir, LOG_PREFIX)?;
    for pair in files.windows(2) {
        let ((first, path), (next_first, _)) = (&pair[0], &pair[1]);
        if *next_first <= oldest_kept.saturating_add(1) {
            tracing::info!(file = %path.display(), "purging txn log segment older than the oldest kept snapshot");
            remove_file(path)?;
            report.segments_removed.push(*first);
        }
    }
    if !report.segments_removed.is_empty() {
        fsync_dir(&dir)?;
    }
    Ok(report)
}

/// The same rule for any `TxnLog` + `SnapshotStore` pair (the in-memory twin in simulations).
pub fn purge_stores(
    log: &mut dyn TxnLog,
    snaps: &dyn SnapshotStore,
    retain_count: usize,
) -> Result<PurgeReport> {
    let snapshots_removed = snaps.retain(retain_count.max(MIN_RETAIN))?;
    if let Some(oldest) = snaps.list()?.first() {
        log.purge_before(oldest.zxid.saturating_add(1))?;
    }
    Ok(PurgeReport {
        snapshots_removed,
        segments_removed: Vec::new(),
    })
}
