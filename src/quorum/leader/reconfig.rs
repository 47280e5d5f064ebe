//! Dynamic reconfiguration on the leader (`reconfigEnabled`): the version stamp NEWLEADER
//! gives a version-0 configuration, a reconfig proposal that (with every proposal after it)
//! needs a quorum of the old and of the new configuration (`hasAllQuorums`), and its commit
//! as COMMITANDACTIVATE to followers and INFORMANDACTIVATE to observers, both naming the
//! designated leader of the new configuration. Must not: parse or build config text beyond
//! `QuorumView` (the runtime prepares the reconfig txn and its new configuration).

use std::collections::BTreeSet;

use bytes::{BufMut, Bytes, BytesMut};

use super::super::action::Action;
use super::super::view::QuorumView;
use super::super::wire::{PacketType, QuorumPacket};
use super::super::zxid::{hex, make_zxid};
use super::super::Sid;
use super::handler::HState;
use super::{Abdicate, Ctx, Leader};

impl Leader {
    /// Why a leader outside the voters of its configuration steps down.
    pub(super) const NOT_A_VOTER: &'static str =
        "this leader is no voter of the configuration in force";

    /// A last seen configuration (a reconfig proposed before this epoch) is resumed if its
    /// reconfig txn, whose zxid is its version, is in this leader's log. The last seen
    /// configuration is written (`<zoo.cfg>.dynamic.next`) as soon as the proposal is seen,
    /// before the txn is durable, so a crash can keep it and lose the txn; such a reconfig
    /// never committed (a quorum would have logged it, and an elected leader holds every
    /// committed txn), and putting it in force would install a configuration whose txn is in
    /// no history. It is dropped, and so is the stale `.dynamic.next` (a last seen
    /// configuration not newer than the one in force clears it), or this leader would
    /// resume it after a later restart, once its log has passed that zxid. Apache resumes
    /// it regardless.
    pub(super) fn resume(&mut self, last_seen: Option<QuorumView>, last_zxid: i64, ctx: &mut Ctx) {
        let Some(v) = last_seen.filter(|v| v.version() > self.view.version()) else {
            return;
        };
        if v.version() > last_zxid {
            tracing::warn!(
                version = %hex(v.version()),
                last_zxid = %hex(last_zxid),
                "the last seen reconfiguration's txn is not in this leader's log: it never committed; dropped"
            );
            ctx.out.push(Action::LastSeenConfig {
                view: self.view.clone(),
            });
            return;
        }
        tracing::info!(version = %hex(v.version()), "resuming a reconfiguration proposed before this epoch");
        self.last_seen = Some(v);
    }

    /// The configuration NEWLEADER carries (`getLastSeenQuorumVerifier`): a pending one, or
    /// with `reconfigEnabled` a version-0 one stamped with the new epoch's first zxid, as
    /// Apache's `lead()` does (ZOOKEEPER-1783), so every member activates the same version.
    pub(super) fn newleader_config(&self) -> QuorumView {
        if let Some(v) = &self.last_seen {
            return v.clone();
        }
        match self.epoch {
            Some(e) if self.reconfig_enabled && self.view.version() == 0 => {
                self.view.with_version(make_zxid(e, 0))
            }
            _ => self.view.clone(),
        }
    }

    /// Installs `next` as the configuration in force (`processReconfig`).
    pub(super) fn activate(&mut self, next: QuorumView, ctx: &mut Ctx) {
        tracing::info!(version = %hex(next.version()), "activating configuration");
        self.view = next.clone();
        self.last_seen = None;
        ctx.out.push(Action::ActivateConfig { view: next });
    }

    /// A reconfig is proposed and not yet committed (`lastSeen != current`): another one gets
    /// RECONFIGINPROGRESS.
    pub fn reconfig_in_progress(&self) -> bool {
        self.last_seen.is_some()
    }

    /// The configuration in force.
    pub fn view(&self) -> &QuorumView {
        &self.view
    }

    /// `isQuorumSynced`: whether the voters of `next` that are synced with this leader (the
    /// leader itself included when it votes in `next`) form a quorum of `next`.
    pub fn is_quorum_synced(&self, next: &QuorumView, now: u64) -> bool {
        let mut ids: BTreeSet<Sid> = self
            .learners
            .values()
            .filter(|h| h.is_synced() && h.forwarding)
            .filter_map(|h| h.alive_voter(now))
            .collect();
        ids.insert(self.me);
        next.is_quorum(&ids)
    }

    /// Proposes the reconfig txn at `zxid` that installs `next` once committed.
    pub fn propose_reconfig(&mut self, zxid: i64, txn: Bytes, next: QuorumView, ctx: &mut Ctx) {
        self.last_seen = Some(next.clone());
        ctx.out.push(Action::LastSeenConfig { view: next.clone() });
        self.propose(zxid, txn, ctx);
        if let Some(p) = self.outstanding.get_mut(&zxid) {
            p.next_view = Some(next);
            p.activates = true;
        }
    }

    /// `tryToCommit` of a reconfig: activate, tell followers (COMMITANDACTIVATE with the
    /// designated leader) and observers (INFORMANDACTIVATE: designated leader + txn), apply.
    /// A leader that is not the designated one steps down; the followers elect it.
    pub(super) fn commit_and_activate(
        &mut self,
        zxid: i64,
        txn: Bytes,
        next: QuorumView,
        acks: &BTreeSet<Sid>,
        ctx: &mut Ctx,
    ) -> Result<(), Abdicate> {
        let designated = self.designated_leader(&next, acks);
        self.last_committed = zxid;
        self.activate(next, ctx);
        let mut sid_bytes = BytesMut::with_capacity(8);
        sid_bytes.put_i64(designated as i64);
        let sid_bytes = sid_bytes.freeze();
        let mut inform = BytesMut::with_capacity(8 + txn.len());
        inform.put_i64(designated as i64);
        inform.extend_from_slice(&txn);
        let inform = inform.freeze();
        for (link, h) in self.learners.iter_mut() {
            if !h.forwarding {
                continue;
            }
            let packet = if h.observer {
                QuorumPacket::new(PacketType::InformAndActivate, zxid, Some(inform.clone()))
            } else {
                QuorumPacket::new(PacketType::CommitAndActivate, zxid, Some(sid_bytes.clone()))
            };
            let syncing = matches!(h.state, HState::AwaitNewLeaderAck | HState::AwaitStartup);
            if syncing && !h.observer {
                h.held_commits.push(packet);
                continue;
            }
            ctx.out.push(Action::Send {
                link: *link,
                packet,
            });
        }
        self.apply_committed(zxid, txn, ctx);
        if designated != self.me {
            return Err(Abdicate(format!(
                "committed a reconfiguration; this leader is not the designated leader anymore (server {designated} is)"
            )));
        }
        Ok(())
    }

    /// `getDesignatedLeader`: this leader if it votes in `next`, else the voter of `next`
    /// that acknowledged the reconfig and the most proposals after it (lowest id on a tie).
    fn designated_leader(&self, next: &QuorumView, acks: &BTreeSet<Sid>) -> Sid {
        if next.is_voter(self.me) {
            return self.me;
        }
        let mut candidates: BTreeSet<Sid> = acks
            .iter()
            .copied()
            .filter(|s| *s != self.me && next.is_voter(*s))
            .collect();
        let mut best = candidates.first().copied().unwrap_or(self.me);
        for p in self.outstanding.values() {
            let kept: BTreeSet<Sid> = candidates.intersection(&p.acks).copied().collect();
            if kept.is_empty() {
                break;
            }
            candidates = kept;
            best = candidates.first().copied().unwrap_or(best);
        }
        best
    }
}
