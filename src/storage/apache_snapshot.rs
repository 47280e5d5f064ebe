//! Apache ZooKeeper's snapshot files (`snapshot.<hex>` with magic `ZKSN`, or `.gz`): checking and
//! reading them (startup, retention, `snapshot-dump`) and writing one (`export-apache`).
//!
//! Layout in `apache_format`. The SNAP body has no length, so its end is found by following its
//! structure with `tree::snap_scan::SnapScanner` (structure only; the tree itself is built by the
//! caller). Reading streams the file once, keeping a running Adler32 for the seals, so checking a
//! multi-gigabyte snapshot needs no memory; only loading keeps the body.
//!
//! Apache's reader rules are followed (`FileSnap.deserialize`, `SnapStream`, `DataTree.
//! deserializeZxidDigest`): every seal must match; a missing digest, or one cut short by the end
//! of the file, means "no digest"; bytes after the last trailer are ignored. The 3.9 trailer
//! `long lastProcessedZxid` + seal is accepted (Apache overrides it with the name's zxid, so do we).
//! `.snappy` snapshots are refused with a message saying how to get a readable one.
//!
//! Owns: the file framing. Must not: build trees, or choose which snapshot to load.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::apache_format::{
    apache_header, check_apache_header, check_seal, seal, sniff, FileKind, APACHE_HEADER_LEN,
    APACHE_SNAP_MAGIC, SEAL_LEN,
};
use super::error::{Result, StorageError};
use super::format::{file_name, SNAP_PREFIX};
use super::fsutil::{fsync_dir, tmp_path};
use crate::tree::snap_scan::{ScanStatus, SnapScanner};

/// Read buffer.
const CHUNK: usize = 256 * 1024;
/// Trailer bytes looked at after the body (seal + digest + seal + 3.9 zxid + seal is 67).
const TRAILER_MAX: u64 = 4096;
/// A 3.9 `lastProcessedZxid` trailer alone: long + seal.
const LAST_ZXID_TRAILER: usize = 8 + SEAL_LEN;

/// Apache's `ZxidDigest`: the tree digest after the txn `zxid` (0 = none recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApacheZxidDigest {
    pub zxid: i64,
    pub version: i32,
    pub digest: i64,
}

/// What checking an Apache snapshot found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApacheSnapInfo {
    /// From the file name, as Apache takes it.
    pub zxid: i64,
    /// SNAP body bytes (after the 16-byte header, in the uncompressed stream).
    pub body_len: u64,
    pub gzip: bool,
    /// The ZxidDigest trailer as written (`None` when absent).
    pub digest: Option<ApacheZxidDigest>,
    /// The 3.9 trailer, when present.
    pub last_processed_zxid: Option<i64>,
}

fn bad(path: &Path, reason: String) -> StorageError {
    StorageError::BadSnapshot {
        path: path.to_path_buf(),
        reason,
    }
}

/// Opens the (possibly gzip-compressed) stream of an Apache snapshot; `Ok(None)` when the file
/// is not one (the caller reads it as ours).
fn open_stream(path: &Path) -> Result<Option<(Box<dyn Read>, bool)>> {
    let f = File::open(path).map_err(|e| StorageError::io("open", path, e))?;
    let mut r = BufReader::with_capacity(CHUNK, f);
    let first = r
        .fill_buf()
        .map_err(|e| StorageError::io("read", path, e))?;
    match sniff(first) {
        Some(FileKind::ApacheSnapshot) => Ok(Some((Box::new(r), false))),
        Some(FileKind::Gzip) => Ok(Some((
            Box::new(flate2::bufread::MultiGzDecoder::new(r)),
            true,
        ))),
        Some(FileKind::Snappy) => Err(bad(
            path,
            "a snappy-compressed Apache snapshot, which zkserver cannot read: start Apache once \
             with -Dzookeeper.snapshot.compression.method=gz (or unset) so it writes a gzip or \
             plain snapshot, or move this file aside to load an older one"
                .into(),
        )),
        _ => Ok(None),
    }
}

/// Whether `path` holds an Apache snapshot (by its first bytes).
pub fn is_apache_snapshot(path: &Path) -> Result<bool> {
    let f = File::open(path).map_err(|e| StorageError::io("open", path, e))?;
    let mut head = Vec::with_capacity(8);
    f.take(8)
        .read_to_end(&mut head)
        .map_err(|e| StorageError::io("read", path, e))?;
    Ok(matches!(
        sniff(&head),
        Some(FileKind::ApacheSnapshot | FileKind::Gzip | FileKind::Snappy)
    ))
}

