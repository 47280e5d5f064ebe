//! Startup scan of the txn log: torn tails are cut, corruption stops startup; `repair_log` for operators.
//!
//! Owns: the rule that tells a torn tail from corruption, and the repair that cuts a log on an
//! operator's order. The rule: a bad record (or a zero header) at offset X is a *torn tail* when no
//! valid record with a higher zxid starts anywhere after X and X is in the last segment; the file is
//! then cut at X with a warning. If a valid record follows, or the segment is not the last, the log is
//! *corrupt*: acknowledged txns could sit behind the damage, so we stop with `CorruptLog` (file, offset,
//! zxid, and the `zkserver repair-log` command) and let the operator choose. A crash can, rarely, leave a
//! later record of the last unsynced batch intact behind a torn one; we then refuse to guess too.
//!
//! Apache ZooKeeper's `ZKLG` logs follow the same rule with one difference: they are never cut or
//! appended to (they stay byte-identical until purge; zkserver continues in a new segment of its own),
//! so a torn tail there is only skipped, with a warning, wherever the segment stands; that is also how
//! Apache reads a partial last entry. Corruption with valid entries behind it stops startup with the
//! same `CorruptLog` error, and `repair-log` cuts an Apache log at an entry boundary as well. Must
//! not: interpret txn bytes or delete data without a warning naming the file.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::apache_format::{entry_at, ENTRY_HEAD_LEN};
use super::error::{Result, StorageError};
use super::format::{
    decode_record_header, record_crc, LOG_HEADER_LEN, LOG_PREFIX, RECORD_HEADER_LEN,
};
use super::fsutil::{fsync_dir, list_zxid_files, parent_of, remove_file};
use super::segment::{LogFormat, Next, Opened, RecordReader};

/// What the scan learned about one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentMeta {
    /// The zxid in the file name, which is the zxid of its first record.
    pub first_zxid: i64,
    pub path: PathBuf,
    /// Zxid of its last valid record.
    pub last_zxid: i64,
    /// Byte offset just past its last valid record.
    pub end_offset: u64,
    pub records: u64,
    /// Who wrote it; zkserver appends only to its own format.
    pub format: LogFormat,
}

