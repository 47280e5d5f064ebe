//! Crash tests on real files: torn tails at every byte of the last record, flipped bytes in the middle,
//! operator repair, damaged snapshots, torn segment headers.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tempfile::TempDir;
use zkserver::storage::{
    repair_log, FileSnapshotStore, FileTxnLog, LogOptions, SnapshotStore, Storage, StorageError,
    StorageOptions, TxnLog,
};

const TXN_LEN: usize = 40;
const REC: usize = 16 + TXN_LEN;
const OPTS: LogOptions = LogOptions {
    pre_alloc_size: 4096,
    force_sync: true,
};

fn txn(z: i64, tag: u8) -> Vec<u8> {
    let mut t = vec![tag; TXN_LEN];
    t[..8].copy_from_slice(&z.to_be_bytes());
    t
}

fn rec_start(i: usize) -> usize {
    16 + (i - 1) * REC
}

/// Writes segments: each inner slice is one segment (rolled after it).
fn build(dir: &Path, segments: &[&[i64]]) {
    let mut log = FileTxnLog::open(dir, OPTS).expect("open");
    for seg in segments {
        for z in *seg {
            log.append(*z, &txn(*z, b'a')).expect("append");
        }
        log.roll().expect("roll");
    }
}

fn seg_path(dir: &Path, first: i64) -> PathBuf {
    dir.join("version-2").join(format!("log.{first:x}"))
}

fn zxids(log: &FileTxnLog) -> Vec<i64> {
    log.read_from(0)
        .expect("read")
        .into_iter()
        .map(|(z, _)| z)
        .collect()
}

/// Collects what tracing prints while `f` runs.
fn capture_logs<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let b2 = buf.clone();
    let sub = tracing_subscriber::fmt()
        .with_writer(move || b2.clone())
        .with_ansi(false)
        .finish();
    let out = tracing::subscriber::with_default(sub, f);
    let text = String::from_utf8_lossy(&buf.0.lock().expect("lock")).into_owned();
    (out, text)
}

#[derive(Debug, Clone, Copy)]
enum Tear {
    /// The file ends inside the record.
    Truncate,
    /// The rest of the record never reached the disk (preallocated zeros).
    Zeros,
    /// The rest of the record is garbage.
    Garbage,
}

#[test]
fn torn_tail_at_every_byte_of_the_last_record_recovers_to_the_previous_record() {
    let base = tempfile::tempdir().expect("tempdir");
    {
        let mut log = FileTxnLog::open(base.path(), OPTS).expect("open");
        for z in 1..=3 {
            log.append(z, &txn(z, b'a')).expect("append");
        }
        log.sync().expect("sync");
    }
    let orig = fs::read(seg_path(base.path(), 1)).expect("read");
    let (start, end) = (rec_start(3), rec_start(3) + REC);
    let mut cases = 0;
    for k in 0..REC {
        for tear in [Tear::Truncate, Tear::Zeros, Tear::Garbage] {
            let dir = tempfile::tempdir().expect("tempdir");
            fs::create_dir_all(dir.path().join("version-2")).expect("mkdir");
            let mut bytes = orig.clone();
            match tear {
                Tear::Truncate => bytes.truncate(start + k),
                Tear::Zeros => bytes[start + k..end].fill(0),
                Tear::Garbage => bytes[start + k..end].fill(0xAB),
            }
            let path = seg_path(dir.path(), 1);
            fs::write(&path, &bytes).expect("write");
            let (log, logs) = capture_logs(|| FileTxnLog::open(dir.path(), OPTS));
            let mut log = log.unwrap_or_else(|e| panic!("k={k} {tear:?}: {e}"));
            assert_eq!(log.last_zxid(), 2, "k={k} {tear:?}");
            assert_eq!(zxids(&log), vec![1, 2], "k={k} {tear:?}");
            // Only an all-zero remainder reads as a clean end; anything else is cut with a warning.
            if bytes[start..].iter().any(|b| *b != 0) {
                assert!(logs.contains("torn tail"), "k={k} {tear:?}: {logs}");
                assert!(logs.contains(&path.display().to_string()), "{logs}");
                assert!(logs.contains(&format!("offset={start}")), "{logs}");
            }
            log.append(3, &txn(3, b'b')).expect("append after recovery");
            log.sync().expect("sync");
            drop(log);
            let log = FileTxnLog::open(dir.path(), OPTS).expect("reopen");
            let all = log.read_from(0).expect("read");
            assert_eq!(all.len(), 3, "k={k} {tear:?}");
            assert_eq!(all[2].1.as_ref(), txn(3, b'b').as_slice());
            cases += 1;
        }
    }
    assert_eq!(cases, 3 * REC);
}

fn corrupt_copy(segments: &[&[i64]], seg_first: i64, at: usize) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    build(dir.path(), segments);
    let path = seg_path(dir.path(), seg_first);
    let mut bytes = fs::read(&path).expect("read");
    bytes[at] ^= 0xFF;
    fs::write(&path, &bytes).expect("write");
    (dir, path)
}

