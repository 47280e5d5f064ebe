//! Operator tools behind `zkserver log-dump FILE` and `zkserver snapshot-dump FILE`.
//!
//! Owns: printing log records and snapshot summaries (either server's files). To show zxid, time, session, type and path the
//! log dump decodes only the jute `TxnHeader` at the start of each txn (`long clientId, int cxid, long
//! zxid, long time, int type`, big-endian) and, for path-carrying types, the leading jute ustring; a
//! tiny self-contained decode so this file does not depend on `proto/`. Must not: modify files.

use std::io::Write;
use std::path::Path;

use super::error::{Result, StorageError};
use super::segment::{Next, Opened, RecordReader};
use super::snapshot::{FileSnapshotStore, SnapshotCheck};

/// What `log_dump` saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogDumpSummary {
    pub records: u64,
    /// Offset where reading stopped (end marker, EOF or a bad record).
    pub end_offset: u64,
    /// `Some(reason)` when reading stopped at a bad record.
    pub bad: Option<String>,
}

/// Prints every record of one segment file, then where and why reading stopped.
pub fn log_dump(path: &Path, out: &mut dyn Write) -> Result<LogDumpSummary> {
    let wr = |e| StorageError::io("write", "<output>", e);
    let mut reader = match RecordReader::open(path)? {
        Opened::Ok(r) => r,
        Opened::TornHeader => {
            writeln!(
                out,
                "{}: empty or zeroed header (torn segment)",
                path.display()
            )
            .map_err(wr)?;
            return Ok(LogDumpSummary {
                records: 0,
                end_offset: 0,
                bad: Some("torn header".into()),
            });
        }
    };
    writeln!(
        out,
        "txn log {} ({})",
        path.display(),
        reader.format().describe()
    )
    .map_err(wr)?;
    let mut records = 0;
    loop {
        let offset = reader.offset();
        match reader.next_record()? {
            Next::Record(zxid, txn) => {
                records += 1;
                writeln!(out, "{}", describe_txn(zxid, &txn)).map_err(wr)?;
            }
            Next::End => {
                writeln!(out, "end of log at offset {offset}: {records} records").map_err(wr)?;
                return Ok(LogDumpSummary {
                    records,
                    end_offset: offset,
                    bad: None,
                });
            }
            Next::Bad {
                offset,
                zxid,
                reason,
            } => {
                writeln!(out, "BAD RECORD at offset {offset} (claims zxid 0x{zxid:x}): {reason}; {records} good records before it").map_err(wr)?;
                return Ok(LogDumpSummary {
                    records,
                    end_offset: offset,
                    bad: Some(reason),
                });
            }
        }
    }
}

/// One line per txn: `zxid 0x.. time .. session 0x.. cxid .. <type> <path> size ..`.
pub fn describe_txn(zxid: i64, txn: &[u8]) -> String {
    let Some(h) = TxnHeader::decode(txn) else {
        return format!("zxid 0x{zxid:x} (no txn header) size {}", txn.len());
    };
    let path = if has_path(h.kind) {
        read_ustring(&txn[TxnHeader::LEN..]).unwrap_or_else(|| "<undecodable path>".into())
    } else {
        String::new()
    };
    let mut line = format!(
        "zxid 0x{zxid:x} time {} session 0x{:x} cxid {} {}",
        iso8601_utc(h.time_ms),
        h.session,
        h.cxid,
        type_name(h.kind)
    );
    if !path.is_empty() {
        line.push(' ');
        line.push_str(&path);
    }
    line.push_str(&format!(" size {}", txn.len()));
    line
}