/// Scans every segment in `dir` in zxid order, cutting a torn tail of the last one and refusing
/// corruption anywhere else. Returns the segments that hold at least one record.
pub fn recover_segments(dir: &Path) -> Result<Vec<SegmentMeta>> {
    let files = list_zxid_files(dir, LOG_PREFIX)?;
    let mut out: Vec<SegmentMeta> = Vec::with_capacity(files.len());
    let mut last_good = 0i64;
    for (i, (name_zxid, path)) in files.iter().enumerate() {
        let is_last = i + 1 == files.len();
        let mut reader = match RecordReader::open(path)? {
            Opened::Ok(r) => r,
            Opened::TornHeader if is_last => {
                tracing::warn!(file = %path.display(), "txn log segment has a torn header (crash while creating it); removing it");
                remove_file(path)?;
                fsync_dir(dir)?;
                continue;
            }
            Opened::TornHeader => {
                return Err(StorageError::BadHeader {
                    path: path.clone(),
                    reason: "empty or zeroed header in a segment that is not the last".into(),
                })
            }
        };
        let format = reader.format();
        let mut meta = SegmentMeta {
            first_zxid: *name_zxid,
            path: path.clone(),
            last_zxid: last_good,
            end_offset: LOG_HEADER_LEN,
            records: 0,
            format,
        };
        loop {
            match reader.next_record()? {
                Next::Record(zxid, _) => {
                    let problem = if meta.records == 0 && zxid != *name_zxid {
                        Some("first record's zxid differs from the file name")
                    } else if zxid <= last_good {
                        Some("zxid does not increase")
                    } else {
                        None
                    };
                    if let Some(reason) = problem {
                        return Err(corrupt(
                            path,
                            meta.end_offset,
                            zxid,
                            last_good,
                            reason.into(),
                        ));
                    }
                    last_good = zxid;
                    meta.last_zxid = zxid;
                    meta.records += 1;
                    meta.end_offset = reader.offset();
                }
                Next::End => {
                    let after = inspect_after(path, format, reader.offset(), last_good)?;
                    if let Some((off, zxid)) = after.valid {
                        let reason = format!("end-of-log marker, but a valid record (zxid 0x{zxid:x}) follows at offset {off}");
                        return Err(corrupt(path, reader.offset(), 0, last_good, reason));
                    }
                    if after.nonzero {
                        match format {
                            LogFormat::Zkserver if is_last => cut_torn_tail(
                                path,
                                reader.offset(),
                                "garbage after the end marker",
                            )?,
                            LogFormat::Zkserver => {}
                            LogFormat::Apache => skip_apache_tail(
                                path,
                                reader.offset(),
                                "garbage after the end marker",
                            ),
                        }
                    }
                    break;
                }
                Next::Bad {
                    offset,
                    zxid,
                    reason,
                } => {
                    let after = inspect_after(path, format, offset, last_good)?;
                    let apache = format == LogFormat::Apache;
                    if after.valid.is_some() || (!is_last && !apache) {
                        return Err(corrupt(path, offset, zxid, last_good, reason));
                    }
                    if apache {
                        skip_apache_tail(path, offset, &reason);
                    } else {
                        cut_torn_tail(path, offset, &reason)?;
                    }
                    break;
                }
            }
        }
        if meta.records == 0 {
            if format == LogFormat::Apache && !is_last {
                tracing::warn!(file = %path.display(), "Apache txn log holds no entry; skipping it");
                continue;
            }
            if is_last {
                tracing::warn!(file = %path.display(), "txn log segment holds no complete record; removing it");
                remove_file(path)?;
                fsync_dir(dir)?;
                continue;
            }
            return Err(corrupt(
                path,
                LOG_HEADER_LEN,
                0,
                last_good,
                "segment holds no record".into(),
            ));
        }
        out.push(meta);
    }
    Ok(out)
}

fn corrupt(
    path: &Path,
    offset: u64,
    zxid: i64,
    last_good_zxid: i64,
    reason: String,
) -> StorageError {
    StorageError::CorruptLog {
        path: path.to_path_buf(),
        offset,
        zxid,
        last_good_zxid,
        reason,
    }
}

/// An Apache log's torn tail is left in place (its files stay as Apache wrote them); reading stops
/// before it, as Apache's own reader does.
fn skip_apache_tail(path: &Path, offset: u64, reason: &str) {
    tracing::warn!(file = %path.display(), offset, reason, "Apache txn log ends in a torn entry (a crash interrupted Apache's last, unacknowledged write); reading stops there and the file is left as it is");
}

/// Truncates a torn tail; the segment writer re-grows the file with zeros on the next append.
fn cut_torn_tail(path: &Path, offset: u64, reason: &str) -> Result<()> {
    tracing::warn!(file = %path.display(), offset, reason, "cutting torn tail of txn log (a crash interrupted the last, unacknowledged write)");
    let f = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| StorageError::io("open", path, e))?;
    f.set_len(offset)
        .map_err(|e| StorageError::io("truncate", path, e))?;
    f.sync_all().map_err(|e| StorageError::io("fsync", path, e))
}

/// What lies after a bad record or an end marker.
struct After {
    /// The first valid record (offset, zxid) with a zxid above the last good one.
    valid: Option<(u64, i64)>,
    /// Whether any non-zero byte follows.
    nonzero: bool,
}

/// The first offset at or after `from` that holds data rather than a hole (`SEEK_DATA`):
/// `Some(None)` when only holes follow, `None` when the file system cannot tell (then every
/// byte is read). Moves the file position; callers seek afterwards.
fn next_data(f: &File, from: u64) -> Option<Option<u64>> {
    use std::os::fd::AsRawFd;
    let from = libc::off_t::try_from(from).ok()?;
    // SAFETY: lseek on a descriptor this `File` owns and keeps open for the call.
    let at = unsafe { libc::lseek(f.as_raw_fd(), from, libc::SEEK_DATA) };
    if at >= 0 {
        return u64::try_from(at).ok().map(Some);
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::ENXIO) => Some(None),
        _ => None,
    }
}

