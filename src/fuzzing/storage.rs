//! The files a server reads at startup after a crash or a bad copy: txn log segments
//! (`log.<zxid>`) and snapshots (`snapshot.<zxid>`), through the same calls a restart makes
//! (`runtime::recover::open`: log recovery, newest valid snapshot, tree load, replay) and the
//! operator tools (`log-dump`, `snapshot-dump`, `repair-log`).
//!
//! Input: a flags byte, then file bytes. Log flags: bit 0 recomputes each record's crc32 (so
//! the fuzzer reaches what lies behind the checksum), bit 1 names segments by position instead of
//! by their first zxid; segments are split where a segment header (`ZKRL`, version 1) starts.
//! Snapshot flags: bit 0 wraps the bytes as a body in a valid header and trailer, bit 1 names the
//! file after another zxid than its header's, bit 2 puts a valid older snapshot beside it.
//!
//! Properties: no panic, typed errors; recovery agrees with the read-only reader and is
//! idempotent; after recovery the log takes an append and reads it back; the `repair-log` command
//! a `CorruptLog` error names makes the log open; a snapshot validates exactly when it reads, its
//! streamed body equals the read one; whatever a restart loads can be snapshotted and loaded
//! again; allocation is bounded by the files' bytes plus fixed read buffers. Must not: touch
//! anything outside its own scratch directory.

use std::fs;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::alloc;
use super::client::input_slack;
use crate::config::Config;
use crate::runtime::recover;
use crate::storage::{
    log_dump, read_segments_from, repair_log, snapshot_dump, FileSnapshotStore, FileTxnLog,
    LogOptions, SnapshotCheck, SnapshotStore, StorageError, StorageOptions, TxnLog,
};
use crate::tree::DataTree;

/// Fixed read buffers of the storage code (1 MiB snapshot reader, 256 KiB segment reader, ...).
const FIXED_BUFFERS: usize = 2 << 20;
const SEGMENT_HEADER: [u8; 8] = *b"ZKRL\0\0\0\x01";

/// A scratch data directory for this process, emptied on every call.
fn scratch() -> PathBuf {
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("zkserver-fuzz-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("version-2")).expect("scratch directory");
    dir
}

fn write(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).expect("write scratch file");
}

/// The segments of a log input, split where a segment header starts (at most 8).
pub fn split_segments(data: &[u8]) -> Vec<&[u8]> {
    let mut starts = vec![0];
    let mut i = 1;
    while i + SEGMENT_HEADER.len() <= data.len() && starts.len() < 8 {
        if data[i..i + SEGMENT_HEADER.len()] == SEGMENT_HEADER {
            starts.push(i);
            i += SEGMENT_HEADER.len();
        } else {
            i += 1;
        }
    }
    starts.push(data.len());
    starts.windows(2).map(|w| &data[w[0]..w[1]]).collect()
}

/// Rewrites every record's crc32 so the records stand behind a valid checksum.
pub fn fix_crcs(seg: &mut [u8]) {
    let mut pos = 16;
    while pos + 16 <= seg.len() {
        let len = u32::from_be_bytes([seg[pos], seg[pos + 1], seg[pos + 2], seg[pos + 3]]) as usize;
        if len == 0 || pos + 16 + len > seg.len() {
            return;
        }
        let zxid = i64::from_be_bytes(seg[pos + 8..pos + 16].try_into().expect("8 bytes"));
        let crc = crc32fast_record(zxid, &seg[pos + 16..pos + 16 + len]);
        seg[pos + 4..pos + 8].copy_from_slice(&crc.to_be_bytes());
        pos += 16 + len;
    }
}

fn crc32fast_record(zxid: i64, txn: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&zxid.to_be_bytes());
    h.update(txn);
    h.finalize()
}

/// The zxid of a segment's first record header, if it has one.
fn first_zxid(seg: &[u8]) -> Option<i64> {
    Some(i64::from_be_bytes(seg.get(24..32)?.try_into().ok()?))
}

fn no_sync() -> LogOptions {
    LogOptions {
        pre_alloc_size: 4096,
        force_sync: false,
    }
}

