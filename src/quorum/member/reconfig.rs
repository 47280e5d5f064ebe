//! Reconfiguration entry points of a member (`reconfigEnabled`): the leader proposes a
//! reconfig txn with the configuration it installs, and answers the checks the runtime's
//! preparation of a reconfig needs (one in progress? a synced quorum of the new members?);
//! a LOOKING member adopts a newer configuration from a peer's notification.

use bytes::Bytes;

use super::super::action::{Action, LogSource};
use super::super::leader;
use super::super::view::QuorumView;
use super::super::wire::Notification;
use super::super::zxid::{epoch_of, hex};
use super::super::Sid;
use super::{Member, Role};

impl Member {
    /// A LOOKING member adopts a newer configuration that a peer's notification carries
    /// (Apache's `WorkerReceiver`: `processReconfig`, then leader election restarts in a new
    /// round with the new voters); `true` when it did, and the notification is then dropped,
    /// as Apache drops it. This is how a member that was down during a reconfig finds the
    /// voters it must elect with.
    pub(super) fn adopt_notified_config(
        &mut self,
        now: u64,
        from: Sid,
        n: &Notification,
        out: &mut Vec<Action>,
    ) -> bool {
        if !self.reconfig_enabled || !matches!(self.role, Role::Looking) || n.config.is_empty() {
            return false;
        }
        let Some(next) = QuorumView::from_config(n.config.clone()) else {
            return false;
        };
        if next.version() <= self.view.version() {
            return false;
        }
        tracing::info!(
            from,
            version = %hex(next.version()),
            mine = %hex(self.view.version()),
            "a peer's notification carries a newer configuration: activating it and restarting leader election"
        );
        let action = Action::ActivateConfig { view: next };
        self.track(std::slice::from_ref(&action));
        out.push(action);
        self.look(now, out);
        true
    }

    /// Leader: proposes a prepared reconfig txn at `zxid` that installs `next` once a quorum
    /// of the current and of the next configuration has it.
    pub fn propose_reconfig(
        &mut self,
        now: u64,
        zxid: i64,
        txn: Bytes,
        next: QuorumView,
        log: &dyn LogSource,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        let last_applied = self.last_applied;
        let established = matches!(&self.role, Role::Leading(l) if self.serving && l.epoch() == Some(epoch_of(zxid)));
        if !established || self.standalone {
            tracing::warn!(zxid = %hex(zxid), "reconfig proposal while not the established leader of its epoch; dropped");
            return out;
        }
        if let Role::Leading(l) = &mut self.role {
            let mut ctx = leader::Ctx {
                now,
                out: &mut out,
                committed: &mut self.committed,
                log,
                last_applied,
            };
            l.propose_reconfig(zxid, txn, next, &mut ctx);
        }
        self.track(&out);
        out
    }

    /// Leader: a reconfig is proposed and not yet committed.
    pub fn reconfig_in_progress(&self) -> bool {
        matches!(&self.role, Role::Leading(l) if l.reconfig_in_progress())
    }

    /// Leader: whether the members of `next` synced with it form a quorum of `next`.
    pub fn is_quorum_synced(&self, next: &QuorumView, now: u64) -> bool {
        matches!(&self.role, Role::Leading(l) if l.is_quorum_synced(next, now))
    }
}
