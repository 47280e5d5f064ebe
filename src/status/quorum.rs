//! What an ensemble member adds to the status snapshot: its peer state, ZAB phase, the
//! voting view and, on a leader, its learners. A standalone server has none of it
//! (`Snapshot::quorum` is `None`); the ensemble runtime fills it in.
//!
//! The names follow ZooKeeper's (`QuorumPeer.ServerState`, `ZabState`, `SyncMode`,
//! `LearnerHandler.getLearnerHandlerInfo`) so the renderers can print Apache's words.
//!
//! Owns: the quorum part of the snapshot. Must not render or decide anything.

use super::stats::BufferStats;

/// `QuorumPeer.ServerState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerState {
    Looking,
    Following,
    Leading,
    Observing,
}

impl PeerState {
    /// ZooKeeper's lower-case name (`getDetailedPeerState`).
    pub fn name(self) -> &'static str {
        match self {
            PeerState::Looking => "looking",
            PeerState::Following => "following",
            PeerState::Leading => "leading",
            PeerState::Observing => "observing",
        }
    }
}

/// `QuorumPeer.ZabState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZabState {
    Election,
    Discovery,
    Synchronization,
    Broadcast,
}

impl ZabState {
    pub fn name(self) -> &'static str {
        match self {
            ZabState::Election => "election",
            ZabState::Discovery => "discovery",
            ZabState::Synchronization => "synchronization",
            ZabState::Broadcast => "broadcast",
        }
    }
}

/// `QuorumPeer.SyncMode`: how a learner is being brought up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    None,
    Diff,
    Snap,
    Trunc,
}

impl SyncMode {
    pub fn name(self) -> &'static str {
        match self {
            SyncMode::None => "none",
            SyncMode::Diff => "diff",
            SyncMode::Snap => "snap",
            SyncMode::Trunc => "trunc",
        }
    }
}

/// One `server.N` of the current voting view (AdminServer `voting_view`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewMember {
    pub sid: u64,
    /// `host:quorumPort` entries.
    pub server_addresses: Vec<String>,
    /// `host:electionPort` entries.
    pub election_addresses: Vec<String>,
    /// `host:clientPort`, empty when not configured.
    pub client_address: String,
    /// `participant` or `observer`.
    pub observer: bool,
}

/// One learner connection as a leader (or observer master) sees it
/// (`LearnerHandler.getLearnerHandlerInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnerInfo {
    pub remote_socket_address: String,
    pub sid: u64,
    /// Epoch milliseconds.
    pub established: i64,
    pub queued_packets: usize,
    pub queued_packets_size: u64,
    pub packets_received: u64,
    pub packets_sent: u64,
    pub requests: u64,
    pub last_zxid: i64,
}

/// What only a leader reports (`LeaderZooKeeperServer` gauges, `srvr`'s proposal sizes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderStatus {
    pub learners: usize,
    pub synced_followers: usize,
    pub synced_non_voting_followers: usize,
    pub synced_observers: usize,
    pub pending_syncs: usize,
    pub uptime_ms: u64,
    /// Sizes of the proposals sent (`Proposal sizes last/min/max`), -1 before the first.
    pub proposal_sizes: BufferStats,
    /// Observers connected to this leader (AdminServer `observers`).
    pub observers: Vec<LearnerInfo>,
}

/// An ensemble member's part of the status snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumStatus {
    pub state: PeerState,
    pub zab_state: ZabState,
    pub sync_mode: SyncMode,
    /// Serving read-only (partitioned, `readonlymode.enabled`).
    pub read_only: bool,
    pub leader_id: Option<u64>,
    /// The leader's address as the peer knows it (`leader_ip`), if any.
    pub leader_address: Option<String>,
    /// This server is a voter in the current view with the addresses it runs on.
    pub voting: bool,
    pub quorum_address: String,
    pub election_address: String,
    pub client_address: String,
    /// `QuorumPeer.getQuorumSize`: the number of voters.
    pub quorum_size: usize,
    pub voting_view: Vec<ViewMember>,
    /// Set on a leader.
    pub leader: Option<LeaderStatus>,
    /// Observers synced through this follower acting as observer master, if it is one.
    pub follower_observers: Option<Vec<LearnerInfo>>,
}

