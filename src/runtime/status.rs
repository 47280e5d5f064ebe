//! Gathers the status snapshot from the core's state and answers the other status queries
//! (stat resets, the AdminServer's auth check). The one place that reads core state for
//! `admin/`; rendering happens elsewhere, off the core task.
//!
//! Owns: building [`Snapshot`] from the core. Must not format output.

use super::core::Core;
use super::{CoreMsg, CoreTx};
use crate::status::{
    AuthOutcome, ConnInfo, Detail, HostFacts, QuorumStatus, ServerMetrics, Snapshot, StatusHandle,
    StatusQuery,
};
pub use crate::status::{ConnStats, ServerStats};

/// A status handle that queues queries on the core's channel.
pub fn handle(core: CoreTx) -> StatusHandle {
    StatusHandle::new(move |q| core.send(CoreMsg::Status(q)).is_ok())
}

impl Core {
    /// Answers one status query.
    pub(super) fn status(&mut self, q: StatusQuery) {
        match q {
            StatusQuery::Snapshot { detail, reply } => {
                let _ = reply.send(self.snapshot(detail));
            }
            StatusQuery::ResetServerStats { reply } => {
                self.stats.reset();
                let _ = reply.send(());
            }
            StatusQuery::ResetConnStats { reply } => {
                for c in self.conns.values_mut() {
                    c.stats.reset();
                }
                let _ = reply.send(());
            }
            StatusQuery::Authorize {
                scheme,
                auth,
                client,
                perm,
                path,
                reply,
            } => {
                let _ = reply.send(self.authorize(&scheme, &auth, client, perm, &path));
            }
        }
    }

    /// ZooKeeper's AdminServer auth: the scheme's provider turns the header into ids
    /// (`ip` takes the client's address), then the node's ACL must grant `perm`.
    fn authorize(
        &self,
        scheme: &str,
        auth: &[u8],
        client: std::net::IpAddr,
        perm: i32,
        path: &str,
    ) -> AuthOutcome {
        let ids = match scheme {
            "ip" => vec![crate::proto::records::Id {
                scheme: "ip".into(),
                id: client.to_string(),
            }],
            _ => match super::auth::authenticate(scheme, auth, self.cfg.super_digest.as_deref()) {
                Some(ids) if !ids.is_empty() => ids,
                _ => return AuthOutcome::NotAuthenticated,
            },
        };
        let Some(node) = self.tree.get(path) else {
            return AuthOutcome::NoNode;
        };
        if self.cfg.skip_acl || crate::tree::acl::permits(self.tree.acl(node), perm, &ids) {
            AuthOutcome::Authorized
        } else {
            AuthOutcome::NotAuthorized
        }
    }

    /// The server's part of a snapshot; `detail` says which lists to copy.
    fn snapshot(&self, detail: Detail) -> Snapshot {
        let conns = if detail.connections {
            self.conns
                .values()
                .map(|c| ConnInfo {
                    addr: c.addr,
                    port: c.port,
                    session: c.session,
                    queued: c
                        .session
                        .and_then(|s| self.queues.get(&s))
                        .map_or(0, |q| q.len()),
                    timeout_ms: c
                        .session
                        .and_then(|s| self.sessions.get(s))
                        .map_or(0, |s| s.timeout_ms),
                    stats: c.stats.clone(),
                })
                .collect()
        } else {
            Vec::new()
        };
        let outstanding = self.queues.values().map(|q| q.len()).sum();
        // wchs/wchc/wchp show ZooKeeper's data-watch table only (child watches are not in it).
        let (watch_sessions, watch_paths, data_watch_count) = self.watches.data_watch_summary();
        let data_watches = || {
            self.watches
                .data_watches_by_path()
                .map(|(p, s)| (p.clone(), s))
        };
        Snapshot {
            config: self.cfg.clone(),
            serving: self.member.is_serving() || self.read_only_serving,
            conns,
            connection_count: self.conns.len(),
            outstanding,
            zxid: self.tree.last_zxid(),
            node_count: self.tree.node_count(),
            watch_count: self.watches.zookeeper_watch_count(),
            data_watch_count,
            watch_paths,
            watch_sessions,
            watches_by_session: if detail.watches_by_session {
                let mut by_session: std::collections::BTreeMap<i64, Vec<String>> =
                    std::collections::BTreeMap::new();
                for (path, sessions) in data_watches() {
                    for s in sessions {
                        by_session.entry(s).or_default().push(path.clone());
                    }
                }
                by_session.into_iter().collect()
            } else {
                Vec::new()
            },
            watches_by_path: if detail.watches_by_path {
                data_watches().collect()
            } else {
                Vec::new()
            },
            ephemerals: if detail.sessions {
                self.sessions
                    .iter()
                    .map(|s| (s.id, self.tree.ephemerals_of(s.id).cloned().collect()))
                    .collect()
            } else {
                Vec::new()
            },
            expiry_buckets: if detail.sessions {
                self.sessions.expiry_buckets()
            } else {
                Vec::new()
            },
            ephemeral_count: self.tree.ephemeral_count(),
            data_size: self.tree.approximate_data_size(),
            global_sessions: self.sessions.len(),
            local_sessions: self.local_session_count(),
            stats: self.stats.clone(),
            uptime_ms: self.started.elapsed().as_millis() as u64,
            metrics: ServerMetrics::global().snapshot(),
            tls: crate::status::TlsStats::global().snapshot(),
            quorum: self.quorum_status(),
            digest_enabled: self.tree.digest_enabled(),
            digests: if detail.digests {
                self.tree.digest_log().log().copied().collect()
            } else {
                Vec::new()
            },
            host: HostFacts::default(),
            quota: self.tree.quota_metrics(),
        }
    }

