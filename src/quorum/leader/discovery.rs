//! Discovery: learners report their accepted epochs (FOLLOWERINFO/OBSERVERINFO), the leader
//! picks one above all of a quorum's (`getEpochToPropose`), sends LEADERINFO, and waits for a
//! quorum of ACKEPOCH, refusing learners with a more recent history than its own
//! (`waitForEpochAck`). Then each learner is synced; a quorum of NEWLEADER ACKs establishes the
//! leader (`waitForNewLeaderAck`).

use super::super::action::{Action, LinkId};
use super::super::wire::payload::{decode_int, encode_int, LearnerInfo, PROTOCOL_VERSION};
use super::super::wire::{PacketType, QuorumPacket};
use super::super::zxid::{epoch_of, hex};
use super::super::Sid;
use super::handler::HState;
use super::{Abdicate, Ctx, Leader, Phase};

impl Leader {
    /// Dispatches a packet by the sender's handshake state.
    pub(super) fn on_packet(
        &mut self,
        link: LinkId,
        p: QuorumPacket,
        ctx: &mut Ctx,
    ) -> Result<(), Abdicate> {
        let timing = self.timing;
        let Some(h) = self.learners.get_mut(&link) else {
            return Ok(());
        };
        h.heard(ctx.now, &timing);
        let kind = p.packet_type();
        match h.state {
            HState::AwaitInfo => match kind {
                Some(PacketType::FollowerInfo) | Some(PacketType::ObserverInfo) => {
                    self.learner_info(link, kind == Some(PacketType::ObserverInfo), &p, ctx)
                }
                _ => {
                    let what = format!(
                        "First packet {} is not FOLLOWERINFO or OBSERVERINFO",
                        p.describe()
                    );
                    self.drop_learner(link, &what, ctx);
                    Ok(())
                }
            },
            HState::AwaitAckEpoch => {
                if kind != Some(PacketType::AckEpoch) {
                    let what = format!("{} is not ACKEPOCH", p.describe());
                    self.drop_learner(link, &what, ctx);
                    return Ok(());
                }
                self.ack_epoch(link, &p, ctx)
            }
            HState::AwaitNewLeaderAck => {
                if kind != Some(PacketType::Ack) {
                    let what = format!(
                        "Next packet was supposed to be an ACK, but received packet: {}",
                        p.describe()
                    );
                    self.drop_learner(link, &what, ctx);
                    return Ok(());
                }
                self.newleader_ack(link, p.zxid, ctx)
            }
            HState::AwaitEpoch | HState::AwaitEpochQuorum | HState::AwaitStartup => {
                // Apache's handler thread is blocked in a wait and reads nothing until it
                // resumes; the packet would be read afterwards. Handle it as it would be then.
                if h.state == HState::AwaitStartup {
                    return self.broadcast_packet(link, p, ctx);
                }
                tracing::warn!(packet = %p.describe(), "packet from a learner that is still in discovery; ignored");
                Ok(())
            }
            HState::Broadcast => self.broadcast_packet(link, p, ctx),
        }
    }

    fn learner_info(
        &mut self,
        link: LinkId,
        observer: bool,
        p: &QuorumPacket,
        ctx: &mut Ctx,
    ) -> Result<(), Abdicate> {
        let Some(info) = LearnerInfo::decode(p.payload()) else {
            self.drop_learner(link, "LearnerInfo without a server id", ctx);
            return Ok(());
        };
        if info.config_version > self.view.version() {
            self.drop_learner(
                link,
                "Follower is ahead of the leader (has a later activated configuration)",
                ctx,
            );
            return Ok(());
        }
        if info.protocol_version < PROTOCOL_VERSION {
            self.drop_learner(
                link,
                "learner speaks the pre-Zab-1.0 protocol (< 0x10000), not supported",
                ctx,
            );
            return Ok(());
        }
        let Ok(sid) = Sid::try_from(info.sid) else {
            self.drop_learner(link, "negative server id", ctx);
            return Ok(());
        };
        if !self.view.is_member(sid) {
            tracing::info!(
                sid,
                "Follower sid is not in the current config; it will not be counted"
            );
        }
        // The learner type is what the learner says it is (`LearnerHandler`: OBSERVER only
        // for OBSERVERINFO), not what this leader's configuration says: a follower whose
        // configuration differs (a reconfig it saw first, or one this leader resumes) is sent
        // PROPOSAL and COMMIT, which it handles, never INFORM, which it drops; its ACKs count
        // only where it votes. Until its configuration agrees it follows as a non-voter.
        if let Some(h) = self.learners.get_mut(&link) {
            h.sid = Some(sid);
            h.observer = observer;
            h.state = HState::AwaitEpoch;
        }
        tracing::info!(
            sid,
            observer,
            accepted_epoch = epoch_of(p.zxid),
            "Learner connected"
        );
        self.offer_epoch(sid, epoch_of(p.zxid), observer, ctx)
    }

