//! Apache ZooKeeper's own file formats (3.8/3.9, `persistence/{FileTxnLog,FileSnap,Util,
//! SnapStream}.java`), byte level: what zkserver needs to read a dataDir Apache wrote and to
//! write a snapshot Apache reads. All integers big-endian (jute).
//!
//! ```text
//! FileHeader (both kinds)   int magic, int version = 2, long dbid = 0           16 bytes
//!   log.<hex>               magic "ZKLG" (0x5a4b4c47)
//!   snapshot.<hex>[.gz]     magic "ZKSN" (0x5a4b534e)
//! log entry                 long checksum (Adler32 of the txn bytes, as an unsigned 32-bit
//!                           value in a long), int len, len txn bytes, byte 'B' (0x42)
//!                           txn bytes = TxnHeader{long session, int cxid, long zxid, long
//!                           time, int type} + txn record + optional TxnDigest{int, long}
//! end of a log              a zero length (the file is preallocated with zeros) or EOF
//! snapshot                  FileHeader · SNAP body (tree::apache_snap) · seal · [ZxidDigest
//!                           {long zxid, int version, long digest (hex ustring if version < 2)}
//!                           · seal] · [3.9: long lastProcessedZxid · seal]
//! seal                      long Adler32 of every byte before it, ustring "/" (00000001 2f)
//! ```
//! A `.gz` snapshot is the same stream gzip-compressed; `.snappy` uses snappy-java's framing.
//!
//! Owns: magics, header and entry layouts, Adler32, telling the two formats (ours: `format`)
//! apart by their first bytes. Must not: do I/O (`apache_log` readers live in `segment`,
//! snapshots in `apache_snapshot`).

use super::format::{LOG_MAGIC, SNAP_MAGIC};

/// Magic of Apache's txn log files.
pub const APACHE_LOG_MAGIC: [u8; 4] = *b"ZKLG";
/// Magic of Apache's snapshot files.
pub const APACHE_SNAP_MAGIC: [u8; 4] = *b"ZKSN";
/// `FileTxnLog.VERSION` / `FileSnap.VERSION`.
pub const APACHE_VERSION: i32 = 2;
/// FileHeader: magic (4) + version (4) + dbid (8).
pub const APACHE_HEADER_LEN: u64 = 16;
/// An entry's checksum (8) and length (4) before its txn bytes.
pub const ENTRY_HEAD_LEN: usize = 12;
/// The byte closing every log entry (`Util.writeTxnBytes`, "EOR").
pub const END_OF_RECORD: u8 = b'B';
/// `TxnHeader` size; every txn starts with one.
pub const TXN_HEADER_LEN: usize = 32;
/// A seal: long checksum + ustring "/".
pub const SEAL_LEN: usize = 13;
/// First bytes of a gzip stream (`snapshot.<hex>.gz`).
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// First bytes of a snappy-java stream (`snapshot.<hex>.snappy`).
pub const SNAPPY_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];

/// Who wrote a file, told by its first bytes (names are the same for both servers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// zkserver's txn log segment (`ZKRL`).
    OurLog,
    /// zkserver's snapshot (`ZKRS`).
    OurSnapshot,
    /// Apache's txn log (`ZKLG`).
    ApacheLog,
    /// Apache's uncompressed snapshot (`ZKSN`).
    ApacheSnapshot,
    /// A gzip stream (Apache's `snapshot.<hex>.gz`).
    Gzip,
    /// A snappy-java stream (Apache's `snapshot.<hex>.snappy`).
    Snappy,
}

/// Tells a file's kind from its first bytes; `None` for anything else (zeros, garbage).
pub fn sniff(first: &[u8]) -> Option<FileKind> {
    let magic = first.get(..4)?;
    let kind = if magic == LOG_MAGIC {
        FileKind::OurLog
    } else if magic == SNAP_MAGIC {
        FileKind::OurSnapshot
    } else if magic == APACHE_LOG_MAGIC {
        FileKind::ApacheLog
    } else if magic == APACHE_SNAP_MAGIC {
        FileKind::ApacheSnapshot
    } else if first.starts_with(&GZIP_MAGIC) {
        FileKind::Gzip
    } else if first.starts_with(&SNAPPY_MAGIC[..4]) {
        FileKind::Snappy
    } else {
        return None;
    };
    Some(kind)
}

/// Apache's `FileHeader{magic, 2, dbid 0}`.
pub fn apache_header(magic: [u8; 4]) -> [u8; APACHE_HEADER_LEN as usize] {
    let mut h = [0u8; APACHE_HEADER_LEN as usize];
    h[0..4].copy_from_slice(&magic);
    h[4..8].copy_from_slice(&APACHE_VERSION.to_be_bytes());
    h
}

/// Checks an Apache FileHeader. Apache itself checks only the magic; the version is checked
/// too so that a future format is refused by name instead of misread. The dbid is ignored.
pub fn check_apache_header(h: &[u8], magic: [u8; 4]) -> Result<(), String> {
    if h.len() < APACHE_HEADER_LEN as usize {
        return Err(format!(
            "{} bytes, header needs {APACHE_HEADER_LEN}",
            h.len()
        ));
    }
    if h[0..4] != magic {
        return Err(format!("magic {:02x?}, expected {:02x?}", &h[0..4], magic));
    }
    let version = i32::from_be_bytes([h[4], h[5], h[6], h[7]]);
    if version != APACHE_VERSION {
        return Err(format!(
            "Apache format version {version}, this build reads {APACHE_VERSION}"
        ));
    }
    Ok(())
}

/// Adler32 (`java.util.zip.Adler32`) of `bytes`.
pub fn adler32(bytes: &[u8]) -> u32 {
    adler2::adler32_slice(bytes)
}

