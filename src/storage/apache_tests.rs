//! Apache ZooKeeper's files inside zkserver's storage: logs read, replayed, cut and purged like
//! ours but never appended to or replaced; snapshots chosen across both formats.

use std::fs;
use std::path::{Path, PathBuf};

use super::apache_format::{apache_header, encode_apache_entry, APACHE_LOG_MAGIC};
use super::apache_snapshot::{write_apache_snapshot, ApacheZxidDigest};
use super::*;

const OPTS: LogOptions = LogOptions {
    pre_alloc_size: 4096,
    force_sync: true,
};

/// A txn whose TxnHeader carries `zxid` (the rest is opaque to storage).
fn txn(zxid: i64) -> Vec<u8> {
    let mut t = vec![0x5a; 40];
    t[12..20].copy_from_slice(&zxid.to_be_bytes());
    t
}

/// Writes an Apache log `log.<first>` holding `zxids`, with `tail` bytes (zeros = preallocation).
fn apache_log(dir: &Path, zxids: &[i64], tail: &[u8]) -> PathBuf {
    let v2 = dir.join("version-2");
    fs::create_dir_all(&v2).unwrap();
    let path = v2.join(format!("log.{:x}", zxids[0]));
    let mut b = apache_header(APACHE_LOG_MAGIC).to_vec();
    for z in zxids {
        encode_apache_entry(&mut b, &txn(*z));
    }
    b.extend_from_slice(tail);
    fs::write(&path, b).unwrap();
    path
}

/// Byte offset of entry `i` (0-based) in a log of equal-size entries.
fn entry_at(i: usize) -> u64 {
    16 + i as u64 * (12 + 40 + 1)
}

fn all(log: &FileTxnLog) -> Vec<(i64, Vec<u8>)> {
    log.read_from(0)
        .unwrap()
        .into_iter()
        .map(|(z, b)| (z, b.to_vec()))
        .collect()
}

#[test]
fn apache_logs_are_replayed_then_ours_continue_in_a_new_segment() {
    let dir = tempfile::tempdir().unwrap();
    let a = apache_log(dir.path(), &[1, 2, 3], &[0; 300]);
    let b = apache_log(dir.path(), &[4, 5], &[0; 64]);
    let before = (fs::read(&a).unwrap(), fs::read(&b).unwrap());
    let mut log = FileTxnLog::open(dir.path(), OPTS).unwrap();
    assert_eq!(log.last_zxid(), 5);
    assert_eq!(log.first_zxid().unwrap(), Some(1));
    let want: Vec<(i64, Vec<u8>)> = (1..=5).map(|z| (z, txn(z))).collect();
    assert_eq!(all(&log), want);
    log.append(6, b"ours").unwrap();
    log.sync().unwrap();
    drop(log);
    let ours = dir.path().join("version-2/log.6");
    assert!(fs::read(&ours).unwrap().starts_with(b"ZKRL"));
    assert_eq!((fs::read(&a).unwrap(), fs::read(&b).unwrap()), before);
    let log = FileTxnLog::open(dir.path(), OPTS).unwrap();
    assert_eq!(log.last_zxid(), 6);
    assert_eq!(all(&log).last().unwrap(), &(6, b"ours".to_vec()));
}

#[test]
fn apache_torn_tails_are_skipped_and_left_in_place() {
    let dir = tempfile::tempdir().unwrap();
    // A partial last entry (no 'B') in a segment that is not the last, as an Apache crash
    // leaves it before Apache itself starts a new file.
    let mut torn = Vec::new();
    encode_apache_entry(&mut torn, &txn(3));
    torn.truncate(torn.len() - 5);
    let a = apache_log(dir.path(), &[1, 2], &torn);
    // And a garbage tail after the last one's entries.
    let b = apache_log(dir.path(), &[3, 4], &[0, 0, 7, 1, 0, 0]);
    let before = (fs::read(&a).unwrap(), fs::read(&b).unwrap());
    let log = FileTxnLog::open(dir.path(), OPTS).unwrap();
    assert_eq!(log.last_zxid(), 4);
    assert_eq!(all(&log).len(), 4);
    assert_eq!((fs::read(&a).unwrap(), fs::read(&b).unwrap()), before);
}

#[test]
fn damaged_apache_log_names_file_offset_zxid_and_repair() {
    let dir = tempfile::tempdir().unwrap();
    let path = apache_log(dir.path(), &[1, 2, 3, 4], &[0; 100]);
    let mut bytes = fs::read(&path).unwrap();
    let second = entry_at(1) as usize;
    bytes[second + 12 + 30] ^= 0xff;
    fs::write(&path, &bytes).unwrap();
    let Err(err) = FileTxnLog::open(dir.path(), OPTS) else {
        panic!("corruption before valid entries must stop the open");
    };
    let msg = err.to_string();
    let off = entry_at(1);
    for want in [
        path.display().to_string(),
        format!("byte offset {off}"),
        "record zxid 0x2".into(),
        "last good zxid 0x1".into(),
        "Adler32 mismatch".into(),
        format!("zkserver repair-log {} --offset {off}", path.display()),
    ] {
        assert!(msg.contains(&want), "{want:?} missing from: {msg}");
    }
    let report = repair_log(&path, off).unwrap();
    assert!(report.backup.exists());
    assert_eq!(fs::metadata(&path).unwrap().len(), off);
    let log = FileTxnLog::open(dir.path(), OPTS).unwrap();
    assert_eq!(all(&log), vec![(1, txn(1))]);
    // Not an entry boundary: refused.
    assert!(repair_log(&path, off - 1).is_err());
}