    /// `getEpochToPropose`: raise the candidate above `accepted`; once the leader and a quorum
    /// of participants have reported, the epoch is chosen and persisted as acceptedEpoch.
    pub(super) fn offer_epoch(
        &mut self,
        sid: Sid,
        accepted: i64,
        observer: bool,
        ctx: &mut Ctx,
    ) -> Result<(), Abdicate> {
        if self.epoch.is_none() {
            if accepted >= self.proposed_epoch {
                self.proposed_epoch = accepted + 1;
            }
            if !observer && self.view.is_voter(sid) {
                self.connecting.insert(sid);
            }
            if self.connecting.contains(&self.me) && self.view.is_quorum(&self.connecting) {
                let epoch = self.proposed_epoch;
                self.epoch = Some(epoch);
                self.accepted_epoch = epoch;
                ctx.out.push(Action::PersistAcceptedEpoch(epoch));
                self.phase = Phase::EpochAcks;
                self.phase_deadline = ctx.now + self.timing.init_ms();
                tracing::info!(epoch, "New epoch chosen by a quorum");
                let waiting: Vec<LinkId> = self
                    .learners
                    .iter()
                    .filter(|(_, h)| h.state == HState::AwaitEpoch)
                    .map(|(l, _)| *l)
                    .collect();
                for l in waiting {
                    self.send_leader_info(l, ctx);
                }
                // The leader acknowledges its own epoch with its own state summary.
                let me = self.me;
                let summary = self.summary;
                self.count_epoch_ack(me, summary.1, ctx);
            }
        } else if sid != self.me {
            let link = self
                .learners
                .iter()
                .find(|(_, h)| h.sid == Some(sid) && h.state == HState::AwaitEpoch)
                .map(|(l, _)| *l);
            if let Some(l) = link {
                self.send_leader_info(l, ctx);
            }
        }
        Ok(())
    }

    fn send_leader_info(&mut self, link: LinkId, ctx: &mut Ctx) {
        let Some(zxid) = self.epoch_zxid() else {
            return;
        };
        ctx.out.push(Action::Send {
            link,
            packet: QuorumPacket::new(
                PacketType::LeaderInfo,
                zxid,
                Some(encode_int(PROTOCOL_VERSION)),
            ),
        });
        if let Some(h) = self.learners.get_mut(&link) {
            h.state = HState::AwaitAckEpoch;
        }
    }

    fn ack_epoch(&mut self, link: LinkId, p: &QuorumPacket, ctx: &mut Ctx) -> Result<(), Abdicate> {
        let Some(epoch) = decode_int(p.payload()) else {
            self.drop_learner(link, "ACKEPOCH payload shorter than 4 bytes", ctx);
            return Ok(());
        };
        let (sid, observer) = match self.learners.get(&link) {
            Some(h) => (h.sid.unwrap_or(0), h.observer),
            None => return Ok(()),
        };
        let peer_epoch = i64::from(epoch);
        let (cur, last) = self.summary;
        if self.phase == Phase::EpochAcks && peer_epoch != -1 {
            let ahead = peer_epoch > cur || (peer_epoch == cur && p.zxid > last);
            if ahead {
                let what = format!(
                    "Follower is ahead of the leader, leader summary: {cur} (current epoch), {} (last zxid)",
                    hex(last)
                );
                self.drop_learner(link, &what, ctx);
                return Ok(());
            }
        }
        if let Some(h) = self.learners.get_mut(&link) {
            h.peer_zxid = p.zxid;
            h.state = HState::AwaitEpochQuorum;
        }
        if self.phase == Phase::EpochAcks {
            // `waitForEpochAck` counts only an ACKEPOCH carrying a current epoch: -1 means the
            // learner had already accepted this epoch, and its state was not checked above.
            if peer_epoch != -1 && p.zxid != -1 && !observer {
                self.count_epoch_ack(sid, p.zxid, ctx);
            }
        } else {
            self.sync_learner(link, ctx);
        }
        Ok(())
    }

