//! `zkserver.syncBase`: the zxid of the last SNAP this server loaded from a leader.
//!
//! Owns: reading and atomically replacing that decimal-text file in `<dataDir>/version-2/`.
//! Why: txns logged before a SNAP may include ones the leader's history never had (a divergent
//! tail the SNAP replaced), so a DIFF must never be served from log records older than it.
//! Apache ZooKeeper ignores the file; a dataDir without it has no such boundary.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::error::{Result, StorageError};
use super::format::VERSION_DIR;
use super::fsutil::atomic_write;

const FILE_NAME: &str = "zkserver.syncBase";

fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(VERSION_DIR).join(FILE_NAME)
}

/// The recorded SNAP zxid, or 0 when this server never loaded one.
pub fn read_sync_base(data_dir: &Path) -> Result<i64> {
    let path = path(data_dir);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(StorageError::io("read", &path, e)),
    };
    text.trim()
        .parse::<i64>()
        .map_err(|_| StorageError::BadEpochFile {
            path,
            content: text.chars().take(64).collect(),
        })
}

/// Records `zxid` durably (tmp + fsync + rename), before the SNAP's snapshot is written: a crash
/// in between leaves the boundary too high, which only costs a later peer a SNAP.
pub fn write_sync_base(data_dir: &Path, zxid: i64) -> Result<()> {
    let path = path(data_dir);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| StorageError::io("create", dir, e))?;
    }
    atomic_write(&path, zxid.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_reads_as_zero_then_holds_the_last_write() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(read_sync_base(dir.path()).expect("read"), 0);
        write_sync_base(dir.path(), 0x1_0000_0cdb).expect("write");
        write_sync_base(dir.path(), 0x2_0000_0001).expect("write");
        assert_eq!(read_sync_base(dir.path()).expect("read"), 0x2_0000_0001);
    }

    #[test]
    fn garbage_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_sync_base(dir.path(), 5).expect("write");
        fs::write(path(dir.path()), "five").expect("overwrite");
        let err = read_sync_base(dir.path()).expect_err("garbage");
        assert!(err.to_string().contains(FILE_NAME), "{err}");
    }
}