/// A txn log directory: recovery, reading, appending after recovery, repair, replay.
pub fn check_log(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let dir = scratch();
    let v2 = dir.join("version-2");
    let mut names = Vec::new();
    for (i, seg) in split_segments(rest).into_iter().enumerate() {
        let mut seg = seg.to_vec();
        if flags & 1 == 1 {
            fix_crcs(&mut seg);
        }
        let zxid = match first_zxid(&seg) {
            Some(z) if flags & 2 == 0 && z >= 0 => z,
            _ => i as i64 + 1,
        };
        if names.contains(&zxid) {
            continue;
        }
        names.push(zxid);
        write(&v2.join(format!("log.{zxid:x}")), &seg);
    }
    alloc::reset();
    for entry in fs::read_dir(&v2).expect("scratch directory") {
        let path = entry.expect("scratch entry").path();
        let _ = log_dump(&path, &mut std::io::sink());
    }
    let before = read_segments_from(&v2, i64::MIN);
    let opened = FileTxnLog::open(&dir, no_sync());
    alloc::assert_within("log recovery", FIXED_BUFFERS + input_slack(data.len()));
    let log = match opened {
        Ok(log) => log,
        Err(StorageError::CorruptLog { path, offset, .. }) => {
            if let Err(e) = repair_log(&path, offset) {
                panic!("the repair-log command the error names fails: {e}");
            }
            match FileTxnLog::open(&dir, no_sync()) {
                Ok(log) => log,
                Err(e) => panic!("the log does not open after repair-log: {e}"),
            }
        }
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let records = log.read_from(i64::MIN).expect("read a recovered log");
    if let Ok(before) = before {
        if records.len() == before.len() {
            assert_eq!(records, before, "recovery and the reader disagree");
        } else {
            // Only repair-log can have dropped records (those behind the damage).
            assert!(records.len() < before.len() && before.starts_with(&records));
        }
    }
    for w in records.windows(2) {
        assert!(w[0].0 < w[1].0, "zxids do not increase after recovery");
    }
    let last = log.last_zxid();
    assert_eq!(last, records.last().map_or(0, |r| r.0));
    drop(log);
    let mut again = FileTxnLog::open(&dir, no_sync()).expect("recovery is idempotent");
    assert_eq!(again.read_from(i64::MIN).expect("read"), records);
    if last < i64::MAX {
        again
            .append(last + 1, b"appended")
            .expect("append after recovery");
        again.sync().expect("sync");
        drop(again);
        let reopened = FileTxnLog::open(&dir, no_sync()).expect("reopen after append");
        let after = reopened.read_from(i64::MIN).expect("read");
        assert_eq!(after.len(), records.len() + 1);
        assert_eq!(after.last().map(|r| r.0), Some(last + 1));
    }
    let fresh = scratch_with(&dir, &records);
    restart(&fresh);
}

/// Keeps only `records` (as a clean log) in `dir`, so a restart replays them as txns.
fn scratch_with(dir: &Path, records: &[(i64, Bytes)]) -> PathBuf {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir.join("version-2")).expect("scratch directory");
    let mut log = FileTxnLog::open(dir, no_sync()).expect("open an empty log");
    let mut last = i64::MIN;
    for (zxid, txn) in records {
        if *zxid > last && *zxid > 0 && !txn.is_empty() {
            log.append(*zxid, txn).expect("append");
            last = *zxid;
        }
    }
    log.sync().expect("sync");
    dir.to_path_buf()
}

