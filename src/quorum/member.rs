//! One ensemble member (`QuorumPeer.run`): elects while LOOKING, then runs the role it was
//! elected to (leader, follower or observer) until that role gives up, then elects again.
//! The member only routes inputs and keeps what outlives a role — the election, the epochs, the
//! last logged zxid and the recent committed history; every protocol decision is in
//! `election`, `leader` and `learner`.

use bytes::Bytes;

use super::action::{Action, Input, LinkId, LogSource};
use super::election::{Decision, Election};
use super::history::CommittedLog;
use super::leader::{self, Leader, LearnerStatus};
use super::learner::{self, Learner, LearnerSetup, LearnerState};
use super::view::QuorumView;
use super::wire::Notification;
use super::zxid::{counter_of, epoch_of, hex, make_zxid, MAX_COUNTER};
use super::{ServerState, Sid, Timing};

/// Link ids the member hands out for learner → leader connections; the host numbers the
/// leader side's accepted links below this, so the two never collide.
const FIRST_LEARNER_LINK: LinkId = 1 << 62;

/// How the member is running, for `srvr`, `mntr` and the client listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Standalone,
    Looking,
    Leading,
    Following,
    Observing,
}

impl Mode {
    /// The `Mode:` word of `srvr` / `zkServer.sh status`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Standalone => "standalone",
            Mode::Looking => "looking",
            Mode::Leading => "leader",
            Mode::Following => "follower",
            Mode::Observing => "observer",
        }
    }
}

/// What a member starts from (read from disk by the host).
#[derive(Debug, Clone)]
pub struct MemberInit {
    pub me: Sid,
    /// `peerType=observer` / `:observer`.
    pub observer: bool,
    pub view: QuorumView,
    pub timing: Timing,
    /// Last logged (and applied) zxid.
    pub last_zxid: i64,
    pub accepted_epoch: i64,
    pub current_epoch: i64,
    /// The newest committed txns, for DIFF syncs once leading.
    pub committed: CommittedLog,
    /// `zookeeper.forceSnapshotSync`.
    pub force_snap: bool,
    /// `reconfigEnabled`: configurations get versions and reconfig can replace them.
    pub reconfig_enabled: bool,
    /// A configuration proposed by a reconfig and not known to be in force
    /// (`<zoo.cfg>.dynamic.next`): resumed if this member leads next.
    pub last_seen: Option<QuorumView>,
}

enum Role {
    Looking,
    Leading(Box<Leader>),
    Learning(Box<Learner>),
}

pub struct Member {
    me: Sid,
    view: QuorumView,
    /// Newer than `view`: the last reconfig proposal seen (`lastSeenQuorumVerifier`).
    last_seen: Option<QuorumView>,
    timing: Timing,
    force_snap: bool,
    reconfig_enabled: bool,
    standalone: bool,
    election: Election,
    role: Role,
    committed: CommittedLog,
    last_zxid: i64,
    last_applied: i64,
    accepted_epoch: i64,
    current_epoch: i64,
    next_link: LinkId,
    serving: bool,
    /// Observers wait this long after leaving a leader before electing again.
    looking_at: Option<u64>,
    /// Notifications that arrived during that wait: counted in the round it then starts, as
    /// Apache's receive queue keeps them for the next `lookForLeader` (never against the votes
    /// of the round that made it an observer).
    deferred: Vec<(Sid, Notification)>,
}

impl Member {
    /// A member that will elect when `start` is called.
    pub fn new(init: MemberInit) -> Member {
        let election = Election::new(
            init.me,
            init.observer,
            init.timing,
            init.last_zxid,
            init.current_epoch,
        );
        Member {
            me: init.me,
            last_seen: init.last_seen.filter(|v| v.version() > init.view.version()),
            view: init.view,
            timing: init.timing,
            force_snap: init.force_snap,
            reconfig_enabled: init.reconfig_enabled,
            standalone: false,
            election,
            role: Role::Looking,
            committed: init.committed,
            last_zxid: init.last_zxid,
            last_applied: init.last_zxid,
            accepted_epoch: init.accepted_epoch,
            current_epoch: init.current_epoch,
            next_link: FIRST_LEARNER_LINK,
            serving: false,
            looking_at: None,
            deferred: Vec::new(),
        }
    }

    /// A standalone server: a leader of one, serving at once.
    pub fn standalone(me: Sid, last_zxid: i64) -> Member {
        let mut m = Member::new(MemberInit {
            me,
            observer: false,
            view: QuorumView::single(me),
            timing: Timing::default(),
            last_zxid,
            accepted_epoch: 0,
            current_epoch: 0,
            committed: CommittedLog::new(0),
            force_snap: false,
            reconfig_enabled: false,
            last_seen: None,
        });
        m.standalone = true;
        m.serving = true;
        m.role = Role::Leading(Box::new(Leader::standalone(me, last_zxid)));
        m
    }

    /// Enters the first election.
    pub fn start(&mut self, now: u64) -> Vec<Action> {
        let mut out = Vec::new();
        self.look(now, &mut out);
        out
    }

