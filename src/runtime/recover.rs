//! Startup: open storage, load the newest valid snapshot and replay the txns after it,
//! so the server continues exactly where the last durable txn left it.

use std::path::Path;
use std::time::Instant;

use crate::config::Config;
use crate::proto::txn::Txn;
use crate::status::ServerMetrics;
use crate::storage::{FileSnapshotStore, SnapshotStore, Storage, StorageOptions};
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
    let mut tree = match recovered.snapshot {
        Some((zxid, body)) => {
            DataTree::read_snapshot(body).map_err(|e| RecoverError::Snapshot {
                zxid,
                reason: e.to_string(),
            })?
        }
        None => DataTree::with_digest(cfg.quorum.digest_enabled),
    };
    tree.set_digest_enabled(cfg.quorum.digest_enabled);
    let mut recent = std::collections::VecDeque::with_capacity(keep_recent.min(4096));
    let snapshot_zxid = tree.last_zxid();
    let metrics = ServerMetrics::global();
    metrics.startup_snap_load_time.observe(started.elapsed());
    let replay_started = Instant::now();
    let mut replayed = 0u64;
    for (zxid, bytes) in recovered.txns_after_snapshot {
        if zxid <= tree.last_zxid() {
            continue;
        }
        let txn = Txn::decode(bytes.clone()).map_err(|e| RecoverError::Txn {
            zxid,
            reason: e.to_string(),
        })?;
        tree.apply(&txn);
        replayed += 1;
        if keep_recent > 0 {
            if recent.len() == keep_recent {
                recent.pop_front();
            }
            recent.push_back((zxid, bytes));
        }
    }
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

/// `zkserver snapshot-dump`: validates a snapshot and prints its summary, and with
/// `nodes` every znode (path, data length, ephemeral owner).
pub fn dump_snapshot(file: &Path, nodes: bool) -> Result<bool, Box<dyn std::error::Error>> {
    let mut out = std::io::stdout().lock();
    let ok = crate::storage::snapshot_dump(file, &mut out)?;
    if !ok || !nodes {
        return Ok(ok);
    }
    let (zxid, _) = FileSnapshotStore::validate(file)?;
    let dir = file
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."));
    let body = FileSnapshotStore::open(dir)?.read(zxid)?;
    let tree = DataTree::read_snapshot(body)?;
    use std::io::Write;
    writeln!(out, "sessions: {}", tree.sessions().len())?;
    for (path, node) in tree.iter() {
        writeln!(
            out,
            "{path}\tdataLength={}\tephemeralOwner=0x{:x}",
            node.data_len(),
            node.stat().ephemeral_owner
        )?;
    }
    Ok(true)
}
