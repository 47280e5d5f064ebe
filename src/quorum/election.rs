//! Fast leader election (`FastLeaderElection.lookForLeader` and its `WorkerReceiver`) as an
//! event-driven state machine.
//!
//! While LOOKING it exchanges votes in rounds (logical clocks): a vote that beats the current
//! proposal (epoch, then zxid, then id) is adopted and re-broadcast; once a quorum of voters
//! agrees with the proposal and nothing better arrives for `finalizeWait`, the member decides.
//! FOLLOWING/LEADING notifications let a late joiner follow an established leader. In every
//! state it answers LOOKING peers and non-voters with its current vote, as Apache does, so
//! Apache peers elect and join exactly as they would among themselves.

use std::collections::{BTreeSet, HashMap, VecDeque};

use super::action::Action;
use super::view::QuorumView;
use super::vote::{TaggedVote, Vote};
use super::wire::Notification;
use super::{ServerState, Sid, Timing};

/// The outcome of a round: this member's new state and the vote it ended on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub state: ServerState,
    pub vote: Vote,
}

/// Fast leader election for one member.
#[derive(Debug, Clone)]
pub struct Election {
    me: Sid,
    /// Apache's learner type is OBSERVER: `peerType=observer`, then whatever the configuration
    /// in force says (`set_observer`).
    observer: bool,
    timing: Timing,
    state: ServerState,
    logical_clock: i64,
    /// What this member proposes in the current round.
    proposal: Vote,
    /// `QuorumPeer.currentVote`: the vote of the last decision (or the initial one).
    current: Vote,
    /// Initial vote of this round: (id, last logged zxid, current epoch) for a voter.
    init: Vote,
    recvset: HashMap<Sid, TaggedVote>,
    outofelection: HashMap<Sid, TaggedVote>,
    not_timeout_ms: u64,
    /// When the queue poll times out (no notification for `not_timeout_ms`).
    poll_deadline: u64,
    /// Set while a quorum stands for the proposal: decide at this time unless beaten.
    finalize_deadline: Option<u64>,
    /// Notifications addressed to this member by itself, handled before returning.
    loopback: VecDeque<Notification>,
    /// Voters the election port cannot reach right now: no vote can come from them, so the
    /// finalize wait need not wait for them (zkserver's only departure from Apache's timing).
    down: BTreeSet<Sid>,
}

/// Apache's vote for "no one" (an observer's initial vote).
const NO_ONE: i64 = i64::MIN;

impl Election {
    /// A member that has not started electing yet; `current_epoch` and `last_zxid` are what it
    /// would vote with.
    pub fn new(
        me: Sid,
        observer: bool,
        timing: Timing,
        last_zxid: i64,
        current_epoch: i64,
    ) -> Self {
        let current = Vote {
            leader: me as i64,
            zxid: last_zxid,
            election_epoch: 0,
            peer_epoch: current_epoch,
        };
        Election {
            me,
            observer,
            timing,
            state: ServerState::Looking,
            logical_clock: 0,
            proposal: current,
            current,
            init: current,
            recvset: HashMap::new(),
            outofelection: HashMap::new(),
            not_timeout_ms: timing.min_notification_ms,
            poll_deadline: 0,
            finalize_deadline: None,
            loopback: VecDeque::new(),
            down: BTreeSet::new(),
        }
    }

    pub fn state(&self) -> ServerState {
        self.state
    }

    pub fn logical_clock(&self) -> i64 {
        self.logical_clock
    }

    pub fn current_vote(&self) -> Vote {
        self.current
    }

    pub fn proposal(&self) -> Vote {
        self.proposal
    }

