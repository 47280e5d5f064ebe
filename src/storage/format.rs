//! Byte-level constants and helpers shared by the txn log and snapshot files.
//!
//! Owns: magics, versions, header/record/trailer layouts, the crc rule and the file-name rules
//! (`log.<hex>`, `snapshot.<hex>`). The layouts themselves are documented byte by byte in the
//! `storage` module doc; this file is their single implementation. Must not: open files or do I/O.

/// Magic at byte 0 of every txn log segment.
pub const LOG_MAGIC: [u8; 4] = *b"ZKRL";
/// Txn log format version written at byte 4.
pub const LOG_VERSION: u32 = 1;
/// Segment header: magic (4) + version (4) + reserved (8).
pub const LOG_HEADER_LEN: u64 = 16;
/// Record header: len (4) + crc32 (4) + zxid (8); the txn bytes follow.
pub const RECORD_HEADER_LEN: usize = 16;

/// Magic at byte 0 of every snapshot file.
pub const SNAP_MAGIC: [u8; 4] = *b"ZKRS";
/// Snapshot format version.
pub const SNAP_VERSION: u32 = 1;
/// Snapshot header: magic (4) + version (4) + zxid (8).
pub const SNAP_HEADER_LEN: u64 = 16;
/// Magic closing every complete snapshot file.
pub const SNAP_END_MAGIC: [u8; 4] = *b"ZKRE";
/// Snapshot trailer: body length (8) + crc32 (4) + end magic (4).
pub const SNAP_TRAILER_LEN: u64 = 16;

/// Name prefix of txn log segments inside `version-2/`.
pub const LOG_PREFIX: &str = "log.";
/// Name prefix of snapshots inside `version-2/`.
pub const SNAP_PREFIX: &str = "snapshot.";
/// Sub-directory ZooKeeper (and we) keep data in, so the layout is familiar to operators.
pub const VERSION_DIR: &str = "version-2";

/// Encodes a segment header.
pub fn log_header() -> [u8; LOG_HEADER_LEN as usize] {
    let mut h = [0u8; LOG_HEADER_LEN as usize];
    h[0..4].copy_from_slice(&LOG_MAGIC);
    h[4..8].copy_from_slice(&LOG_VERSION.to_be_bytes());
    h
}

/// Checks a segment header; `Err` carries a human reason.
pub fn check_log_header(h: &[u8]) -> Result<(), String> {
    if h.len() < LOG_HEADER_LEN as usize {
        return Err(format!("{} bytes, header needs {LOG_HEADER_LEN}", h.len()));
    }
    if h[0..4] != LOG_MAGIC {
        return Err(format!(
            "magic {:02x?}, expected {:02x?}",
            &h[0..4],
            LOG_MAGIC
        ));
    }
    let version = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
    if version != LOG_VERSION {
        return Err(format!(
            "format version {version}, this build reads {LOG_VERSION}"
        ));
    }
    Ok(())
}

/// The crc of a record covers the zxid and the txn bytes, so a record moved to another zxid fails.
pub fn record_crc(zxid: i64, txn: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&zxid.to_be_bytes());
    h.update(txn);
    h.finalize()
}

/// Appends one encoded record (header + txn bytes) to `buf`.
pub fn encode_record(buf: &mut Vec<u8>, zxid: i64, txn: &[u8]) {
    let len = txn.len() as u32;
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(&record_crc(zxid, txn).to_be_bytes());
    buf.extend_from_slice(&zxid.to_be_bytes());
    buf.extend_from_slice(txn);
}

/// A decoded record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    pub len: u32,
    pub crc: u32,
    pub zxid: i64,
}

/// Decodes a record header from exactly 16 bytes.
pub fn decode_record_header(b: &[u8; RECORD_HEADER_LEN]) -> RecordHeader {
    RecordHeader {
        len: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        crc: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        zxid: i64::from_be_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]),
    }
}

/// `log.<hex>` / `snapshot.<hex>`: lowercase hex without padding, as ZooKeeper names its files.
pub fn file_name(prefix: &str, zxid: i64) -> String {
    format!("{prefix}{zxid:x}")
}

/// Parses `<prefix><hex>`; anything else (backups, temp files) is not ours and yields `None`.
pub fn parse_file_name(prefix: &str, name: &str) -> Option<i64> {
    let hex = name.strip_prefix(prefix)?;
    if hex.is_empty() || hex.len() > 16 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok().map(|v| v as i64)
}

/// Parses a snapshot name: `snapshot.<hex>`, or Apache's compressed `snapshot.<hex>.gz` /
/// `snapshot.<hex>.snappy`. Temp files and set-aside copies yield `None`.
pub fn parse_snapshot_name(name: &str) -> Option<i64> {
    let base = name
        .strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".snappy"))
        .unwrap_or(name);
    parse_file_name(SNAP_PREFIX, base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_reject_others() {
        assert_eq!(file_name(LOG_PREFIX, 0x1_0000_002a), "log.10000002a");
        assert_eq!(
            parse_file_name(LOG_PREFIX, "log.10000002a"),
            Some(0x1_0000_002a)
        );
        assert_eq!(parse_file_name(LOG_PREFIX, "log.1a.bak-17"), None);
        assert_eq!(parse_file_name(SNAP_PREFIX, "snapshot.5.tmp"), None);
        assert_eq!(parse_file_name(LOG_PREFIX, "log."), None);
        assert_eq!(parse_snapshot_name("snapshot.1f"), Some(0x1f));
        assert_eq!(parse_snapshot_name("snapshot.1f.gz"), Some(0x1f));
        assert_eq!(parse_snapshot_name("snapshot.1f.snappy"), Some(0x1f));
        assert_eq!(parse_snapshot_name("snapshot.1f.tmp"), None);
        assert_eq!(parse_snapshot_name("snapshot.1f.gz.tmp"), None);
        assert_eq!(parse_snapshot_name("snapshot.1f.trunc-1e"), None);
    }

    #[test]
    fn record_layout_is_big_endian() {
        let mut buf = Vec::new();
        encode_record(&mut buf, 0x0102, b"ab");
        assert_eq!(&buf[0..4], &[0, 0, 0, 2]);
        assert_eq!(&buf[8..16], &[0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(&buf[16..], b"ab");
        let mut h = [0u8; RECORD_HEADER_LEN];
        h.copy_from_slice(&buf[..16]);
        let d = decode_record_header(&h);
        assert_eq!((d.len, d.zxid), (2, 0x0102));
        assert_eq!(d.crc, record_crc(0x0102, b"ab"));
        assert_ne!(d.crc, record_crc(0x0103, b"ab"));
    }

    #[test]
    fn header_checks() {
        assert!(check_log_header(&log_header()).is_ok());
        let mut h = log_header();
        h[0] = b'X';
        assert!(check_log_header(&h).is_err());
        assert!(check_log_header(&h[..3]).is_err());
    }
}
