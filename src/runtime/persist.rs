//! Snapshots every `snapCount` applied txns (randomised as ZooKeeper does, so ensemble members
//! do not snapshot together).
//!
//! A snapshot forks a child process that sees the tree copy-on-write and streams it to disk
//! (as Redis does); the only pause writes see is the fork, measured and logged. If fork
//! fails, the tree is cloned and written on a thread instead. The log rolls to a new
//! segment first, so purging can drop whole segments older than a kept snapshot.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::status::ServerMetrics;
use crate::storage::{CommitSender, FileSnapshotStore, SnapshotStore};
use crate::tree::DataTree;

/// Decides when to snapshot and writes snapshots off the core.
pub struct Snapshotter {
    store: Arc<FileSnapshotStore>,
    log: CommitSender,
    snap_count: u64,
    threshold: u64,
    since_last: u64,
    busy: Arc<AtomicBool>,
    retain: usize,
    /// Longest copy pause so far, in µs (reported by `mntr`).
    pub max_pause_us: u64,
}

/// ZooKeeper's randomised trigger: a snapshot after a random count in
/// [snapCount/2 + 1, snapCount].
fn random_threshold(snap_count: u64) -> u64 {
    let half = (snap_count / 2).max(1);
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(7);
    let mixed = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 17;
    half + 1 + mixed % (snap_count - half).max(1)
}

impl Snapshotter {
    pub fn new(
        store: Arc<FileSnapshotStore>,
        log: CommitSender,
        snap_count: u64,
        retain: usize,
    ) -> Self {
        Snapshotter {
            store,
            log,
            threshold: random_threshold(snap_count.max(2)),
            snap_count: snap_count.max(2),
            since_last: 0,
            busy: Arc::new(AtomicBool::new(false)),
            retain,
            max_pause_us: 0,
        }
    }

    /// Counts applied txns and starts a background snapshot when the threshold is crossed.
    pub fn applied(&mut self, n: u64, tree: &DataTree) {
        self.since_last += n;
        if self.since_last < self.threshold || self.busy.load(Ordering::Acquire) {
            return;
        }
        self.since_last = 0;
        self.threshold = random_threshold(self.snap_count);
        if let Err(e) = self.log.roll() {
            tracing::error!("cannot roll the txn log: {e}");
            std::process::exit(2);
        }
        let started = Instant::now();
        self.busy.store(true, Ordering::Release);
        let zxid = tree.last_zxid();
        let nodes = tree.node_count();
        let (store, busy, retain) = (self.store.clone(), self.busy.clone(), self.retain);
        // A forked child sees the tree copy-on-write: the pause is the fork itself (page
        // tables), not a copy of the tree. If fork fails, copy the tree instead.
        let child = fork_writer(&store, tree);
        let pause = started.elapsed();
        self.max_pause_us = self.max_pause_us.max(pause.as_micros() as u64);
        let copy = if child.is_none() {
            Some(tree.clone())
        } else {
            None
        };
        let spawned = std::thread::Builder::new()
            .name("zk-snapshot".into())
            .spawn(move || {
                let started = Instant::now();
                match (child, copy) {
                    (Some(pid), _) => match wait_child(pid) {
                        0 => {
                            let took = pause + started.elapsed();
                            ServerMetrics::global().snapshot_time.observe(took);
                            tracing::info!(
                                zxid = format_args!("{zxid:#x}"),
                                nodes,
                                write_ms = started.elapsed().as_millis() as u64,
                                fork_pause_us = pause.as_micros() as u64,
                                "snapshot written by a forked writer"
                            )
                        }
                        code => tracing::error!(
                            zxid = format_args!("{zxid:#x}"),
                            code,
                            "snapshot writer failed"
                        ),
                    },
                    (None, Some(copy)) => write(&store, &copy, pause.as_micros() as u64),
                    (None, None) => {}
                }
                if let Err(e) = store.retain(retain) {
                    tracing::warn!("snapshot retention failed: {e}");
                }
                busy.store(false, Ordering::Release);
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start the snapshot thread: {e}");
            self.busy.store(false, Ordering::Release);
        }
    }
}

/// Forks a child that writes `tree` and exits; returns its pid. The child only writes the
/// file and calls `_exit`: no logging, no tokio, nothing that could wait on a lock another
/// thread held at fork time (jemalloc's fork handlers keep malloc usable in the child).
fn fork_writer(store: &FileSnapshotStore, tree: &DataTree) -> Option<libc::pid_t> {
    // SAFETY: fork is async-signal-safe; the child touches only the tree (its own copy-on-
    // write image), the snapshot file and `_exit`.
    let pid = unsafe { libc::fork() };
    match pid {
        0 => {
            let ok = store
                .write(tree.last_zxid(), &mut |w| tree.write_snapshot(w))
                .is_ok();
            // SAFETY: `_exit` skips atexit handlers and destructors that belong to the parent.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) }
        }
        p if p > 0 => Some(p),
        _ => None,
    }
}

/// Waits for the snapshot child; its exit code (or -1 if it did not exit normally).
fn wait_child(pid: libc::pid_t) -> i32 {
    let mut status = 0;
    // SAFETY: waiting on our own child pid with a valid status pointer.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    if r == pid && libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    }
}

/// Writes a snapshot of `tree` now (clean shutdown).
pub fn write_snapshot(store: &FileSnapshotStore, tree: &DataTree) {
    write(store, tree, 0);
}

fn write(store: &FileSnapshotStore, tree: &DataTree, pause_us: u64) {
    let zxid = tree.last_zxid();
    let started = Instant::now();
    match store.write(zxid, &mut |w| tree.write_snapshot(w)) {
        Ok(_) => {
            ServerMetrics::global()
                .snapshot_time
                .observe(started.elapsed());
            tracing::info!(
                zxid = format_args!("{zxid:#x}"),
                nodes = tree.node_count(),
                write_ms = started.elapsed().as_millis() as u64,
                copy_pause_us = pause_us,
                "snapshot written"
            )
        }
        // A failed snapshot loses nothing (the log still holds every txn); say so loudly.
        Err(e) => tracing::error!(zxid = format_args!("{zxid:#x}"), "snapshot failed: {e}"),
    }
}