/// Checks an Apache snapshot (`zxid` is the one its name gives); with `keep_body` also returns
/// the SNAP body. `Ok(None)` when the file is not Apache's.
pub fn read_apache_snapshot(
    path: &Path,
    zxid: i64,
    keep_body: bool,
) -> Result<Option<(ApacheSnapInfo, Option<Bytes>)>> {
    let Some((mut r, gzip)) = open_stream(path)? else {
        return Ok(None);
    };
    let where_ = if gzip {
        "uncompressed offset"
    } else {
        "offset"
    };
    let io = |e: io::Error| match e.kind() {
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
            bad(path, format!("gzip stream is damaged: {e}"))
        }
        _ => StorageError::io("read", path, e),
    };
    let mut adler = adler2::Adler32::new();
    let mut header = [0u8; APACHE_HEADER_LEN as usize];
    let got = read_up_to(&mut r, &mut header).map_err(io)?;
    if got < header.len() {
        return Err(bad(path, format!("truncated: {got} bytes")));
    }
    check_apache_header(&header, APACHE_SNAP_MAGIC).map_err(|reason| bad(path, reason))?;
    adler.write_slice(&header);
    // The file is trusted as far as lengths go (they are checked against what is there); the
    // tree applies jute.maxbuffer when it builds nodes.
    let mut scanner = SnapScanner::new(i32::MAX as usize);
    let mut body = keep_body.then(Vec::new);
    let mut buf = vec![0u8; CHUNK];
    let mut fed = 0u64;
    let mut tail = Vec::new();
    let body_len = loop {
        let n = r.read(&mut buf).map_err(io)?;
        if n == 0 {
            let at = APACHE_HEADER_LEN + fed;
            return Err(bad(
                path,
                format!("truncated: the SNAP body has no end marker (file ends at {where_} {at})"),
            ));
        }
        let status = scanner.feed(&buf[..n]).map_err(|e| {
            bad(
                path,
                format!("SNAP body (starting at {where_} {APACHE_HEADER_LEN}) is invalid: {e}"),
            )
        })?;
        let used = match status {
            ScanStatus::NeedMore => n,
            ScanStatus::Complete { len } => (len - fed) as usize,
        };
        adler.write_slice(&buf[..used]);
        if let Some(b) = body.as_mut() {
            b.extend_from_slice(&buf[..used]);
        }
        fed += used as u64;
        if let ScanStatus::Complete { len } = status {
            tail.extend_from_slice(&buf[used..n]);
            break len;
        }
    };
    if (tail.len() as u64) < TRAILER_MAX {
        r.take(TRAILER_MAX - tail.len() as u64)
            .read_to_end(&mut tail)
            .map_err(io)?;
    }
    let seal_at = APACHE_HEADER_LEN + body_len;
    let trailers = Trailers::parse(&tail, adler).map_err(|(at, reason)| {
        bad(
            path,
            format!("{reason} at {where_} {}", seal_at + at as u64),
        )
    })?;
    let info = ApacheSnapInfo {
        zxid,
        body_len,
        gzip,
        digest: trailers.digest,
        last_processed_zxid: trailers.last_processed_zxid,
    };
    Ok(Some((info, body.map(Bytes::from))))
}

/// The trailers after the body.
struct Trailers {
    digest: Option<ApacheZxidDigest>,
    last_processed_zxid: Option<i64>,
}

