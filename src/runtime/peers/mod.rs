//! Peer transport: the election port (`election`, Apache's `QuorumCnxManager`) and the quorum
//! port (`links`, the leader/learner connections), carrying bytes between the network and
//! the core's `quorum::Member`. Nothing here decides anything about the protocol: it frames,
//! connects, accepts and reports.
//!
//! Owns: sockets to peers (plain or TLS, `stream`; quorum SASL, `auth`), their reader/writer
//! tasks, peer addresses. Must not: interpret packets beyond framing (the SNAP body is scanned
//! only to find where it ends), or hold protocol state.

pub mod auth;
pub mod election;
pub mod links;
pub mod stream;

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::config::{Config, PeerType};
use crate::quorum::Sid;

/// A member's election and quorum addresses, `(host, port)` as written (resolved at dial time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberAddrs {
    pub election: (String, u16),
    pub quorum: (String, u16),
}

/// Where each member listens: zoo.cfg's `server.N` lines, then every configuration a reconfig
/// puts in force or proposes (members it adds are dialled at the addresses it gives them).
#[derive(Debug)]
pub struct PeerAddrs {
    members: std::sync::RwLock<HashMap<Sid, MemberAddrs>>,
    /// Plain TCP or TLS (`sslQuorum`), for dialling and accepting members.
    pub transport: stream::Transport,
    /// Quorum SASL (`quorum.auth.*`) on both ports.
    pub auth: auth::PeerAuth,
}

impl PeerAddrs {
    pub fn from_config(cfg: &Config) -> PeerAddrs {
        let members = cfg
            .servers
            .iter()
            .map(|(id, s)| (*id, MemberAddrs::of(s)))
            .collect();
        PeerAddrs {
            members: std::sync::RwLock::new(members),
            transport: stream::Transport::default(),
            auth: None,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Sid, MemberAddrs>> {
        self.members.read().unwrap_or_else(|e| e.into_inner())
    }

    /// `sid`'s election port, if it is a known member.
    pub fn election(&self, sid: Sid) -> Option<(String, u16)> {
        self.read().get(&sid).map(|m| m.election.clone())
    }

    /// `sid`'s quorum port, if it is a known member.
    pub fn quorum(&self, sid: Sid) -> Option<(String, u16)> {
        self.read().get(&sid).map(|m| m.quorum.clone())
    }

    /// Takes the addresses of every `server.N` line of a configuration text (`version=`
    /// ignored); members it does not list keep theirs, as connections to them may still be
    /// needed until they leave.
    pub fn learn(&self, config_text: &str) {
        let lines: Vec<&str> = config_text
            .lines()
            .filter(|l| l.trim_start().starts_with("server."))
            .collect();
        let servers = match crate::config::dynamic::parse_dynamic(&lines.join("\n")) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("peer addresses not taken from a configuration: {e}");
                return;
            }
        };
        let mut members = self.members.write().unwrap_or_else(|e| e.into_inner());
        for (id, s) in servers {
            let addrs = MemberAddrs::of(&s);
            if members.get(&id) != Some(&addrs) {
                tracing::info!(sid = id, election = ?addrs.election, quorum = ?addrs.quorum, "peer address from the configuration");
                members.insert(id, addrs);
            }
        }
    }

    /// This member's election address as it announces it (`host:port`, IPv6 in brackets).
    pub fn announce(&self, me: Sid) -> String {
        match self.election(me) {
            Some((h, p)) if h.contains(':') => format!("[{h}]:{p}"),
            Some((h, p)) => format!("{h}:{p}"),
            None => String::new(),
        }
    }
}

impl MemberAddrs {
    fn of(s: &crate::config::ServerSpec) -> MemberAddrs {
        MemberAddrs {
            election: (s.host.clone(), s.election_port),
            quorum: (s.host.clone(), s.quorum_port),
        }
    }
}

/// Resolves `host:port` (DNS if needed); the first address wins.
pub async fn resolve(host: &str, port: u16) -> std::io::Result<SocketAddr> {
    let mut addrs = tokio::net::lookup_host((host, port)).await?;
    addrs.next().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{host} resolves to no address"),
        )
    })
}

/// The address to bind for one of this member's own peer ports: the host of its `server.N`
/// line, or every interface with `quorumListenOnAllIPs=true`.
pub fn bind_addr(cfg: &Config, port: u16) -> std::io::Result<SocketAddr> {
    let me = cfg.servers.get(&cfg.server_id).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no server.{} line", cfg.server_id),
        )
    })?;
    if cfg.quorum_listen_on_all_ips {
        return Ok(SocketAddr::from(([0, 0, 0, 0], port)));
    }
    use std::net::ToSocketAddrs;
    (me.host.as_str(), port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} resolves to no address", me.host),
            )
        })
}

/// Voters and observers of the static configuration, for the quorum view.
pub fn members(cfg: &Config) -> (Vec<Sid>, Vec<Sid>) {
    let mut voters = Vec::new();
    let mut observers = Vec::new();
    for (id, s) in &cfg.servers {
        match s.peer_type {
            PeerType::Participant => voters.push(*id),
            PeerType::Observer => observers.push(*id),
        }
    }
    (voters, observers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configuration_adds_and_moves_members_and_keeps_the_others() {
        let cfg = Config::parse_with_myid(
            "tickTime=2000\ninitLimit=5\nsyncLimit=2\ndataDir=/tmp/x\nclientPort=2181\n\
             server.1=a:2888:3888\nserver.2=b:2888:3888\nserver.3=c:2888:3888\n",
            std::path::Path::new("zoo.cfg"),
            "",
            Some("1"),
        )
        .expect("a valid zoo.cfg");
        let addrs = PeerAddrs::from_config(&cfg);
        assert_eq!(addrs.election(4), None);
        addrs.learn(
            "server.1=a:2888:3888:participant;0.0.0.0:2181\n\
             server.2=b2:2889:3889:participant\n\
             server.4=d:2890:3890:observer\nversion=100000003",
        );
        assert_eq!(addrs.election(4), Some(("d".into(), 3890)));
        assert_eq!(addrs.quorum(4), Some(("d".into(), 2890)));
        assert_eq!(addrs.quorum(2), Some(("b2".into(), 2889)));
        assert_eq!(addrs.election(3), Some(("c".into(), 3888)));
        assert_eq!(addrs.announce(1), "a:3888");
        // A text that does not parse changes nothing.
        addrs.learn("server.5=nonsense\n");
        assert_eq!(addrs.election(5), None);
    }
}