/// Prints a snapshot's header, zxid, body length and whether its crc holds; returns validity.
/// (Listing every node needs the tree's body encoding and is left to the tree module.)
pub fn snapshot_dump(path: &Path, out: &mut dyn Write) -> Result<bool> {
    let wr = |e| StorageError::io("write", "<output>", e);
    writeln!(out, "snapshot {}", path.display()).map_err(wr)?;
    match FileSnapshotStore::check(path) {
        Ok(SnapshotCheck::Zkserver { zxid, body_len }) => {
            writeln!(
                out,
                "format ZKRS v1\nzxid 0x{zxid:x}\nbody length {body_len}\ncrc ok"
            )
            .map_err(wr)?;
            Ok(true)
        }
        Ok(SnapshotCheck::Apache(info)) => {
            let compression = if info.gzip { ", gzip" } else { "" };
            writeln!(
                out,
                "format ZKSN v2 (Apache ZooKeeper{compression})\nzxid 0x{:x} (from the file name)\nbody length {}\nAdler32 seals ok",
                info.zxid, info.body_len
            )
            .map_err(wr)?;
            match info.digest {
                Some(d) => writeln!(
                    out,
                    "digest zxid 0x{:x} version {} value {}",
                    d.zxid, d.version, d.digest
                ),
                None => writeln!(out, "digest none"),
            }
            .map_err(wr)?;
            if let Some(z) = info.last_processed_zxid {
                writeln!(out, "lastProcessedZxid 0x{z:x}").map_err(wr)?;
            }
            Ok(true)
        }
        Err(StorageError::BadSnapshot { reason, .. }) => {
            writeln!(out, "crc bad / invalid: {reason}").map_err(wr)?;
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// The jute `TxnHeader` that starts every ZooKeeper txn.
struct TxnHeader {
    session: i64,
    cxid: i32,
    time_ms: i64,
    kind: i32,
}

impl TxnHeader {
    const LEN: usize = 32;

    fn decode(b: &[u8]) -> Option<TxnHeader> {
        let h = b.get(..Self::LEN)?;
        let i64_at = |o: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&h[o..o + 8]);
            i64::from_be_bytes(a)
        };
        let i32_at = |o: usize| i32::from_be_bytes([h[o], h[o + 1], h[o + 2], h[o + 3]]);
        Some(TxnHeader {
            session: i64_at(0),
            cxid: i32_at(8),
            time_ms: i64_at(20),
            kind: i32_at(28),
        })
    }
}

fn has_path(kind: i32) -> bool {
    matches!(kind, 1 | 2 | 5 | 7 | 13 | 15 | 16 | 19 | 20 | 21)
}

/// ZooKeeper's names for `OpCode` values found in txn headers.
pub fn type_name(kind: i32) -> String {
    let name = match kind {
        -10 => "createSession",
        -11 => "closeSession",
        -1 => "error",
        1 => "create",
        2 => "delete",
        5 => "setData",
        7 => "setACL",
        13 => "check",
        14 => "multi",
        15 => "create2",
        16 => "reconfig",
        19 => "createContainer",
        20 => "deleteContainer",
        21 => "createTTL",
        other => return format!("type{other}"),
    };
    name.to_string()
}

/// A jute ustring: int length (-1 = null) then UTF-8 bytes.
fn read_ustring(b: &[u8]) -> Option<String> {
    let len = i32::from_be_bytes(b.get(..4)?.try_into().ok()?);
    if len < 0 {
        return Some("<null>".into());
    }
    let s = b.get(4..4 + len as usize)?;
    Some(String::from_utf8_lossy(s).into_owned())
}

/// Milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ` (proleptic Gregorian, UTC).
pub fn iso8601_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Days since 1970-01-01 to a civil date (era-based algorithm, valid for all i64 days in range).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso8601_utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601_utc(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(iso8601_utc(1_700_000_000_000), "2023-11-14T22:13:20.000Z");
        assert_eq!(iso8601_utc(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn describes_create_with_path() {
        let mut t = Vec::new();
        t.extend_from_slice(&0x1234i64.to_be_bytes());
        t.extend_from_slice(&7i32.to_be_bytes());
        t.extend_from_slice(&0x100000001i64.to_be_bytes());
        t.extend_from_slice(&0i64.to_be_bytes());
        t.extend_from_slice(&1i32.to_be_bytes());
        t.extend_from_slice(&4i32.to_be_bytes());
        t.extend_from_slice(b"/foo");
        let line = describe_txn(0x100000001, &t);
        assert_eq!(
            line,
            "zxid 0x100000001 time 1970-01-01T00:00:00.000Z session 0x1234 cxid 7 create /foo size 40"
        );
        assert!(describe_txn(5, b"short").contains("no txn header"));
    }
}
