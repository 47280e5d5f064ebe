//! Snapshot framing helpers: the checksumming writer and header/trailer checks.
//!
//! Owns: `CrcWriter` (running crc32 + length over the body as it streams) and the byte checks shared
//! by the file store, the in-memory twin and `snapshot-dump`. Must not: do file I/O.

use std::io::{self, Write};

use super::format::{SNAP_END_MAGIC, SNAP_HEADER_LEN, SNAP_MAGIC, SNAP_TRAILER_LEN, SNAP_VERSION};

/// Passes bytes through to `inner` while keeping their crc32 and count, so the trailer can be
/// written without a second pass over a body that may be hundreds of megabytes.
pub struct CrcWriter<'a> {
    inner: &'a mut dyn Write,
    hasher: crc32fast::Hasher,
    len: u64,
}

impl<'a> CrcWriter<'a> {
    pub fn new(inner: &'a mut dyn Write) -> Self {
        CrcWriter {
            inner,
            hasher: crc32fast::Hasher::new(),
            len: 0,
        }
    }

    /// (body length, crc32) of everything written.
    pub fn finish(self) -> (u64, u32) {
        (self.len, self.hasher.finalize())
    }
}

impl Write for CrcWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Checks magic and version; returns the zxid the header names.
pub fn check_header(h: &[u8]) -> Result<i64, String> {
    if h.len() < SNAP_HEADER_LEN as usize {
        return Err(format!("header is {} bytes", h.len()));
    }
    if h[0..4] != SNAP_MAGIC {
        return Err(format!(
            "magic {:02x?}, expected {:02x?}",
            &h[0..4],
            SNAP_MAGIC
        ));
    }
    let version = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
    if version != SNAP_VERSION {
        return Err(format!(
            "format version {version}, this build reads {SNAP_VERSION}"
        ));
    }
    Ok(i64::from_be_bytes([
        h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15],
    ]))
}

/// Checks the trailer against the body actually present and its computed crc.
pub fn check_trailer(t: &[u8], body_len: u64, crc: u32) -> Result<(), String> {
    if t.len() != SNAP_TRAILER_LEN as usize {
        return Err(format!("trailer is {} bytes", t.len()));
    }
    if t[12..16] != SNAP_END_MAGIC {
        return Err("no end magic: the file is truncated or was not finished".into());
    }
    let len = u64::from_be_bytes([t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]]);
    if len != body_len {
        return Err(format!(
            "trailer says {len} body bytes, file holds {body_len}"
        ));
    }
    let stored = u32::from_be_bytes([t[8], t[9], t[10], t[11]]);
    if stored != crc {
        return Err(format!(
            "crc32 mismatch (stored {stored:08x}, computed {crc:08x})"
        ));
    }
    Ok(())
}
