//! The status snapshot: one copy of everything the four-letter words, the AdminServer's
//! JSON commands and Prometheus `/metrics` report. Those three are thin renderers of a
//! [`Snapshot`] (in `admin/`); the runtime fills the server part of it
//! (`runtime::status`), [`host`] adds what the process and its directories show, and
//! [`metrics`] holds ZooKeeper's named counters and summaries.
//!
//! Requests travel as [`StatusQuery`] values through a [`StatusHandle`], so neither
//! `admin/` nor the connections know how the runtime is built, and the runtime does not
//! know any output format.
//!
//! Owns: the snapshot's shape, the counters kept while serving, the query protocol.
//! Must not render output or reach into the runtime.

pub mod host;
pub mod metrics;
pub mod quorum;
pub mod stats;
pub mod summary;
pub mod tls;

use std::net::IpAddr;
use std::sync::Arc;

use tokio::sync::oneshot;

use crate::config::Config;
pub use host::HostFacts;
pub use metrics::{MetricsSnapshot, ServerMetrics};
pub use quorum::QuorumStatus;
pub use stats::{BufferStats, ConnStats, Latency, ServerStats};
pub use tls::{TlsSnapshot, TlsStats};

/// The ZooKeeper version we report, so clients that parse it pick the 3.9 feature set.
pub fn zk_version() -> String {
    format!("3.9.3-zkserver-{}", env!("CARGO_PKG_VERSION"))
}

/// `Version.getFullVersion()`: what `srvr`, `mntr` and `envi` print as the version.
pub fn full_version() -> String {
    format!(
        "{}, built on {} UTC",
        zk_version(),
        env!("ZKSERVER_BUILD_DATE")
    )
}

/// One client connection (`cons`, `stat`, AdminServer `connections`).
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub addr: IpAddr,
    pub port: u16,
    pub session: Option<i64>,
    pub queued: usize,
    pub timeout_ms: i32,
    pub stats: ConnStats,
}

/// Which costly parts a snapshot should include (lists of connections, watches, sessions).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Detail {
    pub connections: bool,
    pub watches_by_session: bool,
    pub watches_by_path: bool,
    pub sessions: bool,
    /// [`HostFacts`]: directory sizes, file descriptors, the newest snapshot, host names.
    pub host: bool,
    /// The tree-digest log.
    pub digests: bool,
}

/// Everything the renderers may print. Built by the runtime on request, then completed
/// with [`HostFacts`] outside the core.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub config: Arc<Config>,
    /// False while starting up or shutting down (ZooKeeper's `isRunning`).
    pub serving: bool,
    /// Filled when [`Detail::connections`] was asked.
    pub conns: Vec<ConnInfo>,
    pub connection_count: usize,
    pub outstanding: usize,
    pub zxid: i64,
    pub node_count: usize,
    /// ZooKeeper's `getWatchCount` (data-watch table + child-watch table; `mntr`).
    pub watch_count: usize,
    /// The data-watch table alone (`wchs` total, AdminServer `num_total_watches`).
    pub data_watch_count: usize,
    /// Paths and sessions in the data-watch table (`wchs`).
    pub watch_paths: usize,
    pub watch_sessions: usize,
    /// Filled when [`Detail::watches_by_session`] was asked.
    pub watches_by_session: Vec<(i64, Vec<String>)>,
    /// Filled when [`Detail::watches_by_path`] was asked.
    pub watches_by_path: Vec<(String, Vec<i64>)>,
    /// Filled when [`Detail::sessions`] was asked: ephemeral paths per session.
    pub ephemerals: Vec<(i64, Vec<String>)>,
    /// Filled when [`Detail::sessions`] was asked: session ids by expiry time (ms).
    pub expiry_buckets: Vec<(i64, Vec<i64>)>,
    pub ephemeral_count: usize,
    pub data_size: u64,
    pub global_sessions: usize,
    /// Sessions this member tracks locally (`localSessionsEnabled`).
    pub local_sessions: usize,
    pub stats: ServerStats,
    pub uptime_ms: u64,
    pub metrics: MetricsSnapshot,
    /// TLS handshakes in progress and plaintext connections (`tls`).
    pub tls: TlsSnapshot,
    /// `None` for a standalone server.
    pub quorum: Option<QuorumStatus>,
    /// `zookeeper.digest.enabled`.
    pub digest_enabled: bool,
    /// Filled when [`Detail::digests`] was asked: the tree-digest log (`hash`).
    pub digests: Vec<crate::tree::digest::ZxidDigest>,
    pub host: HostFacts,
    /// Quota limits and usage per namespace (`tree::DataTree::quota_metrics`).
    pub quota: std::collections::BTreeMap<String, [Option<i64>; 4]>,
}

