//! zoo.cfg → an immutable [`Config`].
//!
//! Owns: Java-properties parsing with line numbers ([`properties`]), ZooKeeper's zoo.cfg keys
//! and defaults (`QuorumPeerConfig.parseProperties`), `server.N` lines, the `myid` file, system
//! properties from `SERVER_JVMFLAGS` and the settings ZooKeeper reads from them, and the `conf`
//! four-letter-word rendering of the result.
//!
//! Must not: open sockets, resolve host names, or read files other than zoo.cfg, its
//! `dynamicConfigFile` and `myid`.
//! Warnings are returned in [`Config::warnings`] for the caller to log, not logged here.
//!
//! Choices (see also `sysprops`): zoo.cfg keys ZooKeeper does not know become the property
//! `zookeeper.<key>` and override a `-D` flag of the same name; settings typed by ZooKeeper
//! (ints, booleans, ports) are refused when malformed instead of silently defaulted; a relative
//! `dataDir` is resolved against the current working directory, as Java's `File` does.

mod auth;
mod conf_cmd;
pub mod dynamic;
mod ensemble;
mod error;
mod parse;
pub mod properties;
mod servers;
mod settings;
mod sysprops;
mod tls;
mod whitelist;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

pub use auth::{AuthConfig, QuorumSaslConfig, SASL_PROVIDER_CLASS};
pub use error::{ConfigError, ConfigWarning};
pub use servers::{parse_server, quorum_verifier_text, PeerType, ServerSpec};
pub use tls::{
    ClientAuth, ListSetting, StoreSpec, StoreType, TlsConfig, TlsSettings, X509_PROVIDER_CLASS,
};
pub use whitelist::{FourLetterWhitelist, ALL_FOUR_LETTER_WORDS};

/// `admin.*` settings (ZooKeeper reads them as `zookeeper.admin.*` properties).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    pub enable_server: bool,
    pub server_address: String,
    pub server_port: u16,
    pub command_url: String,
}

/// `metricsProvider.*` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    pub class_name: String,
    pub http_host: String,
    pub http_port: u16,
    pub export_jvm_info: bool,
    /// Other `metricsProvider.<k>` entries, keyed by `<k>`.
    pub extra: BTreeMap<String, String>,
}

/// ZooKeeper's default metrics provider (no HTTP endpoint).
pub const DEFAULT_METRICS_PROVIDER: &str =
    "org.apache.zookeeper.metrics.impl.DefaultMetricsProvider";
/// The provider that serves Prometheus `/metrics`.
pub const PROMETHEUS_METRICS_PROVIDER: &str =
    "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider";

impl MetricsConfig {
    /// True when the Prometheus endpoint should be served.
    pub fn prometheus_enabled(&self) -> bool {
        self.class_name == PROMETHEUS_METRICS_PROVIDER
    }
}

/// Quorum settings ZooKeeper reads from system properties (`zookeeper.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumTuning {
    /// `zookeeper.digest.enabled` (true): keep Apache's tree digest and check received ones.
    pub digest_enabled: bool,
    /// Longest buffer accepted on the quorum port: `jute.maxbuffer` +
    /// `zookeeper.jute.maxbuffer.extrasize` (which defaults to `jute.maxbuffer`).
    pub max_packet: usize,
    /// `zookeeper.forceSnapshotSync` (false): always sync learners with a SNAP.
    pub force_snapshot_sync: bool,
    /// `zookeeper.commitLogCount` (500): committed txns kept in memory for DIFF syncs.
    pub commit_log_count: usize,
    /// `zookeeper.fastleader.minNotificationInterval` (200 ms).
    pub min_notification_ms: u64,
    /// `zookeeper.fastleader.maxNotificationInterval` (60000 ms).
    pub max_notification_ms: u64,
    /// `zookeeper.leaderServes` (yes): whether the leader accepts client connections.
    pub leader_serves: bool,
}

impl Default for QuorumTuning {
    fn default() -> Self {
        QuorumTuning {
            digest_enabled: true,
            max_packet: 2 * 0xfffff,
            force_snapshot_sync: false,
            commit_log_count: 500,
            min_notification_ms: 200,
            max_notification_ms: 60_000,
            leader_serves: true,
        }
    }
}

