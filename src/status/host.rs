//! What the process and its directories show (`dirs`, `envi`, file descriptors, the newest
//! snapshot): read from `/proc` and the data directories when a snapshot is completed,
//! off the core task.
//!
//! Owns: those reads. Must not touch server state.

use std::path::Path;
use std::time::UNIX_EPOCH;

use crate::config::Config;
use crate::storage::{FileSnapshotStore, SnapshotStore};

/// The newest snapshot on disk (AdminServer `last_snapshot`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastSnapshot {
    pub zxid: i64,
    /// File modification time, seconds since the epoch.
    pub timestamp: i64,
}

/// Process and disk facts for the renderers.
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    /// Bytes of files in `dataDir/version-2` (ZooKeeper's `getDataDirSize`).
    pub data_dir_size: u64,
    /// Bytes of files in `dataLogDir/version-2`.
    pub log_dir_size: u64,
    pub open_fds: u64,
    pub max_fds: u64,
    pub last_snapshot: Option<LastSnapshot>,
    pub host_name: String,
    pub os_version: String,
    pub cwd: String,
    pub user_name: String,
    pub user_home: String,
}

impl HostFacts {
    pub fn gather(cfg: &Config) -> HostFacts {
        HostFacts {
            data_dir_size: dir_size(&cfg.data_dir),
            log_dir_size: dir_size(&cfg.data_log_dir),
            open_fds: std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64),
            max_fds: max_fds(),
            last_snapshot: last_snapshot(&cfg.data_dir),
            host_name: read_trimmed("/proc/sys/kernel/hostname"),
            os_version: read_trimmed("/proc/sys/kernel/osrelease"),
            cwd: std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            user_name: std::env::var("USER").unwrap_or_default(),
            user_home: std::env::var("HOME").unwrap_or_default(),
        }
    }
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir.join("version-2")) else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

fn max_fds() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn last_snapshot(data_dir: &Path) -> Option<LastSnapshot> {
    if !data_dir.join("version-2").is_dir() {
        return None;
    }
    let store = FileSnapshotStore::open(data_dir).ok()?;
    let newest = store.list().ok()?.into_iter().max_by_key(|s| s.zxid)?;
    let modified = std::fs::metadata(store.path_of(newest.zxid))
        .and_then(|m| m.modified())
        .ok()?;
    let timestamp = modified
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    Some(LastSnapshot {
        zxid: newest.zxid,
        timestamp,
    })
}
