//! Defaults, and the settings ZooKeeper reads from system properties rather than zoo.cfg keys
//! (`zookeeper.snapCount`, `jute.maxbuffer`, `zookeeper.admin.*`, ...). Must not parse zoo.cfg
//! lines: `parse` has already turned unknown keys into `zookeeper.<key>` properties.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::error::{ConfigError, ConfigWarning};
use super::servers::PeerType;
use super::sysprops::SysProps;
use super::whitelist::FourLetterWhitelist;
use super::{AdminConfig, Config, MetricsConfig, QuorumTuning, DEFAULT_METRICS_PROVIDER};

/// ZooKeeper's defaults (`QuorumPeerConfig` fields and the property defaults).
pub(crate) fn defaults(source: &Path) -> Config {
    Config {
        source: source.to_path_buf(),
        initial_config: String::new(),
        tick_time_ms: 3000,
        data_dir: PathBuf::new(),
        data_log_dir: PathBuf::new(),
        client_port: 0,
        client_port_address: None,
        secure_client_port: None,
        secure_client_port_address: None,
        tls: Default::default(),
        client_port_listen_backlog: -1,
        max_client_cnxns: 60,
        max_cnxns: 0,
        min_session_timeout_ms: 6000,
        max_session_timeout_ms: 60000,
        global_outstanding_limit: 1000,
        four_letter_words: FourLetterWhitelist::default(),
        server_id: 0,
        servers: BTreeMap::new(),
        init_limit: 0,
        sync_limit: 0,
        peer_type: PeerType::Participant,
        election_alg: 3,
        standalone_enabled: true,
        reconfig_enabled: false,
        dynamic_config_file: None,
        config_version: 0,
        local_sessions_enabled: false,
        local_sessions_upgrading_enabled: false,
        quorum_listen_on_all_ips: false,
        snap_count: 100_000,
        pre_alloc_size_bytes: 65536 * 1024,
        autopurge_snap_retain_count: 3,
        autopurge_purge_interval_hours: 0,
        force_sync: true,
        jute_max_buffer: 0xfffff,
        extended_types_enabled: false,
        skip_acl: false,
        enforce_quota: false,
        read_only_mode_enabled: false,
        super_digest: None,
        auth: Default::default(),
        quorum_sasl: Default::default(),
        container_check_interval_ms: 60_000,
        container_max_per_minute: 10_000,
        quorum: QuorumTuning::default(),
        admin: AdminConfig {
            enable_server: true,
            server_address: "0.0.0.0".into(),
            server_port: 8080,
            command_url: "/commands".into(),
        },
        metrics: MetricsConfig {
            class_name: DEFAULT_METRICS_PROVIDER.into(),
            http_host: "0.0.0.0".into(),
            http_port: 7000,
            export_jvm_info: true,
            extra: BTreeMap::new(),
        },
        properties: BTreeMap::new(),
        warnings: Vec::new(),
    }
}

/// Properties that only work as `-D` flags: in zoo.cfg they become `zookeeper.<key>`, which
/// ZooKeeper ignores. Warn rather than silently do nothing.
const FLAG_ONLY: &[&str] = &["jute.maxbuffer", "readonlymode.enabled"];

