//! `FileSnapshotStore`: snapshots as `snapshot.<zxid hex>` files in `<dataDir>/version-2/`.
//!
//! Owns: streaming a caller's body to disk with a running crc32 and length, the tmp + fsync + rename +
//! dir fsync recipe, validation (header, trailer, crc) and the fallback to an older snapshot when the
//! newest is damaged. The same directory may hold Apache ZooKeeper's snapshots (same names, magic
//! `ZKSN`, or `snapshot.<hex>.gz`): they are told apart by their first bytes, checked and loaded by
//! `apache_snapshot`, counted by retention like ours, and never overwritten. Safe to use from a
//! background thread while the log appends. Must not: interpret the body (the tree owns its
//! encoding) or touch the txn log.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::apache_snapshot::{is_apache_snapshot, read_apache_snapshot, ApacheSnapInfo};
use super::api::{LoadedSnapshot, SnapshotFormat, SnapshotInfo, SnapshotStore};
use super::error::{Result, StorageError};
use super::format::{
    file_name, parse_snapshot_name, SNAP_END_MAGIC, SNAP_HEADER_LEN, SNAP_MAGIC, SNAP_PREFIX,
    SNAP_TRAILER_LEN, SNAP_VERSION, VERSION_DIR,
};
use super::fsutil::{ensure_dir, fsync_dir, list_snapshot_files, remove_file, tmp_path};
use super::snapshot_io::{check_header, check_trailer, CrcWriter};

/// Write buffer: large, so a 1M-znode body becomes few, large writes.
const WRITE_BUF: usize = 1 << 20;

/// What checking one snapshot file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotCheck {
    /// zkserver's: the zxid in its header and its body length.
    Zkserver { zxid: i64, body_len: u64 },
    /// Apache's, with its trailers.
    Apache(ApacheSnapInfo),
}

impl SnapshotCheck {
    pub fn zxid(&self) -> i64 {
        match self {
            SnapshotCheck::Zkserver { zxid, .. } => *zxid,
            SnapshotCheck::Apache(i) => i.zxid,
        }
    }
}

/// The zxid a snapshot's file name gives (0 for a name that gives none, e.g. a copied file).
fn name_zxid(path: &Path) -> i64 {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(parse_snapshot_name)
        .unwrap_or(0)
}

/// Snapshots in `<dataDir>/version-2/`.
#[derive(Debug, Clone)]
pub struct FileSnapshotStore {
    dir: PathBuf,
}

impl FileSnapshotStore {
    /// Opens (creating) `data_dir/version-2`.
    pub fn open(data_dir: &Path) -> Result<FileSnapshotStore> {
        let dir = data_dir.join(VERSION_DIR);
        ensure_dir(&dir)?;
        Ok(FileSnapshotStore { dir })
    }

    /// The `version-2/` directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of the snapshot taken at `zxid`.
    pub fn path_of(&self, zxid: i64) -> PathBuf {
        self.dir.join(file_name(SNAP_PREFIX, zxid))
    }