    /// The ensemble's part of the snapshot (none when standalone): what the quorum member
    /// knows. The leader's learner counts and proposal sizes (`LeaderStatus`) and the
    /// learner sync mode are not reported by the member yet.
    fn quorum_status(&self) -> Option<QuorumStatus> {
        use crate::quorum::member::Mode;
        use crate::status::quorum::{PeerState, SyncMode, ViewMember, ZabState};
        let state = match self.member.mode() {
            Mode::Standalone => return None,
            Mode::Looking => PeerState::Looking,
            Mode::Leading => PeerState::Leading,
            Mode::Following => PeerState::Following,
            Mode::Observing => PeerState::Observing,
        };
        let zab_state = match self.member.zab_state() {
            "DISCOVERY" => ZabState::Discovery,
            "SYNCHRONIZATION" => ZabState::Synchronization,
            "BROADCAST" => ZabState::Broadcast,
            _ => ZabState::Election,
        };
        let addr = |host: &str, port: u16| {
            if host.contains(':') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            }
        };
        let client = |spec: &crate::config::ServerSpec| match spec.client_port {
            Some(port) => addr(spec.client_host.as_deref().unwrap_or("0.0.0.0"), port),
            None => String::new(),
        };
        let me = self.cfg.me();
        let leader_id = self.member.leader();
        let voting_view: Vec<ViewMember> = self
            .cfg
            .servers
            .values()
            .filter(|s| s.peer_type == crate::config::PeerType::Participant)
            .map(|s| ViewMember {
                sid: s.id,
                server_addresses: vec![addr(&s.host, s.quorum_port)],
                election_addresses: vec![addr(&s.host, s.election_port)],
                client_address: client(s),
                observer: false,
            })
            .collect();
        Some(QuorumStatus {
            state,
            zab_state,
            sync_mode: SyncMode::None,
            read_only: self.read_only_serving,
            leader_id,
            leader_address: leader_id
                .and_then(|id| self.cfg.servers.get(&id))
                .map(|s| s.host.clone()),
            voting: me.is_some_and(|s| s.peer_type == crate::config::PeerType::Participant),
            quorum_address: me.map(|s| addr(&s.host, s.quorum_port)).unwrap_or_default(),
            election_address: me
                .map(|s| addr(&s.host, s.election_port))
                .unwrap_or_default(),
            client_address: me.map(client).unwrap_or_default(),
            quorum_size: self.member.view().voter_count(),
            voting_view,
            leader: self.leader_status(),
            follower_observers: None,
        })
    }

    /// What a leader reports about its learners (`mntr`'s leader gauges, `srvr`'s proposal
    /// sizes); `None` unless leading.
    fn leader_status(&self) -> Option<crate::status::quorum::LeaderStatus> {
        if self.member.mode() != crate::quorum::member::Mode::Leading {
            return None;
        }
        let learners = self.member.learners();
        let view = self.member.view();
        let synced = |f: &dyn Fn(&crate::quorum::leader::LearnerStatus) -> bool| {
            learners.iter().filter(|l| l.synced && f(l)).count()
        };
        let voter = |l: &crate::quorum::leader::LearnerStatus| {
            !l.observer && l.sid.is_some_and(|s| view.is_voter(s))
        };
        Some(crate::status::quorum::LeaderStatus {
            learners: learners.len(),
            synced_followers: synced(&|l| voter(l)),
            synced_non_voting_followers: synced(&|l| !l.observer && !voter(l)),
            synced_observers: synced(&|l| l.observer),
            pending_syncs: self.member.pending_syncs(),
            uptime_ms: self
                .leader_since
                .map_or(0, |t| t.elapsed().as_millis() as u64),
            proposal_sizes: self.proposal_sizes,
            observers: learners
                .iter()
                .filter(|l| l.observer)
                .filter_map(|l| self.learner_info(l))
                .collect(),
        })
    }

    /// One learner as `LearnerHandler.getLearnerHandlerInfo` shows it; `None` until it has
    /// said who it is or when its connection is gone.
    fn learner_info(
        &self,
        l: &crate::quorum::leader::LearnerStatus,
    ) -> Option<crate::status::quorum::LearnerInfo> {
        use std::sync::atomic::Ordering::Relaxed;
        let sid = l.sid?;
        let s = self.ensemble.as_ref()?.links.get(&l.link)?.stats();
        Some(crate::status::quorum::LearnerInfo {
            remote_socket_address: s.remote.clone(),
            sid,
            established: s.established_ms,
            queued_packets: s.queued.load(Relaxed).max(0) as usize,
            queued_packets_size: s.queued_bytes.load(Relaxed).max(0) as u64,
            packets_received: s.packets_received.load(Relaxed),
            packets_sent: s.packets_sent.load(Relaxed),
            requests: s.requests.load(Relaxed),
            last_zxid: s.last_zxid.load(Relaxed),
        })
    }
}
