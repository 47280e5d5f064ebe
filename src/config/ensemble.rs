//! Second phase of parsing: what depends on `myid` — this server's id, whether it runs in an
//! ensemble (`isDistributed`), ensemble-only requirements (initLimit, syncLimit, myid among the
//! `server.N` lines, no two members on one `host:port`), and the client port taken from
//! `clientPort` or this server's `server.N` line. Must not read files: the `myid` text is
//! passed in.

use std::collections::BTreeMap;
use std::path::Path;

use super::error::{ConfigError, ConfigWarning};
use super::parse::{parse_ip, Provisional};
use super::servers::{PeerType, ServerSpec};
use super::Config;

/// ZooKeeper's `isDistributed`.
pub(crate) fn is_distributed(
    servers: &BTreeMap<u64, ServerSpec>,
    standalone_enabled: bool,
) -> bool {
    let participants = servers
        .values()
        .filter(|s| s.peer_type == PeerType::Participant)
        .count();
    !standalone_enabled || participants > 1
}

pub(crate) fn finish(
    p: Provisional,
    myid: Option<&str>,
    myid_path: &Path,
) -> Result<Config, ConfigError> {
    let Provisional {
        config: mut c,
        file,
        lines,
        static_client_port,
    } = p;
    let myid_file = myid_path.display().to_string();
    let setting = |key: &str, msg: String| match lines.get(key) {
        Some(&line) => ConfigError::Value {
            file: file.clone(),
            line,
            key: key.into(),
            msg,
        },
        None => ConfigError::Setting {
            file: file.clone(),
            key: key.into(),
            msg,
        },
    };
    if let Some(text) = myid {
        let first = text.lines().next().unwrap_or("").trim();
        c.server_id = first.parse::<u64>().map_err(|_| ConfigError::Myid {
            file: myid_file.clone(),
            msg: format!("serverid \"{first}\" is not a number"),
        })?;
    }
    let participants = c
        .servers
        .values()
        .filter(|s| s.peer_type == PeerType::Participant)
        .count();
    let observers = c.servers.len() - participants;
    if participants == 0 && observers > 0 {
        return Err(setting(
            "server",
            "observers without participants is an invalid configuration".into(),
        ));
    }
    if participants == 0 && !c.standalone_enabled {
        return Err(setting(
            "standaloneEnabled",
            "standaloneEnabled=false needs at least one participant server.N line".into(),
        ));
    }
    let distributed = c.is_distributed();
    if distributed {
        if myid.is_none() {
            return Err(ConfigError::Myid {
                file: myid_file,
                msg: format!(
                    "myid file is missing; an ensemble member needs its server id ({}) \
                     there",
                    id_list(&c.servers)
                ),
            });
        }
        if c.init_limit == 0 {
            return Err(setting("initLimit", "initLimit is not set".into()));
        }
        if c.sync_limit == 0 {
            return Err(setting("syncLimit", "syncLimit is not set".into()));
        }
        if !c.servers.contains_key(&c.server_id) {
            return Err(ConfigError::Myid {
                file: myid_file,
                msg: format!(
                    "myid {} does not match any server.N line in {file} (ids: {})",
                    c.server_id,
                    id_list(&c.servers)
                ),
            });
        }
    } else if participants == 1 {
        // ZooKeeper logs "Invalid configuration, only one server specified (ignoring)" and runs
        // standalone; do the same, but say it.
        c.warnings.push(ConfigWarning {
            location: file.clone(),
            message: "only one server specified; running standalone".into(),
        });
    }
    let mine = c.servers.get(&c.server_id).cloned();
    if let Some(me) = &mine {
        if me.peer_type != c.peer_type && lines.contains_key("peerType") {
            c.warnings.push(ConfigWarning {
                location: format!("{file}:{}", me.line),
                message: format!("peer type from servers list ({}) doesn't match peerType ({}); using the servers list", me.peer_type, c.peer_type),
            });
        }
        c.peer_type = me.peer_type;
    }
    let from_server_line = mine.as_ref().and_then(|m| m.client_port);
    c.client_port = match (static_client_port, from_server_line) {
        (Some(a), Some(b)) if a != b => {
            let line = mine.as_ref().map_or(0, |m| m.line);
            return Err(ConfigError::Value {
                file,
                line,
                key: format!("server.{}", c.server_id),
                msg: format!(
                    "client port {b} differs from clientPort={a} (line {})",
                    lines.get("clientPort").copied().unwrap_or(0)
                ),
            });
        }
        (Some(a), _) => a,
        (None, Some(b)) => b,
        // Apache allows a TLS-only server: no plaintext listener at all.
        (None, None) if c.secure_client_port.is_some() => 0,
        (None, None) => {
            return Err(setting(
                "clientPort",
                "clientPort is not set (and neither secureClientPort nor this server's server.N line names a client port)"
                    .into(),
            ))
        }
    };
    if c.client_port_address.is_none() {
        if let Some(h) = mine.as_ref().and_then(|m| m.client_host.as_deref()) {
            c.client_port_address = parse_ip(h);
        }
    }
    if distributed {
        check_ports(&c, &file, &lines)?;
    }
    if c.extended_types_enabled && c.server_id > 254 {
        return Err(ConfigError::Myid {
            file: myid_file,
            msg: format!(
                "server id {} must be <= 254 when zookeeper.extendedTypesEnabled is true",
                c.server_id
            ),
        });
    }
    Ok(c)
}

