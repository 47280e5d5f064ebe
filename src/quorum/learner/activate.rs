//! New configurations on a learner (`reconfigEnabled`): the one NEWLEADER carries, activated
//! at UPTODATE when newer (`Learner.syncWithLeader`); a reconfig PROPOSAL's, remembered (and
//! reported as the last seen configuration) until its COMMITANDACTIVATE (payload: the
//! designated leader's sid), which activates it and commits the txn, during sync as after; an
//! observer's INFORMANDACTIVATE (designated leader + txn), during sync as after. A learner whose
//! leader is not the designated one, or whose role changed (voter ↔ observer), leaves its
//! leader and elects (`processReconfig`'s "major change"); a follower removed from the
//! configuration stays as a non-voting follower, as Apache's does. Without `reconfigEnabled`
//! the txn is committed and nothing is activated, as Apache's `processReconfig` returns early.

use bytes::Bytes;

use super::super::action::Action;
use super::super::view::QuorumView;
use super::super::wire::payload::{decode_designated_leader, reconfig_config};
use super::super::wire::QuorumPacket;
use super::super::zxid::{counter_of, epoch_of, hex};
use super::{txn_zxid, Abandon, Ctx, Learner};

impl Learner {
    /// NEWLEADER's data: the leader's last seen configuration, which becomes this member's
    /// last seen one too (`setLastSeenQuorumVerifier`), and is activated at UPTODATE if newer.
    pub(super) fn newleader_config(&mut self, data: Option<&Bytes>, ctx: &mut Ctx) {
        if !self.reconfig_enabled {
            return;
        }
        let Some(data) = data.filter(|d| d.len() > 1) else {
            return;
        };
        match QuorumView::from_config(data.clone()) {
            Some(v) => {
                ctx.out.push(Action::LastSeenConfig { view: v.clone() });
                if v.version() > self.view.version() {
                    self.newleader_view = Some(v);
                }
            }
            None => tracing::warn!("NEWLEADER carried a configuration that does not parse"),
        }
    }

    /// UPTODATE: the NEWLEADER configuration is in force; `Some(reason)` when its voters no
    /// longer include the leader, or this member's role changed (Apache's "major change").
    ///
    /// Unless it is a reconfig this leader proposed in its epoch and the sync did not show
    /// committed: an established leader's NEWLEADER carries its last seen configuration
    /// (`getQuorumVerifierBytes`), which may be a reconfig still in flight. Activated at
    /// UPTODATE, it would be in force here even if it never commits, and spread from here to
    /// every member that elects (notifications carry it), which then could never join a leader
    /// without it ("ahead of the leader"). Its COMMITANDACTIVATE (held until UPTODATE) or
    /// INFORMANDACTIVATE activates it once committed. A configuration of an earlier epoch (a
    /// resumed reconfig) or a version-0 stamp is in force once the leader is established,
    /// which UPTODATE means.
    pub(super) fn activate_newleader_config(&mut self, ctx: &mut Ctx) -> Option<String> {
        let next = self.newleader_view.take()?;
        let v = next.version();
        let in_flight =
            epoch_of(v) >= self.new_epoch && counter_of(v) != 0 && v > self.sync_committed;
        if in_flight {
            tracing::info!(version = %hex(v), "NEWLEADER's configuration is a reconfig still in flight: its commit activates it");
            return None;
        }
        self.activate_checked(next, None, ctx)
    }

    /// A PROPOSAL (in sync or broadcast): remember a reconfig's configuration until its
    /// COMMITANDACTIVATE; it is the last seen configuration now.
    pub(super) fn note_reconfig(&mut self, zxid: i64, txn: &Bytes, ctx: &mut Ctx) {
        if !self.reconfig_enabled {
            return;
        }
        if let Some(v) = reconfig_config(txn).and_then(QuorumView::from_config) {
            ctx.out.push(Action::LastSeenConfig { view: v.clone() });
            self.reconfigs.insert(zxid, v);
        }
    }

