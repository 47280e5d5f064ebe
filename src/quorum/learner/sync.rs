//! Synchronizing with the leader (`Learner.syncWithLeader`, 3.8.5+ order): DIFF, TRUNC or SNAP
//! first; proposals and commits collected until NEWLEADER (applied at once after a SNAP, whose
//! result is then snapshotted); at NEWLEADER every collected txn is logged and
//! made durable, currentEpoch written, and only then NEWLEADER is ACKed; after UPTODATE the
//! learner ACKs those txns, logs what came after NEWLEADER, applies the commits and serves.
//! Reconfigs seen in sync are handled as in broadcast (`activate`): a COMMITANDACTIVATE or
//! (observers) INFORMANDACTIVATE activates, NEWLEADER's configuration is activated at UPTODATE
//! unless it is a reconfig still in flight (then its commit activates it).
//! Never ACKs a proposal before the NEWLEADER ACK (Apache 3.8.0 leaders would miscount it).

use bytes::Bytes;

use super::super::action::Action;
use super::super::wire::{PacketType, QuorumPacket};
use super::super::zxid::{hex, make_zxid};
use super::{txn_zxid, Abandon, Ctx, Learner, Phase};

impl Learner {
    pub(super) fn first_sync_packet(
        &mut self,
        p: QuorumPacket,
        ctx: &mut Ctx,
    ) -> Result<(), Abandon> {
        match p.packet_type() {
            Some(PacketType::Diff) => {
                tracing::info!(zxid = %hex(p.zxid), "Getting a diff from the leader");
                self.snapshot_needed = false;
            }
            Some(PacketType::Trunc) => {
                tracing::warn!(zxid = %hex(p.zxid), "Truncating log to get in sync with the leader");
                ctx.out.push(Action::TruncateLog { zxid: p.zxid });
                self.state.last_zxid = p.zxid;
                // Apache applies TRUNC-mode txns at once and snapshots them at NEWLEADER; logging
                // them like a DIFF is the same on the wire and keeps the log free of gaps.
                self.snapshot_needed = false;
            }
            _ => {
                return Err(Abandon(format!(
                    "Got unexpected packet from leader: {}",
                    p.describe()
                )))
            }
        }
        self.last_queued = self.state.last_zxid;
        self.sync_committed = p.zxid;
        self.phase = Phase::Syncing;
        Ok(())
    }

    pub(super) fn snapshot(
        &mut self,
        zxid: i64,
        body: Bytes,
        ctx: &mut Ctx,
    ) -> Result<(), Abandon> {
        if self.phase != Phase::AwaitSync {
            return Err(Abandon("SNAP outside the start of synchronization".into()));
        }
        tracing::info!(zxid = %hex(zxid), bytes = body.len(), "Getting a snapshot from leader");
        ctx.out.push(Action::LoadSnapshot { zxid, body });
        self.undurable_snap = Some(self.state.last_zxid);
        self.state.last_zxid = zxid;
        self.last_queued = zxid;
        self.sync_committed = zxid;
        self.snapshot_needed = true;
        self.phase = Phase::Syncing;
        Ok(())
    }

    /// Before NEWLEADER, a SNAP/TRUNC learner applies commits directly.
    fn applies_directly(&self) -> bool {
        self.phase == Phase::Syncing && self.snapshot_needed
    }

    pub(super) fn sync_packet(&mut self, p: QuorumPacket, ctx: &mut Ctx) -> Result<(), Abandon> {
        match p.packet_type() {
            Some(PacketType::Proposal) => {
                let txn = p.data.unwrap_or_default();
                let zxid = self.queued(&txn)?;
                self.note_reconfig(zxid, &txn, ctx);
                self.not_committed.push_back((zxid, txn));
            }
            Some(t @ (PacketType::Commit | PacketType::CommitAndActivate)) => {
                self.sync_committed = self.sync_committed.max(p.zxid);
                if t == PacketType::CommitAndActivate {
                    if let Some(reason) = self.activate_proposed(&p, ctx)? {
                        return Err(Abandon(reason));
                    }
                }
                if self.applies_directly() {
                    match self.not_committed.front() {
                        Some((z, _)) if *z == p.zxid => {
                            if let Some((zxid, txn)) = self.not_committed.pop_front() {
                                ctx.out.push(Action::Apply { zxid, txn });
                            }
                        }
                        head => tracing::warn!(
                            zxid = %hex(p.zxid),
                            next = ?head.map(|(z, _)| hex(*z)),
                            "Committing a zxid that is not the next proposal"
                        ),
                    }
                } else {
                    self.committed.push_back(p.zxid);
                }
            }
            Some(t @ (PacketType::Inform | PacketType::InformAndActivate)) => {
                let txn = if t == PacketType::InformAndActivate {
                    // Activated at once; a major change leaves before the txn is taken, as
                    // Apache's `syncWithLeader` throws before processing it.
                    let (txn, change) = self.informed_reconfig(p, ctx)?;
                    if let Some(reason) = change {
                        return Err(Abandon(reason));
                    }
                    txn
                } else {
                    p.data.unwrap_or_default()
                };
                let zxid = self.queued(&txn)?;
                self.sync_committed = self.sync_committed.max(zxid);
                if self.applies_directly() {
                    ctx.out.push(Action::Apply { zxid, txn });
                } else {
                    self.not_committed.push_back((zxid, txn));
                    self.committed.push_back(zxid);
                }
            }
            Some(PacketType::NewLeader) if self.phase == Phase::Syncing => {
                self.newleader_config(p.data.as_ref(), ctx);
                self.new_leader(ctx)
            }
            Some(PacketType::UpToDate) if self.phase == Phase::AwaitUpToDate => {
                self.up_to_date(ctx)?
            }
            Some(PacketType::Ping) => {}
            _ => tracing::warn!(packet = %p.describe(), "unexpected packet during synchronization"),
        }
        Ok(())
    }

