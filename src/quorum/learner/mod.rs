//! A follower or observer (`Learner`, `Follower`, `Observer`): connect to the elected leader
//! and register (`register`), receive its history (`sync`), then log, acknowledge and apply
//! the broadcast (`broadcast`). Observers never ACK proposals; they get committed txns as
//! INFORM packets.

mod activate;
mod broadcast;
mod register;
mod sync;

use std::collections::VecDeque;

use bytes::Bytes;

use super::action::{Action, Input, LinkId};
use super::view::QuorumView;
use super::{Sid, Timing};

/// Why a learner gave up on its leader; the member goes back to LOOKING.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Abandon(pub String);

/// Where the learner is in `Learner.connectToLeader` / `registerWithLeader` /
/// `syncWithLeader` / the main loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Connecting,
    /// FOLLOWERINFO sent, LEADERINFO expected.
    Registering,
    /// ACKEPOCH sent; DIFF, TRUNC or SNAP expected.
    AwaitSync,
    /// Receiving sync packets until NEWLEADER.
    Syncing,
    /// NEWLEADER received; logging its txns before acknowledging.
    NewLeaderFsync,
    /// NEWLEADER acknowledged; UPTODATE expected.
    AwaitUpToDate,
    Broadcast,
}

impl Phase {
    pub fn zab_state(self) -> &'static str {
        match self {
            Phase::Connecting | Phase::Registering => "DISCOVERY",
            Phase::Broadcast => "BROADCAST",
            _ => "SYNCHRONIZATION",
        }
    }
}

/// Tries to connect to the leader before giving up (`Learner.connectToLeader`).
const CONNECT_ATTEMPTS: u32 = 5;
/// Pause between connection attempts (`zookeeper.leaderConnectDelayDuringRetryMs`).
const CONNECT_RETRY_MS: u64 = 100;

/// What a learner works with besides its own state.
pub struct Ctx<'a> {
    pub now: u64,
    pub out: &'a mut Vec<Action>,
}

/// The epochs and zxid a learner registers with, and updates as it syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LearnerState {
    pub accepted_epoch: i64,
    pub current_epoch: i64,
    /// Last zxid logged (and, after a SNAP or TRUNC, the zxid the state was set to).
    pub last_zxid: i64,
}

pub struct Learner {
    me: Sid,
    observer: bool,
    leader: Sid,
    link: LinkId,
    view: QuorumView,
    timing: Timing,
    phase: Phase,
    state: LearnerState,
    /// The epoch LEADERINFO announced.
    new_epoch: i64,
    attempts: u32,
    retry_at: Option<u64>,
    /// Give up on connecting at this time.
    connect_deadline: u64,
    /// Nothing heard from the leader by then ⇒ abandon (socket read timeout).
    read_deadline: u64,
    /// SNAP or TRUNC: commits before NEWLEADER are applied at once and a snapshot is taken.
    snapshot_needed: bool,
    /// Sync proposals not yet committed (`packetsNotCommitted`).
    not_committed: VecDeque<(i64, Bytes)>,
    /// Sync commits to apply after UPTODATE (`packetsCommitted`).
    committed: VecDeque<i64>,
    /// Txns logged at NEWLEADER, ACKed after UPTODATE (3.8.5+ order).
    to_ack_after_uptodate: Vec<i64>,
    /// Waiting for the log to be durable up to this zxid before ACKing NEWLEADER.
    newleader_fsync: Option<i64>,
    /// Broadcast: logged txns waiting for their COMMIT, in zxid order.
    pending: VecDeque<(i64, Bytes)>,
    /// Broadcast: logged txns not yet ACKed (waiting for durability).
    unacked: VecDeque<i64>,
    /// A SNAP replaced the state in memory only; until NEWLEADER's snapshot makes it durable,
    /// the disk still holds the state at this zxid (Apache reloads it if the sync fails).
    undurable_snap: Option<i64>,
    last_queued: i64,
    /// `reconfigEnabled`: configurations from the leader are activated.
    reconfig_enabled: bool,
    /// The configuration NEWLEADER carried, activated at UPTODATE when newer.
    newleader_view: Option<QuorumView>,
    /// The sync showed every txn up to this zxid committed (DIFF/TRUNC/SNAP, COMMITs, INFORMs).
    sync_committed: i64,
    /// Proposed reconfig txns' configurations by zxid, activated at COMMITANDACTIVATE.
    reconfigs: std::collections::BTreeMap<i64, QuorumView>,
}

/// Who a learner is and whom it follows.
#[derive(Debug, Clone)]
pub struct LearnerSetup {
    pub me: Sid,
    pub observer: bool,
    pub leader: Sid,
    /// The link id to dial the leader with.
    pub link: LinkId,
    pub view: QuorumView,
    pub timing: Timing,
    pub state: LearnerState,
    /// `reconfigEnabled`.
    pub reconfig_enabled: bool,
}