    /// Adds an ACKEPOCH; a quorum (with the leader) ends discovery: currentEpoch is persisted
    /// and every waiting learner is synced.
    fn count_epoch_ack(&mut self, sid: Sid, zxid: i64, ctx: &mut Ctx) {
        if zxid != -1 && self.view.is_voter(sid) {
            self.electing.insert(sid);
        }
        if self.phase != Phase::EpochAcks
            || !self.electing.contains(&self.me)
            || !self.view.is_quorum(&self.electing)
        {
            return;
        }
        let Some(epoch) = self.epoch else { return };
        ctx.out.push(Action::PersistCurrentEpoch(epoch));
        self.phase = Phase::Sync;
        self.phase_deadline = ctx.now + self.timing.init_ms();
        let waiting: Vec<LinkId> = self
            .learners
            .iter()
            .filter(|(_, h)| h.state == HState::AwaitEpochQuorum)
            .map(|(l, _)| *l)
            .collect();
        for l in waiting {
            self.sync_learner(l, ctx);
        }
        let me = self.me;
        let zxid = self.epoch_zxid().unwrap_or(0);
        self.count_newleader_ack(me, zxid, ctx);
    }

    fn newleader_ack(&mut self, link: LinkId, zxid: i64, ctx: &mut Ctx) -> Result<(), Abdicate> {
        let timing = self.timing;
        let (sid, observer) = match self.learners.get_mut(&link) {
            Some(h) => {
                h.start_sync_limit(ctx.now, &timing);
                h.state = HState::AwaitStartup;
                (h.sid.unwrap_or(0), h.observer)
            }
            None => return Ok(()),
        };
        if self.phase == Phase::Broadcast {
            self.send_uptodate(link, ctx);
        } else if !observer {
            self.count_newleader_ack(sid, zxid, ctx);
        }
        Ok(())
    }

    /// `waitForNewLeaderAck`: a quorum of participants (with the leader) establishes the leader.
    fn count_newleader_ack(&mut self, sid: Sid, zxid: i64, ctx: &mut Ctx) {
        if self.phase != Phase::Sync {
            return;
        }
        if Some(zxid) != self.epoch_zxid() {
            tracing::error!(
                sid,
                received = %hex(zxid),
                "NEWLEADER ACK is from a different epoch"
            );
            return;
        }
        let next = self.last_seen.as_ref();
        if self.view.is_voter(sid) || next.is_some_and(|v| v.is_voter(sid)) {
            self.newleader_acks.insert(sid);
        }
        // `hasAllQuorums`: of the configuration in force and of a resumed reconfig's.
        let next_ok = next.is_none_or(|v| v.is_quorum(&self.newleader_acks));
        if self.newleader_acks.contains(&self.me)
            && self.view.is_quorum(&self.newleader_acks)
            && next_ok
        {
            self.establish(ctx);
        }
    }

    /// The quorum is synced: start broadcasting (`startZkServer`) and release waiting learners.
    fn establish(&mut self, ctx: &mut Ctx) {
        let Some(zxid) = self.epoch_zxid() else {
            return;
        };
        self.phase = Phase::Broadcast;
        self.phase_deadline = u64::MAX;
        self.last_proposed = zxid;
        self.last_committed = zxid;
        self.next_ping = ctx.now;
        self.next_check = ctx.now + self.timing.tick_ms / 2;
        tracing::info!(zxid = %hex(zxid), "Leader established: a quorum acknowledged NEWLEADER");
        let config = self.newleader_config();
        if config.version() > self.view.version() {
            self.activate(config, ctx);
        }
        ctx.out.push(Action::StartServing);
        let waiting: Vec<LinkId> = self
            .learners
            .iter()
            .filter(|(_, h)| h.state == HState::AwaitStartup)
            .map(|(l, _)| *l)
            .collect();
        for l in waiting {
            self.send_uptodate(l, ctx);
        }
    }

    fn send_uptodate(&mut self, link: LinkId, ctx: &mut Ctx) {
        ctx.out.push(Action::Send {
            link,
            packet: QuorumPacket::new(PacketType::UpToDate, -1, None),
        });
        if let Some(h) = self.learners.get_mut(&link) {
            h.state = HState::Broadcast;
            for packet in std::mem::take(&mut h.held_commits) {
                ctx.out.push(Action::Send { link, packet });
            }
        }
    }
}