impl QuorumStatus {
    /// `ServerStats.getServerState`: what `srvr` prints after `Mode:` and `mntr` after
    /// `zk_server_state`.
    pub fn server_state(&self) -> &'static str {
        if self.read_only {
            return "read-only";
        }
        match self.state {
            PeerState::Leading => "leader",
            PeerState::Following => "follower",
            PeerState::Observing => "observer",
            PeerState::Looking => "looking",
        }
    }

    /// `QuorumPeer.getDetailedPeerState`: `following - broadcast`, `leading - synchronization
    /// - snap`, or just `looking`.
    pub fn detailed_peer_state(&self) -> String {
        let mut s = self.state.name().to_string();
        if self.zab_state != ZabState::Election {
            s.push_str(" - ");
            s.push_str(self.zab_state.name());
        }
        if self.sync_mode != SyncMode::None {
            s.push_str(" - ");
            s.push_str(self.sync_mode.name());
        }
        s
    }

    /// Observers synced through this server (leader, or follower as observer master).
    pub fn synced_observers(&self) -> Option<(usize, &[LearnerInfo])> {
        if let Some(l) = &self.leader {
            return Some((l.synced_observers, &l.observers));
        }
        self.follower_observers
            .as_ref()
            .map(|o| (o.len(), o.as_slice()))
    }
}

#[cfg(test)]
pub(crate) mod sample {
    //! A leader's status for the renderers' tests.
    use super::*;

    pub fn leader() -> QuorumStatus {
        QuorumStatus {
            state: PeerState::Leading,
            zab_state: ZabState::Broadcast,
            sync_mode: SyncMode::None,
            read_only: false,
            leader_id: Some(2),
            leader_address: Some("10.0.0.2".into()),
            voting: true,
            quorum_address: "10.0.0.2:2888".into(),
            election_address: "10.0.0.2:3888".into(),
            client_address: "0.0.0.0:2181".into(),
            quorum_size: 3,
            voting_view: vec![ViewMember {
                sid: 1,
                server_addresses: vec!["10.0.0.1:2888".into()],
                election_addresses: vec!["10.0.0.1:3888".into()],
                client_address: "10.0.0.1:2181".into(),
                observer: false,
            }],
            leader: Some(LeaderStatus {
                learners: 3,
                synced_followers: 2,
                synced_non_voting_followers: 0,
                synced_observers: 1,
                pending_syncs: 0,
                uptime_ms: 5000,
                proposal_sizes: BufferStats {
                    last: 36,
                    min: 32,
                    max: 120,
                },
                observers: vec![LearnerInfo {
                    remote_socket_address: "10.0.0.4:41000".into(),
                    sid: 4,
                    established: 1_700_000_000_000,
                    queued_packets: 0,
                    queued_packets_size: 0,
                    packets_received: 10,
                    packets_sent: 12,
                    requests: 1,
                    last_zxid: 0x1_0000_0005,
                }],
            }),
            follower_observers: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detailed_peer_state_reads_like_zookeepers() {
        let mut q = sample::leader();
        assert_eq!(q.detailed_peer_state(), "leading - broadcast");
        q.state = PeerState::Following;
        q.zab_state = ZabState::Synchronization;
        q.sync_mode = SyncMode::Snap;
        assert_eq!(
            q.detailed_peer_state(),
            "following - synchronization - snap"
        );
        q.state = PeerState::Looking;
        q.zab_state = ZabState::Election;
        q.sync_mode = SyncMode::None;
        assert_eq!(q.detailed_peer_state(), "looking");
        assert_eq!(q.server_state(), "looking");
        q.read_only = true;
        assert_eq!(q.server_state(), "read-only");
    }
}
