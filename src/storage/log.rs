//! `FileTxnLog`: the txn log on disk, a directory of preallocated segments.
//!
//! Owns: the append buffer, the segment being written, rolling, TRUNC and purge of segment files.
//! One batch = one positioned `write` + one `fdatasync`. Segments Apache ZooKeeper wrote (`ZKLG`) are
//! read and purged like ours but never appended to: when the newest segment is Apache's, the next
//! append starts a zkserver segment `log.<next zxid>`, so Apache's files stay as Apache left them
//! (TRUNC is the one exception: it cuts them at an entry boundary, as Apache does). Must not: spawn
//! threads (the group committer drives it), interpret txn bytes, or decide when to snapshot.

use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::api::TxnLog;
use super::error::{Result, StorageError};
use super::format::{encode_record, LOG_PREFIX, RECORD_HEADER_LEN, VERSION_DIR};
use super::fsutil::{ensure_dir, fsync_dir, list_zxid_files, remove_file};
use super::reader::{decode_buffer, read_segments_from};
use super::recovery::recover_segments;
use super::segment::{LogFormat, Next, Opened, RecordReader, SegmentWriter};

/// Above this many buffered bytes `append` writes them out (without syncing) to bound memory.
const MAX_PENDING: usize = 4 << 20;

/// Txn log settings (zoo.cfg `preAllocSize` in KiB is converted by the caller; `forceSync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogOptions {
    /// Segments grow in steps of this many bytes (0 = no preallocation).
    pub pre_alloc_size: u64,
    /// `false` skips fdatasync: faster, but an OS crash or power loss can lose acknowledged writes.
    pub force_sync: bool,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            pre_alloc_size: 64 << 20,
            force_sync: true,
        }
    }
}

/// The txn log in `<dataLogDir>/version-2/`.
pub struct FileTxnLog {
    dir: PathBuf,
    opts: LogOptions,
    active: Option<SegmentWriter>,
    /// Encoded records appended but not yet written to the file.
    pending: Vec<u8>,
    /// Written to the file since the last fdatasync.
    unsynced: bool,
    last_zxid: i64,
}

impl FileTxnLog {
    /// Opens (creating if needed) the log under `log_dir/version-2`, running crash recovery: a torn
    /// tail is cut with a warning, corruption before it is an error naming the repair command.
    pub fn open(log_dir: &Path, opts: LogOptions) -> Result<FileTxnLog> {
        let dir = log_dir.join(VERSION_DIR);
        ensure_dir(&dir)?;
        let metas = recover_segments(&dir)?;
        let (active, last_zxid) = match metas.last() {
            Some(m) if m.format == LogFormat::Apache => {
                tracing::info!(file = %m.path.display(), last_zxid = format_args!("0x{:x}", m.last_zxid), "newest txn log segment is Apache ZooKeeper's; it is kept as it is and new txns go to a zkserver segment");
                (None, m.last_zxid)
            }
            Some(m) => (
                Some(SegmentWriter::reopen(
                    &m.path,
                    m.end_offset,
                    opts.pre_alloc_size,
                )?),
                m.last_zxid,
            ),
            None => (None, 0),
        };
        Ok(FileTxnLog {
            dir,
            opts,
            active,
            pending: Vec::new(),
            unsynced: false,
            last_zxid,
        })
    }

    /// The `version-2/` directory holding the segments.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes the buffered records to the segment (creating it, named by their first zxid, if the
    /// log was empty or just rolled).
    fn write_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let writer = match self.active.as_mut() {
            Some(w) => w,
            None => {
                let first = decode_buffer(&self.pending).next().map_or(0, |(z, _)| z);
                self.active.insert(SegmentWriter::create(
                    &self.dir,
                    first,
                    self.opts.pre_alloc_size,
                )?)
            }
        };
        writer.write(&self.pending)?;
        self.pending.clear();
        self.unsynced = true;
        Ok(())
    }

    /// Finds where to cut `path` so that only records with zxid <= `zxid` remain; also says who
    /// wrote the segment.
    fn cut_point(path: &Path, zxid: i64) -> Result<(u64, i64, LogFormat)> {
        let mut reader = match RecordReader::open(path)? {
            Opened::Ok(r) => r,
            Opened::TornHeader => {
                return Err(StorageError::BadHeader {
                    path: path.to_path_buf(),
                    reason: "empty or zeroed header".into(),
                })
            }
        };
        let mut last = 0;
        let format = reader.format();
        loop {
            let before = reader.offset();
            match reader.next_record()? {
                Next::Record(z, _) if z <= zxid => last = z,
                Next::Record(..) | Next::End | Next::Bad { .. } => {
                    return Ok((before, last, format))
                }
            }
        }
    }
}

