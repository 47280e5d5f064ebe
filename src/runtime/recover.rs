//! Startup: open storage, load the newest valid snapshot and replay the txns after it,
//! so the server continues exactly where the last durable txn left it. The snapshot and the
//! log segments may be Apache ZooKeeper's (a dataDir Apache wrote): `Rebuild` builds the tree
//! from either format and checks the digest Apache recorded in its snapshot when replay reaches
//! that zxid, as Apache does. `Rebuild` also serves TRUNC reloads and `export-apache`.

use std::path::Path;
use std::time::Instant;

use bytes::Bytes;

use crate::config::Config;
use crate::proto::txn::{Txn, DIGEST_VERSION};
use crate::status::ServerMetrics;
use crate::storage::{
    ApacheZxidDigest, FileSnapshotStore, LoadedSnapshot, SnapshotFormat, Storage, StorageOptions,
};
use crate::tree::DataTree;

/// Why the database could not be loaded; startup stops with this message.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    #[error("snapshot 0x{zxid:x} does not decode: {reason}")]
    Snapshot { zxid: i64, reason: String },
    #[error("txn 0x{zxid:x} in the log does not decode: {reason}")]
    Txn { zxid: i64, reason: String },
}

/// A tree being rebuilt from a snapshot and the txns after it.
pub struct Rebuild {
    tree: DataTree,
    /// The digest an Apache snapshot recorded, still to be compared (Apache's
    /// `digestFromLoadedSnapshot`).
    pending_digest: Option<ApacheZxidDigest>,
    /// Whether that comparison held (`None`: nothing compared).
    pub digest_matched: Option<bool>,
}

impl Rebuild {
    /// Starts from `snapshot` (or an empty tree). `max_len` caps strings and buffers in an
    /// Apache snapshot (`jute.maxbuffer` + extra, as Apache reads them).
    pub fn start(
        snapshot: Option<LoadedSnapshot>,
        max_len: usize,
        digest_enabled: bool,
    ) -> Result<Rebuild, RecoverError> {
        let mut pending_digest = None;
        let mut tree = match snapshot {
            None => DataTree::with_digest(digest_enabled),
            Some(s) => {
                let bad = |reason: String| RecoverError::Snapshot {
                    zxid: s.zxid,
                    reason: format!("{}: {reason}", s.path.display()),
                };
                match s.format {
                    SnapshotFormat::Zkserver => {
                        DataTree::read_snapshot(s.body.clone()).map_err(|e| bad(e.to_string()))?
                    }
                    SnapshotFormat::Apache { digest } => {
                        let loaded = DataTree::read_apache_snap(&s.body, max_len, digest_enabled)
                            .map_err(|e| bad(e.to_string()))?;
                        let mut tree = loaded.tree;
                        // Apache takes the zxid from the file name, whatever the trailers say.
                        tree.set_last_zxid(s.zxid);
                        tracing::info!(file = %s.path.display(), zxid = format_args!("{:#x}", s.zxid), digest = ?digest, "loaded Apache ZooKeeper's snapshot");
                        // Apache's rules: an empty digest (zxid 0) or one older than the
                        // snapshot's start is not compared.
                        pending_digest = digest.filter(|d| d.zxid > 0 && d.zxid >= s.zxid);
                        tree
                    }
                }
            }
        };
        tree.set_digest_enabled(digest_enabled);
        let mut r = Rebuild {
            tree,
            pending_digest,
            digest_matched: None,
        };
        r.compare_digest();
        Ok(r)
    }

    /// Applies one logged txn unless the tree is already past it; `Ok(false)` when skipped.
    pub fn apply(&mut self, zxid: i64, bytes: Bytes) -> Result<bool, RecoverError> {
        if zxid <= self.tree.last_zxid() {
            return Ok(false);
        }
        let txn = Txn::decode(bytes).map_err(|e| RecoverError::Txn {
            zxid,
            reason: e.to_string(),
        })?;
        self.tree.apply(&txn);
        self.compare_digest();
        Ok(true)
    }

    pub fn tree(&self) -> &DataTree {
        &self.tree
    }

    /// The rebuilt tree; logs a recorded digest that replay never reached.
    pub fn finish(self) -> DataTree {
        if let Some(d) = self.pending_digest {
            tracing::info!(
                digest_zxid = format_args!("{:#x}", d.zxid),
                zxid = format_args!("{:#x}", self.tree.last_zxid()),
                "the txn the Apache snapshot's digest was recorded at is not in the log; digest not compared"
            );
        }
        self.tree
    }