    /// Starts a new round (`lookForLeader`): bump the clock, propose ourselves (a voter) and
    /// tell every voter.
    pub fn start(
        &mut self,
        view: &QuorumView,
        now: u64,
        last_zxid: i64,
        current_epoch: i64,
        out: &mut Vec<Action>,
    ) -> Option<Decision> {
        self.state = ServerState::Looking;
        self.recvset.clear();
        self.outofelection.clear();
        self.finalize_deadline = None;
        self.not_timeout_ms = self.timing.min_notification_ms;
        self.poll_deadline = now + self.not_timeout_ms;
        self.logical_clock += 1;
        let voter = view.is_voter(self.me) && !self.observer;
        self.init = Vote {
            leader: if view.is_voter(self.me) {
                self.me as i64
            } else {
                NO_ONE
            },
            zxid: if voter { last_zxid } else { NO_ONE },
            election_epoch: self.logical_clock,
            peer_epoch: if voter { current_epoch } else { NO_ONE },
        };
        self.proposal = self.init;
        tracing::info!(
            myid = self.me,
            zxid = format_args!("0x{last_zxid:x}"),
            round = self.logical_clock,
            "New election"
        );
        self.send_notifications(view, out);
        self.drain_loopback(view, now, out)
    }

    /// After sync, every member reports the new epoch in its vote so that newcomers count it
    /// (`QuorumPeer.updateElectionVote`).
    pub fn set_peer_epoch(&mut self, epoch: i64) {
        self.current.peer_epoch = epoch;
    }

    /// A configuration was activated (`QuorumPeer.updateLearnerType`): an observer of it is
    /// an observer; a voter, or a member it does not list at all (a removed voter, or a
    /// removed observer), is a participant, which follows as a non-voting follower when it
    /// does not vote.
    pub fn set_observer(&mut self, observer: bool) {
        self.observer = observer;
    }

    /// The member left LOOKING (decided) or moved between roles without electing.
    pub fn set_state(&mut self, state: ServerState) {
        self.state = state;
    }

    /// A notification from `from`: answered and/or counted as `WorkerReceiver` and
    /// `lookForLeader` do.
    pub fn receive(
        &mut self,
        view: &QuorumView,
        now: u64,
        from: Sid,
        n: Notification,
        out: &mut Vec<Action>,
    ) -> Option<Decision> {
        if !view.is_voter(from) {
            // Non-voters (observers) get our current vote right away and are not counted.
            let reply = self.notification(self.current, self.logical_clock, self.state, view);
            out.push(Action::Notify { to: from, n: reply });
            return None;
        }
        let state = ServerState::from_i32(n.state)?;
        if self.state != ServerState::Looking {
            if state == ServerState::Looking {
                let c = self.current;
                let reply = self.notification(c, c.election_epoch, self.state, view);
                out.push(Action::Notify { to: from, n: reply });
            }
            return None;
        }
        // Apache answers a LOOKING peer that is a round behind. zkserver also answers one in our
        // round whose vote is worse than ours: it cannot have seen our proposal (a peer that
        // was still FOLLOWING when ours arrived only answered it), and without this both would
        // wait a notification timeout before anyone re-sends.
        let behind = n.election_epoch < self.logical_clock;
        let worse = n.election_epoch == self.logical_clock
            && view.is_voter_id(n.leader)
            && n.zxid != -1
            && self.init.zxid != -1
            && Vote::beats(
                self.proposal.leader,
                self.proposal.zxid,
                self.proposal.peer_epoch,
                &{
                    Vote {
                        leader: n.leader,
                        zxid: n.zxid,
                        election_epoch: n.election_epoch,
                        peer_epoch: n.peer_epoch,
                    }
                },
            );
        if state == ServerState::Looking && (behind || worse) {
            let reply = self.notification(
                self.proposal,
                self.logical_clock,
                ServerState::Looking,
                view,
            );
            out.push(Action::Notify { to: from, n: reply });
        }
        let decided = self.consider(view, now, from, state, &n, out);
        decided.or_else(|| self.drain_loopback(view, now, out))
    }

