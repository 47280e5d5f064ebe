//! Client `sync`s in the simulation. ZooKeeper promises that a `sync` followed by a read sees
//! every write acknowledged before the `sync` was sent, so a member that answers a `sync` must
//! by then have applied every such write. The leader answers its own clients' syncs through
//! `Member::sync` (then waits to apply what it had proposed, as the runtime does); a learner
//! forwards its clients' syncs and answers them, oldest first, on the leader's SYNC.

use std::collections::VecDeque;

use super::*;

/// One client `sync` waiting for its answer.
#[derive(Debug, Clone, Copy)]
struct Pending {
    /// The newest write acknowledged to any client when the `sync` was sent.
    need: i64,
    sent_at: u64,
}

/// The syncs in flight on every member.
#[derive(Debug, Default)]
pub struct Syncs {
    next_token: u64,
    /// Leader syncs waiting for `SyncConfirmed`: member, what it had proposed, the sync.
    confirming: HashMap<u64, (Sid, i64, Pending)>,
    /// Confirmed leader syncs waiting until their member has applied what it had proposed.
    applying: Vec<(Sid, i64, Pending)>,
    /// Learner syncs forwarded to the leader, oldest first.
    forwarded: HashMap<Sid, VecDeque<Pending>>,
    pub answered: u64,
}

impl World {
    /// A client of `sid` sends `sync`.
    pub(super) fn client_sync(&mut self, sid: Sid) {
        if !self.node(sid).up || !self.node(sid).member.is_serving() {
            return;
        }
        let pending = Pending {
            need: self.checker.acked.keys().next_back().copied().unwrap_or(0),
            sent_at: self.now,
        };
        let now = self.now;
        if self.node(sid).member.mode() == Mode::Leading {
            let until = self.node(sid).member.last_proposed().unwrap_or(0);
            let token = self.syncs.next_token;
            self.syncs.next_token += 1;
            self.syncs.confirming.insert(token, (sid, until, pending));
            let out = self.node(sid).member.sync(now, token);
            self.perform(sid, out);
        } else {
            self.syncs
                .forwarded
                .entry(sid)
                .or_default()
                .push_back(pending);
            let req = crate::quorum::wire::payload::ForwardedRequest {
                session: 1,
                cxid: 1,
                op: 9,
                body: Bytes::new(),
            };
            let out = self.node(sid).member.forward(now, &req, Vec::new());
            self.perform(sid, out);
        }
    }

    /// `Action::SyncConfirmed` on a leader.
    pub(super) fn sync_confirmed(&mut self, sid: Sid, token: u64) {
        if let Some((s, until, p)) = self.syncs.confirming.remove(&token) {
            debug_assert_eq!(s, sid);
            self.syncs.applying.push((sid, until, p));
            self.release_applied_syncs(sid);
        }
    }

    /// After `sid` applied a txn: answer its confirmed syncs whose proposals are now applied.
    pub(super) fn release_applied_syncs(&mut self, sid: Sid) {
        let applied = self.node(sid).applied;
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.syncs.applying)
            .into_iter()
            .partition(|(s, until, _)| *s == sid && *until <= applied);
        self.syncs.applying = waiting;
        for (_, _, p) in ready {
            self.answer_sync(sid, p);
        }
    }

    /// `Action::SyncDone` on a learner: the oldest forwarded sync is answered.
    pub(super) fn sync_done(&mut self, sid: Sid) {
        let p = self
            .syncs
            .forwarded
            .get_mut(&sid)
            .and_then(|q| q.pop_front());
        match p {
            Some(p) => self.answer_sync(sid, p),
            None => {
                let what = format!("node {sid} got a SYNC answer for no forwarded sync");
                self.checker.fail(self.now, what);
            }
        }
    }

    /// `sid` stopped serving or crashed: its clients' syncs end with a connection loss.
    pub(super) fn drop_syncs(&mut self, sid: Sid) {
        self.syncs.confirming.retain(|_, (s, _, _)| *s != sid);
        self.syncs.applying.retain(|(s, _, _)| *s != sid);
        self.syncs.forwarded.remove(&sid);
    }

    fn answer_sync(&mut self, sid: Sid, p: Pending) {
        self.syncs.answered += 1;
        let applied = self.node(sid).applied;
        if applied < p.need {
            let what = format!(
                "node {sid} answered a sync sent at {} ms with only 0x{applied:x} applied: a read \
                 after it misses write 0x{:x}, acknowledged before the sync was sent",
                p.sent_at, p.need
            );
            self.log.push(format!("{:>6} {what}", self.now));
            self.checker.fail(self.now, what);
        }
    }
}
