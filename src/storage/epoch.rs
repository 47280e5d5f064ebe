//! `currentEpoch` / `acceptedEpoch`: the two ZAB epochs a server must not forget across restarts.
//!
//! Owns: reading and atomically replacing these decimal-text files in `<dataDir>/version-2/`
//! (Apache ZooKeeper's names, place and format: digits, no newline), so an Apache member reads
//! ours and we read its. Must not: decide epochs (that is `quorum/`).

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::error::{Result, StorageError};
use super::format::VERSION_DIR;
use super::fsutil::atomic_write;

/// Which epoch file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochFile {
    /// The epoch of the last NEWLEADER this server acknowledged.
    Current,
    /// The epoch this server last promised in discovery (ACKEPOCH).
    Accepted,
}

impl EpochFile {
    /// File name inside `<dataDir>/version-2`.
    pub fn name(self) -> &'static str {
        match self {
            EpochFile::Current => "currentEpoch",
            EpochFile::Accepted => "acceptedEpoch",
        }
    }

    fn path(self, data_dir: &Path) -> PathBuf {
        data_dir.join(VERSION_DIR).join(self.name())
    }
}

/// Reads an epoch; `None` when the file does not exist (a fresh server).
pub fn read_epoch(data_dir: &Path, which: EpochFile) -> Result<Option<i64>> {
    let path = which.path(data_dir);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StorageError::io("read", &path, e)),
    };
    text.trim()
        .parse::<i64>()
        .map(Some)
        .map_err(|_| StorageError::BadEpochFile {
            path,
            content: text.chars().take(64).collect(),
        })
}

/// Writes an epoch durably and atomically (tmp + fsync + rename + dir fsync): after a crash the file
/// holds either the old or the new value.
pub fn write_epoch(data_dir: &Path, which: EpochFile, epoch: i64) -> Result<()> {
    let path = which.path(data_dir);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| StorageError::io("create", dir, e))?;
    }
    atomic_write(&path, epoch.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_then_written_then_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            read_epoch(dir.path(), EpochFile::Current).expect("read"),
            None
        );
        write_epoch(dir.path(), EpochFile::Current, 7).expect("write");
        write_epoch(dir.path(), EpochFile::Accepted, 8).expect("write");
        assert_eq!(
            read_epoch(dir.path(), EpochFile::Current).expect("read"),
            Some(7)
        );
        write_epoch(dir.path(), EpochFile::Current, 9).expect("write");
        assert_eq!(
            read_epoch(dir.path(), EpochFile::Current).expect("read"),
            Some(9)
        );
        assert_eq!(
            read_epoch(dir.path(), EpochFile::Accepted).expect("read"),
            Some(8)
        );
        assert!(!dir.path().join("version-2/currentEpoch.tmp").exists());
        // Apache's format: digits only, in version-2/.
        let text = fs::read_to_string(dir.path().join("version-2/currentEpoch")).expect("read");
        assert_eq!(text, "9");
    }

    #[test]
    fn garbage_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(dir.path().join("version-2")).expect("mkdir");
        fs::write(dir.path().join("version-2/acceptedEpoch"), "x1").expect("write");
        let err = read_epoch(dir.path(), EpochFile::Accepted).expect_err("must fail");
        assert!(err.to_string().contains("acceptedEpoch"), "{err}");
    }
}