    /// The zxid of a sync txn, with Apache's gap warning.
    fn queued(&mut self, txn: &[u8]) -> Result<i64, Abandon> {
        let zxid = txn_zxid(txn).ok_or_else(|| Abandon("txn shorter than its header".into()))?;
        if zxid != self.last_queued + 1 {
            tracing::warn!(got = %hex(zxid), expected = %hex(self.last_queued + 1), "Got unexpected zxid");
        }
        self.last_queued = zxid;
        Ok(zxid)
    }

    fn new_leader(&mut self, ctx: &mut Ctx) {
        tracing::info!("Learner received NEWLEADER message");
        if self.snapshot_needed {
            ctx.out.push(Action::TakeSnapshot);
            self.undurable_snap = None;
        }
        self.phase = Phase::NewLeaderFsync;
        self.read_deadline = ctx.now + self.timing.sync_ms();
        if self.observer {
            self.finish_new_leader(ctx);
            return;
        }
        for (zxid, txn) in self.not_committed.drain(..) {
            ctx.out.push(Action::Append {
                zxid,
                txn: txn.clone(),
            });
            self.to_ack_after_uptodate.push(zxid);
            self.pending.push_back((zxid, txn));
            self.state.last_zxid = zxid;
        }
        match self.to_ack_after_uptodate.last() {
            Some(&last) => self.newleader_fsync = Some(last),
            None => self.finish_new_leader(ctx),
        }
    }

    /// Everything logged at NEWLEADER is durable: write currentEpoch, then ACK NEWLEADER.
    pub(super) fn finish_new_leader(&mut self, ctx: &mut Ctx) {
        self.newleader_fsync = None;
        self.state.current_epoch = self.new_epoch;
        ctx.out.push(Action::PersistCurrentEpoch(self.new_epoch));
        self.send(
            QuorumPacket::new(PacketType::Ack, make_zxid(self.new_epoch, 0), None),
            ctx,
        );
        self.phase = Phase::AwaitUpToDate;
    }

    fn up_to_date(&mut self, ctx: &mut Ctx) -> Result<(), Abandon> {
        tracing::info!("Learner received UPTODATE message");
        if let Some(reason) = self.activate_newleader_config(ctx) {
            return Err(Abandon(reason));
        }
        self.send(
            QuorumPacket::new(PacketType::Ack, make_zxid(self.new_epoch, 0), None),
            ctx,
        );
        self.phase = Phase::Broadcast;
        ctx.out.push(Action::StartServing);
        if self.observer {
            for (zxid, txn) in std::mem::take(&mut self.not_committed) {
                if self.committed.front() != Some(&zxid) {
                    tracing::warn!(zxid = %hex(zxid), "Committing a zxid that is not the next proposal");
                    continue;
                }
                self.committed.pop_front();
                self.log_and_apply(zxid, txn, ctx);
            }
            self.committed.clear();
            return Ok(());
        }
        for zxid in std::mem::take(&mut self.to_ack_after_uptodate) {
            self.send(QuorumPacket::new(PacketType::Ack, zxid, None), ctx);
        }
        for (zxid, txn) in std::mem::take(&mut self.not_committed) {
            self.log_proposal(zxid, txn, ctx);
        }
        for zxid in std::mem::take(&mut self.committed) {
            self.commit(zxid, ctx)?;
        }
        Ok(())
    }
}
