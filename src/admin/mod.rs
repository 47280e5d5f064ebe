//! Four-letter words: ZooKeeper's text formats rendered from a status snapshot.
//!
//! Owns: output formats. Must not reach into core state except through [`Snapshot`].

mod render;

use std::net::IpAddr;
use std::sync::Arc;

use crate::config::Config;
use crate::runtime::status::{ConnStats, ServerStats};
pub use render::render;

/// The ZooKeeper version we report, so clients that parse it pick the 3.9 feature set.
pub fn zk_version() -> String {
    format!("3.9.3-zkserver-{}", env!("CARGO_PKG_VERSION"))
}

/// One connection for `cons` / `stat`.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub addr: IpAddr,
    pub port: u16,
    pub session: Option<i64>,
    pub queued: usize,
    pub timeout_ms: i32,
    pub stats: ConnStats,
}

/// What the core exposes to the four-letter words.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub config: Arc<Config>,
    pub serving: bool,
    /// `standalone`, `leader`, `follower`, `observer` (the `Mode:` line).
    pub mode: &'static str,
    pub conns: Vec<ConnInfo>,
    pub connection_count: usize,
    pub outstanding: usize,
    pub zxid: i64,
    pub node_count: usize,
    pub watch_count: usize,
    pub watch_paths: usize,
    pub watch_sessions: usize,
    pub watches_by_session: Vec<(i64, Vec<String>)>,
    pub watches_by_path: Vec<(String, Vec<i64>)>,
    pub ephemerals: Vec<(i64, Vec<String>)>,
    pub expiry_buckets: Vec<(i64, Vec<i64>)>,
    pub ephemeral_count: usize,
    pub data_size: u64,
    pub global_sessions: usize,
    pub stats: ServerStats,
    pub uptime_ms: u64,
    /// (fsyncs, txns logged)
    pub log_counters: (u64, u64),
}