#[test]
fn a_flipped_byte_in_a_middle_record_stops_startup_with_the_repair_command() {
    let (start, end) = (rec_start(3), rec_start(3) + REC);
    for at in start..end {
        let (dir, path) = corrupt_copy(&[&[1, 2, 3, 4, 5]], 1, at);
        let err = match FileTxnLog::open(dir.path(), OPTS) {
            Ok(_) => panic!("byte {at}: corruption was accepted"),
            Err(e) => e,
        };
        let StorageError::CorruptLog {
            offset,
            zxid,
            last_good_zxid,
            ..
        } = &err
        else {
            panic!("byte {at}: unexpected error {err}");
        };
        assert_eq!((*offset, *last_good_zxid), (start as u64, 2), "byte {at}");
        let msg = err.to_string();
        let p = path.display().to_string();
        assert!(msg.contains(&p), "{msg}");
        assert!(msg.contains(&format!("byte offset {start}")), "{msg}");
        assert!(
            msg.contains(&format!("zkserver repair-log {p} --offset {start}")),
            "{msg}"
        );
        let in_zxid_field = (start + 8..start + 16).contains(&at);
        assert_eq!(*zxid == 3, !in_zxid_field, "byte {at}: {msg}");
        assert!(msg.contains("zxid 0x"), "{msg}");
    }
}

#[test]
fn damage_at_the_end_of_a_segment_that_is_not_the_last_is_corruption_not_a_torn_tail() {
    let at = rec_start(3) + 20;
    let (dir, path) = corrupt_copy(&[&[1, 2, 3], &[4, 5]], 1, at);
    match FileTxnLog::open(dir.path(), OPTS) {
        Err(StorageError::CorruptLog {
            path: p, offset, ..
        }) => {
            assert_eq!((p, offset), (path, rec_start(3) as u64));
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("corruption accepted"),
    }
}

#[test]
fn repair_log_cuts_keeps_a_backup_and_the_log_opens_again() {
    let (dir, path) = corrupt_copy(&[&[1, 2, 3, 4, 5]], 1, rec_start(3) + 30);
    let corrupted = fs::read(&path).expect("read");
    let offset = match FileTxnLog::open(dir.path(), OPTS) {
        Err(StorageError::CorruptLog { offset, .. }) => offset,
        _ => panic!("expected corruption"),
    };
    assert!(matches!(
        repair_log(&path, offset + 1),
        Err(StorageError::BadRepairOffset { .. })
    ));
    let report = repair_log(&path, offset).expect("repair");
    assert_eq!(fs::read(&report.backup).expect("backup"), corrupted);
    assert!(report.backup.to_string_lossy().contains(".bak-"));
    let mut log = FileTxnLog::open(dir.path(), OPTS).expect("open after repair");
    assert_eq!(zxids(&log), vec![1, 2]);
    log.append(3, &txn(3, b'c')).expect("append");
    log.sync().expect("sync");
    drop(log);
    let log = FileTxnLog::open(dir.path(), OPTS).expect("reopen");
    assert_eq!(zxids(&log), vec![1, 2, 3]);
}

#[test]
fn repair_log_moves_later_segments_aside_so_no_gap_remains() {
    let (dir, path) = corrupt_copy(&[&[1, 2, 3], &[4, 5], &[6]], 1, rec_start(2) + 20);
    assert!(FileTxnLog::open(dir.path(), OPTS).is_err());
    let report = repair_log(&path, rec_start(2) as u64).expect("repair");
    assert_eq!(report.moved_aside.len(), 2);
    let log = FileTxnLog::open(dir.path(), OPTS).expect("open");
    assert_eq!(zxids(&log), vec![1]);
    assert_eq!(log.last_zxid(), 1);
}

#[test]
fn a_segment_whose_creation_was_interrupted_is_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    build(dir.path(), &[&[1, 2, 3]]);
    let torn = seg_path(dir.path(), 4);
    fs::write(&torn, [0u8; 10]).expect("write");
    let mut log = FileTxnLog::open(dir.path(), OPTS).expect("open");
    assert!(!torn.exists());
    assert_eq!(log.last_zxid(), 3);
    log.append(4, &txn(4, b'a')).expect("append");
    log.sync().expect("sync");
    drop(log);
    let log = FileTxnLog::open(dir.path(), OPTS).expect("reopen");
    assert_eq!(zxids(&log), vec![1, 2, 3, 4]);
}

fn write_snapshot(store: &FileSnapshotStore, zxid: i64) -> Vec<u8> {
    let body: Vec<u8> = (0..5000u32)
        .flat_map(|i| (i ^ zxid as u32).to_be_bytes())
        .collect();
    let b2 = body.clone();
    store
        .write(zxid, &mut |w: &mut dyn Write| w.write_all(&b2))
        .expect("snapshot");
    body
}

