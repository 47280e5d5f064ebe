//! Reconfiguration entry points of a member (`reconfigEnabled`): the leader proposes a
//! reconfig txn with the configuration it installs, and answers the checks the runtime's
//! preparation of a reconfig needs (one in progress? a synced quorum of the new members?);
//! while LOOKING, a newer configuration in force elsewhere, learned from a notification, is
//! activated before electing again.

use bytes::Bytes;

use super::super::action::{Action, LogSource};
use super::super::leader;
use super::super::view::QuorumView;
use super::super::wire::Notification;
use super::super::zxid::{epoch_of, hex};
use super::super::{ServerState, Sid};
use super::{Member, Role};

impl Member {
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

    /// A notification from `from`, taken by the election unless it carries a newer
    /// configuration than ours while we are LOOKING (`FastLeaderElection.WorkerReceiver`):
    /// then that configuration is activated (`processReconfig`, written to disk as any
    /// activation) and the election starts over under it; the notification is dropped, as
    /// Apache's receiver drops it when it restarts leader election. Without this a member
    /// that missed a reconfig's commit would elect with the old voters and make a leader
    /// that cannot take the members that have the new configuration in force (they are
    /// "ahead of the leader"), or count no quorum at all.
    pub(super) fn notification(
        &mut self,
        now: u64,
        from: Sid,
        n: Notification,
        out: &mut Vec<Action>,
    ) {
        let looking =
            matches!(self.role, Role::Looking) && self.election.state() == ServerState::Looking;
        if self.reconfig_enabled && looking {
            let newer = QuorumView::from_config(n.config.clone())
                .filter(|v| v.version() > self.view.version());
            if let Some(view) = newer {
                tracing::info!(
                    from,
                    version = %hex(view.version()),
                    mine = %hex(self.view.version()),
                    "a newer configuration is in force; activating it and restarting leader election"
                );
                let activate = Action::ActivateConfig { view };
                self.track(std::slice::from_ref(&activate));
                out.push(activate);
                self.look(now, out);
                return;
            }
        }
        let d = self.election.receive(&self.view, now, from, n, out);
        self.decided(d, now, out);
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
