//! One conformance suite for the txn log and snapshot store, run against the file implementation (real
//! files in a temp dir, "reopen" = drop and open the directory again) and the in-memory twin
//! ("reopen" = a new handle over the shared state).

use std::fs::OpenOptions;
use std::io::Write;

use bytes::Bytes;
use tempfile::TempDir;
use zkserver::storage::{
    FileSnapshotStore, FileTxnLog, LogOptions, MemSnapshotStore, MemTxnLog, SnapshotStore,
    StorageError, TxnLog,
};

/// How the suite reaches one implementation.
trait Harness {
    type Log: TxnLog;
    type Snaps: SnapshotStore;
    /// Opens the log, or reopens it as a restarted process would.
    fn log(&mut self) -> Self::Log;
    fn snaps(&mut self) -> Self::Snaps;
    /// Makes the snapshot at `zxid` fail validation.
    fn damage_snapshot(&mut self, zxid: i64);
}

struct Files(TempDir);

impl Harness for Files {
    type Log = FileTxnLog;
    type Snaps = FileSnapshotStore;
    fn log(&mut self) -> FileTxnLog {
        // A tiny preallocation step so the suite crosses many growth steps.
        let opts = LogOptions {
            pre_alloc_size: 4096,
            force_sync: true,
        };
        FileTxnLog::open(self.0.path(), opts).expect("open log")
    }
    fn snaps(&mut self) -> FileSnapshotStore {
        FileSnapshotStore::open(self.0.path()).expect("open snaps")
    }
    fn damage_snapshot(&mut self, zxid: i64) {
        let path = self.snaps().path_of(zxid);
        let len = std::fs::metadata(&path).expect("stat").len();
        let f = OpenOptions::new().write(true).open(&path).expect("open");
        f.set_len(len - 5).expect("truncate");
    }
}

#[derive(Default)]
struct Memory {
    log: MemTxnLog,
    snaps: MemSnapshotStore,
}

impl Harness for Memory {
    type Log = MemTxnLog;
    type Snaps = MemSnapshotStore;
    fn log(&mut self) -> MemTxnLog {
        self.log.reopen()
    }
    fn snaps(&mut self) -> MemSnapshotStore {
        self.snaps.clone()
    }
    fn damage_snapshot(&mut self, zxid: i64) {
        self.snaps.damage(zxid);
    }
}

fn txn(z: i64) -> Vec<u8> {
    format!("txn-{z:x}-{}", "x".repeat((z % 7) as usize)).into_bytes()
}

fn append_all(log: &mut impl TxnLog, zxids: impl IntoIterator<Item = i64>) {
    for z in zxids {
        log.append(z, &txn(z)).expect("append");
    }
}

fn zxids(v: &[(i64, Bytes)]) -> Vec<i64> {
    for (z, t) in v {
        assert_eq!(t.as_ref(), txn(*z).as_slice(), "txn bytes of 0x{z:x}");
    }
    v.iter().map(|(z, _)| *z).collect()
}

fn append_and_read_from(mut h: impl Harness) {
    let mut log = h.log();
    assert_eq!(log.last_zxid(), 0);
    assert_eq!(log.first_zxid().expect("first"), None);
    assert!(log.read_from(0).expect("read").is_empty());
    append_all(&mut log, 1..=10);
    // Appended but not yet synced records are readable too.
    assert_eq!(
        zxids(&log.read_from(0).expect("read")),
        (1..=10).collect::<Vec<_>>()
    );
    log.sync().expect("sync");
    assert_eq!(log.last_zxid(), 10);
    assert_eq!(log.first_zxid().expect("first"), Some(1));
    assert_eq!(
        zxids(&log.read_from(5).expect("read")),
        (5..=10).collect::<Vec<_>>()
    );
    assert!(log.read_from(11).expect("read").is_empty());
    assert!(matches!(
        log.append(10, b"dup"),
        Err(StorageError::ZxidOrder { .. })
    ));
    assert!(matches!(
        log.append(3, b"old"),
        Err(StorageError::ZxidOrder { .. })
    ));
    assert!(matches!(
        log.append(11, b""),
        Err(StorageError::EmptyTxn { .. })
    ));
}

fn reopen_after_close(mut h: impl Harness) {
    let mut log = h.log();
    let epoch2 = 2i64 << 32;
    append_all(&mut log, [1, 2, 3, epoch2 + 1, epoch2 + 2]);
    log.sync().expect("sync");
    drop(log);
    let mut log = h.log();
    assert_eq!(log.last_zxid(), epoch2 + 2);
    assert_eq!(
        zxids(&log.read_from(0).expect("read")),
        vec![1, 2, 3, epoch2 + 1, epoch2 + 2]
    );
    assert!(log.append(epoch2 + 2, b"again").is_err());
    append_all(&mut log, [epoch2 + 3]);
    log.sync().expect("sync");
    drop(log);
    let log = h.log();
    assert_eq!(log.last_zxid(), epoch2 + 3);
    assert_eq!(log.read_from(epoch2).expect("read").len(), 3);
}