/// A way to damage a snapshot file's bytes.
type Damage = Box<dyn Fn(&mut Vec<u8>)>;

#[test]
fn a_truncated_or_flipped_newest_snapshot_falls_back_to_the_previous_one() {
    let snap_len = 16 + 20_000 + 16;
    let damages: Vec<Damage> = vec![
        Box::new(|b| b.truncate(b.len() - 1)),
        Box::new(|b| b.truncate(b.len() - 16)),
        Box::new(|b| b.truncate(10_000)),
        Box::new(|b| b.truncate(16)),
        Box::new(|b| b.truncate(0)),
        Box::new(|b| b[5_000] ^= 1),
        Box::new(move |b| b[snap_len - 10] ^= 1),
    ];
    for (i, damage) in damages.iter().enumerate() {
        let dir = tempfile::tempdir().expect("tempdir");
        build(dir.path(), &[&(1..=12).collect::<Vec<_>>()]);
        let store = FileSnapshotStore::open(dir.path()).expect("open");
        let body5 = write_snapshot(&store, 5);
        write_snapshot(&store, 10);
        let newest = store.path_of(10);
        let mut bytes = fs::read(&newest).expect("read");
        assert_eq!(bytes.len(), snap_len);
        damage(&mut bytes);
        fs::write(&newest, &bytes).expect("write");
        let (res, logs) =
            capture_logs(|| Storage::open(dir.path(), dir.path(), StorageOptions::default()));
        let (_, rec) = res.expect("open");
        let snap = rec.snapshot.expect("a snapshot");
        let (z, body) = (snap.zxid, snap.body);
        assert_eq!((z, body.as_ref()), (5, body5.as_slice()), "damage {i}");
        let after: Vec<i64> = rec.txns_after_snapshot.iter().map(|(z, _)| *z).collect();
        assert_eq!(after, (6..=12).collect::<Vec<_>>());
        assert!(
            logs.contains(&newest.display().to_string()),
            "damage {i}: {logs}"
        );
        assert!(logs.contains("falling back"), "{logs}");
    }
}

#[test]
fn storage_open_returns_snapshot_and_the_txns_after_it_and_cleans_temp_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, logs) = (dir.path().join("data"), dir.path().join("logs"));
    build(&logs, &[&[1, 2, 3, 4], &[5, 6, 7]]);
    let store = FileSnapshotStore::open(&data).expect("open");
    let body = write_snapshot(&store, 4);
    let tmp = data.join("version-2/snapshot.7.tmp");
    fs::write(&tmp, b"half a snapshot").expect("write");
    let (storage, rec) = Storage::open(&data, &logs, StorageOptions::default()).expect("open");
    assert!(!tmp.exists());
    assert_eq!(rec.snapshot.expect("snap").body.as_ref(), body.as_slice());
    let after: Vec<i64> = rec.txns_after_snapshot.iter().map(|(z, _)| *z).collect();
    assert_eq!(after, vec![5, 6, 7]);
    assert_eq!(storage.log.last_zxid(), 7);
    // No snapshot at all: everything is replayed.
    let empty = tempfile::tempdir().expect("tempdir");
    build(empty.path(), &[&[1, 2]]);
    let (_, rec) =
        Storage::open(empty.path(), empty.path(), StorageOptions::default()).expect("open");
    assert!(rec.snapshot.is_none());
    assert_eq!(rec.txns_after_snapshot.len(), 2);
}

/// A record with a later zxid past a hole (a sparse preallocated tail is skipped unread with
/// `SEEK_DATA`) is still found: the log stops startup as corrupt instead of cutting it off.
#[test]
fn a_valid_record_beyond_a_hole_in_the_tail_is_corruption_not_a_torn_tail() {
    use std::io::{Seek, SeekFrom};
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut log = FileTxnLog::open(dir.path(), OPTS).expect("open");
        for z in [1, 2, 3] {
            log.append(z, &txn(z, b'a')).expect("append");
        }
        log.roll().expect("roll");
    }
    let path = seg_path(dir.path(), 1);
    let bytes = fs::read(&path).expect("read");
    let third = bytes[rec_start(3)..rec_start(3) + REC].to_vec();
    // Record 3 is gone from its place and reappears 4 MiB further, past a hole.
    let mut f = fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open");
    f.seek(SeekFrom::Start(rec_start(3) as u64)).expect("seek");
    f.write_all(&[0u8; REC]).expect("zero");
    f.seek(SeekFrom::Start(4 << 20)).expect("seek");
    f.write_all(&third).expect("write");
    drop(f);
    match FileTxnLog::open(dir.path(), OPTS) {
        Err(StorageError::CorruptLog { offset, .. }) => {
            assert_eq!(offset, rec_start(3) as u64)
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(log) => panic!("a record past the hole was lost: {:?}", zxids(&log)),
    }
}
