//! Synchronization of one learner: the DIFF/TRUNC/SNAP the history module chose, the proposals
//! still in flight (`startForwarding`), then NEWLEADER. From that moment the learner receives
//! live broadcast packets, so nothing it needs can fall between the sync and the broadcast.

use super::super::action::{Action, LinkId};
use super::super::history::{plan_sync, SyncInput};
use super::super::wire::{PacketType, QuorumPacket};
use super::super::zxid::hex;
use super::handler::HState;
use super::{Ctx, Leader};

impl Leader {
    pub(super) fn sync_learner(&mut self, link: LinkId, ctx: &mut Ctx) {
        let Some(h) = self.learners.get(&link) else {
            return;
        };
        let (peer_zxid, observer, sid) = (h.peer_zxid, h.observer, h.sid);
        let last_processed = ctx.last_applied.max(self.last_committed);
        let plan = plan_sync(&SyncInput {
            peer_zxid,
            committed: ctx.committed,
            last_processed,
            log: Some(ctx.log),
            force_snap: self.force_snap,
        });
        tracing::info!(
            sid = ?sid,
            peer_zxid = %hex(peer_zxid),
            leader_zxid = %hex(last_processed),
            mode = plan.kind(),
            txns = plan.packets.len() / 2,
            "Synchronizing learner"
        );
        if plan.snap {
            ctx.out.push(Action::SendSnapshot { link });
        }
        for packet in plan.packets {
            ctx.out.push(Action::Send { link, packet });
        }
        // startForwarding: proposals in flight above what the learner now holds (participants
        // only; observers hear about them as INFORMs once committed).
        let now = ctx.now;
        let h = self.learners.get_mut(&link);
        let Some(h) = h else { return };
        if !observer {
            for (zxid, p) in self.outstanding.range(plan.queued_zxid + 1..) {
                h.proposal_sent(*zxid, now);
                ctx.out.push(Action::Send {
                    link,
                    packet: QuorumPacket::new(PacketType::Proposal, *zxid, Some(p.txn.clone())),
                });
            }
        }
        h.forwarding = true;
        h.pinged = true;
        h.state = HState::AwaitNewLeaderAck;
        let zxid = self
            .epoch
            .map_or(0, |e| super::super::zxid::make_zxid(e, 0));
        ctx.out.push(Action::Send {
            link,
            packet: QuorumPacket::new(
                PacketType::NewLeader,
                zxid,
                Some(self.newleader_config().config().clone()),
            ),
        });
    }
}