    /// One input; returns what the host must do, in order.
    pub fn step(&mut self, now: u64, input: Input, log: &dyn LogSource) -> Vec<Action> {
        let mut out = Vec::new();
        match input {
            Input::Notification { from, n } if self.looking_at.is_some() => {
                self.deferred.push((from, n));
            }
            Input::Notification { from, n } => self.notification(now, from, n, &mut out),
            Input::Tick => {
                if let Some(at) = self.looking_at {
                    if now >= at {
                        self.looking_at = None;
                        self.look(now, &mut out);
                        for (from, n) in std::mem::take(&mut self.deferred) {
                            self.notification(now, from, n, &mut out);
                        }
                    }
                } else {
                    let d = self.election.tick(&self.view, now, &mut out);
                    self.decided(d, now, &mut out);
                }
                self.role_step(now, Input::Tick, log, &mut out);
            }
            Input::PeerUp { sid } => self.election.peer_up(sid),
            Input::PeerDown { sid } => {
                let d = self.election.peer_down(&self.view, sid);
                self.decided(d, now, &mut out);
            }
            Input::LearnerConnected { link } if !matches!(self.role, Role::Leading(_)) => {
                // Apache listens on the quorum port only while leading; a link accepted at any
                // other time would leave the learner waiting initLimit for a LEADERINFO.
                out.push(Action::Close {
                    link,
                    reason: "not leading".into(),
                });
            }
            other => self.role_step(now, other, log, &mut out),
        }
        out
    }

    /// Leader: proposes a prepared txn at the zxid `next_zxid` gave.
    pub fn propose(&mut self, now: u64, zxid: i64, txn: Bytes, log: &dyn LogSource) -> Vec<Action> {
        let mut out = Vec::new();
        let epoch = match &self.role {
            Role::Leading(l) if self.serving => l.epoch(),
            _ => None,
        };
        if epoch.is_none() || (!self.standalone && epoch != Some(epoch_of(zxid))) {
            // A zxid only comes from `next_zxid`, so this is a host racing a role change: a
            // leader still in discovery or sync, or one re-elected for a later epoch, must not
            // log or send a txn prepared for another epoch.
            tracing::warn!(zxid = %hex(zxid), "proposal while not the established leader of its epoch; dropped");
            return out;
        }
        if !self.standalone && counter_of(zxid) >= MAX_COUNTER {
            self.abandon(
                now,
                "zxid lower 32 bits have rolled over, forcing re-election, and therefore new epoch start",
                &mut out,
            );
            return out;
        }
        let last_applied = self.last_applied;
        if let Role::Leading(l) = &mut self.role {
            let mut ctx = leader::Ctx {
                now,
                out: &mut out,
                committed: &mut self.committed,
                log,
                last_applied,
            };
            l.propose(zxid, txn, &mut ctx);
        }
        self.track(&out);
        out
    }

    fn role_step(&mut self, now: u64, input: Input, log: &dyn LogSource, out: &mut Vec<Action>) {
        let start = out.len();
        let last_applied = self.last_applied;
        let result = match &mut self.role {
            Role::Looking => Ok(()),
            Role::Leading(l) => {
                let mut ctx = leader::Ctx {
                    now,
                    out,
                    committed: &mut self.committed,
                    log,
                    last_applied,
                };
                l.step(input, &mut ctx).map_err(|leader::Abdicate(r)| r)
            }
            Role::Learning(l) => l
                .step(input, &mut learner::Ctx { now, out })
                .map_err(|learner::Abandon(r)| r),
        };
        self.track(&out[start..]);
        if let Err(reason) = result {
            self.abandon(now, &reason, out);
        }
    }

    /// Keeps the member's durable facts in step with what it asked the host to do.
    fn track(&mut self, actions: &[Action]) {
        for a in actions {
            match a {
                Action::Append { zxid, .. } => self.last_zxid = self.last_zxid.max(*zxid),
                Action::Apply { zxid, txn } => {
                    self.committed.push(*zxid, txn.clone());
                    self.last_applied = *zxid;
                }
                Action::TruncateLog { zxid } => {
                    self.committed.truncate_after(*zxid);
                    self.last_zxid = *zxid;
                    self.last_applied = *zxid;
                }
                Action::LoadSnapshot { zxid, .. } => {
                    self.committed.clear();
                    self.last_zxid = *zxid;
                    self.last_applied = *zxid;
                }
                Action::PersistAcceptedEpoch(e) => self.accepted_epoch = *e,
                Action::PersistCurrentEpoch(e) => self.current_epoch = *e,
                Action::StartServing => self.start_serving(),
                Action::ActivateConfig { view } => {
                    self.view = view.clone();
                    self.last_seen.take_if(|v| v.version() <= view.version());
                    self.election.set_observer(view.is_observer(self.me));
                }
                Action::LastSeenConfig { view } => {
                    self.last_seen = (view.version() > self.view.version()).then(|| view.clone());
                }
                _ => {}
            }
        }
    }

