//! The zoo.cfg keys ZooKeeper's `QuorumPeerConfig.parseProperties` knows, with their types,
//! defaults and cross-checks; everything else is handed to `sysprops` as `zookeeper.<key>`.
//! Phase one of two: [`parse_text`] (pure text → provisional config); `ensemble::finish` adds `myid`,
//! resolves this server's client port and checks ensemble settings. Must not read files.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::error::{ConfigError, ConfigWarning};
use super::properties::{self, Entry};
use super::servers::{parse_server, PeerType};
use super::sysprops::{expected_bool, expected_int, parse_bool, SysProps};
use super::tls::TlsKeys;
use super::{settings, tls, Config};

/// A config before `myid` is known.
pub(crate) struct Provisional {
    pub config: Config,
    pub file: String,
    /// Line of the (last) occurrence of each key, for errors raised after parsing.
    pub lines: HashMap<String, usize>,
    pub static_client_port: Option<u16>,
}

/// Known keys ZooKeeper parses but zkserver does not implement: accepted with a warning.
const IGNORED_KEYS: &[&str] = &[
    "observerMasterPort",
    "connectToLearnerMasterLimit",
    "syncEnabled",
    "quorum.cnxn.threads.size",
    "jvm.pause.info-threshold.ms",
    "jvm.pause.warn-threshold.ms",
    "jvm.pause.sleep.time.ms",
    "jvm.pause.monitor",
    "multiAddress.enabled",
    "multiAddress.reachabilityCheckTimeoutMs",
    "multiAddress.reachabilityCheckEnabled",
];

struct Ctx<'a> {
    file: &'a str,
}

impl Ctx<'_> {
    fn err(&self, e: &Entry, msg: String) -> ConfigError {
        ConfigError::Value {
            file: self.file.to_string(),
            line: e.line,
            key: e.key.clone(),
            msg,
        }
    }
    fn int(&self, e: &Entry, min: i64) -> Result<i64, ConfigError> {
        match e.value.parse::<i32>() {
            Ok(n) if i64::from(n) >= min => Ok(i64::from(n)),
            _ => Err(self.err(e, expected_int(min.max(0) as u64, &e.value))),
        }
    }
    fn u32(&self, e: &Entry, min: u32) -> Result<u32, ConfigError> {
        self.int(e, i64::from(min)).map(|n| n as u32)
    }
    fn bool(&self, e: &Entry) -> Result<bool, ConfigError> {
        parse_bool(&e.value).ok_or_else(|| self.err(e, expected_bool(&e.value)))
    }
    fn port(&self, e: &Entry, allow_zero: bool) -> Result<u16, ConfigError> {
        match e.value.parse::<u16>() {
            Ok(p) if p > 0 || allow_zero => Ok(p),
            _ => Err(self.err(
                e,
                format!("expected a port number 1-65535, got \"{}\"", e.value),
            )),
        }
    }
    fn path(&self, e: &Entry, warnings: &mut Vec<ConfigWarning>) -> Result<PathBuf, ConfigError> {
        if e.value.is_empty() {
            return Err(self.err(e, "expected a directory path, got an empty value".into()));
        }
        let p = PathBuf::from(&e.value);
        if p.is_absolute() {
            return Ok(p);
        }
        if !e.value.starts_with('.') {
            warnings.push(ConfigWarning {
                location: format!("{}:{}", self.file, e.line),
                message: format!(
                    "{} is relative ({}); it is resolved against the working directory. Prepend ./ to indicate that you're sure",
                    e.key, e.value
                ),
            });
        }
        Ok(match std::env::current_dir() {
            Ok(cwd) => cwd.join(p),
            Err(_) => p,
        })
    }
}

/// `clientPortAddress`: an IP literal (optionally `[v6]`) or `localhost`. Host names are not
/// resolved here (this module must not touch the network).
pub(crate) fn parse_ip(v: &str) -> Option<IpAddr> {
    let v = v.trim_start_matches('[').trim_end_matches(']');
    if v.eq_ignore_ascii_case("localhost") {
        return Some(IpAddr::from([127, 0, 0, 1]));
    }
    v.parse().ok()
}

