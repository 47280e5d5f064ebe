//! ZooKeeper's `ServerMetrics`: the named counters and summaries that `mntr`, the
//! AdminServer's `monitor` and Prometheus `/metrics` export, under ZooKeeper's names.
//!
//! One process-wide registry ([`ServerMetrics::global`]), as in ZooKeeper, so the log writer,
//! the snapshotter, the listener and the core can record without being wired to each other.
//! Renderers never read it directly: the status snapshot copies it ([`MetricsSnapshot`]).
//!
//! Only metrics zkserver measures are declared. The quorum ones (`election_time`,
//! `commit_count`, `proposal_count`, `snap_count`, ...) are declared for the ensemble to
//! record; a standalone server reports them as 0, as ZooKeeper's does.
//!
//! Owns: the list of metric names and kinds. Must not render or read server state.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use super::summary::{Detail, Summary, SummarySnapshot, Unit};

/// A monotonically increasing count (reset only by `srst`).
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn inc(&self) {
        self.add(1);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
    fn reset(&self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

/// Declares the registry once: the field, ZooKeeper's name and, for summaries, the unit and
/// detail level. Adding a metric is one line here plus the place that records it.
macro_rules! server_metrics {
    (
        counters { $($c:ident => $cname:literal,)* }
        summaries { $($s:ident => $sname:literal, $unit:ident, $detail:ident,)* }
    ) => {
        /// The registry; see the module doc.
        pub struct ServerMetrics {
            $(#[doc = concat!("`", $cname, "`")] pub $c: Counter,)*
            $(#[doc = concat!("`", $sname, "`")] pub $s: Summary,)*
            /// `ServerStats.fsync_threshold_exceed_count` (fsyncs slower than
            /// `zookeeper.fsync.warningthresholdms`); not a named metric in ZooKeeper.
            pub fsync_threshold_exceed: Counter,
            fsync_warning_ms: AtomicU64,
            /// `quota_exceeded_error_per_namespace`: a counter set keyed by the top-level
            /// path component of writes refused with QUOTAEXCEEDED.
            quota_exceeded: Mutex<BTreeMap<String, u64>>,
        }

        impl ServerMetrics {
            pub fn new() -> ServerMetrics {
                ServerMetrics {
                    $($c: Counter::default(),)*
                    $($s: Summary::new(Unit::$unit, Detail::$detail),)*
                    fsync_threshold_exceed: Counter::default(),
                    fsync_warning_ms: AtomicU64::new(1000),
                    quota_exceeded: Mutex::new(BTreeMap::new()),
                }
            }

            /// Every counter with its ZooKeeper name, in declaration order.
            pub fn counters(&self) -> [(&'static str, &Counter); [$($cname),*].len()] {
                [$(($cname, &self.$c)),*]
            }

            /// Every summary with its ZooKeeper name, in declaration order.
            pub fn summaries(&self) -> [(&'static str, &Summary); [$($sname),*].len()] {
                [$(($sname, &self.$s)),*]
            }
        }
    };
}

server_metrics! {
    counters {
        connection_request_count => "connection_request_count",
        connection_rejected => "connection_rejected",
        bytes_received_count => "bytes_received_count",
        looking_count => "looking_count",
        diff_count => "diff_count",
        snap_count => "snap_count",
        commit_count => "commit_count",
        proposal_count => "proposal_count",
        learner_proposal_received_count => "learner_proposal_received_count",
        learner_commit_received_count => "learner_commit_received_count",
        unsuccessful_handshake => "unsuccessful_handshake",
        tls_handshake_exceeded => "tls_handshake_exceeded",
    }
    summaries {
        fsync_time => "fsynctime", Millis, Basic,
        snapshot_time => "snapshottime", Millis, Basic,
        db_init_time => "dbinittime", Millis, Basic,
        startup_snap_load_time => "startup_snap_load_time", Millis, Basic,
        startup_txns_load_time => "startup_txns_load_time", Millis, Basic,
        startup_txns_loaded => "startup_txns_loaded", Count, Basic,
        read_latency => "readlatency", Millis, Advanced,
        update_latency => "updatelatency", Millis, Advanced,
        sync_processor_batch_size => "sync_processor_batch_size", Count, Basic,
        election_time => "election_time", Millis, Basic,
        follower_sync_time => "follower_sync_time", Millis, Basic,
        observer_sync_time => "observer_sync_time", Millis, Basic,
        quorum_ack_latency => "quorum_ack_latency", Millis, Advanced,
    }
}

impl Default for ServerMetrics {
    fn default() -> Self {
        ServerMetrics::new()
    }
}

/// The copy of the registry a status snapshot carries.
#[derive(Debug, Clone, Default)]
pub struct MetricsSnapshot {
    pub counters: Vec<(&'static str, u64)>,
    pub summaries: Vec<(&'static str, SummarySnapshot)>,
    pub fsync_threshold_exceed: u64,
    /// `quota_exceeded_error_per_namespace`, by namespace.
    pub quota_exceeded: Vec<(String, u64)>,
}

impl MetricsSnapshot {
    pub fn counter(&self, name: &str) -> Option<u64> {
        self.counters
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
    pub fn summary(&self, name: &str) -> Option<&SummarySnapshot> {
        self.summaries
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| s)
    }
}

impl ServerMetrics {
    /// The process-wide registry.
    pub fn global() -> &'static ServerMetrics {
        static GLOBAL: OnceLock<ServerMetrics> = OnceLock::new();
        GLOBAL.get_or_init(ServerMetrics::new)
    }

    /// `zookeeper.fsync.warningthresholdms`, set once at startup.
    pub fn set_fsync_warning_ms(&self, ms: u64) {
        self.fsync_warning_ms.store(ms, Ordering::Relaxed);
    }

    /// One txn-log sync of `took` covering `txns` txns (ZooKeeper's `fsynctime`, and the
    /// warning `FileTxnLog.commit` logs past the threshold).
    pub fn observe_fsync(&self, took: Duration, txns: u64) {
        self.fsync_time.observe(took);
        if txns > 0 {
            self.sync_processor_batch_size.observe_count(txns);
        }
        let limit = self.fsync_warning_ms.load(Ordering::Relaxed);
        if took.as_millis() > u128::from(limit) {
            self.fsync_threshold_exceed.inc();
            tracing::warn!(
                "fsync-ing the write ahead log took {}ms which will adversely effect operation latency (fsync.warningthresholdms={limit})",
                took.as_millis()
            );
        }
    }

    /// A write under `namespace` was refused with QUOTAEXCEEDED.
    pub fn quota_exceeded(&self, namespace: &str) {
        if let Ok(mut m) = self.quota_exceeded.lock() {
            *m.entry(namespace.to_string()).or_default() += 1;
        }
    }

    /// `srst` (ZooKeeper's `ServerMetrics.resetAll`).
    pub fn reset(&self) {
        for (_, c) in self.counters() {
            c.reset();
        }
        for (_, s) in self.summaries() {
            s.reset();
        }
        self.fsync_threshold_exceed.reset();
        if let Ok(mut m) = self.quota_exceeded.lock() {
            m.clear();
        }
    }

    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            counters: self.counters().iter().map(|(n, c)| (*n, c.get())).collect(),
            summaries: self
                .summaries()
                .iter()
                .map(|(n, s)| (*n, s.snapshot()))
                .collect(),
            fsync_threshold_exceed: self.fsync_threshold_exceed.get(),
            quota_exceeded: self
                .quota_exceeded
                .lock()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_zookeepers() {
        let m = ServerMetrics::new();
        let mut names: Vec<&str> = m.counters().iter().map(|(n, _)| *n).collect();
        names.extend(m.summaries().iter().map(|(n, _)| *n));
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
        // Names the published dashboards and alert rules query.
        for n in [
            "fsynctime",
            "snapshottime",
            "readlatency",
            "updatelatency",
            "commit_count",
        ] {
            assert!(names.contains(&n), "{n}");
        }
    }

    #[test]
    fn fsync_over_threshold_is_counted() {
        let m = ServerMetrics::new();
        m.set_fsync_warning_ms(5);
        m.observe_fsync(Duration::from_millis(1), 3);
        m.observe_fsync(Duration::from_millis(9), 1);
        let s = m.snapshot();
        assert_eq!(s.fsync_threshold_exceed, 1);
        let f = s.summary("fsynctime").unwrap();
        assert_eq!(f.count, 2);
        assert_eq!(s.summary("sync_processor_batch_size").unwrap().sum, 4.0);
        m.reset();
        assert_eq!(m.snapshot().summary("fsynctime").unwrap().count, 0);
    }
}
