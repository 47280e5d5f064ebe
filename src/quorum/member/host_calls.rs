//! Requests the host makes of its member for one client's sake: a leader's own `sync`, the
//! answer to a REVALIDATE, and a learner forwarding a request or asking the leader to
//! revalidate a reconnecting session. Each returns the actions to carry out, in order.

use super::super::action::{Action, LinkId, NoLog};
use super::super::leader;
use super::super::learner;
use super::super::wire::payload::ForwardedRequest;
use super::{Member, Role};
use crate::proto::records::Id;

impl Member {
    /// Leader: a client of this member sent `sync`. `Action::SyncConfirmed { token }` follows
    /// once a quorum has shown, after now, that this member still leads; a leader cut off or
    /// deposed while paused never confirms (it steps down instead), so no stale read follows.
    pub fn sync(&mut self, now: u64, token: u64) -> Vec<Action> {
        let mut out = Vec::new();
        let last_applied = self.last_applied;
        if let Role::Leading(l) = &mut self.role {
            if self.serving {
                let mut ctx = leader::Ctx {
                    now,
                    out: &mut out,
                    committed: &mut self.committed,
                    log: &NoLog,
                    last_applied,
                };
                l.local_sync(token, &mut ctx);
            }
        }
        out
    }

    /// Leader: the answer to an `Action::Revalidate`.
    pub fn revalidated(
        &mut self,
        now: u64,
        link: LinkId,
        session: i64,
        valid: bool,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        let last_applied = self.last_applied;
        if let Role::Leading(l) = &mut self.role {
            let mut ctx = leader::Ctx {
                now,
                out: &mut out,
                committed: &mut self.committed,
                log: &NoLog,
                last_applied,
            };
            l.revalidated(link, session, valid, &mut ctx);
        }
        out
    }

    /// Learner: forwards a client request to the leader.
    pub fn forward(&mut self, now: u64, request: &ForwardedRequest, auth: Vec<Id>) -> Vec<Action> {
        let mut out = Vec::new();
        if let Role::Learning(l) = &self.role {
            l.forward(request, auth, &mut learner::Ctx { now, out: &mut out });
        }
        out
    }

    /// Learner: asks the leader to revalidate a reconnecting session.
    pub fn revalidate(&mut self, now: u64, session: i64, timeout_ms: i32) -> Vec<Action> {
        let mut out = Vec::new();
        if let Role::Learning(l) = &self.role {
            l.revalidate(
                session,
                timeout_ms,
                &mut learner::Ctx { now, out: &mut out },
            );
        }
        out
    }
}
