//! `server.N=host:quorumPort:electionPort[:participant|observer][;[clientHost:]clientPort]`
//! lines (ZooKeeper's `QuorumPeer.QuorumServer`). Host names are kept as written, never
//! resolved: this module must not touch the network.

use std::fmt;

/// Whether a server votes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PeerType {
    #[default]
    Participant,
    Observer,
}

impl PeerType {
    /// Parse `participant`/`observer`, case-insensitive (as ZooKeeper does).
    pub fn parse(s: &str) -> Option<PeerType> {
        match s.trim().to_ascii_lowercase().as_str() {
            "participant" => Some(PeerType::Participant),
            "observer" => Some(PeerType::Observer),
            _ => None,
        }
    }

    /// `LearnerType.ordinal()`, printed by the `conf` four-letter word.
    pub fn ordinal(self) -> u8 {
        match self {
            PeerType::Participant => 0,
            PeerType::Observer => 1,
        }
    }
}

impl fmt::Display for PeerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PeerType::Participant => "participant",
            PeerType::Observer => "observer",
        })
    }
}

/// One ensemble member as written in zoo.cfg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    pub id: u64,
    pub host: String,
    pub quorum_port: u16,
    pub election_port: u16,
    pub peer_type: PeerType,
    /// `;[host:]port` part: host (if given) and port for clients.
    pub client_host: Option<String>,
    pub client_port: Option<u16>,
    /// Line of zoo.cfg this came from.
    pub line: usize,
}

/// Wrap IPv6 literals in brackets, as ZooKeeper's `delimitedHostString` does.
fn delimited(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

impl ServerSpec {
    /// The value as ZooKeeper prints it in `membership:` (`QuorumServer.toString`), given the
    /// client address the server ended up with.
    pub fn to_config_value(&self, client: Option<(&str, u16)>) -> String {
        let mut s = format!(
            "{}:{}:{}:{}",
            delimited(&self.host),
            self.quorum_port,
            self.election_port,
            self.peer_type
        );
        if let Some((host, port)) = client {
            s.push_str(&format!(";{}:{}", delimited(host), port));
        }
        s
    }
}

/// `QuorumMaj.toString()`: one `server.N=…` line per member then `version=<hex>`, the text
/// members exchange in election notifications and NEWLEADER. A client address appears only
/// when the member's line gives one (a bare port prints as `0.0.0.0:port`).
pub fn quorum_verifier_text<'a>(
    servers: impl IntoIterator<Item = &'a ServerSpec>,
    version: i64,
) -> String {
    let mut out = String::new();
    for s in servers {
        let client = s
            .client_port
            .map(|p| (s.client_host.as_deref().unwrap_or("0.0.0.0"), p));
        out.push_str(&format!("server.{}={}\n", s.id, s.to_config_value(client)));
    }
    out.push_str(&format!("version={version:x}"));
    out
}

/// Split `host:port:...` respecting `[ipv6]` brackets.
fn split_host_parts(s: &str) -> Result<Vec<String>, String> {
    if let Some(rest) = s.strip_prefix('[') {
        let close = rest
            .find(']')
            .ok_or_else(|| format!("unterminated '[' in \"{s}\""))?;
        let host = rest[..close].to_string();
        let after = &rest[close + 1..];
        let mut parts = vec![host];
        if !after.is_empty() {
            let tail = after
                .strip_prefix(':')
                .ok_or_else(|| format!("expected ':' after ']' in \"{s}\""))?;
            parts.extend(tail.split(':').map(str::to_string));
        }
        Ok(parts)
    } else {
        Ok(s.split(':').map(str::to_string).collect())
    }
}

fn parse_port(s: &str, what: &str) -> Result<u16, String> {
    match s.trim().parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!(
            "{what} must be a port number 1-65535, got \"{}\"",
            s.trim()
        )),
    }
}

const FORM: &str =
    "expected host:quorumPort:electionPort[:participant|observer][;[clientHost:]clientPort]";

/// Parse the value of `server.<id>`. Errors are messages; the caller adds file, line and key.
pub fn parse_server(id: u64, value: &str, line: usize) -> Result<ServerSpec, String> {
    if value.contains('|') {
        return Err("multiple addresses per server (a|b) are not supported".to_string());
    }
    let halves: Vec<&str> = value.split(';').collect();
    if halves.len() > 2 {
        return Err(format!("{FORM}, got \"{value}\""));
    }
    let parts = split_host_parts(halves[0].trim())?;
    if !(3..=4).contains(&parts.len()) || parts[0].is_empty() {
        return Err(format!("{FORM}, got \"{value}\""));
    }
    let quorum_port = parse_port(&parts[1], "quorum port")?;
    let election_port = parse_port(&parts[2], "election port")?;
    if quorum_port == election_port {
        return Err(format!(
            "quorum port and election port must differ, both are {quorum_port}"
        ));
    }
    let peer_type = match parts.get(3) {
        None => PeerType::Participant,
        Some(t) => PeerType::parse(t)
            .ok_or_else(|| format!("unknown peer type \"{t}\" (participant or observer)"))?,
    };
    let (client_host, client_port) = match halves.get(1) {
        None => (None, None),
        Some(c) => {
            let cparts = split_host_parts(c.trim())?;
            match cparts.as_slice() {
                [port] => (None, Some(parse_port(port, "client port")?)),
                [host, port] if !host.is_empty() => {
                    (Some(host.clone()), Some(parse_port(port, "client port")?))
                }
                _ => return Err(format!("{FORM}, got \"{value}\"")),
            }
        }
    };
    Ok(ServerSpec {
        id,
        host: parts[0].clone(),
        quorum_port,
        election_port,
        peer_type,
        client_host,
        client_port,
        line,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn good_lines() {
        let s = parse_server(1, "zk1:2888:3888", 4).unwrap();
        assert_eq!(
            (s.host.as_str(), s.quorum_port, s.election_port),
            ("zk1", 2888, 3888)
        );
        assert_eq!(
            (s.peer_type, s.client_port, s.line),
            (PeerType::Participant, None, 4)
        );

        let s = parse_server(2, "10.0.0.2:2888:3888:observer;2181", 1).unwrap();
        assert_eq!(
            (s.peer_type, s.client_host, s.client_port),
            (PeerType::Observer, None, Some(2181))
        );

        let s = parse_server(3, "[::1]:2888:3888:Participant;[::1]:2182", 1).unwrap();
        assert_eq!(s.host, "::1");
        assert_eq!(s.client_host.as_deref(), Some("::1"));
        assert_eq!(
            s.to_config_value(Some(("0.0.0.0", 2182))),
            "[::1]:2888:3888:participant;0.0.0.0:2182"
        );
    }

    #[test]
    fn bad_lines() {
        let cases = [
            ("zk1:2888", "expected host:quorumPort"),
            ("zk1:2888:2888", "must differ"),
            ("zk1:x:3888", "quorum port must be"),
            ("zk1:2888:70000", "election port must be"),
            ("zk1:2888:3888:leader", "unknown peer type"),
            ("zk1:2888:3888;a:b:c", "expected host:quorumPort"),
            ("zk1:2888:3888;0", "client port must be"),
            ("a:1:2|b:1:2", "multiple addresses"),
            ("[::1:2888:3888", "unterminated"),
        ];
        for (value, want) in cases {
            let err = parse_server(1, value, 1).unwrap_err();
            assert!(err.contains(want), "{value}: {err}");
        }
    }
}
