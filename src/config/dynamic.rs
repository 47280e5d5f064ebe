//! Apache's dynamic configuration files (`reconfigEnabled`): `dynamicConfigFile=` in zoo.cfg
//! names `<zoo.cfg>.dynamic.<hex version>`, which holds the `server.N` lines (no `version=`
//! line: the version is the file name's suffix, `QuorumPeerConfig.getVersionFromFilename`).
//! On each activated configuration Apache writes a new dynamic file (the member list sorted
//! as text, `version=` left out, no trailing newline) and rewrites zoo.cfg without its
//! `server.`/`group`/`weight`/`peerType`/`dynamicConfigFile` keys (and `clientPort*` when this
//! member's line gives its client address), pointing `dynamicConfigFile=` at the new file.
//!
//! Owns: those texts and the parse of a dynamic file. Must not: read or write files (the
//! caller does), resolve hosts. Difference: Apache writes the kept zoo.cfg keys in its
//! hash table's order; they are kept here in the file's order.

use std::collections::BTreeMap;

use super::properties;
use super::servers::{parse_server, ServerSpec};

/// The version a dynamic file's name carries (`zoo.cfg.dynamic.100000000` → 0x100000000);
/// `None` when the suffix after the last dot is not hex.
pub fn version_from_filename(name: &str) -> Option<i64> {
    let (_, suffix) = name.rsplit_once('.')?;
    u64::from_str_radix(suffix, 16).ok().map(|v| v as i64)
}

/// The `server.N` entries of a dynamic file. Errors are messages naming the line.
pub fn parse_dynamic(text: &str) -> Result<BTreeMap<u64, ServerSpec>, String> {
    let entries = properties::parse(text).map_err(|e| format!("line {}: {}", e.line, e.msg))?;
    let mut servers = BTreeMap::new();
    for e in entries {
        if e.key == "version" {
            return Err(format!(
                "line {}: dynamic file shouldn't have version inside",
                e.line
            ));
        }
        let Some(id) = e.key.strip_prefix("server.") else {
            return Err(format!(
                "line {}: Unrecognised parameter: {}",
                e.line, e.key
            ));
        };
        let id = id.parse::<u64>().map_err(|_| {
            format!(
                "line {}: the server id after \"server.\" must be a non-negative integer",
                e.line
            )
        })?;
        let spec = parse_server(id, &e.value, e.line)
            .map_err(|m| format!("line {}: server.{id}: {m}", e.line))?;
        servers.insert(id, spec);
    }
    if servers.is_empty() {
        return Err("no server.N lines".into());
    }
    Ok(servers)
}

/// The dynamic file for a configuration text (`QuorumPeerConfig.writeDynamicConfig` without
/// the version): its `key=value` lines sorted as strings, joined by newlines.
pub fn dynamic_file_text(config_text: &str) -> String {
    let mut lines: Vec<String> = config_text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .filter(|(k, _)| !k.is_empty() && !k.starts_with("version"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    lines.sort();
    lines.join("\n")
}

/// zoo.cfg rewritten to point at `dynamic_path` (`QuorumPeerConfig.editStaticConfig`).
/// `erase_client`: this member's `server.N` line names its client address, so zoo.cfg's
/// `clientPort`/`clientPortAddress` are redundant and dropped.
pub fn static_file_text(
    zoo_cfg: &str,
    dynamic_path: &str,
    erase_client: bool,
) -> Result<String, String> {
    let entries = properties::parse(zoo_cfg).map_err(|e| format!("line {}: {}", e.line, e.msg))?;
    // The last occurrence of a key wins, at the place of its first, as in a Properties table.
    let mut kept: Vec<(String, String)> = Vec::new();
    for e in entries {
        let k = e.key.trim();
        let dropped = k.starts_with("server.")
            || k.starts_with("group")
            || k.starts_with("weight")
            || k.starts_with("dynamicConfigFile")
            || k.starts_with("peerType")
            || (erase_client && k.starts_with("clientPort"));
        if dropped {
            continue;
        }
        match kept.iter_mut().find(|(key, _)| key == k) {
            Some(slot) => slot.1 = e.value.trim().to_string(),
            None => kept.push((k.to_string(), e.value.trim().to_string())),
        }
    }
    let mut out = String::new();
    for (k, v) in kept {
        out.push_str(&format!("{k}={v}\n"));
    }
    out.push_str(&format!("dynamicConfigFile={dynamic_path}\n"));
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn versions_come_from_the_file_name() {
        assert_eq!(
            version_from_filename("/a/zoo.cfg.dynamic.100000000"),
            Some(0x1_0000_0000)
        );
        assert_eq!(version_from_filename("zoo.cfg.dynamic.0"), Some(0));
        assert_eq!(version_from_filename("zoo.cfg.dynamic"), None);
    }

    #[test]
    fn dynamic_files_parse_and_refuse_what_apache_refuses() {
        let s = parse_dynamic("server.1=127.0.0.1:2888:3888:participant\nserver.2=h:1:2;2181\n")
            .unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[&2].client_port, Some(2181));
        assert!(parse_dynamic("server.1=a:1:2\nversion=1")
            .unwrap_err()
            .contains("shouldn't have version"));
        assert!(parse_dynamic("tickTime=2000")
            .unwrap_err()
            .contains("Unrecognised parameter: tickTime"));
    }

    #[test]
    fn the_files_apache_writes() {
        let text = "server.1=127.0.0.1:24111:24112:participant\nserver.10=h:1:2:observer\n\
                    server.2=127.0.0.1:24121:24122:participant\nversion=100000000";
        // Sorted as strings, as Java sorts them: '0' < '=' puts server.10 first.
        assert_eq!(
            dynamic_file_text(text),
            "server.10=h:1:2:observer\nserver.1=127.0.0.1:24111:24112:participant\n\
             server.2=127.0.0.1:24121:24122:participant"
        );
        let cfg = "tickTime=500\nclientPort=2181\nserver.1=a:1:2\npeerType=participant\n\
                   reconfigEnabled=true\n";
        assert_eq!(
            static_file_text(cfg, "/d/zoo.cfg.dynamic.1", false).unwrap(),
            "tickTime=500\nclientPort=2181\nreconfigEnabled=true\n\
             dynamicConfigFile=/d/zoo.cfg.dynamic.1\n"
        );
        assert_eq!(
            static_file_text(cfg, "/d/zoo.cfg.dynamic.1", true).unwrap(),
            "tickTime=500\nreconfigEnabled=true\ndynamicConfigFile=/d/zoo.cfg.dynamic.1\n"
        );
    }
}