fn roll_and_purge(mut h: impl Harness) {
    let mut log = h.log();
    append_all(&mut log, 1..=3);
    log.roll().expect("roll");
    log.roll().expect("second roll without appends is harmless");
    append_all(&mut log, 4..=6);
    log.roll().expect("roll");
    append_all(&mut log, 7..=9);
    log.sync().expect("sync");
    assert_eq!(
        zxids(&log.read_from(2).expect("read")),
        (2..=9).collect::<Vec<_>>()
    );
    // Segment [1..3] holds zxid 3, so it is not wholly before 3.
    log.purge_before(3).expect("purge");
    assert_eq!(log.first_zxid().expect("first"), Some(1));
    log.purge_before(4).expect("purge");
    assert_eq!(log.first_zxid().expect("first"), Some(4));
    log.purge_before(6).expect("purge");
    assert_eq!(log.first_zxid().expect("first"), Some(4));
    assert_eq!(
        zxids(&log.read_from(0).expect("read")),
        (4..=9).collect::<Vec<_>>()
    );
    drop(log);
    let mut log = h.log();
    assert_eq!(log.first_zxid().expect("first"), Some(4));
    // The segment being appended to is never purged, whatever the zxid.
    log.purge_before(i64::MAX).expect("purge");
    assert_eq!(log.first_zxid().expect("first"), Some(7));
    append_all(&mut log, 10..=11);
    log.sync().expect("sync");
    assert_eq!(
        zxids(&log.read_from(0).expect("read")),
        (7..=11).collect::<Vec<_>>()
    );
}

fn truncate_after(mut h: impl Harness) {
    let mut log = h.log();
    append_all(&mut log, 1..=4);
    log.roll().expect("roll");
    append_all(&mut log, 5..=8);
    log.roll().expect("roll");
    append_all(&mut log, 9..=12);
    // Unsynced records are dropped as well.
    log.truncate_after(6).expect("truncate");
    assert_eq!(log.last_zxid(), 6);
    assert_eq!(
        zxids(&log.read_from(0).expect("read")),
        (1..=6).collect::<Vec<_>>()
    );
    append_all(&mut log, 7..=9);
    log.sync().expect("sync");
    drop(log);
    let mut log = h.log();
    assert_eq!(
        zxids(&log.read_from(0).expect("read")),
        (1..=9).collect::<Vec<_>>()
    );
    log.truncate_after(100)
        .expect("truncate past the end is a no-op");
    assert_eq!(log.last_zxid(), 9);
    log.truncate_after(4)
        .expect("truncate at a segment boundary");
    assert_eq!(
        zxids(&log.read_from(0).expect("read")),
        (1..=4).collect::<Vec<_>>()
    );
    log.truncate_after(0).expect("truncate everything");
    assert_eq!(log.last_zxid(), 0);
    assert!(log.read_from(0).expect("read").is_empty());
    append_all(&mut log, [20]);
    log.sync().expect("sync");
    drop(log);
    let log = h.log();
    assert_eq!(zxids(&log.read_from(0).expect("read")), vec![20]);
}

fn large_txns(mut h: impl Harness) {
    let mut log = h.log();
    let big = vec![0xA5u8; 5 << 20];
    log.append(1, &big).expect("append");
    log.append(2, b"small").expect("append");
    log.sync().expect("sync");
    drop(log);
    let log = h.log();
    let all = log.read_from(0).expect("read");
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].1.as_ref(), big.as_slice());
    assert_eq!(all[1].1.as_ref(), b"small");
}

fn snapshots(mut h: impl Harness) {
    let snaps = h.snaps();
    assert_eq!(snaps.newest_valid().expect("newest"), None);
    for z in [0x10i64, 0x20, 0x30] {
        let info = snaps
            .write(z, &mut |w: &mut dyn Write| {
                for i in 0..1000 {
                    write!(w, "node-{z}-{i};")?;
                }
                Ok(())
            })
            .expect("write");
        assert_eq!(info.zxid, z);
    }
    let newest = snaps.newest_valid().expect("newest").expect("some");
    let (z, body) = (newest.zxid, newest.body);
    assert_eq!(z, 0x30);
    assert!(body.starts_with(b"node-48-0;node-48-1;"));
    assert_eq!(
        snaps.read(0x20).expect("read").len() as u64,
        snaps.list().expect("list")[1].size
    );
    h.damage_snapshot(0x30);
    let snaps = h.snaps();
    let newest = snaps.newest_valid().expect("newest").expect("some");
    let (z, body) = (newest.zxid, newest.body);
    assert_eq!(z, 0x20);
    assert!(body.starts_with(b"node-32-0;"));
    assert!(matches!(
        snaps.read(0x30),
        Err(StorageError::BadSnapshot { .. })
    ));
    // Keep 1: the newest (damaged) stays by count, and the newest valid one is never deleted.
    let removed = snaps.retain(1).expect("retain");
    assert_eq!(removed, vec![0x10]);
    let left: Vec<i64> = snaps.list().expect("list").iter().map(|s| s.zxid).collect();
    assert_eq!(left, vec![0x20, 0x30]);
}

macro_rules! conformance {
    ($($name:ident),*) => {
        mod files {
            use super::*;
            $( #[test] fn $name() { super::$name(Files(tempfile::tempdir().expect("tempdir"))); } )*
        }
        mod memory {
            use super::*;
            $( #[test] fn $name() { super::$name(Memory::default()); } )*
        }
    };
}

conformance!(
    append_and_read_from,
    reopen_after_close,
    roll_and_purge,
    truncate_after,
    large_txns,
    snapshots
);