    /// Apache's `compareSnapshotDigests`: once the tree is at the recorded zxid it is no
    /// longer fuzzy, and its digest must be the recorded one. A mismatch is logged, never
    /// fatal (as in Apache).
    fn compare_digest(&mut self) {
        let Some(d) = self.pending_digest else {
            return;
        };
        let zxid = self.tree.last_zxid();
        if zxid < d.zxid {
            return;
        }
        self.pending_digest = None;
        if zxid > d.zxid || !self.tree.digest_enabled() || d.version != DIGEST_VERSION {
            return;
        }
        let ours = self.tree.digest();
        self.digest_matched = Some(ours == d.digest);
        if ours == d.digest {
            tracing::info!(
                zxid = format_args!("{zxid:#x}"),
                digest = ours,
                "tree digest matches the one in Apache's snapshot"
            );
        } else {
            tracing::error!(zxid = format_args!("{zxid:#x}"), recorded = d.digest, computed = ours, "tree digest differs from the one in Apache's snapshot (Apache: \"Digests are not matching\")");
        }
    }
}

/// What startup recovered: the stores, the tree, and the newest replayed txns (a leader's
/// first DIFF syncs come from these).
pub struct Opened {
    pub storage: Storage,
    pub tree: DataTree,
    pub recent: Vec<(i64, bytes::Bytes)>,
}

/// Opens storage in the configured directories and rebuilds the tree, keeping the last
/// `keep_recent` replayed txns.
pub fn open(
    cfg: &Config,
    opts: StorageOptions,
    keep_recent: usize,
) -> Result<Opened, RecoverError> {
    let started = Instant::now();
    let (storage, recovered) = Storage::open(&cfg.data_dir, &cfg.data_log_dir, opts)?;
    let mut rebuild = Rebuild::start(
        recovered.snapshot,
        cfg.quorum.max_packet,
        cfg.quorum.digest_enabled,
    )?;
    let mut recent = std::collections::VecDeque::with_capacity(keep_recent.min(4096));
    let snapshot_zxid = rebuild.tree().last_zxid();
    let metrics = ServerMetrics::global();
    metrics.startup_snap_load_time.observe(started.elapsed());
    let replay_started = Instant::now();
    let mut replayed = 0u64;
    for (zxid, bytes) in recovered.txns_after_snapshot {
        if !rebuild.apply(zxid, bytes.clone())? {
            continue;
        }
        replayed += 1;
        if keep_recent > 0 {
            if recent.len() == keep_recent {
                recent.pop_front();
            }
            recent.push_back((zxid, bytes));
        }
    }
    let tree = rebuild.finish();
    metrics
        .startup_txns_load_time
        .observe(replay_started.elapsed());
    metrics.startup_txns_loaded.observe_count(replayed);
    metrics.db_init_time.observe(started.elapsed());
    tracing::info!(
        snapshot_zxid = format_args!("{snapshot_zxid:#x}"),
        replayed,
        zxid = format_args!("{:#x}", tree.last_zxid()),
        nodes = tree.node_count(),
        sessions = tree.sessions().len(),
        ms = started.elapsed().as_millis() as u64,
        "database loaded"
    );
    Ok(Opened {
        storage,
        tree,
        recent: recent.into(),
    })
}

/// `zkserver snapshot-dump`: validates a snapshot (zkserver's or Apache's) and prints its
/// summary, and with `nodes` every znode (path, data length, ephemeral owner).
pub fn dump_snapshot(file: &Path, nodes: bool) -> Result<bool, Box<dyn std::error::Error>> {
    let mut out = std::io::stdout().lock();
    let ok = crate::storage::snapshot_dump(file, &mut out)?;
    if !ok || !nodes {
        return Ok(ok);
    }
    let snap = FileSnapshotStore::load_file(file)?;
    let tree =
        Rebuild::start(Some(snap), crate::tree::apache_snap::DEFAULT_MAX_LEN, true)?.finish();
    use std::io::Write;
    writeln!(out, "sessions: {}", tree.sessions().len())?;
    let mut all: Vec<_> = tree.iter().collect();
    all.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (path, node) in all {
        writeln!(
            out,
            "{path}\tdataLength={}\tephemeralOwner=0x{:x}",
            node.data_len(),
            node.stat().ephemeral_owner
        )?;
    }
    Ok(true)
}