    /// COMMITANDACTIVATE's activation (before its commit, in sync as in broadcast):
    /// `Some(reason)` when this learner must leave its leader.
    pub(super) fn activate_proposed(
        &mut self,
        p: &QuorumPacket,
        ctx: &mut Ctx,
    ) -> Result<Option<String>, Abandon> {
        let designated = decode_designated_leader(p.payload())
            .ok_or_else(|| Abandon("COMMITANDACTIVATE without a designated leader".into()))?;
        let next = self.reconfigs.remove(&p.zxid);
        self.reconfigs.retain(|z, _| *z > p.zxid);
        Ok(next.and_then(|v| self.activate_checked(v, Some(designated), ctx)))
    }

    /// COMMITANDACTIVATE in broadcast: activate the proposal's configuration, then commit it.
    pub(super) fn commit_and_activate(
        &mut self,
        p: QuorumPacket,
        ctx: &mut Ctx,
    ) -> Result<(), Abandon> {
        let change = self.activate_proposed(&p, ctx)?;
        self.commit(p.zxid, ctx)?;
        match change {
            Some(reason) => Err(Abandon(reason)),
            None => Ok(()),
        }
    }

    /// INFORMANDACTIVATE's activation (observers, in sync as in broadcast): the designated
    /// leader, then the reconfig txn, whose configuration is activated. Returns the txn and
    /// `Some(reason)` when this learner must leave its leader.
    pub(super) fn informed_reconfig(
        &mut self,
        p: QuorumPacket,
        ctx: &mut Ctx,
    ) -> Result<(Bytes, Option<String>), Abandon> {
        let data = p.data.unwrap_or_default();
        let designated = decode_designated_leader(&data)
            .ok_or_else(|| Abandon("INFORMANDACTIVATE without a designated leader".into()))?;
        let txn = data.slice(8..);
        txn_zxid(&txn).ok_or_else(|| Abandon("INFORMANDACTIVATE without a txn".into()))?;
        let change = match reconfig_config(&txn).and_then(QuorumView::from_config) {
            Some(v) => self.activate_checked(v, Some(designated), ctx),
            None => None,
        };
        Ok((txn, change))
    }

    /// INFORMANDACTIVATE in broadcast: activate, then log and apply the reconfig txn.
    pub(super) fn inform_and_activate(
        &mut self,
        p: QuorumPacket,
        ctx: &mut Ctx,
    ) -> Result<(), Abandon> {
        let (txn, change) = self.informed_reconfig(p, ctx)?;
        let zxid =
            txn_zxid(&txn).ok_or_else(|| Abandon("INFORMANDACTIVATE without a txn".into()))?;
        self.log_and_apply(zxid, txn, ctx);
        match change {
            Some(reason) => Err(Abandon(reason)),
            None => Ok(()),
        }
    }

    /// Activates `next` if newer (`processReconfig`); `Some(reason)` when this learner must
    /// leave its leader: the designated leader is another member (or, with none named, the
    /// leader is no voter of `next`), or this member's role changed.
    fn activate_checked(
        &mut self,
        next: QuorumView,
        designated: Option<i64>,
        ctx: &mut Ctx,
    ) -> Option<String> {
        if !self.reconfig_enabled || next.version() <= self.view.version() {
            return None;
        }
        let role_change = next.is_observer(self.me) != self.observer
            && (next.is_observer(self.me) || next.is_voter(self.me));
        let leader_gone = match designated {
            Some(d) => d != self.leader as i64,
            None => !next.is_voter(self.leader),
        };
        self.activate(next, ctx);
        if leader_gone {
            let who = designated.map_or("another member".to_string(), |d| format!("{d}"));
            return Some(format!(
                "changes proposed in reconfig: the designated leader is now {who}"
            ));
        }
        role_change.then(|| "changes proposed in reconfig: this member's role changed".into())
    }

    fn activate(&mut self, next: QuorumView, ctx: &mut Ctx) {
        tracing::info!(version = %hex(next.version()), voter = next.is_voter(self.me), "activating configuration");
        self.view = next.clone();
        ctx.out.push(Action::ActivateConfig { view: next });
    }
}