fn small(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Read every property-backed setting into `c`.
pub(crate) fn apply_properties(
    c: &mut Config,
    p: &SysProps,
    file: &str,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<(), ConfigError> {
    for name in FLAG_ONLY {
        if p.get(&format!("zookeeper.{name}")).is_some() {
            warnings.push(ConfigWarning {
                location: file.to_string(),
                message: format!(
                    "{name} in zoo.cfg sets zookeeper.{name}, which ZooKeeper ignores; pass -D{name}=... in SERVER_JVMFLAGS"
                ),
            });
        }
    }
    c.jute_max_buffer =
        usize::try_from(p.int(file, "jute.maxbuffer", 0xfffff, 1)?).unwrap_or(usize::MAX);
    c.read_only_mode_enabled = p.bool(file, "readonlymode.enabled", false)?;
    c.extended_types_enabled = p.bool(file, "zookeeper.extendedTypesEnabled", false)?;
    c.skip_acl = p.yes_no(file, "zookeeper.skipACL", false)?;
    c.enforce_quota = p.bool(file, "zookeeper.enforceQuota", false)?;
    c.force_sync = p.yes_no(file, "zookeeper.forceSync", true)?;
    c.snap_count = p.int(file, "zookeeper.snapCount", 100_000, 2)?;
    c.pre_alloc_size_bytes = p
        .int(file, "zookeeper.preAllocSize", 65536, 1)?
        .saturating_mul(1024);
    c.max_cnxns = small(p.int(file, "zookeeper.maxCnxns", 0, 0)?);
    c.global_outstanding_limit = small(p.int(file, "zookeeper.globalOutstandingLimit", 1000, 1)?);
    // ZooKeeper's ContainerManager reads these without the `zookeeper.` prefix (so only as
    // -D flags); the prefixed form that a zoo.cfg line produces is honoured too.
    let interval = p.int(file, "zookeeper.znode.container.checkIntervalMs", 60_000, 1)?;
    c.container_check_interval_ms = p.int(file, "znode.container.checkIntervalMs", interval, 1)?;
    let per_minute = p.int(file, "zookeeper.znode.container.maxPerMinute", 10_000, 1)?;
    c.container_max_per_minute =
        small(p.int(file, "znode.container.maxPerMinute", per_minute, 1)?);
    let q = &mut c.quorum;
    q.digest_enabled = p.bool(file, "zookeeper.digest.enabled", true)?;
    let extra = p.int(
        file,
        "zookeeper.jute.maxbuffer.extrasize",
        c.jute_max_buffer as u64,
        0,
    )?;
    q.max_packet = c
        .jute_max_buffer
        .saturating_add(usize::try_from(extra).unwrap_or(0));
    q.force_snapshot_sync = p.bool(file, "zookeeper.forceSnapshotSync", false)?;
    q.commit_log_count =
        usize::try_from(p.int(file, "zookeeper.commitLogCount", 500, 1)?).unwrap_or(500);
    q.min_notification_ms = p.int(file, "zookeeper.fastleader.minNotificationInterval", 200, 1)?;
    q.max_notification_ms = p.int(
        file,
        "zookeeper.fastleader.maxNotificationInterval",
        60_000,
        1,
    )?;
    q.leader_serves = p.yes_no(file, "zookeeper.leaderServes", true)?;
    let digest_key = "zookeeper.DigestAuthenticationProvider.superDigest";
    if let Some(d) = p.get(digest_key) {
        match d.split_once(':') {
            Some((user, digest)) if !user.is_empty() && !digest.is_empty() => {
                c.super_digest = Some(d.trim().to_string())
            }
            _ => {
                return Err(p.error(
                    file,
                    digest_key,
                    format!("expected super:<base64 digest>, got \"{d}\""),
                ))
            }
        }
    }
    let wl_key = "zookeeper.4lw.commands.whitelist";
    let (whitelist, unknown) = FourLetterWhitelist::parse(p.get(wl_key), c.read_only_mode_enabled);
    if !unknown.is_empty() {
        warnings.push(ConfigWarning {
            location: p.location(file, wl_key),
            message: format!("unknown four-letter words ignored: {}", unknown.join(", ")),
        });
    }
    c.four_letter_words = whitelist;
    c.admin.enable_server = p.bool(file, "zookeeper.admin.enableServer", true)?;
    if let Some(a) = p.get("zookeeper.admin.serverAddress") {
        c.admin.server_address = a.trim().to_string();
    }
    let port = p.int(file, "zookeeper.admin.serverPort", 8080, 1)?;
    c.admin.server_port = u16::try_from(port).map_err(|_| {
        p.error(
            file,
            "zookeeper.admin.serverPort",
            format!("expected a port number 1-65535, got \"{port}\""),
        )
    })?;
    if let Some(u) = p.get("zookeeper.admin.commandURL") {
        c.admin.command_url = u.trim().to_string();
    }
    c.auth = super::auth::read(p, file)?;
    c.properties = p.to_map();
    Ok(())
}