impl Trailers {
    /// Parses `t` (everything after the body); errors carry their offset within `t`.
    fn parse(
        t: &[u8],
        mut adler: adler2::Adler32,
    ) -> std::result::Result<Trailers, (usize, String)> {
        check_seal(t, adler.checksum()).map_err(|r| (0, r))?;
        adler.write_slice(&t[..SEAL_LEN]);
        let mut out = Trailers {
            digest: None,
            last_processed_zxid: None,
        };
        let mut pos = SEAL_LEN;
        let rest = &t[pos..];
        // A 3.9 writer with the digest off writes only the zxid trailer; its length tells it
        // from a digest (at least 29 bytes + seal).
        if rest.len() != LAST_ZXID_TRAILER {
            let Some((digest, len)) = parse_digest(rest) else {
                if !rest.is_empty() {
                    tracing::warn!(
                        bytes = rest.len(),
                        "Apache snapshot: digest trailer cut short; read as no digest (as Apache does)"
                    );
                }
                return Ok(out);
            };
            adler.write_slice(&rest[..len]);
            pos += len;
            check_seal(&t[pos..], adler.checksum()).map_err(|r| (pos, r))?;
            adler.write_slice(&t[pos..pos + SEAL_LEN]);
            pos += SEAL_LEN;
            out.digest = Some(digest);
        }
        if let Some(z) = t.get(pos..pos + 8) {
            let mut b = [0u8; 8];
            b.copy_from_slice(z);
            adler.write_slice(z);
            check_seal(&t[pos + 8..], adler.checksum()).map_err(|r| (pos + 8, r))?;
            out.last_processed_zxid = Some(i64::from_be_bytes(b));
        }
        Ok(out)
    }
}

/// `ZxidDigest{long zxid, int version, long digest}` (a hex ustring before version 2); `None`
/// when the bytes end first. Returns the digest and the bytes it took.
fn parse_digest(b: &[u8]) -> Option<(ApacheZxidDigest, usize)> {
    let zxid = i64::from_be_bytes(b.get(0..8)?.try_into().ok()?);
    let version = i32::from_be_bytes(b.get(8..12)?.try_into().ok()?);
    if version >= 2 {
        let digest = i64::from_be_bytes(b.get(12..20)?.try_into().ok()?);
        return Some((
            ApacheZxidDigest {
                zxid,
                version,
                digest,
            },
            20,
        ));
    }
    let len = i32::from_be_bytes(b.get(12..16)?.try_into().ok()?);
    let n = usize::try_from(len).unwrap_or(0);
    let text = b.get(16..16 + n)?;
    let digest = std::str::from_utf8(text)
        .ok()
        .and_then(|s| i64::from_str_radix(s, 16).ok())
        .unwrap_or(0);
    Some((
        ApacheZxidDigest {
            zxid,
            version,
            digest,
        },
        16 + n,
    ))
}

