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
use crate::quorum::zxid::counter_of;
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
        // The peer's last txn must be in our log (same zxid, same txn) — or the peer stopped
        // right at the start of an epoch (counter 0, no txn of it yet) whose first txn we have.
        let skip = match records.first().map(|(z, _)| *z) {
            Some(z) if z == after => 1,
            Some(z) if counter_of(after) == 0 && z == after + 1 => 0,
            _ => return None,
        };
        let txns: Vec<(i64, Bytes)> = records
            .into_iter()
            .skip(skip)
            .take_while(|(z, _)| *z <= upto)
            .collect();
        crate::quorum::history::contiguous(after, &txns).then_some(txns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{FileTxnLog, GroupCommitter, LogOptions};

    /// A store over a fresh dataDir whose log holds `zxids` (each txn's bytes are its zxid).
    fn store_with(dir: &std::path::Path, zxids: &[i64]) -> (Store, GroupCommitter) {
        let opts = LogOptions {
            pre_alloc_size: 0,
            force_sync: false,
        };
        let log = FileTxnLog::open(dir, opts).expect("open log");
        let log_dir = log.dir().to_path_buf();
        let committer = GroupCommitter::spawn(Box::new(log), |_| {}).expect("committer");
        let store = Store {
            log: committer.sender(),
            metrics: committer.metrics(),
            snapshots: Arc::new(FileSnapshotStore::open(dir).expect("snapshots")),
            data_dir: dir.to_path_buf(),
            log_segments: log_dir,
            sync_base: AtomicI64::new(0),
        };
        for &z in zxids {
            store.append(z, Bytes::from(z.to_be_bytes().to_vec()));
        }
        store.flush();
        (store, committer)
    }

    fn zxids(txns: Option<Vec<(i64, Bytes)>>) -> Option<Vec<i64>> {
        txns.map(|t| t.into_iter().map(|(z, _)| z).collect())
    }

    #[test]
    fn a_diff_starts_after_the_peers_txn_or_at_the_start_of_its_epoch() {
        let dir = tempfile::tempdir().expect("tempdir");
        let e1 = 1_i64 << 32;
        let e2 = 2_i64 << 32;
        let (store, _c) = store_with(dir.path(), &[e1 + 1, e1 + 2, e1 + 3, e2 + 1, e2 + 2]);
        assert_eq!(
            zxids(store.txns_between(e1 + 2, e2 + 2)),
            Some(vec![e1 + 3, e2 + 1, e2 + 2])
        );
        // A peer at epoch 2's counter 0 holds what precedes epoch 2's first txn.
        assert_eq!(
            zxids(store.txns_between(e2, e2 + 2)),
            Some(vec![e2 + 1, e2 + 2])
        );
        assert_eq!(
            zxids(store.txns_between(e1, e2 + 1)),
            Some(vec![e1 + 1, e1 + 2, e1 + 3, e2 + 1])
        );
        // A zxid the log does not hold, or from an epoch it never saw: no DIFF from the log.
        assert_eq!(zxids(store.txns_between(e1 + 7, e2 + 2)), None);
        assert_eq!(zxids(store.txns_between(3 << 32, e2 + 2)), None);
    }

    #[test]
    fn no_diff_from_records_older_than_the_last_snap_loaded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let e1 = 1_i64 << 32;
        let (store, _c) = store_with(dir.path(), &[e1 + 1, e1 + 2, e1 + 3, e1 + 4]);
        store.replace_history(e1 + 3);
        assert_eq!(zxids(store.txns_between(e1 + 1, e1 + 3)), None);
        assert_eq!(zxids(store.txns_between(e1 + 3, e1 + 3)), Some(vec![]));
        // Recorded on disk for the next start.
        assert_eq!(
            crate::storage::read_sync_base(dir.path()).expect("read"),
            e1 + 3
        );
    }
}
