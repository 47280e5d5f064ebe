//! One learner as the leader sees it (`LearnerHandler`): where it is in the handshake, its
//! deadlines, and the proposal it owes an ACK for (`SyncLimitCheck`).

use super::super::wire::QuorumPacket;
use super::super::{Sid, Timing};

/// The handshake step a learner is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HState {
    /// Connected; FOLLOWERINFO/OBSERVERINFO expected.
    AwaitInfo,
    /// Reported its accepted epoch; waiting for the epoch to be chosen.
    AwaitEpoch,
    /// LEADERINFO sent; ACKEPOCH expected.
    AwaitAckEpoch,
    /// ACKEPOCH received; waiting for a quorum of them before syncing.
    AwaitEpochQuorum,
    /// Sync packets and NEWLEADER sent; its ACK must be the next packet.
    AwaitNewLeaderAck,
    /// Acknowledged NEWLEADER; UPTODATE goes out once the leader is established.
    AwaitStartup,
    /// Synced: ACKs, PINGs, REVALIDATEs and REQUESTs.
    Broadcast,
}

#[derive(Debug, Clone)]
pub struct Handler {
    pub sid: Option<Sid>,
    pub observer: bool,
    pub state: HState,
    /// Its last logged zxid (from ACKEPOCH).
    pub peer_zxid: i64,
    /// No packet by then ⇒ the connection is dropped (the socket read timeout: initLimit
    /// ticks until NEWLEADER is acknowledged, syncLimit after).
    pub read_deadline: u64,
    /// Counted as in sync until then (`tickOfNextAckDeadline`), pushed on by every packet.
    pub ack_deadline: u64,
    /// Gets live PROPOSAL/COMMIT (or INFORM) packets.
    pub forwarding: bool,
    /// NEWLEADER is queued, so it is pinged.
    pub pinged: bool,
    /// COMMITs held back between NEWLEADER and UPTODATE, sent right after UPTODATE: an Apache
    /// 3.8.0 learner clears its list of proposals when it logs them at NEWLEADER and then
    /// crashes (NullPointerException, ZOOKEEPER-4394) on a COMMIT that arrives before UPTODATE.
    pub held_commits: Vec<QuorumPacket>,
    /// PINGs sent since UPTODATE, and the replies to them (`barrier`).
    pub pings_sent: u64,
    pub pings_answered: u64,
    /// `SyncLimitCheck`: the oldest and the next un-ACKed proposal with the time sent.
    check_started: bool,
    current: Option<(i64, u64)>,
    next: Option<(i64, u64)>,
}

impl Handler {
    pub fn new(now: u64, t: &Timing) -> Handler {
        Handler {
            sid: None,
            observer: false,
            state: HState::AwaitInfo,
            peer_zxid: -1,
            read_deadline: now + t.init_ms(),
            ack_deadline: now + t.init_ms() + t.sync_ms(),
            forwarding: false,
            pinged: false,
            held_commits: Vec::new(),
            pings_sent: 0,
            pings_answered: 0,
            check_started: false,
            current: None,
            next: None,
        }
    }

    /// Any packet from the learner.
    pub fn heard(&mut self, now: u64, t: &Timing) {
        let limit = if self.check_started {
            t.sync_ms()
        } else {
            t.init_ms()
        };
        self.read_deadline = now + limit;
        if self.check_started {
            self.ack_deadline = now + t.sync_ms();
        }
    }

    /// NEWLEADER was acknowledged: from now on the learner must keep up within syncLimit.
    pub fn start_sync_limit(&mut self, now: u64, t: &Timing) {
        self.check_started = true;
        self.read_deadline = now + t.sync_ms();
        self.ack_deadline = now + t.sync_ms();
    }

    pub fn is_synced(&self) -> bool {
        matches!(self.state, HState::AwaitStartup | HState::Broadcast)
    }

    /// Counts toward the leader's quorum at `now` (`LearnerHandler.synced`).
    pub fn alive_voter(&self, now: u64) -> Option<Sid> {
        match self.sid {
            Some(s) if !self.observer && now <= self.ack_deadline => Some(s),
            _ => None,
        }
    }

    /// A PROPOSAL was queued to this learner.
    pub fn proposal_sent(&mut self, zxid: i64, now: u64) {
        if !self.check_started {
            return;
        }
        if self.current.is_none() {
            self.current = Some((zxid, now));
        } else {
            self.next = Some((zxid, now));
        }
    }

    /// An ACK arrived.
    pub fn acked(&mut self, zxid: i64) {
        if self.current.is_some_and(|(z, _)| z == zxid) {
            self.current = self.next.take();
        } else if self.next.is_some_and(|(z, _)| z == zxid) {
            self.next = None;
        }
    }

    /// False once the oldest un-ACKed proposal is older than syncLimit ("transaction timeout").
    pub fn within_sync_limit(&self, now: u64, t: &Timing) -> bool {
        self.current
            .is_none_or(|(_, sent)| now.saturating_sub(sent) < t.sync_ms())
    }
}
