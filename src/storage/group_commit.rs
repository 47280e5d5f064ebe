//! Group commit: one writer thread appends and fsyncs; every txn queued while an fsync runs rides the
//! next one.
//!
//! Owns: the submit queue, the writer thread, batch caps, the durable-zxid callback and the commit
//! metrics. Enforces two runtime rules: *Persist before ACK* (`on_durable(z)` is called only after the
//! sync covering every txn up to `z` returned) and *a failed fsync or write is fatal* (the error is
//! logged naming the file, then the process exits with status 2; never serve on after it). Must not:
//! use tokio (submit is a mutex push + condvar notify, fine from an async task), reorder txns, or
//! interpret them.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

use bytes::Bytes;

use super::api::TxnLog;
use super::error::{Result, StorageError};

/// At most this many txns per batch (ZooKeeper's maxBatchSize).
pub const MAX_BATCH_TXNS: usize = 1000;
/// At most about this many txn bytes per batch.
pub const MAX_BATCH_BYTES: usize = 4 << 20;

/// Counters for `mntr` / Prometheus, updated by the writer thread.
#[derive(Debug, Default)]
pub struct CommitMetrics {
    fsyncs: AtomicU64,
    txns: AtomicU64,
    last_fsync_us: AtomicU64,
    max_fsync_us: AtomicU64,
    durable_zxid: AtomicI64,
}

impl CommitMetrics {
    /// Number of log syncs (fdatasync calls unless forceSync is off).
    pub fn fsync_count(&self) -> u64 {
        self.fsyncs.load(Ordering::Relaxed)
    }
    /// Number of txns made durable.
    pub fn txn_count(&self) -> u64 {
        self.txns.load(Ordering::Relaxed)
    }
    /// Duration of the latest sync in microseconds.
    pub fn last_fsync_micros(&self) -> u64 {
        self.last_fsync_us.load(Ordering::Relaxed)
    }
    /// Longest sync so far in microseconds.
    pub fn max_fsync_micros(&self) -> u64 {
        self.max_fsync_us.load(Ordering::Relaxed)
    }
    /// Highest zxid known durable (0 before the first batch).
    pub fn durable_zxid(&self) -> i64 {
        self.durable_zxid.load(Ordering::Acquire)
    }
}

enum Cmd {
    Txn(i64, Bytes),
    Roll,
    /// Answer once everything queued before it is durable.
    Flush(std::sync::mpsc::Sender<()>),
    /// TRUNC: drop records above the zxid (durable when answered).
    Truncate(i64, std::sync::mpsc::Sender<Result<()>>),
}

#[derive(Default)]
struct Queue {
    cmds: VecDeque<Cmd>,
    closed: bool,
    /// The writer sleeps on the condvar: only then does a push need to wake it (a futex
    /// syscall per txn otherwise, while the writer is busy in its fsync anyway).
    writer_waiting: bool,
}

struct Shared {
    q: Mutex<Queue>,
    cv: Condvar,
    alive: AtomicBool,
    metrics: Arc<CommitMetrics>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.q.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, cmd: Cmd) -> Result<()> {
        let mut q = self.lock();
        if q.closed || !self.alive.load(Ordering::Acquire) {
            return Err(StorageError::CommitterStopped);
        }
        q.cmds.push_back(cmd);
        let wake = q.writer_waiting;
        drop(q);
        if wake {
            self.cv.notify_one();
        }
        Ok(())
    }
}

/// A cloneable, non-blocking submitter for threads other than the owner.
#[derive(Clone)]
pub struct CommitSender {
    shared: Arc<Shared>,
}

impl CommitSender {
    /// Queues a txn; zxids must be submitted in increasing order (from the one sequencer).
    pub fn submit(&self, zxid: i64, txn: Bytes) -> Result<()> {
        self.shared.push(Cmd::Txn(zxid, txn))
    }

    /// Queues a roll: txns submitted after it go to a new segment.
    pub fn roll(&self) -> Result<()> {
        self.shared.push(Cmd::Roll)
    }

    /// Blocks until every txn submitted so far is durable.
    pub fn flush(&self) -> Result<()> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.shared.push(Cmd::Flush(tx))?;
        rx.recv().map_err(|_| StorageError::CommitterStopped)
    }

    /// Blocks until every record above `zxid` is gone from the log (after what was queued
    /// before it has been written).
    pub fn truncate_after(&self, zxid: i64) -> Result<()> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.shared.push(Cmd::Truncate(zxid, tx))?;
        rx.recv().map_err(|_| StorageError::CommitterStopped)?
    }
}

/// Called with the error when the log fails; the default logs and exits the process.
pub type FatalHandler = Box<dyn Fn(&StorageError) + Send>;

/// Owner of the writer thread.
pub struct GroupCommitter {
    sender: CommitSender,
    thread: Option<JoinHandle<(Box<dyn TxnLog>, bool)>>,
}

impl GroupCommitter {
    /// Starts the writer thread over `log`; `on_durable(z)` runs on it after each batch's sync, so it
    /// must be quick (hand `z` to a channel).
    pub fn spawn(
        log: Box<dyn TxnLog>,
        on_durable: impl Fn(i64) + Send + 'static,
    ) -> std::io::Result<GroupCommitter> {
        Self::spawn_with(log, on_durable, Box::new(exit_on_fatal))
    }