/// Apache's quota gauge sets, in the order of `quota_metrics`'s array.
pub const QUOTA_GAUGE_SETS: [&str; 4] = [
    "quota_count_limit_per_namespace",
    "quota_bytes_limit_per_namespace",
    "quota_count_usage_per_namespace",
    "quota_bytes_usage_per_namespace",
];
/// Apache's counter set of writes refused with QUOTAEXCEEDED.
pub const QUOTA_EXCEEDED_COUNTER_SET: &str = "quota_exceeded_error_per_namespace";

impl Snapshot {
    /// `auth_failed_count`: failed logins plus failed TLS handshakes (Apache's
    /// `CertificateVerifier` counts those as auth failures too).
    pub fn auth_failed(&self) -> u64 {
        self.stats.auth_failed + self.tls.failed_handshakes
    }

    /// `ServerStats.getServerState`.
    pub fn server_state(&self) -> &'static str {
        self.quorum
            .as_ref()
            .map_or("standalone", QuorumStatus::server_state)
    }

    pub fn read_only(&self) -> bool {
        self.quorum.as_ref().is_some_and(|q| q.read_only)
    }
}

/// How an AdminServer auth check ended (`Commands.runCommand`'s auth branch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOutcome {
    Authorized,
    /// No provider for the scheme, or it yielded no identity (HTTP 401).
    NotAuthenticated,
    /// Authenticated, but the node's ACL does not grant the permission (HTTP 403).
    NotAuthorized,
    /// The node to check does not exist (ZooKeeper answers 500 here).
    NoNode,
}

/// What the admin side asks of the server.
#[derive(Debug)]
pub enum StatusQuery {
    Snapshot {
        detail: Detail,
        reply: oneshot::Sender<Snapshot>,
    },
    /// `srst` / `stat_reset`.
    ResetServerStats { reply: oneshot::Sender<()> },
    /// `crst` / `connection_stat_reset`.
    ResetConnStats { reply: oneshot::Sender<()> },
    /// Checks `scheme auth` (an HTTP `Authorization` header) against `path`'s ACL for
    /// `perm`, as ZooKeeper's AdminServer does for its auth-protected commands.
    Authorize {
        scheme: String,
        auth: Vec<u8>,
        client: IpAddr,
        perm: i32,
        path: String,
        reply: oneshot::Sender<AuthOutcome>,
    },
}

type Sender = dyn Fn(StatusQuery) -> bool + Send + Sync;

/// A cloneable way to ask the running server for status; `None` answers mean the server
/// is gone (shutting down).
#[derive(Clone)]
pub struct StatusHandle {
    send: Arc<Sender>,
}

impl std::fmt::Debug for StatusHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatusHandle")
    }
}

impl StatusHandle {
    /// `send` delivers a query to whatever serves it and says whether it was accepted.
    pub fn new(send: impl Fn(StatusQuery) -> bool + Send + Sync + 'static) -> StatusHandle {
        StatusHandle {
            send: Arc::new(send),
        }
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> StatusQuery) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        if !(self.send)(make(tx)) {
            return None;
        }
        rx.await.ok()
    }

    /// A snapshot: the server's part, then, if asked, the host facts (read here, off the
    /// core task).
    pub async fn snapshot(&self, detail: Detail) -> Option<Snapshot> {
        let mut snap = self
            .ask(|reply| StatusQuery::Snapshot { detail, reply })
            .await?;
        if detail.host {
            let cfg = snap.config.clone();
            snap.host = tokio::task::spawn_blocking(move || HostFacts::gather(&cfg))
                .await
                .unwrap_or_default();
        }
        Some(snap)
    }

    pub async fn reset_server_stats(&self) -> bool {
        self.ask(|reply| StatusQuery::ResetServerStats { reply })
            .await
            .is_some()
    }

    pub async fn reset_conn_stats(&self) -> bool {
        self.ask(|reply| StatusQuery::ResetConnStats { reply })
            .await
            .is_some()
    }

    pub async fn authorize(
        &self,
        scheme: &str,
        auth: &[u8],
        client: IpAddr,
        perm: i32,
        path: &str,
    ) -> Option<AuthOutcome> {
        self.ask(|reply| StatusQuery::Authorize {
            scheme: scheme.to_string(),
            auth: auth.to_vec(),
            client,
            perm,
            path: path.to_string(),
            reply,
        })
        .await
    }
}