/// Searches every byte position after `offset` for a record whose crc checks and whose zxid is above
/// `last_good`; that is the evidence that separates corruption from a torn tail.
fn inspect_after(path: &Path, format: LogFormat, offset: u64, last_good: i64) -> Result<After> {
    let mut f = File::open(path).map_err(|e| StorageError::io("open", path, e))?;
    f.seek(SeekFrom::Start(offset))
        .map_err(|e| StorageError::io("seek", path, e))?;
    // The usual case is a preallocated tail of zeros (up to 64 MiB, and in every one of
    // Apache's segments): check it in chunks before holding anything.
    let mut chunk = vec![0u8; 1 << 20];
    let mut scanned = 0u64;
    loop {
        // Holes (our preallocation is a sparse `set_len`) read as zeros: skip them unread.
        match next_data(&f, offset + scanned) {
            Some(Some(data)) if data > offset + scanned => {
                scanned = data - offset;
                f.seek(SeekFrom::Start(data))
                    .map_err(|e| StorageError::io("seek", path, e))?;
            }
            Some(None) => {
                return Ok(After {
                    valid: None,
                    nonzero: false,
                })
            }
            _ => {}
        }
        let n = f
            .read(&mut chunk)
            .map_err(|e| StorageError::io("read", path, e))?;
        if n == 0 {
            return Ok(After {
                valid: None,
                nonzero: false,
            });
        }
        if chunk[..n].iter().any(|b| *b != 0) {
            break;
        }
        scanned += n as u64;
    }
    // Entries can start up to a header's length before the first non-zero byte.
    let back = scanned.min(RECORD_HEADER_LEN as u64);
    let offset = offset + scanned - back;
    f.seek(SeekFrom::Start(offset))
        .map_err(|e| StorageError::io("seek", path, e))?;
    let mut rest = Vec::new();
    f.read_to_end(&mut rest)
        .map_err(|e| StorageError::io("read", path, e))?;
    let Some(first_nz) = rest.iter().position(|b| *b != 0) else {
        return Ok(After {
            valid: None,
            nonzero: false,
        });
    };
    // Skip position 0 when it is the bad record itself; an end marker there is all zeros anyway.
    if format == LogFormat::Apache {
        // An Apache entry starts with its checksum's four zero high bytes, so it can begin
        // before the first non-zero byte.
        return Ok(After {
            valid: find_apache_entry(&rest, last_good).map(|(p, z)| (offset + p as u64, z)),
            nonzero: true,
        });
    }
    let mut pos = first_nz.saturating_sub(3).max(1);
    while pos + RECORD_HEADER_LEN <= rest.len() {
        let mut h = [0u8; RECORD_HEADER_LEN];
        h.copy_from_slice(&rest[pos..pos + RECORD_HEADER_LEN]);
        let hdr = decode_record_header(&h);
        let body_start = pos + RECORD_HEADER_LEN;
        if hdr.len > 0
            && hdr.zxid > last_good
            && (hdr.len as usize) <= rest.len() - body_start
            && record_crc(hdr.zxid, &rest[body_start..body_start + hdr.len as usize]) == hdr.crc
        {
            return Ok(After {
                valid: Some((offset + pos as u64, hdr.zxid)),
                nonzero: true,
            });
        }
        pos += 1;
        if rest[pos..pos + 4.min(rest.len() - pos)]
            .iter()
            .all(|b| *b == 0)
        {
            match rest[pos..].iter().position(|b| *b != 0) {
                Some(k) => pos += k.saturating_sub(3).max(1),
                None => break,
            }
        }
    }
    Ok(After {
        valid: None,
        nonzero: true,
    })
}