pub(crate) fn parse_text(
    text: &str,
    source: &Path,
    jvm_flags: &str,
) -> Result<Provisional, ConfigError> {
    let file = source.display().to_string();
    let ctx = Ctx { file: &file };
    let entries = properties::parse(text).map_err(|e| ConfigError::Syntax {
        file: file.clone(),
        line: e.line,
        msg: e.msg,
    })?;
    let mut warnings = Vec::new();
    // Java's Properties keeps the last of duplicate keys; say so, since it is rarely meant.
    let mut last: BTreeMap<&str, &Entry> = BTreeMap::new();
    for e in &entries {
        if let Some(prev) = last.insert(e.key.as_str(), e) {
            warnings.push(ConfigWarning {
                location: format!("{file}:{}", e.line),
                message: format!("{} repeats line {}; the later value wins", e.key, prev.line),
            });
        }
    }
    let lines: HashMap<String, usize> = last.iter().map(|(k, e)| (k.to_string(), e.line)).collect();
    let mut props = SysProps::from_jvm_flags(jvm_flags);
    let mut c = settings::defaults(source);
    c.initial_config = text.to_string();
    let mut data_dir = None;
    let mut data_log_dir = None;
    let mut client_port = None;
    let mut client_port_address: Option<&Entry> = None;
    let mut secure_client_port_address: Option<&Entry> = None;
    let mut tls_keys = TlsKeys::default();
    let mut min_timeout = None;
    let mut max_timeout = None;
    for e in last.values().copied() {
        let key = e.key.as_str();
        match key {
            "dataDir" => data_dir = Some(ctx.path(e, &mut warnings)?),
            "dataLogDir" => data_log_dir = Some(ctx.path(e, &mut warnings)?),
            "clientPort" => client_port = Some(ctx.port(e, true)?).filter(|p| *p != 0),
            "clientPortAddress" => client_port_address = Some(e),
            "secureClientPort" => {
                c.secure_client_port = Some(ctx.port(e, true)?).filter(|p| *p != 0)
            }
            "secureClientPortAddress" => secure_client_port_address = Some(e),
            "sslQuorum" => tls_keys.ssl_quorum = ctx.bool(e)?,
            "portUnification" => tls_keys.port_unification = ctx.bool(e)?,
            "sslQuorumReloadCertFiles" => tls_keys.ssl_quorum_reload_cert_files = ctx.bool(e)?,
            "clientPortListenBacklog" => c.client_port_listen_backlog = ctx.int(e, -1)? as i32,
            "tickTime" => c.tick_time_ms = ctx.u32(e, 1)?,
            "maxClientCnxns" => c.max_client_cnxns = ctx.u32(e, 0)?,
            "minSessionTimeout" => min_timeout = Some(ctx.int(e, -1)?).filter(|n| *n >= 0),
            "maxSessionTimeout" => max_timeout = Some(ctx.int(e, -1)?).filter(|n| *n >= 0),
            "initLimit" => c.init_limit = ctx.u32(e, 0)?,
            "syncLimit" => c.sync_limit = ctx.u32(e, 0)?,
            "electionAlg" => {
                if e.value.parse::<i32>() != Ok(3) {
                    return Err(ctx.err(
                        e,
                        format!(
                            "only 3 (fast leader election) is supported, got \"{}\"",
                            e.value
                        ),
                    ));
                }
            }
            "peerType" => {
                c.peer_type = PeerType::parse(&e.value).ok_or_else(|| {
                    ctx.err(
                        e,
                        format!("expected participant or observer, got \"{}\"", e.value),
                    )
                })?
            }
            "standaloneEnabled" => c.standalone_enabled = ctx.bool(e)?,
            "reconfigEnabled" => c.reconfig_enabled = ctx.bool(e)?,
            "localSessionsEnabled" => c.local_sessions_enabled = ctx.bool(e)?,
            "localSessionsUpgradingEnabled" => c.local_sessions_upgrading_enabled = ctx.bool(e)?,
            "quorumListenOnAllIPs" => c.quorum_listen_on_all_ips = ctx.bool(e)?,
            "autopurge.snapRetainCount" => {
                let n = ctx.int(e, i64::from(i32::MIN))?;
                if n < 3 {
                    warnings.push(ConfigWarning {
                        location: format!("{file}:{}", e.line),
                        message: format!("Invalid autopurge.snapRetainCount: {n}. Defaulting to 3"),
                    });
                }
                c.autopurge_snap_retain_count = n.max(3) as u32;
            }
            // ZooKeeper treats any value <= 0 as "purge off".
            "autopurge.purgeInterval" => {
                c.autopurge_purge_interval_hours = ctx.int(e, i64::from(i32::MIN))?.max(0) as u32
            }
            "dynamicConfigFile" => {
                c.dynamic_config_file = Some(std::path::PathBuf::from(e.value.trim()))
            }
            "metricsProvider.className" => c.metrics.class_name = e.value.clone(),
            "metricsProvider.httpHost" => c.metrics.http_host = e.value.clone(),
            "metricsProvider.httpPort" => c.metrics.http_port = ctx.port(e, false)?,
            "metricsProvider.exportJvmInfo" => c.metrics.export_jvm_info = ctx.bool(e)?,
            k if k.starts_with("metricsProvider.") => {
                c.metrics
                    .extra
                    .insert(k["metricsProvider.".len()..].to_string(), e.value.clone());
            }
            k if k.starts_with("server.") => {
                let id = k["server.".len()..].parse::<u64>().map_err(|_| {
                    ctx.err(
                        e,
                        "the server id after \"server.\" must be a non-negative integer".into(),
                    )
                })?;
                let spec = parse_server(id, &e.value, e.line).map_err(|m| ctx.err(e, m))?;
                c.servers.insert(id, spec);
            }
            k if k.starts_with("group") || k.starts_with("weight") => {
                return Err(ctx.err(
                    e,
                    "hierarchical quorums (group/weight) are not supported".into(),
                ))
            }
            "quorum.auth.enableSasl" => c.quorum_sasl.enabled = ctx.bool(e)?,
            "quorum.auth.serverRequireSasl" => c.quorum_sasl.server_required = ctx.bool(e)?,
            "quorum.auth.learnerRequireSasl" => c.quorum_sasl.learner_required = ctx.bool(e)?,
            "quorum.auth.learner.saslLoginContext" => {
                c.quorum_sasl.learner_context = e.value.trim().to_string()
            }
            "quorum.auth.server.saslLoginContext" => {
                c.quorum_sasl.server_context = e.value.trim().to_string()
            }
            "quorum.auth.kerberos.servicePrincipal" => {
                c.quorum_sasl.service_principal = e.value.trim().to_string()
            }
            k if IGNORED_KEYS.contains(&k) => warnings.push(ConfigWarning {
                location: format!("{file}:{}", e.line),
                message: format!("{k} is not supported by zkserver and is ignored"),
            }),
            _ => {
                if let Some(meant) = key.strip_prefix("zookeeper.") {
                    // As in Apache it becomes `zookeeper.zookeeper.<key>`, which nothing reads.
                    warnings.push(ConfigWarning {
                        location: format!("{file}:{}", e.line),
                        message: format!(
                            "{key} becomes the system property zookeeper.{key}, which nothing \
                             reads: zoo.cfg keys get their `zookeeper.` prefix themselves \
                             (write {meant}=...)"
                        ),
                    });
                }
                props.set_from_file(key, &e.value, e.line)
            }
        }
    }
    let data_dir = data_dir.ok_or_else(|| ConfigError::Setting {
        file: file.clone(),
        key: "dataDir".into(),
        msg: "dataDir is not set".into(),
    })?;
    c.data_log_dir = data_log_dir.unwrap_or_else(|| data_dir.clone());
    c.data_dir = data_dir;
    if let Some(e) = client_port_address {
        if client_port.is_none() {
            return Err(ctx.err(
                e,
                "clientPortAddress is set but clientPort is not set".into(),
            ));
        }
        c.client_port_address = Some(parse_ip(&e.value).ok_or_else(|| {
            ctx.err(
                e,
                format!(
                    "expected an IP address (host names are not resolved), got \"{}\"",
                    e.value
                ),
            )
        })?);
    }
    if let Some(e) = secure_client_port_address {
        if c.secure_client_port.is_none() {
            return Err(ctx.err(
                e,
                "secureClientPortAddress is set but secureClientPort is not set".into(),
            ));
        }
        c.secure_client_port_address = Some(parse_ip(&e.value).ok_or_else(|| {
            ctx.err(
                e,
                format!(
                    "expected an IP address (host names are not resolved), got \"{}\"",
                    e.value
                ),
            )
        })?);
    }
    if let Err((key, msg)) = c.quorum_sasl.check() {
        return Err(ConfigError::Value {
            file: file.clone(),
            line: lines.get(key).copied().unwrap_or(0),
            key: key.into(),
            msg,
        });
    }
    let tick = c.tick_time_ms;
    c.min_session_timeout_ms = min_timeout.map_or(tick.saturating_mul(2), |n| n as u32);
    c.max_session_timeout_ms = max_timeout.map_or(tick.saturating_mul(20), |n| n as u32);
    if c.min_session_timeout_ms > c.max_session_timeout_ms {
        let key = if max_timeout.is_some() {
            "maxSessionTimeout"
        } else {
            "minSessionTimeout"
        };
        return Err(ConfigError::Value {
            file: file.clone(),
            line: lines.get(key).copied().unwrap_or(0),
            key: key.into(),
            msg: format!(
                "minSessionTimeout ({}) must not be larger than maxSessionTimeout ({})",
                c.min_session_timeout_ms, c.max_session_timeout_ms
            ),
        });
    }
    settings::apply_properties(&mut c, &props, &file, &mut warnings)?;
    c.tls = tls::parse(&props, &file, tls_keys, &mut warnings)?;
    c.warnings = warnings;
    Ok(Provisional {
        config: c,
        file,
        lines,
        static_client_port: client_port,
    })
}
