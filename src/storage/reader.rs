//! Reading txns back from the segment files of a log directory.
//!
//! Owns: `read_segments_from`, the "iterate from zxid" used by `FileTxnLog::read_from` and usable from
//! another thread while the group committer keeps appending (DIFF for a follower, replay at startup).
//! It only reads: a bad record at the end of the last segment is taken for a write in flight and ends
//! the read; anywhere else it is corruption, except in Apache's segments, whose torn tails recovery
//! checked and left in place at open (see `recovery`). Reads both formats. Must not: modify files
//! (recovery does that, at open).

use std::io::ErrorKind;
use std::path::Path;

use bytes::Bytes;

use super::error::{Result, StorageError};
use super::format::LOG_PREFIX;
use super::fsutil::list_zxid_files;
use super::segment::{LogFormat, Next, Opened, RecordReader};

/// Every record with zxid >= `from` in the `version-2/` directory `dir`, in zxid order.
///
/// Segments deleted by a concurrent purge are skipped; callers that need completeness (DIFF) compare
/// `from` with the log's first zxid.
pub fn read_segments_from(dir: &Path, from: i64) -> Result<Vec<(i64, Bytes)>> {
    let files = list_zxid_files(dir, LOG_PREFIX)?;
    // The first segment that can hold `from` is the last one whose first zxid is <= from.
    let start = files
        .iter()
        .rposition(|(first, _)| *first <= from)
        .unwrap_or(0);
    let mut out = Vec::new();
    for (i, (_, path)) in files.iter().enumerate().skip(start) {
        let is_last = i + 1 == files.len();
        let opened = match RecordReader::open(path) {
            Ok(o) => o,
            Err(StorageError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
                continue;
            }
            Err(e) => return Err(e),
        };
        let mut reader = match opened {
            Opened::Ok(r) => r,
            Opened::TornHeader if is_last => break,
            Opened::TornHeader => {
                return Err(StorageError::BadHeader {
                    path: path.clone(),
                    reason: "empty or zeroed header".into(),
                })
            }
        };
        let mut last = 0i64;
        let apache = reader.format() == LogFormat::Apache;
        loop {
            match reader.next_record()? {
                Next::Record(zxid, txn) => {
                    last = zxid;
                    if zxid >= from {
                        out.push((zxid, txn));
                    }
                }
                Next::End => break,
                Next::Bad { .. } if is_last || apache => break,
                Next::Bad {
                    offset,
                    zxid,
                    reason,
                } => {
                    return Err(StorageError::CorruptLog {
                        path: path.clone(),
                        offset,
                        zxid,
                        last_good_zxid: last,
                        reason,
                    })
                }
            }
        }
    }
    Ok(out)
}

/// Iterates the records encoded in a buffer produced by `format::encode_record` (the log's
/// not-yet-written batch), yielding (zxid, txn bytes).
pub fn decode_buffer(buf: &[u8]) -> impl Iterator<Item = (i64, &[u8])> {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let h = buf.get(pos..pos + super::format::RECORD_HEADER_LEN)?;
        let len = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let zxid = i64::from_be_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]);
        let start = pos + super::format::RECORD_HEADER_LEN;
        let txn = buf.get(start..start + len)?;
        pos = start + len;
        Some((zxid, txn))
    })
}