impl TxnLog for FileTxnLog {
    fn append(&mut self, zxid: i64, txn: &[u8]) -> Result<()> {
        if zxid <= self.last_zxid {
            return Err(StorageError::ZxidOrder {
                zxid,
                last: self.last_zxid,
            });
        }
        if txn.is_empty() {
            return Err(StorageError::EmptyTxn { zxid });
        }
        if txn.len() > (u32::MAX as usize) - RECORD_HEADER_LEN {
            return Err(StorageError::TxnTooLarge {
                zxid,
                len: txn.len(),
            });
        }
        encode_record(&mut self.pending, zxid, txn);
        self.last_zxid = zxid;
        if self.pending.len() >= MAX_PENDING {
            self.write_pending()?;
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        self.write_pending()?;
        if self.unsynced {
            if let (Some(w), true) = (self.active.as_ref(), self.opts.force_sync) {
                w.sync_data()?;
            }
            self.unsynced = false;
        }
        Ok(())
    }

    fn roll(&mut self) -> Result<()> {
        self.sync()?;
        if let Some(w) = self.active.take() {
            w.close_and_trim()?;
        }
        Ok(())
    }

    fn last_zxid(&self) -> i64 {
        self.last_zxid
    }

    fn first_zxid(&self) -> Result<Option<i64>> {
        let files = list_zxid_files(&self.dir, LOG_PREFIX)?;
        Ok(files
            .first()
            .map(|(z, _)| *z)
            .or_else(|| decode_buffer(&self.pending).next().map(|(z, _)| z)))
    }

    fn read_from(&self, zxid: i64) -> Result<Vec<(i64, Bytes)>> {
        let mut out = read_segments_from(&self.dir, zxid)?;
        out.extend(
            decode_buffer(&self.pending)
                .filter(|(z, _)| *z >= zxid)
                .map(|(z, t)| (z, Bytes::copy_from_slice(t))),
        );
        Ok(out)
    }

    fn truncate_after(&mut self, zxid: i64) -> Result<()> {
        self.sync()?;
        if zxid >= self.last_zxid {
            return Ok(());
        }
        // Release the writer: the tail segment is reopened at its new end below.
        self.active = None;
        let files = list_zxid_files(&self.dir, LOG_PREFIX)?;
        for (first, path) in files.iter().filter(|(first, _)| *first > zxid) {
            tracing::info!(file = %path.display(), first = format_args!("0x{first:x}"), "TRUNC removes txn log segment");
            remove_file(path)?;
        }
        fsync_dir(&self.dir)?;
        self.last_zxid = 0;
        if let Some((_, path)) = files.iter().rev().find(|(first, _)| *first <= zxid) {
            let (offset, last, format) = Self::cut_point(path, zxid)?;
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| StorageError::io("open", path, e))?;
            f.set_len(offset)
                .map_err(|e| StorageError::io("truncate", path, e))?;
            f.sync_all()
                .map_err(|e| StorageError::io("fsync", path, e))?;
            // Apache's segment is cut like Apache's own TRUNC does, but appends go elsewhere.
            if format == LogFormat::Zkserver {
                self.active = Some(SegmentWriter::reopen(
                    path,
                    offset,
                    self.opts.pre_alloc_size,
                )?);
            }
            self.last_zxid = last;
        }
        Ok(())
    }

    fn purge_before(&mut self, zxid: i64) -> Result<()> {
        let files = list_zxid_files(&self.dir, LOG_PREFIX)?;
        let mut removed = false;
        for pair in files.windows(2) {
            let ((first, path), (next_first, _)) = (&pair[0], &pair[1]);
            if *next_first <= zxid {
                tracing::info!(file = %path.display(), first = format_args!("0x{first:x}"), "purging txn log segment");
                remove_file(path)?;
                removed = true;
            }
        }
        if removed {
            fsync_dir(&self.dir)?;
        }
        Ok(())
    }
}