/// The first valid Apache entry after position 0 of `rest` with a zxid above `last_good`: its
/// position and zxid. Zero runs are skipped (an entry's 12-byte head always holds a non-zero byte).
fn find_apache_entry(rest: &[u8], last_good: i64) -> Option<(usize, i64)> {
    let mut pos = 1usize;
    while pos + ENTRY_HEAD_LEN < rest.len() {
        if let Some((zxid, _)) = entry_at(rest, pos, last_good) {
            return Some((pos, zxid));
        }
        pos += 1;
        let head_end = (pos + ENTRY_HEAD_LEN).min(rest.len());
        if rest[pos..head_end].iter().all(|b| *b == 0) {
            let k = rest[pos..].iter().position(|b| *b != 0)?;
            pos += k.saturating_sub(ENTRY_HEAD_LEN - 1);
        }
    }
    None
}

/// What `repair_log` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairReport {
    /// Copy of the file as it was before the cut.
    pub backup: PathBuf,
    /// Later segments moved aside (renamed to `<name>.bak-<ts>`), since they would leave a gap.
    pub moved_aside: Vec<PathBuf>,
}

/// `fs::copy`, again when a signal interrupted it: its `copy_file_range` can fail with EINTR
/// (a fuzzing campaign's timer signal did that), and a whole copy starts over safely.
fn copy_retrying(from: &Path, to: &Path) -> std::io::Result<u64> {
    let mut attempts = 0;
    loop {
        match fs::copy(from, to) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted && attempts < 10 => attempts += 1,
            r => return r,
        }
    }
}

/// `zkserver repair-log <file> --offset <n>`: keeps a backup `<file>.bak-<unix seconds>`, cuts `file`
/// at `offset` (which must be the end of a valid record, as named in the `CorruptLog` message), and
/// moves later segments aside so the log has no gap. Run it only with the server stopped.
pub fn repair_log(file: &Path, offset: u64) -> Result<RepairReport> {
    check_cut_point(file, offset)?;
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let backup = suffixed(file, &format!(".bak-{ts}"));
    copy_retrying(file, &backup).map_err(|e| StorageError::io("copy", &backup, e))?;
    File::open(&backup)
        .and_then(|f| f.sync_all())
        .map_err(|e| StorageError::io("fsync", &backup, e))?;
    cut_torn_tail(file, offset, "operator repair")?;
    let dir = parent_of(file);
    let own = file
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| super::format::parse_file_name(LOG_PREFIX, n));
    let mut moved_aside = Vec::new();
    if let Some(own) = own {
        for (zxid, later) in list_zxid_files(dir, LOG_PREFIX)? {
            if zxid > own {
                let to = suffixed(&later, &format!(".bak-{ts}"));
                fs::rename(&later, &to).map_err(|e| StorageError::io("rename", &later, e))?;
                tracing::warn!(file = %later.display(), to = %to.display(), "moved later txn log segment aside");
                moved_aside.push(to);
            }
        }
    }
    fsync_dir(dir)?;
    Ok(RepairReport {
        backup,
        moved_aside,
    })
}

/// The cut point must be the header end or the end of a valid record reached by a clean scan.
fn check_cut_point(file: &Path, offset: u64) -> Result<()> {
    let bad = |reason: &str| StorageError::BadRepairOffset {
        path: file.to_path_buf(),
        offset,
        reason: reason.into(),
    };
    let mut reader = match RecordReader::open(file)? {
        Opened::Ok(r) => r,
        Opened::TornHeader => return Err(bad("the file has no valid header")),
    };
    if offset > reader.file_len() {
        return Err(bad("offset is past the end of the file"));
    }
    while reader.offset() < offset {
        match reader.next_record()? {
            Next::Record(..) => {}
            Next::End | Next::Bad { .. } => break,
        }
    }
    if reader.offset() != offset {
        return Err(bad(&format!(
            "not a record boundary reached by valid records (scan stops at {})",
            reader.offset()
        )));
    }
    Ok(())
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}
