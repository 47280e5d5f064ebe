//! The in-memory twin of the txn log and the snapshot store, for simulations and tests.
//!
//! Owns: `MemTxnLog` and `MemSnapshotStore`, which keep the same contracts as the file store
//! (segments, roll, purge, TRUNC, validation failures) with their state in an `Arc`, so "reopen" is a
//! clone and a simulated crash (`crash()`) keeps only what was synced. Must not: touch the disk.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use super::api::{LoadedSnapshot, SnapshotFormat, SnapshotInfo, SnapshotStore, TxnLog};
use super::error::{Result, StorageError};
use super::format::{file_name, SNAP_PREFIX};

#[derive(Default)]
struct LogState {
    segments: Vec<Vec<(i64, Bytes)>>,
    roll_next: bool,
    synced_zxid: i64,
}

impl LogState {
    fn last(&self) -> i64 {
        self.segments
            .last()
            .and_then(|s| s.last())
            .map_or(0, |(z, _)| *z)
    }
}

/// In-memory `TxnLog`. Clones share state.
#[derive(Clone, Default)]
pub struct MemTxnLog {
    state: Arc<Mutex<LogState>>,
}

impl MemTxnLog {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, LogState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Simulates a crash: records appended after the last `sync` are lost.
    pub fn crash(&self) {
        let mut s = self.lock();
        let synced = s.synced_zxid;
        for seg in &mut s.segments {
            seg.retain(|(z, _)| *z <= synced);
        }
        s.segments.retain(|seg| !seg.is_empty());
    }

    /// What a process restart sees: a new handle over the same (synced) state that appends to the
    /// last segment, as the file log does after reopening.
    pub fn reopen(&self) -> MemTxnLog {
        self.crash();
        self.lock().roll_next = false;
        self.clone()
    }
}

impl TxnLog for MemTxnLog {
    fn append(&mut self, zxid: i64, txn: &[u8]) -> Result<()> {
        let mut s = self.lock();
        let last = s.last();
        if zxid <= last {
            return Err(StorageError::ZxidOrder { zxid, last });
        }
        if txn.is_empty() {
            return Err(StorageError::EmptyTxn { zxid });
        }
        if s.roll_next || s.segments.is_empty() {
            s.segments.push(Vec::new());
            s.roll_next = false;
        }
        if let Some(seg) = s.segments.last_mut() {
            seg.push((zxid, Bytes::copy_from_slice(txn)));
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        let mut s = self.lock();
        s.synced_zxid = s.last();
        Ok(())
    }

    fn roll(&mut self) -> Result<()> {
        let mut s = self.lock();
        s.synced_zxid = s.last();
        s.roll_next = true;
        Ok(())
    }

    fn last_zxid(&self) -> i64 {
        self.lock().last()
    }

    fn first_zxid(&self) -> Result<Option<i64>> {
        Ok(self
            .lock()
            .segments
            .first()
            .and_then(|s| s.first())
            .map(|(z, _)| *z))
    }

    fn read_from(&self, zxid: i64) -> Result<Vec<(i64, Bytes)>> {
        let s = self.lock();
        Ok(s.segments
            .iter()
            .flatten()
            .filter(|(z, _)| *z >= zxid)
            .cloned()
            .collect())
    }

    fn truncate_after(&mut self, zxid: i64) -> Result<()> {
        let mut s = self.lock();
        for seg in &mut s.segments {
            seg.retain(|(z, _)| *z <= zxid);
        }
        s.segments.retain(|seg| !seg.is_empty());
        s.synced_zxid = s.last();
        s.roll_next = false;
        Ok(())
    }

    fn purge_before(&mut self, zxid: i64) -> Result<()> {
        let mut s = self.lock();
        while s.segments.len() > 1 && s.segments[1].first().is_some_and(|(z, _)| *z <= zxid) {
            s.segments.remove(0);
        }
        Ok(())
    }
}

#[derive(Default)]
struct SnapState {
    snaps: BTreeMap<i64, Bytes>,
    damaged: BTreeSet<i64>,
}

/// In-memory `SnapshotStore`. Clones share state.
#[derive(Clone, Default)]
pub struct MemSnapshotStore {
    state: Arc<Mutex<SnapState>>,
}

impl MemSnapshotStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, SnapState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks a snapshot as failing validation, as a torn or bit-flipped file would.
    pub fn damage(&self, zxid: i64) {
        self.lock().damaged.insert(zxid);
    }

    fn name(zxid: i64) -> PathBuf {
        PathBuf::from(format!("mem:{}", file_name(SNAP_PREFIX, zxid)))
    }

    fn valid(s: &SnapState, zxid: i64) -> bool {
        s.snaps.contains_key(&zxid) && !s.damaged.contains(&zxid)
    }
}

impl SnapshotStore for MemSnapshotStore {
    fn write(
        &self,
        zxid: i64,
        body: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
    ) -> Result<SnapshotInfo> {
        let mut buf = Vec::new();
        body(&mut buf).map_err(|e| StorageError::io("write snapshot", Self::name(zxid), e))?;
        let size = buf.len() as u64;
        let mut s = self.lock();
        s.snaps.insert(zxid, Bytes::from(buf));
        s.damaged.remove(&zxid);
        Ok(SnapshotInfo { zxid, size })
    }

    fn newest_valid(&self) -> Result<Option<LoadedSnapshot>> {
        let s = self.lock();
        for (zxid, body) in s.snaps.iter().rev() {
            if s.damaged.contains(zxid) {
                tracing::warn!(file = %Self::name(*zxid).display(), "snapshot is invalid; falling back to the previous one");
                continue;
            }
            return Ok(Some(LoadedSnapshot {
                zxid: *zxid,
                path: Self::name(*zxid),
                format: SnapshotFormat::Zkserver,
                body: body.clone(),
            }));
        }
        Ok(None)
    }

    fn read(&self, zxid: i64) -> Result<Bytes> {
        let s = self.lock();
        if s.damaged.contains(&zxid) {
            return Err(StorageError::BadSnapshot {
                path: Self::name(zxid),
                reason: "damaged".into(),
            });
        }
        s.snaps.get(&zxid).cloned().ok_or_else(|| {
            StorageError::io("read", Self::name(zxid), io::ErrorKind::NotFound.into())
        })
    }

    fn list(&self) -> Result<Vec<SnapshotInfo>> {
        Ok(self
            .lock()
            .snaps
            .iter()
            .map(|(z, b)| SnapshotInfo {
                zxid: *z,
                size: b.len() as u64,
            })
            .collect())
    }

    fn retain(&self, keep: usize) -> Result<Vec<i64>> {
        let mut s = self.lock();
        let newest_valid = s.snaps.keys().rev().find(|z| Self::valid(&s, **z)).copied();
        let cut = s.snaps.len().saturating_sub(keep);
        let doomed: Vec<i64> = s
            .snaps
            .keys()
            .take(cut)
            .filter(|z| Some(**z) != newest_valid)
            .copied()
            .collect();
        for z in &doomed {
            s.snaps.remove(z);
            s.damaged.remove(z);
        }
        Ok(doomed)
    }
}
