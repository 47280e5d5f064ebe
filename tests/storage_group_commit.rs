//! Group commit with real threads (and real files where the behaviour is about disk), plus retention
//! and the operator dump tools.

use std::io::Write;
use std::process::Command;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use zkserver::storage::{
    log_dump, purge, snapshot_dump, FileSnapshotStore, FileTxnLog, GroupCommitter, LogOptions,
    MemTxnLog, SnapshotStore, StorageError, TxnLog,
};

/// A log whose sync is slow and which records the highest zxid each sync covered.
struct SlowLog {
    inner: MemTxnLog,
    synced: Arc<AtomicI64>,
    delay: Duration,
    fail_sync_after: Option<usize>,
    syncs: usize,
}

impl TxnLog for SlowLog {
    fn append(&mut self, zxid: i64, txn: &[u8]) -> Result<(), StorageError> {
        self.inner.append(zxid, txn)
    }
    fn sync(&mut self) -> Result<(), StorageError> {
        self.syncs += 1;
        if self.fail_sync_after.is_some_and(|n| self.syncs > n) {
            let e = std::io::Error::other("injected EIO");
            return Err(StorageError::io("fdatasync", "/data/version-2/log.1", e));
        }
        thread::sleep(self.delay);
        self.inner.sync()?;
        self.synced.store(self.inner.last_zxid(), Ordering::SeqCst);
        Ok(())
    }
    fn roll(&mut self) -> Result<(), StorageError> {
        self.inner.roll()
    }
    fn last_zxid(&self) -> i64 {
        self.inner.last_zxid()
    }
    fn first_zxid(&self) -> Result<Option<i64>, StorageError> {
        self.inner.first_zxid()
    }
    fn read_from(&self, zxid: i64) -> Result<Vec<(i64, Bytes)>, StorageError> {
        self.inner.read_from(zxid)
    }
    fn truncate_after(&mut self, zxid: i64) -> Result<(), StorageError> {
        self.inner.truncate_after(zxid)
    }
    fn purge_before(&mut self, zxid: i64) -> Result<(), StorageError> {
        self.inner.purge_before(zxid)
    }
}

fn slow(delay_ms: u64, fail_sync_after: Option<usize>) -> (SlowLog, Arc<AtomicI64>) {
    let synced = Arc::new(AtomicI64::new(0));
    let log = SlowLog {
        inner: MemTxnLog::new(),
        synced: synced.clone(),
        delay: Duration::from_millis(delay_ms),
        fail_sync_after,
        syncs: 0,
    };
    (log, synced)
}

