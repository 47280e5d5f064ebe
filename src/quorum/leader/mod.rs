//! The leader (`Leader` + its `LearnerHandler`s): discovery of a new epoch with a quorum
//! (`discovery`), bringing each learner to the leader's history (`sync`), and the broadcast of
//! proposals with quorum commit, pings and liveness (`broadcast`). Per-learner protocol state
//! lives in `handler`.
//!
//! A standalone server is a leader of a quorum of one that starts in broadcast: the same
//! propose → persist → self-ACK → commit → apply path, with no peers.

mod barrier;
mod broadcast;
mod discovery;
mod handler;
mod reconfig;
mod sync;

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

use super::action::{Action, Input, LinkId, LogSource};
use super::history::CommittedLog;
use super::view::QuorumView;
use super::zxid::make_zxid;
use super::{Sid, Timing};
use handler::Handler;

/// Why a leader gave up; the member goes back to LOOKING.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Abdicate(pub String);

/// Where the leader is in `Leader.lead()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for a quorum to report accepted epochs (FOLLOWERINFO).
    Discovery,
    /// Epoch chosen; waiting for a quorum of ACKEPOCH.
    EpochAcks,
    /// Learners are syncing; waiting for a quorum of NEWLEADER ACKs.
    Sync,
    /// Established: proposing and committing.
    Broadcast,
}

impl Phase {
    /// ZooKeeper's `ZabState` name.
    pub fn zab_state(self) -> &'static str {
        match self {
            Phase::Discovery | Phase::EpochAcks => "DISCOVERY",
            Phase::Sync => "SYNCHRONIZATION",
            Phase::Broadcast => "BROADCAST",
        }
    }
}

/// A proposal not yet committed.
#[derive(Debug, Clone)]
struct Proposal {
    txn: Bytes,
    acks: BTreeSet<Sid>,
    /// While a reconfig is pending, the configuration it installs: this proposal needs a
    /// quorum of it as well as of the current one (`hasAllQuorums`).
    next_view: Option<QuorumView>,
    /// This proposal is the reconfig itself: its commit activates `next_view`.
    activates: bool,
}

/// What the leader works with besides its own state.
pub struct Ctx<'a> {
    pub now: u64,
    pub out: &'a mut Vec<Action>,
    pub committed: &'a mut CommittedLog,
    pub log: &'a dyn LogSource,
    /// The state machine's last applied zxid (for SNAP and empty DIFFs).
    pub last_applied: i64,
}

/// A learner's sync status, for `mntr` and the admin commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnerStatus {
    /// The connection (the runtime knows its address and packet counts).
    pub link: LinkId,
    pub sid: Option<Sid>,
    pub observer: bool,
    pub synced: bool,
}

pub struct Leader {
    me: Sid,
    view: QuorumView,
    timing: Timing,
    phase: Phase,
    /// When the current discovery/sync wait gives up (initLimit).
    phase_deadline: u64,
    /// (currentEpoch, last zxid) when leading started: learners must not be ahead of it.
    summary: (i64, i64),
    accepted_epoch: i64,
    /// Candidate epoch: one above every accepted epoch reported so far.
    proposed_epoch: i64,
    epoch: Option<i64>,
    connecting: BTreeSet<Sid>,
    electing: BTreeSet<Sid>,
    newleader_acks: BTreeSet<Sid>,
    learners: BTreeMap<LinkId, Handler>,
    last_proposed: i64,
    last_committed: i64,
    outstanding: BTreeMap<i64, Proposal>,
    /// Learner `sync`s answered once this zxid commits.
    pending_syncs: BTreeMap<i64, Vec<LinkId>>,
    /// `sync`s waiting for a quorum to confirm the leadership.
    barrier: barrier::Barrier,
    next_ping: u64,
    next_check: u64,
    /// Alternates so that liveness is checked every full tick while pings go every half.
    tick_skip: bool,
    force_snap: bool,
    standalone: bool,
    /// `reconfigEnabled`: configurations get versions and can be replaced.
    reconfig_enabled: bool,
    /// `lastSeenQuorumVerifier` when newer than `view`: a proposed reconfig's configuration.
    last_seen: Option<QuorumView>,
}

impl Leader {
    /// Starts `lead()`: the leader registers its own accepted epoch and waits for learners.
    /// `last_seen`: a reconfig proposed before this epoch and not known to be in force; the
    /// new epoch needs a quorum of it too, and puts it in force once established (Apache's
    /// `lead()` with `lastSeenQuorumVerifier` newer than the configuration in force), if
    /// its reconfig txn is in this leader's log (`resume`).
    pub fn new(
        me: Sid,
        (view, last_seen): (QuorumView, Option<QuorumView>),
        timing: Timing,
        epochs: (i64, i64),
        last_zxid: i64,
        (force_snap, reconfig_enabled): (bool, bool),
        ctx: &mut Ctx,
    ) -> Result<Leader, Abdicate> {
        let (accepted_epoch, current_epoch) = epochs;
        let mut l = Leader {
            me,
            view,
            timing,
            phase: Phase::Discovery,
            phase_deadline: ctx.now + timing.init_ms(),
            summary: (current_epoch, last_zxid),
            accepted_epoch,
            proposed_epoch: -1,
            epoch: None,
            connecting: BTreeSet::new(),
            electing: BTreeSet::new(),
            newleader_acks: BTreeSet::new(),
            learners: BTreeMap::new(),
            last_proposed: last_zxid,
            last_committed: last_zxid,
            outstanding: BTreeMap::new(),
            pending_syncs: BTreeMap::new(),
            barrier: barrier::Barrier::default(),
            next_ping: 0,
            next_check: 0,
            tick_skip: true,
            force_snap,
            standalone: false,
            reconfig_enabled,
            last_seen: None,
        };
        if reconfig_enabled {
            l.resume(last_seen, last_zxid, ctx);
        }
        l.offer_epoch(me, accepted_epoch, false, ctx)?;
        Ok(l)
    }