/// Reads until `buf` is full or EOF.
fn read_up_to(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Keeps the Adler32 of everything written, for the seals.
struct AdlerWriter<W: Write> {
    inner: W,
    adler: adler2::Adler32,
}

impl<W: Write> Write for AdlerWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.adler.write_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `<dir>/snapshot.<zxid hex>` in Apache's uncompressed format: header, the SNAP body
/// `body` streams, seal, the ZxidDigest trailer (when given) and its seal. Crash-safe (tmp,
/// fsync, rename, dir fsync); an existing file of that name is an error, never replaced.
pub fn write_apache_snapshot(
    dir: &Path,
    zxid: i64,
    body: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
    digest: Option<ApacheZxidDigest>,
) -> Result<PathBuf> {
    let path = dir.join(file_name(SNAP_PREFIX, zxid));
    if path.exists() {
        return Err(StorageError::io(
            "create",
            &path,
            io::Error::new(
                io::ErrorKind::AlreadyExists,
                "a snapshot of that name exists",
            ),
        ));
    }
    let tmp = tmp_path(&path);
    let written = (|| -> io::Result<()> {
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        let mut w = AdlerWriter {
            inner: BufWriter::with_capacity(CHUNK * 4, f),
            adler: adler2::Adler32::new(),
        };
        w.write_all(&apache_header(APACHE_SNAP_MAGIC))?;
        body(&mut w)?;
        let s = seal(w.adler.checksum());
        w.write_all(&s)?;
        if let Some(d) = digest {
            w.write_all(&d.zxid.to_be_bytes())?;
            w.write_all(&d.version.to_be_bytes())?;
            w.write_all(&d.digest.to_be_bytes())?;
            let s = seal(w.adler.checksum());
            w.write_all(&s)?;
        }
        let f = w.inner.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(StorageError::io("write snapshot", tmp, e));
    }
    fs::rename(&tmp, &path).map_err(|e| StorageError::io("rename", &tmp, e))?;
    fsync_dir(dir)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::DataTree;

    fn body() -> Vec<u8> {
        let mut b = Vec::new();
        DataTree::new().write_apache_snap(&mut b).unwrap();
        b
    }

    fn write(dir: &Path, zxid: i64, digest: Option<ApacheZxidDigest>) -> PathBuf {
        let b = body();
        write_apache_snapshot(dir, zxid, &mut |w| w.write_all(&b), digest).unwrap()
    }

    const D: ApacheZxidDigest = ApacheZxidDigest {
        zxid: 0x105,
        version: 2,
        digest: -42,
    };

    #[test]
    fn written_snapshot_reads_back_with_its_digest() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), 0x105, Some(D));
        assert_eq!(path.file_name().unwrap(), "snapshot.105");
        let (info, got) = read_apache_snapshot(&path, 0x105, true).unwrap().unwrap();
        assert_eq!(got.unwrap().as_ref(), body().as_slice());
        assert_eq!(info.digest, Some(D));
        assert_eq!(info.body_len, body().len() as u64);
        assert_eq!(info.last_processed_zxid, None);
        assert!(write_apache_snapshot(dir.path(), 0x105, &mut |_| Ok(()), None).is_err());
    }

    #[test]
    fn seals_catch_every_flipped_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), 7, Some(D));
        let good = fs::read(&path).unwrap();
        // The header is checked by magic/version, the rest by the seals.
        for i in 0..good.len() {
            let mut b = good.clone();
            b[i] ^= 0x10;
            fs::write(&path, &b).unwrap();
            let r = read_apache_snapshot(&path, 7, false);
            // Byte 0 makes it "not Apache's" (Ok(None)); everything else is refused.
            assert!(
                !matches!(r, Ok(Some(_))),
                "byte {i} flipped yet accepted: {r:?}"
            );
        }
    }

    #[test]
    fn digest_trailers_are_optional_and_lenient_like_apache() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), 7, Some(D));
        let good = fs::read(&path).unwrap();
        let body_end = 16 + body().len();
        // No digest at all (a 3.5 writer).
        fs::write(&path, &good[..body_end + SEAL_LEN]).unwrap();
        let (info, _) = read_apache_snapshot(&path, 7, false).unwrap().unwrap();
        assert_eq!(info.digest, None);
        // Digest cut short: Apache reads EOF there as "no digest".
        fs::write(&path, &good[..body_end + SEAL_LEN + 10]).unwrap();
        assert_eq!(
            read_apache_snapshot(&path, 7, false)
                .unwrap()
                .unwrap()
                .0
                .digest,
            None
        );
        // Digest whole but its seal missing: invalid, as in Apache.
        fs::write(&path, &good[..body_end + SEAL_LEN + 20]).unwrap();
        let err = read_apache_snapshot(&path, 7, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("truncated seal"), "{err}");
        // 3.9: lastProcessedZxid + seal after the digest.
        let mut with_zxid = good.clone();
        with_zxid.extend_from_slice(&0x105i64.to_be_bytes());
        let s = seal(adler2::adler32_slice(&with_zxid));
        with_zxid.extend_from_slice(&s);
        fs::write(&path, &with_zxid).unwrap();
        let (info, _) = read_apache_snapshot(&path, 7, false).unwrap().unwrap();
        assert_eq!(
            (info.digest, info.last_processed_zxid),
            (Some(D), Some(0x105))
        );
        // A truncated body names where the file ends.
        fs::write(&path, &good[..body_end - 3]).unwrap();
        let err = read_apache_snapshot(&path, 7, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no end marker"), "{err}");
    }

    #[test]
    fn gzip_snapshots_are_read_and_snappy_refused() {
        let dir = tempfile::tempdir().unwrap();
        let plain = fs::read(write(dir.path(), 9, Some(D))).unwrap();
        let gz_path = dir.path().join("snapshot.9.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&plain).unwrap();
        fs::write(&gz_path, enc.finish().unwrap()).unwrap();
        let (info, got) = read_apache_snapshot(&gz_path, 9, true).unwrap().unwrap();
        assert!(info.gzip);
        assert_eq!(got.unwrap().as_ref(), body().as_slice());
        let snappy = dir.path().join("snapshot.9.snappy");
        let mut bytes = super::super::apache_format::SNAPPY_MAGIC.to_vec();
        bytes.extend_from_slice(&[0; 16]);
        fs::write(&snappy, bytes).unwrap();
        let err = read_apache_snapshot(&snappy, 9, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("snappy"), "{err}");
        assert!(is_apache_snapshot(&gz_path).unwrap());
    }
}