    /// Timers: the finalize wait and the notification timeout with exponential backoff.
    pub fn tick(&mut self, view: &QuorumView, now: u64, out: &mut Vec<Action>) -> Option<Decision> {
        if self.state != ServerState::Looking {
            return None;
        }
        if let Some(deadline) = self.finalize_deadline {
            if now >= deadline || self.all_votes_in(view) {
                let end = Vote {
                    election_epoch: self.logical_clock,
                    ..self.proposal
                };
                return Some(self.decide(end, view));
            }
            return None;
        }
        if now >= self.poll_deadline {
            // Apache re-sends when its queues have delivered, else reconnects; both amount to
            // sending our proposal again (the transport dials peers it is not connected to).
            self.send_notifications(view, out);
            self.not_timeout_ms = (self.not_timeout_ms * 2).min(self.timing.max_notification_ms);
            self.poll_deadline = now + self.not_timeout_ms;
            tracing::info!(timeout_ms = self.not_timeout_ms, "Notification time out");
            return self.drain_loopback(view, now, out);
        }
        None
    }

    fn drain_loopback(
        &mut self,
        view: &QuorumView,
        now: u64,
        out: &mut Vec<Action>,
    ) -> Option<Decision> {
        while let Some(n) = self.loopback.pop_front() {
            if self.state != ServerState::Looking {
                self.loopback.clear();
                return None;
            }
            if let Some(d) = self.consider(view, now, self.me, ServerState::Looking, &n, out) {
                self.loopback.clear();
                return Some(d);
            }
        }
        None
    }

    /// One notification taken off the receive queue by `lookForLeader`.
    fn consider(
        &mut self,
        view: &QuorumView,
        now: u64,
        from: Sid,
        state: ServerState,
        n: &Notification,
        out: &mut Vec<Action>,
    ) -> Option<Decision> {
        self.poll_deadline = now + self.not_timeout_ms;
        if let Some(deadline) = self.finalize_deadline.as_mut() {
            // A quorum stands: only a better vote reopens the round; others are dropped.
            if Vote::beats(n.leader, n.zxid, n.peer_epoch, &self.proposal) {
                self.finalize_deadline = None;
            } else {
                *deadline = now + self.timing.finalize_wait_ms;
                return None;
            }
        }
        if !view.is_voter_id(n.leader) {
            tracing::warn!(
                from,
                leader = n.leader,
                "Ignoring notification for non-cluster member"
            );
            return None;
        }
        let tagged = TaggedVote {
            vote: Vote {
                leader: n.leader,
                zxid: n.zxid,
                election_epoch: n.election_epoch,
                peer_epoch: n.peer_epoch,
            },
            state,
            version: n.version,
        };
        match state {
            ServerState::Looking => self.looking_vote(view, now, from, tagged, out),
            ServerState::Observing => None,
            ServerState::Following | ServerState::Leading => {
                self.established_vote(view, from, tagged)
            }
        }
    }

    fn looking_vote(
        &mut self,
        view: &QuorumView,
        now: u64,
        from: Sid,
        t: TaggedVote,
        out: &mut Vec<Action>,
    ) -> Option<Decision> {
        let v = t.vote;
        if self.init.zxid == -1 || v.zxid == -1 {
            return None;
        }
        if v.election_epoch > self.logical_clock {
            self.logical_clock = v.election_epoch;
            self.recvset.clear();
            self.proposal = if Vote::beats(v.leader, v.zxid, v.peer_epoch, &self.init) {
                v
            } else {
                self.init
            };
            self.send_notifications(view, out);
        } else if v.election_epoch < self.logical_clock {
            return None;
        } else if Vote::beats(v.leader, v.zxid, v.peer_epoch, &self.proposal) {
            self.proposal = v;
            self.send_notifications(view, out);
        }
        self.recvset.insert(
            from,
            TaggedVote {
                state: ServerState::Looking,
                version: 0,
                ..t
            },
        );
        let target = TaggedVote {
            vote: Vote {
                election_epoch: self.logical_clock,
                ..self.proposal
            },
            state: ServerState::Looking,
            version: 0,
        };
        if self.agreeing(&self.recvset, &target, view) && self.finalize_deadline.is_none() {
            self.finalize_deadline = Some(now + self.timing.finalize_wait_ms);
            if self.all_votes_in(view) {
                return Some(self.decide_proposal(view));
            }
        }
        None
    }

