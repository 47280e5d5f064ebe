//! Following the broadcast (`Follower.processPacket`, `Observer.processPacket`): a follower
//! logs each PROPOSAL, ACKs it once durable (in order, one batch per fsync), and applies it at
//! its COMMIT — which must name the oldest pending txn, else its history is not the leader's
//! and it leaves. An observer logs and applies INFORMs. PINGs are answered with the sessions
//! this member's clients touched.

use bytes::Bytes;

use super::super::action::Action;
use super::super::wire::payload::{decode_revalidate_reply, encode_revalidate, ForwardedRequest};
use super::super::wire::{PacketType, QuorumPacket};
use super::super::zxid::hex;
use super::{txn_zxid, Abandon, Ctx, Learner, Phase};
use crate::proto::records::Id;

impl Learner {
    pub(super) fn broadcast_packet(
        &mut self,
        p: QuorumPacket,
        ctx: &mut Ctx,
    ) -> Result<(), Abandon> {
        match p.packet_type() {
            Some(PacketType::Proposal) if !self.observer => {
                let txn = p.data.unwrap_or_default();
                let zxid = txn_zxid(&txn)
                    .ok_or_else(|| Abandon("PROPOSAL shorter than a txn header".into()))?;
                if zxid != self.last_queued + 1 {
                    tracing::warn!(got = %hex(zxid), expected = %hex(self.last_queued + 1), "Got unexpected zxid");
                }
                self.note_reconfig(zxid, &txn, ctx);
                self.log_proposal(zxid, txn, ctx);
            }
            Some(PacketType::Commit) if !self.observer => self.commit(p.zxid, ctx)?,
            Some(PacketType::Inform) if self.observer => {
                let txn = p.data.unwrap_or_default();
                let zxid = txn_zxid(&txn)
                    .ok_or_else(|| Abandon("INFORM shorter than a txn header".into()))?;
                self.log_and_apply(zxid, txn, ctx);
            }
            Some(PacketType::Ping) => ctx.out.push(Action::PingReply {
                link: self.link,
                zxid: p.zxid,
            }),
            Some(PacketType::Sync) => ctx.out.push(Action::SyncDone),
            Some(PacketType::Revalidate) => match decode_revalidate_reply(p.payload()) {
                Some((session, valid)) => ctx.out.push(Action::Revalidated { session, valid }),
                None => return Err(Abandon("malformed REVALIDATE answer".into())),
            },
            Some(PacketType::UpToDate) => {
                tracing::error!("Received an UPTODATE message after the learner started");
            }
            Some(PacketType::CommitAndActivate) if !self.observer => {
                self.commit_and_activate(p, ctx)?
            }
            Some(PacketType::InformAndActivate) if self.observer => {
                self.inform_and_activate(p, ctx)?
            }
            _ => {
                tracing::warn!(packet = %p.describe(), observer = self.observer, "unexpected quorum packet")
            }
        }
        Ok(())
    }

    /// Logs a proposal; its ACK goes out once the log is durable past it.
    pub(super) fn log_proposal(&mut self, zxid: i64, txn: Bytes, ctx: &mut Ctx) {
        ctx.out.push(Action::Append {
            zxid,
            txn: txn.clone(),
        });
        self.pending.push_back((zxid, txn));
        self.unacked.push_back(zxid);
        self.last_queued = zxid;
        self.state.last_zxid = zxid;
    }

    /// An observer's committed txn: logged and applied.
    pub(super) fn log_and_apply(&mut self, zxid: i64, txn: Bytes, ctx: &mut Ctx) {
        ctx.out.push(Action::Append {
            zxid,
            txn: txn.clone(),
        });
        ctx.out.push(Action::Apply { zxid, txn });
        self.last_queued = zxid;
        self.state.last_zxid = zxid;
    }

    /// `FollowerZooKeeperServer.commit`: the COMMIT must name the oldest pending txn.
    pub(super) fn commit(&mut self, zxid: i64, ctx: &mut Ctx) -> Result<(), Abandon> {
        match self.pending.front() {
            None => {
                tracing::warn!(zxid = %hex(zxid), "Committing without seeing txn");
                Ok(())
            }
            Some((head, _)) if *head != zxid => Err(Abandon(format!(
                "Committing zxid {} but next pending txn {}",
                hex(zxid),
                hex(*head)
            ))),
            Some(_) => {
                if let Some((zxid, txn)) = self.pending.pop_front() {
                    ctx.out.push(Action::Apply { zxid, txn });
                }
                Ok(())
            }
        }
    }

    /// The log is durable up to `zxid`: ACK what it covers (followers, after UPTODATE only).
    pub(super) fn persisted(&mut self, zxid: i64, ctx: &mut Ctx) -> Result<(), Abandon> {
        if self.phase == Phase::NewLeaderFsync {
            if self.newleader_fsync.is_some_and(|z| zxid >= z) {
                self.finish_new_leader(ctx);
            }
            return Ok(());
        }
        if self.phase != Phase::Broadcast || self.observer {
            return Ok(());
        }
        while self.unacked.front().is_some_and(|z| *z <= zxid) {
            if let Some(z) = self.unacked.pop_front() {
                self.send(QuorumPacket::new(PacketType::Ack, z, None), ctx);
            }
        }
        Ok(())
    }

    /// Forwards a client write (or createSession/closeSession/sync) to the leader.
    pub fn forward(&self, request: &ForwardedRequest, auth: Vec<Id>, ctx: &mut Ctx) {
        let mut packet = QuorumPacket::new(PacketType::Request, -1, Some(request.encode()));
        packet.auth = Some(auth);
        self.send(packet, ctx);
    }

    /// Asks the leader whether a reconnecting client's session is still valid.
    pub fn revalidate(&self, session: i64, timeout_ms: i32, ctx: &mut Ctx) {
        let packet = QuorumPacket::new(
            PacketType::Revalidate,
            -1,
            Some(encode_revalidate(session, timeout_ms)),
        );
        self.send(packet, ctx);
    }
}
