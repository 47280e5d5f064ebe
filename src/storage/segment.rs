//! One txn log segment file: reading its records and appending to it.
//!
//! Owns: `RecordReader` (sequential decode of `log.<hex>` records, reporting a bad record with its byte
//! offset instead of guessing) and `SegmentWriter` (positioned writes into a preallocated file, data
//! syncs, trimming at roll). The reader also reads Apache ZooKeeper's `ZKLG` logs (told apart by the
//! magic, see `apache_format`), whose entries carry no zxid of their own: it is peeked from the txn's
//! `TxnHeader`. The writer only ever writes zkserver's format. Must not: decide whether a bad record is
//! a torn tail or corruption (that is `recovery`), keep more than one segment, or interpret txn bytes
//! beyond that peek.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, ErrorKind, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::apache_format::{
    adler32, check_apache_header, sniff, txn_zxid, FileKind, APACHE_LOG_MAGIC, END_OF_RECORD,
    ENTRY_HEAD_LEN, TXN_HEADER_LEN,
};
use super::error::{Result, StorageError};
use super::format::{
    check_log_header, decode_record_header, file_name, log_header, record_crc, LOG_HEADER_LEN,
    LOG_PREFIX, RECORD_HEADER_LEN,
};
use super::fsutil::fsync_dir;

/// What the next read from a segment found.
#[derive(Debug)]
pub enum Next {
    /// A record whose crc checks.
    Record(i64, Bytes),
    /// A zero length header or the end of the file at a record boundary.
    End,
    /// Something that is not a valid record starts at `offset`; `zxid` is what its header claims.
    Bad {
        offset: u64,
        zxid: i64,
        reason: String,
    },
}

/// Who wrote a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// zkserver's `ZKRL` segments (the only kind zkserver appends to).
    Zkserver,
    /// Apache ZooKeeper's `ZKLG` logs: read, replayed, cut by TRUNC/repair, never appended to.
    Apache,
}

impl LogFormat {
    /// How `log-dump` names the format.
    pub fn describe(self) -> &'static str {
        match self {
            LogFormat::Zkserver => "ZKRL v1",
            LogFormat::Apache => "ZKLG v2, Apache ZooKeeper",
        }
    }
}

/// The state of a segment's header.
pub enum Opened {
    Ok(RecordReader),
    /// Shorter than a header or all zeros: a segment whose creation a crash interrupted.
    TornHeader,
}

/// Sequential reader of one segment's records.
pub struct RecordReader {
    r: BufReader<File>,
    path: PathBuf,
    offset: u64,
    file_len: u64,
    format: LogFormat,
}

impl RecordReader {
    /// Opens `path` and checks its header (ours or Apache's); a foreign header is an error, a torn
    /// one is reported.
    pub fn open(path: &Path) -> Result<Opened> {
        let f = File::open(path).map_err(|e| StorageError::io("open", path, e))?;
        let file_len = f
            .metadata()
            .map_err(|e| StorageError::io("stat", path, e))?
            .len();
        let mut r = BufReader::with_capacity(256 * 1024, f);
        let mut h = vec![0u8; LOG_HEADER_LEN as usize];
        let n = read_full(&mut r, &mut h).map_err(|e| StorageError::io("read", path, e))?;
        if n < h.len() || h.iter().all(|b| *b == 0) {
            return Ok(Opened::TornHeader);
        }
        let format = match sniff(&h) {
            Some(FileKind::ApacheLog) => LogFormat::Apache,
            _ => LogFormat::Zkserver,
        };
        match format {
            LogFormat::Zkserver => check_log_header(&h),
            LogFormat::Apache => check_apache_header(&h, APACHE_LOG_MAGIC),
        }
        .map_err(|reason| StorageError::BadHeader {
            path: path.to_path_buf(),
            reason,
        })?;
        Ok(Opened::Ok(RecordReader {
            r,
            path: path.to_path_buf(),
            offset: LOG_HEADER_LEN,
            file_len,
            format,
        }))
    }

    /// Who wrote this segment.
    pub fn format(&self) -> LogFormat {
        self.format
    }