    /// A standalone server: established at once, continuing after `last_zxid`.
    pub fn standalone(me: Sid, last_zxid: i64) -> Leader {
        Leader {
            me,
            view: QuorumView::single(me),
            timing: Timing::default(),
            phase: Phase::Broadcast,
            phase_deadline: u64::MAX,
            summary: (0, last_zxid),
            accepted_epoch: 0,
            proposed_epoch: 0,
            epoch: Some(super::zxid::epoch_of(last_zxid)),
            connecting: BTreeSet::new(),
            electing: BTreeSet::new(),
            newleader_acks: BTreeSet::new(),
            learners: BTreeMap::new(),
            last_proposed: last_zxid,
            last_committed: last_zxid,
            outstanding: BTreeMap::new(),
            pending_syncs: BTreeMap::new(),
            barrier: barrier::Barrier::default(),
            next_ping: u64::MAX,
            next_check: u64::MAX,
            tick_skip: true,
            force_snap: false,
            standalone: true,
            reconfig_enabled: false,
            last_seen: None,
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn epoch(&self) -> Option<i64> {
        self.epoch
    }

    pub fn is_established(&self) -> bool {
        self.phase == Phase::Broadcast
    }

    pub fn last_proposed(&self) -> i64 {
        self.last_proposed
    }

    pub fn last_committed(&self) -> i64 {
        self.last_committed
    }

    pub fn outstanding_count(&self) -> usize {
        self.outstanding.len()
    }

    /// `sync`s waiting for a leadership confirmation or (learners') for a commit.
    pub fn pending_sync_count(&self) -> usize {
        self.pending_syncs.values().map(Vec::len).sum::<usize>() + self.barrier.waiting()
    }

    pub fn learners(&self) -> Vec<LearnerStatus> {
        self.learners
            .iter()
            .map(|(&link, h)| LearnerStatus {
                link,
                sid: h.sid,
                observer: h.observer,
                synced: h.is_synced(),
            })
            .collect()
    }

    /// One input while leading.
    pub fn step(&mut self, input: Input, ctx: &mut Ctx) -> Result<(), Abdicate> {
        match input {
            Input::Tick => self.tick(ctx),
            Input::LearnerConnected { link } => {
                let h = Handler::new(ctx.now, &self.timing);
                self.learners.insert(link, h);
                Ok(())
            }
            Input::Packet { link, packet } => self.on_packet(link, packet, ctx),
            Input::LinkClosed { link } => {
                self.drop_learner(link, "connection closed", ctx);
                Ok(())
            }
            Input::Persisted { zxid } => self.self_ack(zxid, ctx),
            // Election traffic is the member's business; learners never send snapshots.
            Input::Notification { .. }
            | Input::LeaderConnected { .. }
            | Input::Snapshot { .. }
            | Input::PeerUp { .. }
            | Input::PeerDown { .. } => Ok(()),
        }
    }

    /// The zxid for the next proposal, or `None` if not established or if the epoch's counter
    /// is exhausted (then the leader must abdicate so that a new epoch starts).
    pub fn next_zxid(&self) -> Result<Option<i64>, Abdicate> {
        if self.phase != Phase::Broadcast {
            return Ok(None);
        }
        if !self.view.is_voter(self.me) {
            return Err(Abdicate(Self::NOT_A_VOTER.into()));
        }
        let next = self.last_proposed + 1;
        if !self.standalone && super::zxid::counter_of(next) == super::zxid::MAX_COUNTER {
            return Err(Abdicate(
                "zxid lower 32 bits have rolled over, forcing re-election, and therefore new epoch start"
                    .into(),
            ));
        }
        Ok(Some(next))
    }

    /// Closes every learner link (the leader is stepping down).
    pub fn shutdown(&mut self, reason: &str, out: &mut Vec<Action>) -> Vec<(i64, Bytes)> {
        for link in std::mem::take(&mut self.learners).into_keys() {
            out.push(Action::Close {
                link,
                reason: reason.to_string(),
            });
        }
        std::mem::take(&mut self.outstanding)
            .into_iter()
            .map(|(z, p)| (z, p.txn))
            .collect()
    }

    /// The new epoch's first zxid (`epoch << 32`), once chosen.
    fn epoch_zxid(&self) -> Option<i64> {
        self.epoch.map(|e| make_zxid(e, 0))
    }

    fn drop_learner(&mut self, link: LinkId, reason: &str, ctx: &mut Ctx) {
        if let Some(h) = self.learners.remove(&link) {
            tracing::warn!(sid = ?h.sid, reason, "******* GOODBYE learner *******");
            ctx.out.push(Action::Close {
                link,
                reason: reason.to_string(),
            });
        }
        for links in self.pending_syncs.values_mut() {
            links.retain(|l| *l != link);
        }
        self.barrier.forget(link);
    }
}

#[cfg(test)]
mod tests;
