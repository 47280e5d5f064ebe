//! Reconfiguration entry points of a member (`reconfigEnabled`): the leader proposes a
//! reconfig txn with the configuration it installs, and answers the checks the runtime's
//! preparation of a reconfig needs (one in progress? a synced quorum of the new members?).

use bytes::Bytes;

use super::super::action::{Action, LogSource};
use super::super::leader;
use super::super::view::QuorumView;
use super::super::zxid::{epoch_of, hex};
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

    /// Leader: a reconfig is proposed and not yet committed.
    pub fn reconfig_in_progress(&self) -> bool {
        matches!(&self.role, Role::Leading(l) if l.reconfig_in_progress())
    }

    /// Leader: whether the members of `next` synced with it form a quorum of `next`.
    pub fn is_quorum_synced(&self, next: &QuorumView, now: u64) -> bool {
        matches!(&self.role, Role::Leading(l) if l.is_quorum_synced(next, now))
    }
}
