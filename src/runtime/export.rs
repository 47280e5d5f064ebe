//! `zkserver export-apache <dataDir> <outDir>`: hands a stopped zkserver's database to Apache
//! ZooKeeper 3.8/3.9, so a member can be rolled back to Apache keeping its data and identity.
//!
//! The database is rebuilt read-only from `<dataDir>` (and the dataLogDir), exactly as startup
//! would (newest valid snapshot of either format + every txn after it), then written as ONE
//! Apache snapshot `<outDir>/version-2/snapshot.<last zxid hex>` (uncompressed, `ZKSN`, sealed,
//! with the ZxidDigest trailer holding the tree digest at that zxid, which Apache compares as it
//! loads) and read back to check it. `currentEpoch`/`acceptedEpoch` are copied (or, for a
//! standalone server that has none, written as the last zxid's epoch, Apache's own default) and
//! so is `myid`. Apache started with dataDir = dataLogDir = `<outDir>` comes up at the same zxid
//! with the same tree, sessions and digest; it then writes its own txn log from there.
//!
//! Owns: the export recipe. Must not: modify the source directories, or write into an outDir
//! that already holds snapshots or logs (mixing histories is how data is lost).

use std::fs;
use std::path::{Path, PathBuf};

use super::recover::Rebuild;
use crate::proto::txn::DIGEST_VERSION;
use crate::quorum::zxid::epoch_of;
use crate::storage::{
    read_epoch, write_apache_snapshot, write_epoch, ApacheZxidDigest, EpochFile, FileSnapshotStore,
    Storage,
};

/// What `export_apache` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportReport {
    pub snapshot: PathBuf,
    pub zxid: i64,
    pub digest: i64,
    pub nodes: usize,
    pub sessions: usize,
    pub current_epoch: i64,
    pub accepted_epoch: i64,
    pub myid_copied: bool,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Recover(#[from] super::recover::RecoverError),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    #[error("{0} already holds snapshots or txn logs; export into an empty directory")]
    NotEmpty(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the written snapshot {path} does not read back as the exported tree: {reason}")]
    Verify { path: PathBuf, reason: String },
}

/// Exports the database in `data_dir`/`log_dir` (a stopped server's) to `out_dir`.
pub fn export_apache(
    data_dir: &Path,
    log_dir: &Path,
    out_dir: &Path,
) -> Result<ExportReport, ExportError> {
    let out_v2 = out_dir.join("version-2");
    let taken = |p: &Path| -> Result<bool, ExportError> {
        let rd = match fs::read_dir(p) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(source) => {
                return Err(ExportError::Io {
                    path: p.to_path_buf(),
                    source,
                })
            }
        };
        Ok(rd.flatten().any(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n.starts_with("snapshot.") || n.starts_with("log.")
        }))
    };
    if taken(&out_v2)? {
        return Err(ExportError::NotEmpty(out_v2));
    }
    let recovered = Storage::load_readonly(data_dir, log_dir)?;
    // Lengths in a file are only checked against the bytes present; the digest is always kept
    // because Apache compares the trailer with its own.
    let mut rebuild = Rebuild::start(recovered.snapshot, i32::MAX as usize, true)?;
    for (zxid, txn) in recovered.txns_after_snapshot {
        rebuild.apply(zxid, txn)?;
    }
    let tree = rebuild.finish();
    let zxid = tree.last_zxid();
    // Apache writes an empty ZxidDigest (zxid 0) when it has applied nothing.
    let digest = ApacheZxidDigest {
        zxid,
        version: DIGEST_VERSION,
        digest: if zxid == 0 { 0 } else { tree.digest() },
    };
    fs::create_dir_all(&out_v2).map_err(|source| ExportError::Io {
        path: out_v2.clone(),
        source,
    })?;
    let snapshot = write_apache_snapshot(
        &out_v2,
        zxid,
        &mut |w| tree.write_apache_snap(w),
        Some(digest),
    )?;
    verify(&snapshot, &tree)?;
    let epoch = epoch_of(zxid);
    let current_epoch = read_epoch(data_dir, EpochFile::Current)?.unwrap_or(epoch);
    let accepted_epoch = read_epoch(data_dir, EpochFile::Accepted)?.unwrap_or(current_epoch);
    write_epoch(out_dir, EpochFile::Current, current_epoch)?;
    write_epoch(out_dir, EpochFile::Accepted, accepted_epoch)?;
    let myid = data_dir.join("myid");
    let myid_copied = myid.exists();
    if myid_copied {
        fs::copy(&myid, out_dir.join("myid")).map_err(|source| ExportError::Io {
            path: myid.clone(),
            source,
        })?;
    }
    Ok(ExportReport {
        snapshot,
        zxid,
        digest: digest.digest,
        nodes: tree.node_count(),
        sessions: tree.sessions().len(),
        current_epoch,
        accepted_epoch,
        myid_copied,
    })
}

/// Reads the written file back through the same loader startup uses and compares trees.
fn verify(path: &Path, tree: &crate::tree::DataTree) -> Result<(), ExportError> {
    let fail = |reason: String| ExportError::Verify {
        path: path.to_path_buf(),
        reason,
    };
    let snap = FileSnapshotStore::load_file(path)?;
    let rebuild = Rebuild::start(Some(snap), i32::MAX as usize, true)?;
    if tree.last_zxid() != 0 && rebuild.digest_matched != Some(true) {
        return Err(fail(format!(
            "digest trailer check: {:?}",
            rebuild.digest_matched
        )));
    }
    match rebuild.finish().content_diff(tree) {
        None => Ok(()),
        Some(diff) => Err(fail(diff)),
    }
}
