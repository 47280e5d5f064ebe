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

/// Where each member listens, as zoo.cfg's `server.N` lines say.
#[derive(Debug, Clone)]
pub struct PeerAddrs {
    /// `host:port` of each member's election port, as written (resolved at dial time).
    pub election: HashMap<Sid, (String, u16)>,
    /// `host:port` of each member's quorum port.
    pub quorum: HashMap<Sid, (String, u16)>,
    /// Plain TCP or TLS (`sslQuorum`), for dialling and accepting members.
    pub transport: stream::Transport,
    /// Quorum SASL (`quorum.auth.*`) on both ports.
    pub auth: auth::PeerAuth,
}

impl PeerAddrs {
    pub fn from_config(cfg: &Config) -> PeerAddrs {
        let mut election = HashMap::new();
        let mut quorum = HashMap::new();
        for (id, s) in &cfg.servers {
            election.insert(*id, (s.host.clone(), s.election_port));
            quorum.insert(*id, (s.host.clone(), s.quorum_port));
        }
        PeerAddrs {
            election,
            quorum,
            transport: stream::Transport::default(),
            auth: None,
        }
    }

    /// This member's election address as it announces it (`host:port`, IPv6 in brackets).
    pub fn announce(&self, me: Sid) -> String {
        match self.election.get(&me) {
            Some((h, p)) if h.contains(':') => format!("[{h}]:{p}"),
            Some((h, p)) => format!("{h}:{p}"),
            None => String::new(),
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