/// The zxid in a txn's `TxnHeader` (bytes 12..20). Apache's entries carry no zxid of their
/// own, so this peek is the only way to key them.
pub fn txn_zxid(txn: &[u8]) -> Option<i64> {
    let b: [u8; 8] = txn.get(12..20)?.try_into().ok()?;
    Some(i64::from_be_bytes(b))
}

/// Appends one Apache log entry (`Util.writeTxnBytes` after its checksum).
pub fn encode_apache_entry(buf: &mut Vec<u8>, txn: &[u8]) {
    buf.extend_from_slice(&u64::from(adler32(txn)).to_be_bytes());
    buf.extend_from_slice(&(txn.len() as i32).to_be_bytes());
    buf.extend_from_slice(txn);
    buf.push(END_OF_RECORD);
}

/// Checks that a complete, valid entry starts at `at` in `rest` (checksum, length, 'B' and a
/// TxnHeader whose zxid is above `above`); returns its zxid and encoded length.
pub fn entry_at(rest: &[u8], at: usize, above: i64) -> Option<(i64, usize)> {
    let head = rest.get(at..at + ENTRY_HEAD_LEN)?;
    let crc = u64::from_be_bytes(head[0..8].try_into().ok()?);
    let len = i32::from_be_bytes(head[8..12].try_into().ok()?);
    if len < TXN_HEADER_LEN as i32 || crc > u64::from(u32::MAX) {
        return None;
    }
    let start = at + ENTRY_HEAD_LEN;
    let txn = rest.get(start..start + len as usize)?;
    if *rest.get(start + len as usize)? != END_OF_RECORD || u64::from(adler32(txn)) != crc {
        return None;
    }
    let zxid = txn_zxid(txn)?;
    (zxid > above).then_some((zxid, ENTRY_HEAD_LEN + len as usize + 1))
}

/// A seal over everything before it.
pub fn seal(checksum: u32) -> [u8; SEAL_LEN] {
    let mut s = [0u8; SEAL_LEN];
    s[0..8].copy_from_slice(&u64::from(checksum).to_be_bytes());
    s[8..12].copy_from_slice(&1i32.to_be_bytes());
    s[12] = b'/';
    s
}

/// Checks a seal read from a file against the checksum of the bytes before it.
pub fn check_seal(bytes: &[u8], computed: u32) -> Result<(), String> {
    if bytes.len() < SEAL_LEN {
        return Err(format!(
            "truncated seal ({} of {SEAL_LEN} bytes)",
            bytes.len()
        ));
    }
    let stored = u64::from_be_bytes(bytes[0..8].try_into().map_err(|_| "seal")?);
    if stored != u64::from(computed) {
        return Err(format!(
            "Adler32 seal mismatch (stored {stored:08x}, computed {computed:08x})"
        ));
    }
    if bytes[8..SEAL_LEN] != [0, 0, 0, 1, b'/'] {
        return Err(format!(
            "seal is not followed by \"/\" (bytes {:02x?})",
            &bytes[8..SEAL_LEN]
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(zxid: i64) -> Vec<u8> {
        let mut t = vec![0u8; TXN_HEADER_LEN + 4];
        t[12..20].copy_from_slice(&zxid.to_be_bytes());
        t
    }

    #[test]
    fn adler32_matches_java() {
        // java.util.zip.Adler32 of "Wikipedia" is 0x11E60398 (the classic example).
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(adler32(b""), 1);
    }

    #[test]
    fn entries_are_found_only_when_whole_and_newer() {
        let mut buf = vec![0u8; 3];
        encode_apache_entry(&mut buf, &txn(7));
        let len = buf.len() - 3;
        assert_eq!(entry_at(&buf, 3, 6), Some((7, len)));
        assert_eq!(entry_at(&buf, 3, 7), None, "not above the last good zxid");
        assert_eq!(entry_at(&buf, 2, 0), None);
        let mut torn = buf.clone();
        torn.pop();
        assert_eq!(entry_at(&torn, 3, 0), None, "no 'B'");
        let mut flipped = buf.clone();
        flipped[3 + ENTRY_HEAD_LEN + 1] ^= 1;
        assert_eq!(entry_at(&flipped, 3, 0), None, "checksum");
    }

    #[test]
    fn sniffs_both_servers_files() {
        assert_eq!(sniff(b"ZKLG\0\0\0\x02"), Some(FileKind::ApacheLog));
        assert_eq!(sniff(b"ZKSN"), Some(FileKind::ApacheSnapshot));
        assert_eq!(sniff(b"ZKRL"), Some(FileKind::OurLog));
        assert_eq!(sniff(b"ZKRS"), Some(FileKind::OurSnapshot));
        assert_eq!(sniff(&[0x1f, 0x8b, 8, 0]), Some(FileKind::Gzip));
        assert_eq!(sniff(&SNAPPY_MAGIC), Some(FileKind::Snappy));
        assert_eq!(sniff(&[0, 0, 0, 0]), None);
        assert_eq!(sniff(b"ZK"), None);
    }

    #[test]
    fn header_and_seal_round_trip() {
        let h = apache_header(APACHE_SNAP_MAGIC);
        assert_eq!(h[..8], [0x5a, 0x4b, 0x53, 0x4e, 0, 0, 0, 2]);
        assert!(check_apache_header(&h, APACHE_SNAP_MAGIC).is_ok());
        assert!(check_apache_header(&h, APACHE_LOG_MAGIC).is_err());
        let s = seal(0xdead_beef);
        assert!(check_seal(&s, 0xdead_beef).is_ok());
        assert!(check_seal(&s, 0xdead_beee).is_err());
        assert!(check_seal(&s[..12], 0xdead_beef).is_err());
    }
}