    /// Byte offset of the next record: after a `Record`, the end of the last good record.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Length of the file when it was opened.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// Reads the next record. After `End` or `Bad` the reader stays where the problem starts.
    pub fn next_record(&mut self) -> Result<Next> {
        match self.format {
            LogFormat::Zkserver => self.next_ours(),
            LogFormat::Apache => self.next_apache(),
        }
    }

    fn next_ours(&mut self) -> Result<Next> {
        let remaining = self.file_len.saturating_sub(self.offset);
        if remaining == 0 {
            return Ok(Next::End);
        }
        let mut h = [0u8; RECORD_HEADER_LEN];
        let n = read_full(&mut self.r, &mut h).map_err(|e| self.io_err(e))?;
        if n < RECORD_HEADER_LEN {
            if h[..n].iter().all(|b| *b == 0) {
                return Ok(Next::End);
            }
            return Ok(self.bad(0, format!("partial record header ({n} bytes)")));
        }
        let hdr = decode_record_header(&h);
        if hdr.len == 0 {
            if h.iter().all(|b| *b == 0) {
                return Ok(Next::End);
            }
            return Ok(self.bad(hdr.zxid, "zero length with a non-zero header".into()));
        }
        if u64::from(hdr.len) > remaining - RECORD_HEADER_LEN as u64 {
            let reason = format!(
                "record length {} runs past the end of the file ({} bytes left)",
                hdr.len,
                remaining - RECORD_HEADER_LEN as u64
            );
            return Ok(self.bad(hdr.zxid, reason));
        }
        let mut body = vec![0u8; hdr.len as usize];
        let n = read_full(&mut self.r, &mut body).map_err(|e| self.io_err(e))?;
        if n < body.len() {
            return Ok(self.bad(hdr.zxid, "file shrank while reading".into()));
        }
        let crc = record_crc(hdr.zxid, &body);
        if crc != hdr.crc {
            let reason = format!(
                "crc32 mismatch (stored {:08x}, computed {crc:08x})",
                hdr.crc
            );
            return Ok(self.bad(hdr.zxid, reason));
        }
        self.offset += RECORD_HEADER_LEN as u64 + u64::from(hdr.len);
        Ok(Next::Record(hdr.zxid, Bytes::from(body)))
    }

    /// One Apache entry: `long adler32, int len, txn, 'B'`. A zero length with a zero checksum
    /// (the preallocated tail) or EOF at an entry boundary ends the log, as in Apache.
    fn next_apache(&mut self) -> Result<Next> {
        let remaining = self.file_len.saturating_sub(self.offset);
        if remaining == 0 {
            return Ok(Next::End);
        }
        let mut h = [0u8; ENTRY_HEAD_LEN];
        let n = read_full(&mut self.r, &mut h).map_err(|e| self.io_err(e))?;
        if n < ENTRY_HEAD_LEN {
            if h[..n].iter().all(|b| *b == 0) {
                return Ok(Next::End);
            }
            return Ok(self.bad(0, format!("partial entry header ({n} bytes)")));
        }
        let stored = u64::from_be_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]]);
        let len = i32::from_be_bytes([h[8], h[9], h[10], h[11]]);
        if len == 0 {
            if stored == 0 {
                return Ok(Next::End);
            }
            return Ok(self.bad(0, "zero length with a non-zero checksum".into()));
        }
        let room = remaining - ENTRY_HEAD_LEN as u64;
        if len < 0 || len as u64 >= room {
            let reason = format!(
                "entry length {len} does not fit the file ({room} bytes left, 'B' included)"
            );
            return Ok(self.bad(0, reason));
        }
        let mut body = vec![0u8; len as usize + 1];
        let n = read_full(&mut self.r, &mut body).map_err(|e| self.io_err(e))?;
        if n < body.len() {
            return Ok(self.bad(0, "file shrank while reading".into()));
        }
        let eor = body.pop().unwrap_or(0);
        let zxid = txn_zxid(&body).unwrap_or(0);
        if eor != END_OF_RECORD {
            let reason = format!("entry not closed by 'B' (found 0x{eor:02x}): a partial write");
            return Ok(self.bad(zxid, reason));
        }
        let computed = adler32(&body);
        if stored != u64::from(computed) {
            let reason = format!("Adler32 mismatch (stored {stored:08x}, computed {computed:08x})");
            return Ok(self.bad(zxid, reason));
        }
        if body.len() < TXN_HEADER_LEN {
            let reason = format!("{} txn bytes, shorter than a TxnHeader", body.len());
            return Ok(self.bad(zxid, reason));
        }
        self.offset += ENTRY_HEAD_LEN as u64 + body.len() as u64 + 1;
        Ok(Next::Record(zxid, Bytes::from(body)))
    }

    fn bad(&self, zxid: i64, reason: String) -> Next {
        Next::Bad {
            offset: self.offset,
            zxid,
            reason,
        }
    }

    fn io_err(&self, e: std::io::Error) -> StorageError {
        StorageError::io("read", &self.path, e)
    }
}

