//! Leadership confirmation for `sync` (a read barrier). A leader answers a `sync` only after a
//! quorum, itself included, has answered a PING sent after the `sync` arrived. A learner
//! answers PINGs only while it follows this leader, and a new leader needs a quorum that left
//! this one, so such a quorum shows that no later epoch had committed anything when the `sync`
//! arrived. A leader paused or cut off while the others elected a new one therefore never
//! confirms: it steps down, and its clients' `sync`s end in a connection loss instead of
//! letting a stale read through (Apache answers at once: ZOOKEEPER-1675, ZOOKEEPER-2136).
//!
//! Learners answer every PING that reaches them after UPTODATE exactly once and in order (PINGs
//! during the sync phase are ignored, QUORUM.md §5), so counting the PINGs sent in broadcast
//! and the replies per learner tells which reply answers which PING. One round is in flight
//! at a time; `sync`s that arrive meanwhile share the next round.

use std::collections::{BTreeMap, BTreeSet};

use super::super::action::{Action, LinkId};
use super::super::wire::{PacketType, QuorumPacket};
use super::super::Sid;
use super::handler::HState;
use super::{Ctx, Leader};

/// Who waits for a confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Waiter {
    /// A client of the leader itself: `Action::SyncConfirmed`.
    Local(u64),
    /// A learner's forwarded `sync`: SYNC once `until`, proposed before it arrived, commits.
    Learner { link: LinkId, until: i64 },
}

/// A round of PINGs and who has answered it.
#[derive(Debug, Default)]
struct Round {
    /// Per learner: the count of answered PINGs that includes this round's PING.
    need: BTreeMap<LinkId, u64>,
    confirmed: BTreeSet<Sid>,
    waiters: Vec<Waiter>,
}

#[derive(Debug, Default)]
pub(super) struct Barrier {
    round: Option<Round>,
    /// Arrived after the round in flight was sent: they wait for the next one.
    queued: Vec<Waiter>,
}

impl Barrier {
    /// Forgets a learner that left (its round entries can no longer be met).
    pub(super) fn forget(&mut self, link: LinkId) {
        let gone = |w: &Waiter| matches!(w, Waiter::Learner { link: l, .. } if *l == link);
        self.queued.retain(|w| !gone(w));
        if let Some(r) = &mut self.round {
            r.waiters.retain(|w| !gone(w));
        }
    }

    pub(super) fn waiting(&self) -> usize {
        self.queued.len() + self.round.as_ref().map_or(0, |r| r.waiters.len())
    }
}

impl Leader {
    /// Waits for a quorum to confirm the leadership after now.
    pub(super) fn confirm_leadership(&mut self, w: Waiter, ctx: &mut Ctx) {
        if self.barrier.round.is_some() {
            self.barrier.queued.push(w);
        } else {
            self.start_round(vec![w], ctx);
        }
    }

    /// PINGs every synced voter and opens a round for `waiters`.
    fn start_round(&mut self, waiters: Vec<Waiter>, ctx: &mut Ctx) {
        let mut need = BTreeMap::new();
        for (link, h) in self.learners.iter_mut() {
            if h.state != HState::Broadcast || h.observer || h.sid.is_none() {
                continue;
            }
            h.pings_sent += 1;
            need.insert(*link, h.pings_sent);
            ctx.out.push(Action::Send {
                link: *link,
                packet: QuorumPacket::new(PacketType::Ping, self.last_proposed, None),
            });
        }
        self.barrier.round = Some(Round {
            need,
            confirmed: BTreeSet::from([self.me]),
            waiters,
        });
        self.finish_round(ctx);
    }

    /// A synced learner answered a PING.
    pub(super) fn ping_answered(&mut self, link: LinkId, ctx: &mut Ctx) {
        let Some(h) = self.learners.get_mut(&link) else {
            return;
        };
        // Never count more replies than PINGs sent in broadcast: a reply to an earlier PING
        // must not pass for the answer to this round's.
        h.pings_answered = (h.pings_answered + 1).min(h.pings_sent);
        let (answered, sid) = (h.pings_answered, h.sid);
        if let (Some(r), Some(sid)) = (&mut self.barrier.round, sid) {
            if r.need.get(&link).is_some_and(|&n| answered >= n) {
                r.confirmed.insert(sid);
                self.finish_round(ctx);
            }
        }
    }

    /// Releases the round in flight if a quorum answered it, then starts the next if needed.
    fn finish_round(&mut self, ctx: &mut Ctx) {
        let done = match &self.barrier.round {
            Some(r) => self.view.is_quorum(&r.confirmed),
            None => false,
        };
        if !done {
            return;
        }
        let waiters = self
            .barrier
            .round
            .take()
            .map(|r| r.waiters)
            .unwrap_or_default();
        for w in waiters {
            match w {
                Waiter::Local(token) => ctx.out.push(Action::SyncConfirmed { token }),
                Waiter::Learner { link, until } => self.sync_after(link, until, ctx),
            }
        }
        let queued = std::mem::take(&mut self.barrier.queued);
        if !queued.is_empty() {
            self.start_round(queued, ctx);
        }
    }
}