/// `1, 2, 3`: the ids of the `server.N` lines, for messages.
fn id_list(servers: &BTreeMap<u64, ServerSpec>) -> String {
    servers
        .keys()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Two members cannot listen on the same `host:port`, and this member's client port cannot
/// be a peer port of a member on its own host: refused here with both lines named, instead
/// of a member that fails to bind or — worse — talks to itself (a copied `server.N` line is
/// the usual cause). The same port on different hosts is the normal layout and is fine.
fn check_ports(
    c: &Config,
    file: &str,
    lines: &std::collections::HashMap<String, usize>,
) -> Result<(), ConfigError> {
    let mut seen: BTreeMap<(String, u16), (u64, &'static str, usize)> = BTreeMap::new();
    for s in c.servers.values() {
        for (port, what) in [(s.quorum_port, "quorum"), (s.election_port, "election")] {
            let key = (s.host.to_ascii_lowercase(), port);
            if let Some((other, other_what, other_line)) = seen.get(&key) {
                return Err(ConfigError::Value {
                    file: file.into(),
                    line: s.line,
                    key: format!("server.{}", s.id),
                    msg: format!(
                        "{what} port {}:{port} is already server.{other}'s {other_what} port \
                         (line {other_line}); every member needs its own ports",
                        s.host
                    ),
                });
            }
            seen.insert(key, (s.id, what, s.line));
        }
    }
    let Some(me) = c.me() else {
        return Ok(());
    };
    let client_on_host = match c.client_port_address {
        None => true,
        Some(ip) => ip.is_unspecified() || ip.to_string() == me.host,
    };
    if !client_on_host {
        return Ok(());
    }
    let same_host = c
        .servers
        .values()
        .filter(|s| s.host.eq_ignore_ascii_case(&me.host));
    for s in same_host {
        for (port, what) in [(s.quorum_port, "quorum"), (s.election_port, "election")] {
            if port != c.client_port {
                continue;
            }
            let owner = if s.id == me.id {
                "this server's".to_string()
            } else {
                format!("server.{}'s", s.id)
            };
            return Err(ConfigError::Value {
                file: file.into(),
                line: lines.get("clientPort").copied().unwrap_or(me.line),
                key: "clientPort".into(),
                msg: format!(
                    "client port {port} is also {owner} {what} port (line {}) on host {}",
                    s.line, me.host
                ),
            });
        }
    }
    Ok(())
}