#[test]
fn txns_from_many_threads_share_fsyncs_and_are_reported_only_once_durable() {
    let (log, synced) = slow(3, None);
    let violations = Arc::new(AtomicUsize::new(0));
    let durable = Arc::new(AtomicI64::new(0));
    let (v2, d2) = (violations.clone(), durable.clone());
    let gc = GroupCommitter::spawn(Box::new(log), move |z| {
        // Persist before ACK: the sync that covers z must have finished.
        if synced.load(Ordering::SeqCst) < z || d2.load(Ordering::SeqCst) >= z {
            v2.fetch_add(1, Ordering::SeqCst);
        }
        d2.store(z, Ordering::SeqCst);
    })
    .expect("spawn");
    // The sequencer: zxids are assigned and submitted under one lock, from 8 threads.
    let seq = Arc::new(Mutex::new(0i64));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (seq, tx) = (seq.clone(), gc.sender());
            thread::spawn(move || {
                for _ in 0..250 {
                    let mut z = seq.lock().expect("lock");
                    *z += 1;
                    tx.submit(*z, Bytes::from(format!("txn {}", *z)))
                        .expect("submit");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("join");
    }
    let metrics = gc.metrics();
    let log = gc.shutdown().expect("shutdown");
    assert_eq!(violations.load(Ordering::SeqCst), 0);
    assert_eq!(durable.load(Ordering::SeqCst), 2000);
    assert_eq!(metrics.txn_count(), 2000);
    assert_eq!(metrics.durable_zxid(), 2000);
    let all = log.read_from(0).expect("read");
    assert_eq!(all.len(), 2000);
    assert!(all
        .iter()
        .enumerate()
        .all(|(i, (z, t))| *z == i as i64 + 1 && t.as_ref() == format!("txn {z}").as_bytes()));
    // With a 3 ms sync, 2000 txns cannot have had one fsync each (that would take 6 s).
    assert!(
        metrics.fsync_count() < 400,
        "fsyncs {}",
        metrics.fsync_count()
    );
    assert!(metrics.max_fsync_micros() >= 3000);
}

#[test]
fn a_batch_never_exceeds_the_cap() {
    let (log, _) = slow(0, None);
    let batches = Arc::new(Mutex::new(Vec::new()));
    let b2 = batches.clone();
    let last = Arc::new(AtomicI64::new(0));
    let l2 = last.clone();
    let gc = GroupCommitter::spawn(Box::new(log), move |z| {
        b2.lock()
            .expect("lock")
            .push(z - l2.swap(z, Ordering::SeqCst));
    })
    .expect("spawn");
    for z in 1..=5000 {
        gc.submit(z, Bytes::from_static(b"t")).expect("submit");
    }
    gc.shutdown().expect("shutdown");
    let batches = batches.lock().expect("lock");
    assert_eq!(batches.iter().sum::<i64>(), 5000);
    assert!(batches.iter().all(|n| *n <= 1000), "{batches:?}");
}

#[test]
fn a_failed_fsync_is_fatal_and_stops_the_committer() {
    let (log, _) = slow(0, Some(1));
    let fatal = Arc::new(Mutex::new(None));
    let f2 = fatal.clone();
    let durable = Arc::new(AtomicI64::new(0));
    let d2 = durable.clone();
    let gc = GroupCommitter::spawn_with(
        Box::new(log),
        move |z| d2.store(z, Ordering::SeqCst),
        Box::new(move |e| *f2.lock().expect("lock") = Some(e.to_string())),
    )
    .expect("spawn");
    gc.submit(1, Bytes::from_static(b"a")).expect("submit");
    while durable.load(Ordering::SeqCst) < 1 {
        thread::sleep(Duration::from_millis(1));
    }
    gc.submit(2, Bytes::from_static(b"b")).expect("submit");
    for _ in 0..2000 {
        if fatal.lock().expect("lock").is_some() {
            break;
        }
        thread::sleep(Duration::from_millis(1));
    }
    let msg = fatal
        .lock()
        .expect("lock")
        .clone()
        .expect("fatal handler ran");
    assert!(
        msg.contains("fdatasync") && msg.contains("log.1") && msg.contains("injected EIO"),
        "{msg}"
    );
    assert_eq!(
        durable.load(Ordering::SeqCst),
        1,
        "zxid 2 must never be reported durable"
    );
    assert!(matches!(
        gc.submit(3, Bytes::from_static(b"c")),
        Err(StorageError::CommitterStopped)
    ));
    assert!(gc.shutdown().is_err());
}

/// Child half of the exit test: runs only when re-executed with the env var set.
#[test]
fn fatal_child() {
    if std::env::var("ZK_STORAGE_FATAL_CHILD").is_err() {
        return;
    }
    let (log, _) = slow(0, Some(0));
    let gc = GroupCommitter::spawn(Box::new(log), |_| {}).expect("spawn");
    gc.submit(1, Bytes::from_static(b"a")).expect("submit");
    thread::sleep(Duration::from_secs(10));
    std::process::exit(0);
}

#[test]
fn the_default_fatal_handler_exits_the_process_with_status_2() {
    let exe = std::env::current_exe().expect("exe");
    let out = Command::new(exe)
        .args(["--exact", "fatal_child", "--nocapture"])
        .env("ZK_STORAGE_FATAL_CHILD", "1")
        .output()
        .expect("run child");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn roll_through_the_committer_starts_a_new_segment_on_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = LogOptions {
        pre_alloc_size: 1 << 16,
        force_sync: true,
    };
    let log = FileTxnLog::open(dir.path(), opts).expect("open");
    let gc = GroupCommitter::spawn(Box::new(log), |_| {}).expect("spawn");
    for z in 1..=5 {
        gc.submit(z, Bytes::from(vec![z as u8; 100]))
            .expect("submit");
    }
    gc.roll().expect("roll");
    for z in 6..=10 {
        gc.submit(z, Bytes::from(vec![z as u8; 100]))
            .expect("submit");
    }
    let metrics = gc.metrics();
    drop(gc.shutdown().expect("shutdown"));
    assert_eq!(metrics.txn_count(), 10);
    let v2 = dir.path().join("version-2");
    assert!(v2.join("log.1").exists() && v2.join("log.6").exists());
    // Trimmed at the roll: header + 5 records of 116 bytes.
    assert_eq!(
        std::fs::metadata(v2.join("log.1")).expect("stat").len(),
        16 + 5 * 116
    );
    let log = FileTxnLog::open(dir.path(), opts).expect("reopen");
    assert_eq!(log.read_from(0).expect("read").len(), 10);
}

#[test]
fn purge_keeps_three_snapshots_and_the_segments_they_need() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = LogOptions {
        pre_alloc_size: 4096,
        force_sync: false,
    };
    let mut log = FileTxnLog::open(dir.path(), opts).expect("open");
    let snaps = FileSnapshotStore::open(dir.path()).expect("snaps");
    for z in 1..=45i64 {
        log.append(z, b"txn").expect("append");
        if z % 10 == 0 {
            snaps
                .write(z, &mut |w: &mut dyn Write| w.write_all(b"body"))
                .expect("snap");
            log.roll().expect("roll");
        }
    }
    log.sync().expect("sync");
    // Segments log.1 (1-10), log.b (11-20), log.15 (21-30), log.1f (31-40), log.29 (41-45).
    let report = purge(dir.path(), dir.path(), 1).expect("purge");
    assert_eq!(report.snapshots_removed, vec![10]);
    assert_eq!(report.segments_removed, vec![1, 11]);
    let kept: Vec<i64> = snaps.list().expect("list").iter().map(|s| s.zxid).collect();
    assert_eq!(kept, vec![20, 30, 40]);
    let txns = log.read_from(0).expect("read");
    assert_eq!(txns.first().map(|t| t.0), Some(21));
    assert_eq!(txns.len(), 25);
}

#[test]
fn log_dump_and_snapshot_dump_print_what_operators_need() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut log = FileTxnLog::open(dir.path(), LogOptions::default()).expect("open");
    let mut t = Vec::new();
    t.extend_from_slice(&0x1e0000abcdi64.to_be_bytes());
    t.extend_from_slice(&3i32.to_be_bytes());
    t.extend_from_slice(&0x100000001i64.to_be_bytes());
    t.extend_from_slice(&1_700_000_000_000i64.to_be_bytes());
    t.extend_from_slice(&5i32.to_be_bytes());
    t.extend_from_slice(&6i32.to_be_bytes());
    t.extend_from_slice(b"/app/x");
    log.append(0x100000001, &t).expect("append");
    log.sync().expect("sync");
    let mut out = Vec::new();
    let summary = log_dump(&dir.path().join("version-2/log.100000001"), &mut out).expect("dump");
    let text = String::from_utf8(out).expect("utf8");
    assert_eq!(summary.records, 1);
    assert!(text.contains("zxid 0x100000001 time 2023-11-14T22:13:20.000Z session 0x1e0000abcd cxid 3 setData /app/x size 42"), "{text}");
    let snaps = FileSnapshotStore::open(dir.path()).expect("snaps");
    snaps
        .write(0x100000001, &mut |w: &mut dyn Write| w.write_all(b"tree"))
        .expect("snap");
    let path = snaps.path_of(0x100000001);
    let mut out = Vec::new();
    assert!(snapshot_dump(&path, &mut out).expect("dump"));
    let text = String::from_utf8(out).expect("utf8");
    assert!(
        text.contains("zxid 0x100000001")
            && text.contains("body length 4")
            && text.contains("crc ok"),
        "{text}"
    );
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[17] ^= 1;
    std::fs::write(&path, bytes).expect("write");
    let mut out = Vec::new();
    assert!(!snapshot_dump(&path, &mut out).expect("dump"));
    assert!(String::from_utf8_lossy(&out).contains("crc32 mismatch"));
}