    /// Like `spawn`, with a custom fatal-error handler (tests record the error instead of exiting;
    /// the writer thread stops after calling it and every later submit fails).
    pub fn spawn_with(
        log: Box<dyn TxnLog>,
        on_durable: impl Fn(i64) + Send + 'static,
        on_fatal: FatalHandler,
    ) -> std::io::Result<GroupCommitter> {
        let metrics = Arc::new(CommitMetrics::default());
        metrics
            .durable_zxid
            .store(log.last_zxid(), Ordering::Release);
        let shared = Arc::new(Shared {
            q: Mutex::new(Queue::default()),
            cv: Condvar::new(),
            alive: AtomicBool::new(true),
            metrics,
        });
        let s2 = shared.clone();
        let thread = std::thread::Builder::new()
            .name("zk-log-writer".into())
            .spawn(move || writer_loop(log, &s2, &on_durable, &on_fatal))?;
        Ok(GroupCommitter {
            sender: CommitSender { shared },
            thread: Some(thread),
        })
    }

    /// Queues a txn without blocking on I/O.
    pub fn submit(&self, zxid: i64, txn: Bytes) -> Result<()> {
        self.sender.submit(zxid, txn)
    }

    /// Queues a roll (at each snapshot).
    pub fn roll(&self) -> Result<()> {
        self.sender.roll()
    }

    /// A cloneable submitter.
    pub fn sender(&self) -> CommitSender {
        self.sender.clone()
    }

    /// The live counters.
    pub fn metrics(&self) -> Arc<CommitMetrics> {
        self.sender.shared.metrics.clone()
    }

    /// Makes everything queued durable, stops the thread and hands the log back (e.g. for TRUNC).
    pub fn shutdown(mut self) -> Result<Box<dyn TxnLog>> {
        self.stop()
    }

    fn stop(&mut self) -> Result<Box<dyn TxnLog>> {
        self.sender.shared.lock().closed = true;
        self.sender.shared.cv.notify_all();
        let thread = self.thread.take().ok_or(StorageError::CommitterStopped)?;
        match thread.join() {
            Ok((log, false)) => Ok(log),
            _ => Err(StorageError::CommitterStopped),
        }
    }
}

impl Drop for GroupCommitter {
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.stop();
        }
    }
}

fn exit_on_fatal(e: &StorageError) {
    tracing::error!(error = %e, "txn log write or fsync failed; exiting (never serve on after a failed fsync)");
    std::process::exit(2);
}

/// Takes the next batch: everything queued, up to the caps; waits while the queue is empty.
fn next_batch(shared: &Shared) -> Option<Vec<Cmd>> {
    let mut q = shared.lock();
    while q.cmds.is_empty() {
        if q.closed {
            return None;
        }
        q.writer_waiting = true;
        q = shared.cv.wait(q).unwrap_or_else(|e| e.into_inner());
        q.writer_waiting = false;
    }
    let (mut txns, mut bytes) = (0usize, 0usize);
    let mut batch = Vec::with_capacity(q.cmds.len().min(MAX_BATCH_TXNS));
    while let Some(cmd) = q.cmds.pop_front() {
        if let Cmd::Txn(_, t) = &cmd {
            txns += 1;
            bytes += t.len();
        }
        batch.push(cmd);
        if txns >= MAX_BATCH_TXNS || bytes >= MAX_BATCH_BYTES {
            break;
        }
    }
    Some(batch)
}

fn writer_loop(
    mut log: Box<dyn TxnLog>,
    shared: &Shared,
    on_durable: &dyn Fn(i64),
    on_fatal: &FatalHandler,
) -> (Box<dyn TxnLog>, bool) {
    let m = &shared.metrics;
    while let Some(batch) = next_batch(shared) {
        let (mut last, mut count) = (None, 0u64);
        let mut flushed = Vec::new();
        let step = || -> Result<()> {
            for cmd in batch {
                match cmd {
                    Cmd::Txn(zxid, txn) => {
                        log.append(zxid, &txn)?;
                        last = Some(zxid);
                        count += 1;
                    }
                    Cmd::Roll => log.roll()?,
                    Cmd::Flush(done) => flushed.push(done),
                    Cmd::Truncate(zxid, done) => {
                        // Whatever was appended before must be on disk before cutting.
                        log.sync()?;
                        let r = log.truncate_after(zxid);
                        let failed = r.is_err();
                        let _ = done.send(r);
                        if failed {
                            return Err(StorageError::CommitterStopped);
                        }
                    }
                }
            }
            let start = Instant::now();
            log.sync()?;
            let took = start.elapsed();
            crate::status::ServerMetrics::global().observe_fsync(took, count);
            let us = took.as_micros() as u64;
            m.fsyncs.fetch_add(1, Ordering::Relaxed);
            m.last_fsync_us.store(us, Ordering::Relaxed);
            m.max_fsync_us.fetch_max(us, Ordering::Relaxed);
            Ok(())
        };
        if let Err(e) = step() {
            shared.alive.store(false, Ordering::Release);
            on_fatal(&e);
            return (log, true);
        }
        if let Some(z) = last {
            m.txns.fetch_add(count, Ordering::Relaxed);
            m.durable_zxid.store(z, Ordering::Release);
            on_durable(z);
        }
        for done in flushed {
            let _ = done.send(());
        }
    }
    (log, false)
}