    /// A FOLLOWING or LEADING peer tells us who leads (`receivedFollowingNotification`).
    fn established_vote(
        &mut self,
        view: &QuorumView,
        from: Sid,
        t: TaggedVote,
    ) -> Option<Decision> {
        let v = t.vote;
        if v.election_epoch == self.logical_clock {
            // Apache stores same-round votes without their version (0), so against a version-2
            // notification `Vote.equals` compares the leader id only.
            self.recvset.insert(from, TaggedVote { version: 0, ..t });
            if self.agreeing(&self.recvset, &t, view)
                && self.check_leader(&self.recvset, v.leader, v.election_epoch)
            {
                return Some(self.decide(v, view));
            }
        }
        self.outofelection.insert(from, t);
        if self.agreeing(&self.outofelection, &t, view)
            && self.check_leader(&self.outofelection, v.leader, v.election_epoch)
        {
            self.logical_clock = v.election_epoch;
            return Some(self.decide(v, view));
        }
        None
    }

    /// Whether the votes equal to `target` come from a quorum of voters.
    fn agreeing(
        &self,
        votes: &HashMap<Sid, TaggedVote>,
        target: &TaggedVote,
        view: &QuorumView,
    ) -> bool {
        let agree: Vec<Sid> = votes
            .iter()
            .filter(|(_, v)| v.same(target))
            .map(|(s, _)| *s)
            .collect();
        view.is_quorum(&agree)
    }

    /// `checkLeader`: another leader must have said it is LEADING; we lead only in our round.
    fn check_leader(&self, votes: &HashMap<Sid, TaggedVote>, leader: i64, round: i64) -> bool {
        if leader != self.me as i64 {
            votes
                .get(&(leader as u64))
                .is_some_and(|v| v.state == ServerState::Leading)
        } else {
            self.logical_clock == round
        }
    }

    fn decide(&mut self, end: Vote, view: &QuorumView) -> Decision {
        let leader = end.leader;
        let state = if leader == self.me as i64 {
            ServerState::Leading
        } else if self.observer || view.is_observer(self.me) {
            // `learningState()`: only observers observe; a participant the configuration does
            // not count follows as a non-voting follower, whose NEWLEADER ACK a leader
            // resuming a reconfig that makes it a voter again counts.
            ServerState::Observing
        } else {
            ServerState::Following
        };
        self.state = state;
        self.current = end;
        self.finalize_deadline = None;
        self.loopback.clear();
        tracing::info!(
            myid = self.me,
            leader,
            state = state.name(),
            zxid = format_args!("0x{:x}", end.zxid),
            round = end.election_epoch,
            "Election decided"
        );
        Decision { state, vote: end }
    }

    fn notification(
        &self,
        v: Vote,
        round: i64,
        state: ServerState,
        view: &QuorumView,
    ) -> Notification {
        Notification {
            state: state as i32,
            leader: v.leader,
            zxid: v.zxid,
            election_epoch: round,
            peer_epoch: v.peer_epoch,
            version: super::wire::election::NOTIFICATION_VERSION,
            config: view.config().clone(),
        }
    }

    /// Our proposal to every voter (ourselves included, through the loopback).
    fn send_notifications(&mut self, view: &QuorumView, out: &mut Vec<Action>) {
        let n = self.notification(
            self.proposal,
            self.logical_clock,
            ServerState::Looking,
            view,
        );
        for sid in view.voters() {
            if sid == self.me {
                self.loopback.push_back(n.clone());
            } else {
                out.push(Action::Notify {
                    to: sid,
                    n: n.clone(),
                });
            }
        }
    }
}

mod down;
#[cfg(test)]
mod down_tests;
#[cfg(test)]
mod reconfig_tests;
#[cfg(test)]
mod tests;
