//! Registering with the leader (`Learner.registerWithLeader`): FOLLOWERINFO/OBSERVERINFO with
//! the accepted epoch, LEADERINFO with the new one (persisted as acceptedEpoch before the
//! ACKEPOCH that carries our current epoch and last zxid).

use super::super::action::Action;
use super::super::wire::payload::{decode_int, encode_int, LearnerInfo, PROTOCOL_VERSION};
use super::super::wire::{PacketType, QuorumPacket};
use super::super::zxid::{epoch_of, make_zxid};
use super::{Abandon, Ctx, Learner, Phase};

impl Learner {
    pub(super) fn connected(&mut self, ctx: &mut Ctx) -> Result<(), Abandon> {
        if self.phase != Phase::Connecting {
            return Ok(());
        }
        let kind = if self.observer {
            PacketType::ObserverInfo
        } else {
            PacketType::FollowerInfo
        };
        let info = LearnerInfo {
            sid: self.me as i64,
            protocol_version: PROTOCOL_VERSION,
            config_version: self.view.version(),
        };
        self.send(
            QuorumPacket::new(
                kind,
                make_zxid(self.state.accepted_epoch, 0),
                Some(info.encode()),
            ),
            ctx,
        );
        self.phase = Phase::Registering;
        self.read_deadline = ctx.now + self.timing.init_ms();
        Ok(())
    }

    pub(super) fn on_packet(&mut self, p: QuorumPacket, ctx: &mut Ctx) -> Result<(), Abandon> {
        match self.phase {
            Phase::Connecting => Ok(()),
            Phase::Registering => self.leader_info(p, ctx),
            Phase::AwaitSync => self.first_sync_packet(p, ctx),
            Phase::Syncing | Phase::NewLeaderFsync | Phase::AwaitUpToDate => {
                self.sync_packet(p, ctx)
            }
            Phase::Broadcast => self.broadcast_packet(p, ctx),
        }
    }

    fn leader_info(&mut self, p: QuorumPacket, ctx: &mut Ctx) -> Result<(), Abandon> {
        if p.packet_type() != Some(PacketType::LeaderInfo) {
            return Err(Abandon(format!(
                "First packet should have been LEADERINFO, got {} (pre-Zab-1.0 leaders are not supported)",
                p.describe()
            )));
        }
        if decode_int(p.payload()).is_none() {
            return Err(Abandon("LEADERINFO payload shorter than 4 bytes".into()));
        }
        let new_epoch = epoch_of(p.zxid);
        let ack = if new_epoch > self.state.accepted_epoch {
            let current = self.state.current_epoch as i32;
            self.state.accepted_epoch = new_epoch;
            ctx.out.push(Action::PersistAcceptedEpoch(new_epoch));
            current
        } else if new_epoch == self.state.accepted_epoch {
            -1
        } else {
            return Err(Abandon(format!(
                "Leaders epoch, {new_epoch} is less than accepted epoch, {}",
                self.state.accepted_epoch
            )));
        };
        self.new_epoch = new_epoch;
        self.send(
            QuorumPacket::new(
                PacketType::AckEpoch,
                self.state.last_zxid,
                Some(encode_int(ack)),
            ),
            ctx,
        );
        self.phase = Phase::AwaitSync;
        Ok(())
    }
}
