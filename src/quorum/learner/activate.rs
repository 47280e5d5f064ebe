//! New configurations on a learner (`reconfigEnabled`): the one NEWLEADER carries, activated
//! at UPTODATE when newer (`Learner.syncWithLeader`); a reconfig PROPOSAL's, remembered until
//! its COMMITANDACTIVATE (payload: the designated leader's sid), which activates it and
//! commits the txn; an observer's INFORMANDACTIVATE (designated leader + txn). A learner whose
//! leader is not the designated one, or whose role changed (voter ↔ observer), leaves its
//! leader and elects (`processReconfig`'s "major change"); a follower removed from the
//! configuration stays as a non-voting follower, as Apache's does. Without `reconfigEnabled`
//! the txn is committed and nothing is activated, as Apache's `processReconfig` returns early.

use bytes::Bytes;

use super::super::action::Action;
use super::super::view::QuorumView;
use super::super::wire::payload::{decode_designated_leader, reconfig_config};
use super::super::wire::QuorumPacket;
use super::super::zxid::hex;
use super::{txn_zxid, Abandon, Ctx, Learner};

impl Learner {
    /// NEWLEADER's data: the leader's last seen configuration.
    pub(super) fn newleader_config(&mut self, data: Option<&Bytes>) {
        if !self.reconfig_enabled {
            return;
        }
        let Some(data) = data.filter(|d| d.len() > 1) else {
            return;
        };
        match QuorumView::from_config(data.clone()) {
            Some(v) if v.version() > self.view.version() => self.newleader_view = Some(v),
            Some(_) => {}
            None => tracing::warn!("NEWLEADER carried a configuration that does not parse"),
        }
    }

    /// UPTODATE: the NEWLEADER configuration is in force.
    pub(super) fn activate_newleader_config(&mut self, ctx: &mut Ctx) {
        if let Some(v) = self.newleader_view.take() {
            self.activate(v, ctx);
        }
    }

    /// A PROPOSAL: remember a reconfig's configuration until its COMMITANDACTIVATE.
    pub(super) fn note_reconfig(&mut self, zxid: i64, txn: &Bytes) {
        if !self.reconfig_enabled {
            return;
        }
        if let Some(v) = reconfig_config(txn).and_then(QuorumView::from_config) {
            self.reconfigs.insert(zxid, v);
        }
    }

    /// COMMITANDACTIVATE: activate the proposal's configuration, then commit it.
    pub(super) fn commit_and_activate(
        &mut self,
        p: QuorumPacket,
        ctx: &mut Ctx,
    ) -> Result<(), Abandon> {
        let designated = decode_designated_leader(p.payload())
            .ok_or_else(|| Abandon("COMMITANDACTIVATE without a designated leader".into()))?;
        let next = self.reconfigs.remove(&p.zxid);
        self.reconfigs.retain(|z, _| *z > p.zxid);
        let change = match next {
            Some(v) => self.activate_with_leader(v, designated, ctx),
            None => None,
        };
        self.commit(p.zxid, ctx)?;
        match change {
            Some(reason) => Err(Abandon(reason)),
            None => Ok(()),
        }
    }

    /// INFORMANDACTIVATE (observers): designated leader, then the reconfig txn to log, apply
    /// and activate.
    pub(super) fn inform_and_activate(
        &mut self,
        p: QuorumPacket,
        ctx: &mut Ctx,
    ) -> Result<(), Abandon> {
        let data = p.data.unwrap_or_default();
        let designated = decode_designated_leader(&data)
            .ok_or_else(|| Abandon("INFORMANDACTIVATE without a designated leader".into()))?;
        let txn = data.slice(8..);
        let zxid =
            txn_zxid(&txn).ok_or_else(|| Abandon("INFORMANDACTIVATE without a txn".into()))?;
        let change = match reconfig_config(&txn).and_then(QuorumView::from_config) {
            Some(v) if self.reconfig_enabled => self.activate_with_leader(v, designated, ctx),
            _ => None,
        };
        self.log_and_apply(zxid, txn, ctx);
        match change {
            Some(reason) => Err(Abandon(reason)),
            None => Ok(()),
        }
    }

    /// Activates `next`; `Some(reason)` when this learner must leave its leader.
    fn activate_with_leader(
        &mut self,
        next: QuorumView,
        designated: i64,
        ctx: &mut Ctx,
    ) -> Option<String> {
        if !self.reconfig_enabled || next.version() <= self.view.version() {
            return None;
        }
        let role_change = next.is_observer(self.me) != self.observer
            && (next.is_observer(self.me) || next.is_voter(self.me));
        self.activate(next, ctx);
        if designated != self.leader as i64 {
            return Some(format!(
                "changes proposed in reconfig: the designated leader is now {designated}"
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