/// The effective server configuration. Built once at startup; never mutated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The zoo.cfg it came from, as given.
    pub source: PathBuf,
    /// zoo.cfg's text as read at startup (AdminServer `initial_configuration`).
    pub initial_config: String,
    pub tick_time_ms: u32,
    /// Absolute (relative paths are resolved against the working directory).
    pub data_dir: PathBuf,
    pub data_log_dir: PathBuf,
    /// 0 when only `secureClientPort` is set (no plaintext listener, as Apache allows).
    pub client_port: u16,
    pub client_port_address: Option<IpAddr>,
    /// `secureClientPort`: the TLS client listener.
    pub secure_client_port: Option<u16>,
    /// `secureClientPortAddress` (default: every interface).
    pub secure_client_port_address: Option<IpAddr>,
    /// TLS for clients and peers, and the x509 auth provider.
    pub tls: TlsConfig,
    /// Listen backlog, -1 = system default.
    pub client_port_listen_backlog: i32,
    /// Per-IP connection limit, 0 = unlimited.
    pub max_client_cnxns: u32,
    /// Total connection limit, 0 = unlimited.
    pub max_cnxns: u32,
    pub min_session_timeout_ms: u32,
    pub max_session_timeout_ms: u32,
    pub global_outstanding_limit: u32,
    pub four_letter_words: FourLetterWhitelist,
    /// `myid`, 0 for a standalone server without a myid file.
    pub server_id: u64,
    pub servers: BTreeMap<u64, ServerSpec>,
    pub init_limit: u32,
    pub sync_limit: u32,
    pub peer_type: PeerType,
    pub election_alg: u32,
    pub standalone_enabled: bool,
    pub reconfig_enabled: bool,
    /// `dynamicConfigFile`: where the `server.N` lines were read from (`Config::load`).
    pub dynamic_config_file: Option<PathBuf>,
    /// The configuration's version: the dynamic file name's hex suffix, 0 for `server.N`
    /// lines in zoo.cfg.
    pub config_version: i64,
    pub local_sessions_enabled: bool,
    pub local_sessions_upgrading_enabled: bool,
    pub quorum_listen_on_all_ips: bool,
    pub snap_count: u64,
    pub pre_alloc_size_bytes: u64,
    pub autopurge_snap_retain_count: u32,
    /// 0 = autopurge off.
    pub autopurge_purge_interval_hours: u32,
    pub force_sync: bool,
    pub jute_max_buffer: usize,
    pub extended_types_enabled: bool,
    pub skip_acl: bool,
    /// `zookeeper.enforceQuota` (false): writes past a hard quota limit fail.
    pub enforce_quota: bool,
    pub read_only_mode_enabled: bool,
    /// `super:<base64 digest>`.
    pub super_digest: Option<String>,
    /// SASL and authentication enforcement.
    pub auth: AuthConfig,
    /// `quorum.auth.*`: SASL between ensemble members.
    pub quorum_sasl: QuorumSaslConfig,
    pub container_check_interval_ms: u64,
    pub container_max_per_minute: u32,
    /// Ensemble settings read from system properties.
    pub quorum: QuorumTuning,
    pub admin: AdminConfig,
    pub metrics: MetricsConfig,
    /// Every effective system property (flags, then zoo.cfg's `zookeeper.<key>` entries).
    pub properties: BTreeMap<String, String>,
    /// Accepted-but-suspicious settings, for the caller to log at WARN.
    pub warnings: Vec<ConfigWarning>,
}

impl Config {
    /// Read zoo.cfg at `path` and, when present, `<dataDir>/myid`. `jvm_flags` is the value of
    /// `SERVER_JVMFLAGS` (the caller reads the environment).
    pub fn load(path: &Path, jvm_flags: &str) -> Result<Config, ConfigError> {
        let text = read_text(path)?;
        let mut provisional = parse::parse_text(&text, path, jvm_flags)?;
        if let Some(dynamic) = provisional.config.dynamic_config_file.clone() {
            let dtext = read_text(&dynamic)?;
            let name = dynamic.display().to_string();
            let servers = dynamic::parse_dynamic(&dtext).map_err(|msg| ConfigError::Setting {
                file: path.display().to_string(),
                key: "dynamicConfigFile".into(),
                msg: format!("{name}: {msg}"),
            })?;
            provisional.config.servers = servers;
            provisional.config.config_version = dynamic::version_from_filename(&name).unwrap_or(0);
        }
        let myid_path = provisional.config.data_dir.join("myid");
        let myid = match std::fs::read(&myid_path) {
            Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(ConfigError::Read {
                    file: myid_path.display().to_string(),
                    source: e,
                })
            }
        };
        ensemble::finish(provisional, myid.as_deref(), &myid_path)
    }

    /// Parse zoo.cfg text without reading `myid` (pure; for tests and tools).
    pub fn parse(text: &str, source: &Path, jvm_flags: &str) -> Result<Config, ConfigError> {
        Self::parse_with_myid(text, source, jvm_flags, None)
    }

    /// Parse zoo.cfg text with the given `myid` file contents (None = no myid file).
    pub fn parse_with_myid(
        text: &str,
        source: &Path,
        jvm_flags: &str,
        myid: Option<&str>,
    ) -> Result<Config, ConfigError> {
        let provisional = parse::parse_text(text, source, jvm_flags)?;
        let myid_path = provisional.config.data_dir.join("myid");
        ensemble::finish(provisional, myid, &myid_path)
    }

    /// True when this server runs as part of an ensemble (ZooKeeper's `isDistributed`): more
    /// than one participant, or `standaloneEnabled=false`.
    pub fn is_distributed(&self) -> bool {
        ensemble::is_distributed(&self.servers, self.standalone_enabled)
    }

    /// This server's own `server.N` entry, if any.
    pub fn me(&self) -> Option<&ServerSpec> {
        self.servers.get(&self.server_id)
    }
}

/// zoo.cfg bytes as text. Java reads properties as ISO-8859-1; UTF-8 is accepted first since
/// that is what editors write today, falling back to Latin-1 for other bytes.
fn read_text(path: &Path) -> Result<String, ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
        file: path.display().to_string(),
        source,
    })?;
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => e.into_bytes().iter().map(|&b| char::from(b)).collect(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
