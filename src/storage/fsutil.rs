//! Small filesystem helpers with typed errors.
//!
//! Owns: directory fsync, atomic small-file replace, listing `<prefix><hex>` files. These are the only
//! places the crash-safety recipe (write tmp, fsync, rename, fsync dir) is spelled out. Must not: know
//! record or snapshot formats.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::{Result, StorageError};
use super::format::{parse_file_name, parse_snapshot_name};

/// Fsyncs a directory so that file creations, renames and deletions in it survive a crash.
pub fn fsync_dir(dir: &Path) -> Result<()> {
    let d = File::open(dir).map_err(|e| StorageError::io("open dir", dir, e))?;
    d.sync_all()
        .map_err(|e| StorageError::io("fsync dir", dir, e))
}

/// Creates `dir` (and parents) if missing.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| StorageError::io("create dir", dir, e))
}

/// Replaces `path` with `content` so a crash leaves either the old or the new content, never a mix:
/// write `<path>.tmp`, fsync it, rename over `path`, fsync the directory.
pub fn atomic_write(path: &Path, content: &[u8]) -> Result<()> {
    let tmp = tmp_path(path);
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| StorageError::io("create", &tmp, e))?;
    f.write_all(content)
        .map_err(|e| StorageError::io("write", &tmp, e))?;
    f.sync_all()
        .map_err(|e| StorageError::io("fsync", &tmp, e))?;
    drop(f);
    fs::rename(&tmp, path).map_err(|e| StorageError::io("rename", &tmp, e))?;
    fsync_dir(parent_of(path))
}

/// `<path>.tmp`, the name a file carries until it is complete.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}

/// The directory holding `path` (`.` for a bare name).
pub fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Every `<prefix><hex>` file in `dir`, sorted by the zxid in its name. A missing dir is empty.
pub fn list_zxid_files(dir: &Path, prefix: &str) -> Result<Vec<(i64, PathBuf)>> {
    list_by(dir, |n| parse_file_name(prefix, n))
}

/// Every snapshot in `dir` (ours and Apache's, compressed ones included), sorted by zxid.
pub fn list_snapshot_files(dir: &Path) -> Result<Vec<(i64, PathBuf)>> {
    list_by(dir, parse_snapshot_name)
}

fn list_by(dir: &Path, parse: impl Fn(&str) -> Option<i64>) -> Result<Vec<(i64, PathBuf)>> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StorageError::io("read dir", dir, e)),
    };
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| StorageError::io("read dir", dir, e))?;
        let name = entry.file_name();
        if let Some(zxid) = name.to_str().and_then(&parse) {
            out.push((zxid, entry.path()));
        }
    }
    out.sort_by_key(|(z, _)| *z);
    Ok(out)
}

/// Removes a file, treating "already gone" as success (a concurrent purge may have won).
pub fn remove_file(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StorageError::io("remove", path, e)),
    }
}
