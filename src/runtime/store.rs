//! The core's handle on durable storage: append txns (the group committer reports them durable
//! through `CoreMsg::Durable`), flush, TRUNC, clear the log after a SNAP, snapshots taken
//! during sync, the epoch files, and reading old txns back for a learner's DIFF.
//!
//! Enforces: *a failed write or fsync is fatal* — every storage error here logs the file and
//! exits with status 2; the server never serves on after losing durability.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use super::recover::Rebuild;
use crate::quorum::LogSource;
use crate::storage::{
    read_segments_from, write_epoch, write_sync_base, CommitMetrics, CommitSender, EpochFile,
    FileSnapshotStore, SnapshotStore, StorageError,
};
use crate::tree::DataTree;

pub struct Store {
    pub log: CommitSender,
    pub metrics: Arc<CommitMetrics>,
    pub snapshots: Arc<FileSnapshotStore>,
    pub data_dir: PathBuf,
    /// `<dataLogDir>/version-2`, where the log segments are.
    pub log_segments: PathBuf,
    /// The zxid of the last SNAP loaded from a leader (`zkserver.syncBase`): no DIFF is served
    /// from log records older than it.
    pub sync_base: AtomicI64,
}

/// Longest string/buffer a TRUNC reload accepts in an Apache snapshot: the file was already
/// loaded at startup (with `jute.maxbuffer`) or is older, so lengths are only checked against
/// the bytes present.
const RELOAD_MAX_LEN: usize = i32::MAX as usize;

fn fatal(what: &str, e: &StorageError) -> ! {
    tracing::error!(error = %e, "{what} failed; exiting (never serve on after a storage failure)");
    std::process::exit(2)
}

/// Runs blocking storage work on the core's thread without starving the runtime.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

impl Store {
    pub fn append(&self, zxid: i64, txn: Bytes) {
        if let Err(e) = self.log.submit(zxid, txn) {
            fatal("appending to the txn log", &e);
        }
    }

    /// (fsyncs, txns logged) for `mntr`.
    pub fn counters(&self) -> (u64, u64) {
        (self.metrics.fsync_count(), self.metrics.txn_count())
    }

    /// Blocks until every appended txn is durable.
    pub fn flush(&self) {
        if let Err(e) = blocking(|| self.log.flush()) {
            fatal("flushing the txn log", &e);
        }
    }

    /// TRUNC to `zxid`: cut the log, set newer snapshots aside, and rebuild the tree from disk.
    pub fn truncate(&self, zxid: i64, digest_enabled: bool) -> DataTree {
        let started = Instant::now();
        if let Err(e) = blocking(|| self.log.truncate_after(zxid)) {
            fatal("truncating the txn log", &e);
        }
        if let Err(e) = self.snapshots.set_aside_after(zxid) {
            fatal("setting aside snapshots newer than the truncation", &e);
        }
        let tree = self.reload(zxid, digest_enabled);
        tracing::warn!(
            zxid = format_args!("0x{zxid:x}"),
            ms = started.elapsed().as_millis() as u64,
            "log truncated and database reloaded"
        );
        tree
    }

    /// After a SNAP at `zxid`, before its snapshot is written: records the SNAP as the oldest
    /// point a DIFF may start from, and drops logged txns above it (not in the leader's history).
    pub fn replace_history(&self, zxid: i64) {
        if let Err(e) = blocking(|| write_sync_base(&self.data_dir, zxid)) {
            fatal("recording the SNAP's zxid", &e);
        }
        self.sync_base.store(zxid, Ordering::SeqCst);
        if let Err(e) = blocking(|| self.log.truncate_after(zxid)) {
            fatal("truncating the txn log", &e);
        }
    }

    /// Writes a snapshot of `tree` now and waits for it to be durable (sync phase).
    pub fn snapshot_now(&self, tree: &DataTree) {
        let zxid = tree.last_zxid();
        let written = blocking(|| {
            self.snapshots
                .write(zxid, &mut |w| tree.write_snapshot(w))
                .and_then(|_| self.log.roll())
        });
        match written {
            Ok(()) => tracing::info!(
                zxid = format_args!("0x{zxid:x}"),
                "snapshot taken for synchronization"
            ),
            Err(e) => fatal("writing the sync snapshot", &e),
        }
    }

    pub fn write_epoch(&self, which: EpochFile, epoch: i64) {
        if let Err(e) = blocking(|| write_epoch(&self.data_dir, which, epoch)) {
            fatal("writing an epoch file", &e);
        }
    }

    /// The newest valid snapshot, then every logged txn after it up to `upto`.
    fn reload(&self, upto: i64, digest_enabled: bool) -> DataTree {
        let loaded = blocking(|| -> Result<DataTree, String> {
            let snapshot = self.snapshots.newest_valid().map_err(|e| e.to_string())?;
            let mut rebuild = Rebuild::start(snapshot, RELOAD_MAX_LEN, digest_enabled)
                .map_err(|e| e.to_string())?;
            let from = rebuild.tree().last_zxid().saturating_add(1);
            for (z, bytes) in
                read_segments_from(&self.log_segments, from).map_err(|e| e.to_string())?
            {
                if z > upto {
                    break;
                }
                rebuild.apply(z, bytes).map_err(|e| e.to_string())?;
            }
            let mut tree = rebuild.finish();
            tree.set_last_zxid(upto);
            Ok(tree)
        });
        match loaded {
            Ok(t) => t,
            Err(e) => {
                tracing::error!("cannot reload the database after TRUNC: {e}; exiting");
                std::process::exit(2)
            }
        }
    }
}

impl LogSource for Store {
    /// Only from the last SNAP loaded on: older records may include txns that SNAP replaced
    /// (a divergent history that stays in the log). Periodic snapshots are no boundary: the
    /// log around them is this server's own history, as Apache's DIFF from its log assumes.
    fn txns_between(&self, after: i64, upto: i64) -> Option<Vec<(i64, Bytes)>> {
        if after < self.sync_base.load(Ordering::SeqCst) {
            return None;
        }
        let records = match blocking(|| read_segments_from(&self.log_segments, after)) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("cannot read the txn log for a DIFF: {e}");
                return None;
            }
        };
        if records.first().map(|(z, _)| *z) != Some(after) {
            return None;
        }
        let txns: Vec<(i64, Bytes)> = records
            .into_iter()
            .skip(1)
            .take_while(|(z, _)| *z <= upto)
            .collect();
        crate::quorum::history::contiguous(after, &txns).then_some(txns)
    }
}