    /// Deletes `snapshot.*.tmp` left by a crash mid-write. Call at startup only, when no snapshot is
    /// being written.
    pub fn remove_temp_files(&self) -> Result<()> {
        let rd = fs::read_dir(&self.dir).map_err(|e| StorageError::io("read dir", &self.dir, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| StorageError::io("read dir", &self.dir, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(SNAP_PREFIX) && name.ends_with(".tmp") {
                tracing::info!(file = %entry.path().display(), "removing unfinished snapshot");
                remove_file(&entry.path())?;
            }
        }
        Ok(())
    }

    /// Validates a snapshot of either format without holding it in memory; returns (zxid, body
    /// length).
    pub fn validate(path: &Path) -> Result<(i64, u64)> {
        Ok(match Self::check(path)? {
            SnapshotCheck::Zkserver { zxid, body_len } => (zxid, body_len),
            SnapshotCheck::Apache(i) => (i.zxid, i.body_len),
        })
    }

    /// Validates a snapshot of either format in one streaming pass and says what it is.
    pub fn check(path: &Path) -> Result<SnapshotCheck> {
        if let Some((info, _)) = read_apache_snapshot(path, name_zxid(path), false)? {
            return Ok(SnapshotCheck::Apache(info));
        }
        let (zxid, body_len) = Self::validate_ours(path)?;
        Ok(SnapshotCheck::Zkserver { zxid, body_len })
    }

    /// Reads and checks a snapshot file of either format.
    pub fn load_file(path: &Path) -> Result<LoadedSnapshot> {
        let zxid = name_zxid(path);
        if let Some((info, body)) = read_apache_snapshot(path, zxid, true)? {
            return Ok(LoadedSnapshot {
                zxid,
                path: path.to_path_buf(),
                format: SnapshotFormat::Apache {
                    digest: info.digest,
                },
                body: body.unwrap_or_default(),
            });
        }
        let (zxid, body) = read_ours(path)?;
        Ok(LoadedSnapshot {
            zxid,
            path: path.to_path_buf(),
            format: SnapshotFormat::Zkserver,
            body,
        })
    }

    fn validate_ours(path: &Path) -> Result<(i64, u64)> {
        let f = File::open(path).map_err(|e| StorageError::io("open", path, e))?;
        let file_len = f
            .metadata()
            .map_err(|e| StorageError::io("stat", path, e))?
            .len();
        let mut r = BufReader::with_capacity(WRITE_BUF, f);
        let mut head = [0u8; SNAP_HEADER_LEN as usize];
        r.read_exact(&mut head)
            .map_err(|e| bad(path, format!("cannot read header: {e}")))?;
        let zxid = check_header(&head).map_err(|reason| bad(path, reason))?;
        if file_len < SNAP_HEADER_LEN + SNAP_TRAILER_LEN {
            return Err(bad(path, format!("truncated: {file_len} bytes")));
        }
        let body_len = file_len - SNAP_HEADER_LEN - SNAP_TRAILER_LEN;
        let mut hasher = crc32fast::Hasher::new();
        let mut left = body_len;
        let mut buf = vec![0u8; 64 * 1024];
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            r.read_exact(&mut buf[..n])
                .map_err(|e| StorageError::io("read", path, e))?;
            hasher.update(&buf[..n]);
            left -= n as u64;
        }
        let mut trailer = [0u8; SNAP_TRAILER_LEN as usize];
        r.read_exact(&mut trailer)
            .map_err(|e| StorageError::io("read", path, e))?;
        check_trailer(&trailer, body_len, hasher.finalize()).map_err(|reason| bad(path, reason))?;
        Ok((zxid, body_len))
    }

    /// A reader over the body of the snapshot at `zxid`, validated first (one streaming pass), so a
    /// SNAP to a follower or a 1M-znode load never holds the whole file in memory.
    pub fn open_body(&self, zxid: i64) -> Result<(u64, impl Read)> {
        let path = self.path_of(zxid);
        let (_, body_len) = Self::validate(&path)?;
        let mut f = File::open(&path).map_err(|e| StorageError::io("open", &path, e))?;
        f.seek(SeekFrom::Start(SNAP_HEADER_LEN))
            .map_err(|e| StorageError::io("seek", &path, e))?;
        Ok((
            body_len,
            BufReader::with_capacity(WRITE_BUF, f).take(body_len),
        ))
    }

    /// TRUNC: snapshots taken after `zxid` describe a history the quorum never committed;
    /// they are renamed aside (`.trunc-<zxid>`) so recovery cannot load them.
    pub fn set_aside_after(&self, zxid: i64) -> Result<Vec<i64>> {
        let mut moved = Vec::new();
        for (z, path) in list_snapshot_files(&self.dir)? {
            if z <= zxid {
                continue;
            }
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let aside = path.with_file_name(format!("{name}.trunc-{zxid:x}"));
            tracing::warn!(file = %path.display(), "TRUNC sets aside a snapshot newer than the truncation point");
            fs::rename(&path, &aside).map_err(|e| StorageError::io("rename", &path, e))?;
            moved.push(z);
        }
        if !moved.is_empty() {
            fsync_dir(&self.dir)?;
        }
        Ok(moved)
    }

    fn write_tmp(
        &self,
        tmp: &Path,
        zxid: i64,
        body: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<u64> {
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(tmp)?;
        let mut w = BufWriter::with_capacity(WRITE_BUF, f);
        w.write_all(&SNAP_MAGIC)?;
        w.write_all(&SNAP_VERSION.to_be_bytes())?;
        w.write_all(&zxid.to_be_bytes())?;
        let mut cw = CrcWriter::new(&mut w);
        body(&mut cw)?;
        let (len, crc) = cw.finish();
        w.write_all(&len.to_be_bytes())?;
        w.write_all(&crc.to_be_bytes())?;
        w.write_all(&SNAP_END_MAGIC)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        Ok(len)
    }
}

/// Reads and checks one of our snapshot files: (zxid from its header, body).
fn read_ours(path: &Path) -> Result<(i64, Bytes)> {
    let all = fs::read(path).map_err(|e| StorageError::io("read", path, e))?;
    let min = (SNAP_HEADER_LEN + SNAP_TRAILER_LEN) as usize;
    if all.len() < min {
        return Err(bad(path, format!("truncated: {} bytes", all.len())));
    }
    let zxid = check_header(&all[..SNAP_HEADER_LEN as usize]).map_err(|r| bad(path, r))?;
    let body_end = all.len() - SNAP_TRAILER_LEN as usize;
    let body = &all[SNAP_HEADER_LEN as usize..body_end];
    check_trailer(&all[body_end..], body.len() as u64, crc32fast::hash(body))
        .map_err(|r| bad(path, r))?;
    Ok((
        zxid,
        Bytes::from(all).slice(SNAP_HEADER_LEN as usize..body_end),
    ))
}

fn bad(path: &Path, reason: String) -> StorageError {
    StorageError::BadSnapshot {
        path: path.to_path_buf(),
        reason,
    }
}

impl SnapshotStore for FileSnapshotStore {
    fn write(
        &self,
        zxid: i64,
        body: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
    ) -> Result<SnapshotInfo> {
        let path = self.path_of(zxid);
        if path.exists() && is_apache_snapshot(&path)? {
            // Apache's files stay as they are until purge; it already holds this zxid's state.
            tracing::info!(file = %path.display(), "an Apache ZooKeeper snapshot at this zxid exists; keeping it instead of writing one");
            let size = fs::metadata(&path)
                .map_err(|e| StorageError::io("stat", &path, e))?
                .len();
            return Ok(SnapshotInfo { zxid, size });
        }
        let tmp = tmp_path(&path);
        let size = match self.write_tmp(&tmp, zxid, body) {
            Ok(n) => n,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(StorageError::io("write snapshot", tmp, e));
            }
        };
        fs::rename(&tmp, &path).map_err(|e| StorageError::io("rename", &tmp, e))?;
        fsync_dir(&self.dir)?;
        Ok(SnapshotInfo { zxid, size })
    }

    fn newest_valid(&self) -> Result<Option<LoadedSnapshot>> {
        for (_, path) in list_snapshot_files(&self.dir)?.into_iter().rev() {
            match Self::load_file(&path) {
                Ok(snap) => return Ok(Some(snap)),
                Err(e @ StorageError::BadSnapshot { .. }) => {
                    tracing::warn!(file = %path.display(), error = %e, "snapshot is invalid; falling back to the previous one");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    fn read(&self, zxid: i64) -> Result<Bytes> {
        let path = self.path_of(zxid);
        let (head_zxid, body) = read_ours(&path)?;
        if head_zxid != zxid {
            return Err(bad(
                &path,
                format!("header zxid 0x{head_zxid:x} differs from the name"),
            ));
        }
        Ok(body)
    }

    fn list(&self) -> Result<Vec<SnapshotInfo>> {
        let mut out = Vec::new();
        for (zxid, path) in list_snapshot_files(&self.dir)? {
            let len = fs::metadata(&path)
                .map_err(|e| StorageError::io("stat", &path, e))?
                .len();
            // Apache's trailers vary; the size is indicative for both formats.
            let size = len.saturating_sub(SNAP_HEADER_LEN + SNAP_TRAILER_LEN);
            out.push(SnapshotInfo { zxid, size });
        }
        Ok(out)
    }

    fn retain(&self, keep: usize) -> Result<Vec<i64>> {
        let files = list_snapshot_files(&self.dir)?;
        let newest_valid = files
            .iter()
            .rev()
            .find(|(_, p)| Self::validate(p).is_ok())
            .map(|(z, _)| *z);
        let cut = files.len().saturating_sub(keep);
        let mut removed = Vec::new();
        for (zxid, path) in &files[..cut] {
            if Some(*zxid) != newest_valid {
                tracing::info!(file = %path.display(), "purging snapshot");
                remove_file(path)?;
                removed.push(*zxid);
            }
        }
        if !removed.is_empty() {
            fsync_dir(&self.dir)?;
        }
        Ok(removed)
    }
}