/// Reads until `buf` is full or EOF; returns how many bytes were read.
pub fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The segment currently appended to.
pub struct SegmentWriter {
    file: File,
    path: PathBuf,
    /// Where the next record goes.
    write_pos: u64,
    /// File length; everything from `write_pos` to here is preallocated zeros.
    alloc_end: u64,
    pre_alloc: u64,
}

impl SegmentWriter {
    /// Creates `log.<first_zxid hex>` with its header, durably (file and directory entry), so that a
    /// later fdatasync of records is enough to find them after a crash.
    pub fn create(dir: &Path, first_zxid: i64, pre_alloc: u64) -> Result<SegmentWriter> {
        let path = dir.join(file_name(LOG_PREFIX, first_zxid));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| StorageError::io("create", &path, e))?;
        file.write_all_at(&log_header(), 0)
            .map_err(|e| StorageError::io("write", &path, e))?;
        let alloc_end = pre_alloc.max(LOG_HEADER_LEN);
        file.set_len(alloc_end)
            .map_err(|e| StorageError::io("preallocate", &path, e))?;
        file.sync_all()
            .map_err(|e| StorageError::io("fsync", &path, e))?;
        fsync_dir(dir)?;
        Ok(SegmentWriter {
            file,
            path,
            write_pos: LOG_HEADER_LEN,
            alloc_end,
            pre_alloc,
        })
    }

    /// Reopens an existing segment for appending at `end_offset` (the end of its last good record).
    pub fn reopen(path: &Path, end_offset: u64, pre_alloc: u64) -> Result<SegmentWriter> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| StorageError::io("open", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| StorageError::io("stat", path, e))?
            .len();
        Ok(SegmentWriter {
            file,
            path: path.to_path_buf(),
            write_pos: end_offset,
            alloc_end: len.max(end_offset),
            pre_alloc,
        })
    }

    /// Writes encoded records at the write position (one positioned write per batch).
    pub fn write(&mut self, buf: &[u8]) -> Result<()> {
        self.ensure_capacity(buf.len() as u64)?;
        self.file
            .write_all_at(buf, self.write_pos)
            .map_err(|e| StorageError::io("write", &self.path, e))?;
        self.write_pos += buf.len() as u64;
        Ok(())
    }

    /// fdatasync: the file size only changes in `ensure_capacity`, which syncs it there, so this
    /// call flushes data blocks only.
    pub fn sync_data(&self) -> Result<()> {
        self.file
            .sync_data()
            .map_err(|e| StorageError::io("fdatasync", &self.path, e))
    }

    /// Cuts the preallocated zeros off a segment that will receive no more records.
    pub fn close_and_trim(self) -> Result<()> {
        self.file
            .set_len(self.write_pos)
            .map_err(|e| StorageError::io("truncate", &self.path, e))?;
        self.file
            .sync_all()
            .map_err(|e| StorageError::io("fsync", &self.path, e))
    }

    /// Grows the file in `pre_alloc` steps so that `extra` more bytes fit without a size change at
    /// fdatasync time; the new size is made durable here, once per step.
    fn ensure_capacity(&mut self, extra: u64) -> Result<()> {
        let need = self.write_pos + extra;
        if need <= self.alloc_end {
            return Ok(());
        }
        let new_end = if self.pre_alloc == 0 {
            need
        } else {
            need.div_ceil(self.pre_alloc) * self.pre_alloc
        };
        self.file
            .set_len(new_end)
            .map_err(|e| StorageError::io("preallocate", &self.path, e))?;
        self.file
            .sync_all()
            .map_err(|e| StorageError::io("fsync", &self.path, e))?;
        self.alloc_end = new_end;
        Ok(())
    }
}