#[test]
fn trunc_cuts_an_apache_log_at_an_entry_and_appends_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let path = apache_log(dir.path(), &[1, 2, 3, 4, 5], &[0; 10]);
    let mut log = FileTxnLog::open(dir.path(), OPTS).unwrap();
    log.truncate_after(2).unwrap();
    assert_eq!(log.last_zxid(), 2);
    assert_eq!(fs::metadata(&path).unwrap().len(), entry_at(2));
    log.append(3, b"new three").unwrap();
    log.sync().unwrap();
    assert!(fs::read(&path).unwrap().starts_with(b"ZKLG"));
    assert!(dir.path().join("version-2/log.3").exists());
    drop(log);
    let log = FileTxnLog::open(dir.path(), OPTS).unwrap();
    assert_eq!(
        all(&log),
        vec![(1, txn(1)), (2, txn(2)), (3, b"new three".to_vec())]
    );
}

fn apache_snap(dir: &Path, zxid: i64) -> PathBuf {
    let v2 = dir.join("version-2");
    fs::create_dir_all(&v2).unwrap();
    let digest = ApacheZxidDigest {
        zxid,
        version: 2,
        digest: zxid * 7,
    };
    let mut body = Vec::new();
    crate::tree::DataTree::new()
        .write_apache_snap(&mut body)
        .unwrap();
    write_apache_snapshot(&v2, zxid, &mut |w| w.write_all(&body), Some(digest)).unwrap()
}

#[test]
fn newest_valid_snapshot_is_chosen_across_formats_and_apache_files_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileSnapshotStore::open(dir.path()).unwrap();
    store.write(3, &mut |w| w.write_all(b"ours at 3")).unwrap();
    let apache = apache_snap(dir.path(), 5);
    let newest = store.newest_valid().unwrap().unwrap();
    assert_eq!(newest.zxid, 5);
    assert!(matches!(
        newest.format,
        SnapshotFormat::Apache {
            digest: Some(ApacheZxidDigest { zxid: 5, .. })
        }
    ));
    // Writing our snapshot at the same zxid keeps Apache's file.
    let before = fs::read(&apache).unwrap();
    store.write(5, &mut |w| w.write_all(b"ours at 5")).unwrap();
    assert_eq!(fs::read(&apache).unwrap(), before);
    // A damaged Apache snapshot falls back to ours.
    let mut bad = before.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 1;
    fs::write(&apache, bad).unwrap();
    let newest = store.newest_valid().unwrap().unwrap();
    assert_eq!((newest.zxid, newest.format), (3, SnapshotFormat::Zkserver));
    assert_eq!(newest.body.as_ref(), b"ours at 3");
}

#[test]
fn purge_applies_one_rule_to_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    apache_log(dir.path(), &[1, 2], &[]);
    apache_snap(dir.path(), 2);
    apache_log(dir.path(), &[3, 4], &[]);
    apache_snap(dir.path(), 4);
    let mut log = FileTxnLog::open(dir.path(), OPTS).unwrap();
    let store = FileSnapshotStore::open(dir.path()).unwrap();
    for z in 5..=8 {
        log.append(z, &txn(z)).unwrap();
        log.roll().unwrap();
        store.write(z, &mut |w| w.write_all(b"ours")).unwrap();
    }
    drop(log);
    let report = purge(dir.path(), dir.path(), 3).unwrap();
    assert_eq!(report.snapshots_removed, vec![2, 4, 5]);
    // Snapshots 6, 7, 8 stay; a segment goes when the next one starts at or before 6 + 1.
    assert_eq!(report.segments_removed, vec![1, 3, 5, 6]);
    let left: Vec<String> = fs::read_dir(dir.path().join("version-2"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("log.") || n.starts_with("snapshot."))
        .collect();
    assert_eq!(left.len(), 5, "{left:?}");
}

#[test]
fn no_valid_snapshot_and_a_partial_log_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let snap = apache_snap(dir.path(), 0x1_0000_0004);
    let mut b = fs::read(&snap).unwrap();
    b[40] ^= 1;
    fs::write(&snap, b).unwrap();
    apache_log(dir.path(), &[0x1_0000_0005, 0x1_0000_0006], &[]);
    let Err(err) = Storage::open(dir.path(), dir.path(), StorageOptions::default()) else {
        panic!("a lost history must not load");
    };
    let msg = err.to_string();
    assert!(msg.contains("none of the 1 snapshots is valid"), "{msg}");
    assert!(msg.contains("first txn: 0x100000005"), "{msg}");
    // A log from the first txn on is a whole history.
    let whole = tempfile::tempdir().unwrap();
    fs::create_dir_all(whole.path().join("version-2")).unwrap();
    fs::copy(&snap, whole.path().join("version-2/snapshot.100000004")).unwrap();
    apache_log(whole.path(), &[0x1_0000_0001, 0x1_0000_0002], &[]);
    let (_, rec) = Storage::open(whole.path(), whole.path(), StorageOptions::default()).unwrap();
    assert!(rec.snapshot.is_none());
    assert_eq!(rec.txns_after_snapshot.len(), 2);
}

#[test]
fn an_entry_far_behind_the_end_marker_is_found_at_its_exact_offset() {
    let dir = tempfile::tempdir().unwrap();
    let gap = (1 << 20) + (1 << 19) + 5;
    let mut tail = vec![0u8; gap];
    encode_apache_entry(&mut tail, &txn(3));
    let path = apache_log(dir.path(), &[1, 2], &tail);
    let Err(err) = FileTxnLog::open(dir.path(), OPTS) else {
        panic!("a valid entry after the end marker is corruption");
    };
    let at = entry_at(2) + gap as u64;
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("valid record (zxid 0x3) follows at offset {at}")),
        "{msg}"
    );
    assert!(msg.contains(&path.display().to_string()), "{msg}");
}