impl Learner {
    pub fn new(setup: LearnerSetup, now: u64, out: &mut Vec<Action>) -> Learner {
        let LearnerSetup {
            me,
            observer,
            leader,
            link,
            view,
            timing,
            state,
            reconfig_enabled,
        } = setup;
        out.push(Action::ConnectToLeader { link, leader });
        Learner {
            me,
            observer,
            leader,
            link,
            view,
            timing,
            phase: Phase::Connecting,
            state,
            new_epoch: 0,
            attempts: 1,
            retry_at: None,
            connect_deadline: now + timing.init_ms(),
            read_deadline: u64::MAX,
            snapshot_needed: false,
            not_committed: VecDeque::new(),
            committed: VecDeque::new(),
            to_ack_after_uptodate: Vec::new(),
            newleader_fsync: None,
            pending: VecDeque::new(),
            unacked: VecDeque::new(),
            undurable_snap: None,
            last_queued: 0,
            reconfig_enabled,
            newleader_view: None,
            sync_committed: 0,
            reconfigs: Default::default(),
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn leader(&self) -> Sid {
        self.leader
    }

    pub fn link(&self) -> LinkId {
        self.link
    }

    pub fn state(&self) -> LearnerState {
        self.state
    }

    pub fn new_epoch(&self) -> i64 {
        self.new_epoch
    }

    pub fn is_observer(&self) -> bool {
        self.observer
    }

    pub fn is_serving(&self) -> bool {
        self.phase == Phase::Broadcast
    }

    /// Txns waiting for a COMMIT (for `mntr` and tests).
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// One input while following or observing.
    pub fn step(&mut self, input: Input, ctx: &mut Ctx) -> Result<(), Abandon> {
        match input {
            Input::Tick => self.tick(ctx),
            Input::LeaderConnected { link } if link == self.link => self.connected(ctx),
            Input::LinkClosed { link } if link == self.link => self.link_closed(ctx),
            Input::Packet { link, packet } if link == self.link => {
                self.read_deadline = ctx.now + self.read_timeout();
                self.on_packet(packet, ctx)
            }
            Input::Snapshot { link, zxid, body } if link == self.link => {
                self.read_deadline = ctx.now + self.read_timeout();
                self.snapshot(zxid, body, ctx)
            }
            Input::Persisted { zxid } => self.persisted(zxid, ctx),
            _ => Ok(()),
        }
    }

    /// Leaving the role: the txns this learner logged that were never applied, and, if a
    /// SNAP was loaded but not yet made durable, the zxid of the state still on disk (which
    /// must be reloaded: the leader's state was never acknowledged).
    pub fn shutdown(
        &mut self,
        reason: &str,
        out: &mut Vec<Action>,
    ) -> (Vec<(i64, Bytes)>, Option<i64>) {
        out.push(Action::Close {
            link: self.link,
            reason: reason.to_string(),
        });
        self.phase = Phase::Connecting;
        let logged = std::mem::take(&mut self.pending).into_iter().collect();
        (logged, self.undurable_snap.take())
    }

    /// Socket read timeout: initLimit ticks until NEWLEADER, syncLimit until UPTODATE, then
    /// `Timing::leader_silence_ms` (a leader in broadcast pings every half tick).
    fn read_timeout(&self) -> u64 {
        match self.phase {
            Phase::Connecting | Phase::Registering | Phase::AwaitSync | Phase::Syncing => {
                self.timing.init_ms()
            }
            Phase::Broadcast => self.timing.leader_silence_ms(),
            _ => self.timing.sync_ms(),
        }
    }

    fn send(&self, packet: super::wire::QuorumPacket, ctx: &mut Ctx) {
        ctx.out.push(Action::Send {
            link: self.link,
            packet,
        });
    }

    fn tick(&mut self, ctx: &mut Ctx) -> Result<(), Abandon> {
        if self.phase == Phase::Connecting {
            if let Some(at) = self.retry_at {
                if ctx.now >= at {
                    self.retry_at = None;
                    self.attempts += 1;
                    ctx.out.push(Action::ConnectToLeader {
                        link: self.link,
                        leader: self.leader,
                    });
                }
            }
            if ctx.now >= self.connect_deadline {
                return Err(Abandon(format!(
                    "could not connect to leader {} within initLimit",
                    self.leader
                )));
            }
            return Ok(());
        }
        if ctx.now > self.read_deadline {
            return Err(Abandon(format!(
                "no packet from leader {} for {} ms (Read timed out)",
                self.leader,
                self.read_timeout()
            )));
        }
        Ok(())
    }

    fn link_closed(&mut self, ctx: &mut Ctx) -> Result<(), Abandon> {
        if self.phase == Phase::Connecting && self.attempts < CONNECT_ATTEMPTS {
            self.retry_at = Some(ctx.now + CONNECT_RETRY_MS);
            return Ok(());
        }
        Err(Abandon(format!(
            "connection to leader {} closed",
            self.leader
        )))
    }
}

/// The zxid in a txn's header (`TxnHeader{long clientId, int cxid, long zxid, ...}`).
pub(crate) fn txn_zxid(txn: &[u8]) -> Option<i64> {
    let b: [u8; 8] = txn.get(12..20)?.try_into().ok()?;
    Some(i64::from_be_bytes(b))
}

#[cfg(test)]
mod tests;