/// What a server does at startup with `dir`: load and replay; a loaded tree must survive
/// being snapshotted and loaded again.
fn restart(dir: &Path) {
    let text = format!("dataDir={}\nclientPort=2181\n", dir.display());
    let cfg = Config::parse(&text, Path::new("zoo.cfg"), "").expect("scratch config");
    let opts = StorageOptions {
        pre_alloc_size: 4096,
        force_sync: false,
        snap_retain_count: 3,
    };
    match recover::open(&cfg, opts, 0) {
        Ok(opened) => super::txn::check_tree_formats(&opened.tree),
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// A snapshot file (see the module doc for the flags).
pub fn check_snapshot(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    const ZXID: i64 = 0x1_0000_0005;
    let file = if flags & 1 == 1 {
        wrap_body(ZXID, rest)
    } else {
        rest.to_vec()
    };
    let dir = scratch();
    let store = FileSnapshotStore::open(&dir).expect("scratch store");
    let header_zxid = file
        .get(8..16)
        .map_or(ZXID, |b| i64::from_be_bytes(b.try_into().expect("8 bytes")));
    let mut zxid = if header_zxid > 1 { header_zxid } else { ZXID };
    if flags & 2 == 2 {
        zxid = zxid.wrapping_add(1).max(2);
    }
    let path = store.path_of(zxid);
    write(&path, &file);
    if flags & 4 == 4 {
        let base = super::txn::base_tree();
        let mut body = Vec::new();
        base.write_snapshot(&mut body).expect("write to a Vec");
        write(&store.path_of(1), &wrap_body(1, &body));
    }
    alloc::reset();
    let validated = FileSnapshotStore::validate(&path);
    let read = store.read(zxid);
    let _ = snapshot_dump(&path, &mut std::io::sink());
    alloc::assert_within("snapshot reading", FIXED_BUFFERS + input_slack(file.len()));
    let apache = match FileSnapshotStore::check(&path) {
        Ok(SnapshotCheck::Apache(info)) => Some(info),
        _ => None,
    };
    match (&validated, &read) {
        // Apache's format (ZKSN): `read` by zxid reads ours only; the loader reads both.
        (Ok((z, len)), Err(StorageError::BadSnapshot { .. })) if apache.is_some() => {
            assert_eq!(*z, zxid);
            assert_eq!(Some(*len), apache.map(|i| i.body_len));
            let loaded =
                FileSnapshotStore::load_file(&path).expect("a valid Apache snapshot loads");
            assert_eq!(loaded.zxid, zxid);
        }
        (Ok((z, len)), Ok(body)) => {
            assert_eq!(*z, zxid);
            assert_eq!(*len, body.len() as u64);
            let (n, mut r) = store.open_body(zxid).expect("a valid snapshot opens");
            let mut streamed = Vec::new();
            std::io::Read::read_to_end(&mut r, &mut streamed).expect("read body");
            assert_eq!(n as usize, streamed.len());
            assert_eq!(&streamed[..], &body[..]);
        }
        (Err(_), Err(_)) => {}
        // The name must match the header only when reading by zxid.
        (Ok((z, _)), Err(StorageError::BadSnapshot { .. })) if *z != zxid => {}
        (v, r) => panic!("validate ({v:?}) and read ({r:?}) disagree"),
    }
    if let Ok(body) = read {
        alloc::reset();
        let tree = DataTree::read_snapshot(body.clone());
        alloc::assert_within("snapshot body", input_slack(body.len()));
        if let Ok(tree) = tree {
            super::txn::check_tree_formats(&tree);
        }
    }
    match store.newest_valid() {
        // Our format's loader takes the zxid from the header (`read` by zxid also wants the
        // name to match it), Apache's from the name; the fallback is the base at 1.
        Ok(Some(s)) if s.path == path => {
            let in_header = file
                .get(8..16)
                .map(|b| i64::from_be_bytes(b.try_into().expect("8 bytes")));
            assert!(s.zxid == zxid || Some(s.zxid) == in_header);
        }
        Ok(Some(s)) => assert!(s.zxid == 1 && s.path == store.path_of(1)),
        Ok(None) => assert!(flags & 4 == 0),
        Err(e) => {
            let _ = e.to_string();
        }
    }
    restart(&dir);
}

/// `header (ZKRS, 1, zxid) ‖ body ‖ trailer (len, crc32, ZKRE)`.
pub fn wrap_body(zxid: i64, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 32);
    out.extend_from_slice(b"ZKRS\0\0\0\x01");
    out.extend_from_slice(&zxid.to_be_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&(body.len() as u64).to_be_bytes());
    out.extend_from_slice(&crc32fast::hash(body).to_be_bytes());
    out.extend_from_slice(b"ZKRE");
    out
}