    /// The role reached broadcast: serve, and report the new epoch in our vote (ZOOKEEPER-1732).
    fn start_serving(&mut self) {
        self.serving = true;
        let epoch = match &self.role {
            Role::Leading(l) => l.epoch(),
            Role::Learning(l) => Some(l.new_epoch()),
            Role::Looking => None,
        };
        if let (Some(e), Role::Leading(_)) = (epoch, &self.role) {
            // The leader's database now stands at the new epoch's first zxid.
            let z = make_zxid(e, 0);
            self.last_zxid = self.last_zxid.max(z);
            self.last_applied = self.last_applied.max(z);
        }
        if let Some(e) = epoch {
            self.election.set_peer_epoch(e);
        }
    }

    fn decided(&mut self, decision: Option<Decision>, now: u64, out: &mut Vec<Action>) {
        let Some(d) = decision else { return };
        let leader_sid = d.vote.leader as u64;
        out.push(Action::StateChanged {
            state: d.state,
            leader: Some(leader_sid),
        });
        match d.state {
            ServerState::Leading => {
                let start = out.len();
                let mut ctx = leader::Ctx {
                    now,
                    out,
                    committed: &mut self.committed,
                    log: &super::action::NoLog,
                    last_applied: self.last_applied,
                };
                let created = Leader::new(
                    self.me,
                    (self.view.clone(), self.last_seen.clone()),
                    self.timing,
                    (self.accepted_epoch, self.current_epoch),
                    self.last_zxid,
                    (self.force_snap, self.reconfig_enabled),
                    &mut ctx,
                );
                match created {
                    Ok(l) => self.role = Role::Leading(Box::new(l)),
                    Err(leader::Abdicate(r)) => {
                        self.track(&out[start..]);
                        self.abandon(now, &r, out);
                        return;
                    }
                }
                self.track(&out[start..]);
            }
            ServerState::Following | ServerState::Observing => {
                let link = self.next_link;
                self.next_link += 1;
                let state = LearnerState {
                    accepted_epoch: self.accepted_epoch,
                    current_epoch: self.current_epoch,
                    last_zxid: self.last_zxid,
                };
                let setup = LearnerSetup {
                    me: self.me,
                    observer: d.state == ServerState::Observing,
                    leader: leader_sid,
                    link,
                    view: self.view.clone(),
                    timing: self.timing,
                    state,
                    reconfig_enabled: self.reconfig_enabled,
                };
                let l = Learner::new(setup, now, out);
                self.role = Role::Learning(Box::new(l));
            }
            ServerState::Looking => {}
        }
    }

    /// The role gave up: stop serving, keep what was logged, and elect again.
    fn abandon(&mut self, now: u64, reason: &str, out: &mut Vec<Action>) {
        tracing::warn!(
            myid = self.me,
            mode = self.mode().name(),
            last_zxid = %hex(self.last_zxid),
            reason,
            "leaving the current role"
        );
        let was_observer = matches!(&self.role, Role::Learning(l) if l.is_observer());
        let (logged, reload) = match std::mem::replace(&mut self.role, Role::Looking) {
            Role::Looking => (Vec::new(), None),
            Role::Leading(mut l) => (l.shutdown(reason, out), None),
            Role::Learning(mut l) => l.shutdown(reason, out),
        };
        if self.serving {
            self.serving = false;
            out.push(Action::StopServing {
                reason: reason.to_string(),
            });
        }
        if let Some(zxid) = reload {
            // The sync loaded a SNAP it never made durable: go back to what is on disk.
            let action = Action::TruncateLog { zxid };
            self.track(std::slice::from_ref(&action));
            out.push(action);
        }
        if !logged.is_empty() {
            let action = Action::ApplyLogged { txns: logged };
            if let Action::ApplyLogged { txns } = &action {
                for (z, t) in txns {
                    self.committed.push(*z, t.clone());
                    self.last_applied = self.last_applied.max(*z);
                }
            }
            out.push(action);
        }
        // Apache reloads its database here; the last logged zxid is what it votes with.
        self.last_applied = self.last_applied.max(self.last_zxid);
        self.last_zxid = self.last_zxid.max(self.last_applied);
        if was_observer {
            self.looking_at = Some(now + 200);
            out.push(Action::StateChanged {
                state: ServerState::Looking,
                leader: None,
            });
            self.election.set_state(ServerState::Looking);
            return;
        }
        self.look(now, out);
    }

    fn look(&mut self, now: u64, out: &mut Vec<Action>) {
        out.push(Action::StateChanged {
            state: ServerState::Looking,
            leader: None,
        });
        let d = self
            .election
            .start(&self.view, now, self.last_zxid, self.current_epoch, out);
        self.decided(d, now, out);
    }
}

mod host_calls;
mod reconfig;
#[cfg(test)]
mod reconfig_tests;
mod report;
#[cfg(test)]
mod snap_tests;
#[cfg(test)]
mod tests;
