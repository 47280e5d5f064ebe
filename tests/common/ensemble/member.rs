//! One member of a test ensemble: its ports, its files (zoo.cfg, dataDir, log) and, while it
//! runs, its process. Starting and signalling it is `ensemble.rs`.

use std::path::{Path, PathBuf};
use std::process::Child;

use super::{strip_ansi, Impl};

/// One member: its ports, files and (while running) process.
pub struct Member {
    pub id: u64,
    pub observer: bool,
    pub client_port: u16,
    pub quorum_port: u16,
    pub election_port: u16,
    /// What this member runs; may be changed while it is stopped (a rolling migration).
    pub imp: Impl,
    pub(super) dir: PathBuf,
    pub(super) child: Option<Child>,
    pub(super) paused: bool,
}

impl Member {
    /// `127.0.0.1:<clientPort>`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.client_port)
    }
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }
    pub fn cfg_path(&self) -> PathBuf {
        self.dir.join("zoo.cfg")
    }
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }
    /// The member's whole log (every run appended), ANSI colours removed.
    pub fn log(&self) -> String {
        strip_ansi(&std::fs::read_to_string(self.log_path()).unwrap_or_default())
    }
    /// Current length of the log file: pass it to `log_since` to see only what follows.
    pub fn log_len(&self) -> usize {
        std::fs::metadata(self.log_path()).map_or(0, |m| m.len() as usize)
    }
    /// The log written after byte offset `from`, ANSI colours removed.
    pub fn log_since(&self, from: usize) -> String {
        let bytes = std::fs::read(self.log_path()).unwrap_or_default();
        strip_ansi(&String::from_utf8_lossy(
            bytes.get(from..).unwrap_or_default(),
        ))
    }
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}
