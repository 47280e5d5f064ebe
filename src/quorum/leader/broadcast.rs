//! Broadcast: proposals go to every forwarding follower while the leader logs them itself
//! (pipelined: many can be in flight); a proposal commits once a quorum, the leader included
//! after its own fsync, has ACKed it and every earlier one has committed (`processAck`,
//! `tryToCommit`). Committed txns go out as COMMIT to followers and INFORM to observers, and
//! `sync`s wait for a quorum to confirm the leadership (`barrier`), then learners' for what
//! was proposed before them to commit. Pings every half
//! tick; a leader without a synced quorum steps down.

use std::collections::BTreeSet;

use bytes::Bytes;

use super::super::action::{Action, LinkId};
use super::super::wire::payload::{
    decode_revalidate, decode_touched, encode_revalidate_reply, ForwardedRequest,
};
use super::super::wire::{PacketType, QuorumPacket};
use super::super::zxid::{hex, is_epoch_start};
use super::super::Sid;
use super::barrier::Waiter;
use super::handler::HState;
use super::{Abdicate, Ctx, Leader, Phase, Proposal};

/// `OpCode.sync`: answered by the leader itself, not prepared as a txn.
const OP_SYNC: i32 = 9;

impl Leader {
    /// Proposes a prepared txn at `zxid` (from `next_zxid`): PROPOSAL to the followers, then
    /// the local append whose durability is the leader's own ACK.
    pub fn propose(&mut self, zxid: i64, txn: Bytes, ctx: &mut Ctx) {
        self.last_proposed = zxid;
        for (link, h) in self.learners.iter_mut() {
            if h.forwarding && !h.observer {
                h.proposal_sent(zxid, ctx.now);
                ctx.out.push(Action::Send {
                    link: *link,
                    packet: QuorumPacket::new(PacketType::Proposal, zxid, Some(txn.clone())),
                });
            }
        }
        ctx.out.push(Action::Append {
            zxid,
            txn: txn.clone(),
        });
        self.outstanding.insert(
            zxid,
            Proposal {
                txn,
                acks: BTreeSet::new(),
                next_view: self.last_seen.clone(),
                activates: false,
            },
        );
    }

    /// The leader's log is durable up to `zxid`: its own ACK for each such proposal.
    pub(super) fn self_ack(&mut self, zxid: i64, ctx: &mut Ctx) -> Result<(), Abdicate> {
        let me = self.me;
        for p in self.outstanding.range_mut(..=zxid).map(|(_, p)| p) {
            p.acks.insert(me);
        }
        self.commit_ready(ctx)
    }

    /// `processAck`: an ACK counts for exactly the proposal it names.
    fn process_ack(&mut self, sid: Sid, zxid: i64, ctx: &mut Ctx) -> Result<(), Abdicate> {
        if is_epoch_start(zxid) || self.outstanding.is_empty() || zxid <= self.last_committed {
            return Ok(());
        }
        let Some(p) = self.outstanding.get_mut(&zxid) else {
            tracing::warn!(zxid = %hex(zxid), sid, "Trying to commit future proposal");
            return Ok(());
        };
        p.acks.insert(sid);
        self.commit_ready(ctx)
    }

    /// Commits, in zxid order, every proposal at the front that has a quorum (of the current
    /// configuration and, while a reconfig is pending, of the next one). Committing a reconfig
    /// that hands the leadership to another member ends this leader.
    fn commit_ready(&mut self, ctx: &mut Ctx) -> Result<(), Abdicate> {
        while let Some(entry) = self.outstanding.first_entry() {
            let p = entry.get();
            let next_ok = p.next_view.as_ref().is_none_or(|v| v.is_quorum(&p.acks));
            if !self.view.is_quorum(&p.acks) || !next_ok {
                break;
            }
            let zxid = *entry.key();
            let p = entry.remove();
            match p.next_view {
                Some(next) if p.activates => {
                    self.commit_and_activate(zxid, p.txn, next, &p.acks, ctx)?;
                }
                _ => self.commit(zxid, p.txn, ctx),
            }
        }
        Ok(())
    }

    fn commit(&mut self, zxid: i64, txn: Bytes, ctx: &mut Ctx) {
        self.last_committed = zxid;
        for (link, h) in self.learners.iter_mut() {
            if !h.forwarding {
                continue;
            }
            let syncing = matches!(h.state, HState::AwaitNewLeaderAck | HState::AwaitStartup);
            if syncing && !h.observer {
                h.held_commits
                    .push(QuorumPacket::new(PacketType::Commit, zxid, None));
                continue;
            }
            let packet = if h.observer {
                QuorumPacket::new(PacketType::Inform, zxid, Some(txn.clone()))
            } else {
                QuorumPacket::new(PacketType::Commit, zxid, None)
            };
            ctx.out.push(Action::Send {
                link: *link,
                packet,
            });
        }
        self.apply_committed(zxid, txn, ctx);
    }

    /// A committed txn: into the committed history, applied, and the learner `sync`s that
    /// waited for it answered (shared by plain and reconfig commits).
    pub(super) fn apply_committed(&mut self, zxid: i64, txn: Bytes, ctx: &mut Ctx) {
        ctx.committed.push(zxid, txn.clone());
        ctx.out.push(Action::Apply { zxid, txn });
        if let Some(links) = self.pending_syncs.remove(&zxid) {
            for link in links {
                self.send_sync(link, ctx);
            }
        }
    }

    fn send_sync(&self, link: LinkId, ctx: &mut Ctx) {
        ctx.out.push(Action::Send {
            link,
            packet: QuorumPacket::new(PacketType::Sync, 0, None),
        });
    }

    /// `processSync`, after a quorum confirmed the leadership (`barrier`): a learner's `sync`
    /// is answered once what was proposed before it commits.
    fn process_sync(&mut self, link: LinkId, ctx: &mut Ctx) {
        let until = self.last_proposed;
        self.confirm_leadership(Waiter::Learner { link, until }, ctx);
    }

    /// SYNC to `link` once `until` has committed.
    pub(super) fn sync_after(&mut self, link: LinkId, until: i64, ctx: &mut Ctx) {
        if until <= self.last_committed {
            self.send_sync(link, ctx);
        } else {
            self.pending_syncs.entry(until).or_default().push(link);
        }
    }

    /// A `sync` from one of the leader's own clients: `Action::SyncConfirmed` once a quorum
    /// confirmed the leadership (the host then waits to apply what was proposed before it).
    pub fn local_sync(&mut self, token: u64, ctx: &mut Ctx) {
        self.confirm_leadership(Waiter::Local(token), ctx);
    }

    /// Answer to an `Action::Revalidate`.
    pub fn revalidated(&mut self, link: LinkId, session: i64, valid: bool, ctx: &mut Ctx) {
        ctx.out.push(Action::Send {
            link,
            packet: QuorumPacket::new(
                PacketType::Revalidate,
                -1,
                Some(encode_revalidate_reply(session, valid)),
            ),
        });
    }

    /// A packet from a synced learner (`LearnerHandler.run`'s main loop).
    pub(super) fn broadcast_packet(
        &mut self,
        link: LinkId,
        p: QuorumPacket,
        ctx: &mut Ctx,
    ) -> Result<(), Abdicate> {
        let Some(h) = self.learners.get_mut(&link) else {
            return Ok(());
        };
        let sid = h.sid.unwrap_or(0);
        match p.packet_type() {
            Some(PacketType::Ack) => {
                h.acked(p.zxid);
                return self.process_ack(sid, p.zxid, ctx);
            }
            Some(PacketType::Ping) => {
                let touched = decode_touched(p.payload());
                if !touched.is_empty() {
                    ctx.out.push(Action::TouchSessions(touched));
                }
                self.ping_answered(link, ctx);
            }
            Some(PacketType::Revalidate) => match decode_revalidate(p.payload()) {
                Some((session, timeout_ms)) => ctx.out.push(Action::Revalidate {
                    link,
                    sid,
                    session,
                    timeout_ms,
                }),
                None => self.drop_learner(link, "malformed REVALIDATE", ctx),
            },
            Some(PacketType::Request) => {
                let data = p.data.clone().unwrap_or_default();
                match ForwardedRequest::decode(&data) {
                    Some(r) if r.op == OP_SYNC => self.process_sync(link, ctx),
                    Some(request) => ctx.out.push(Action::Forwarded {
                        link,
                        sid,
                        request,
                        auth: p.auth.unwrap_or_default(),
                    }),
                    None => self.drop_learner(link, "malformed REQUEST", ctx),
                }
            }
            _ => tracing::warn!(packet = %p.describe(), sid, "unexpected quorum packet"),
        }
        Ok(())
    }

    /// Timers: discovery/sync give-ups, learner read timeouts, pings and the quorum check.
    pub(super) fn tick(&mut self, ctx: &mut Ctx) -> Result<(), Abdicate> {
        if self.standalone {
            return Ok(());
        }
        let now = ctx.now;
        let expired: Vec<LinkId> = self
            .learners
            .iter()
            .filter(|(_, h)| now > h.read_deadline)
            .map(|(l, _)| *l)
            .collect();
        for link in expired {
            self.drop_learner(link, "Read timed out", ctx);
        }
        if self.phase != Phase::Broadcast {
            if now >= self.phase_deadline {
                return Err(Abdicate(match self.phase {
                    Phase::Discovery => "Timeout while waiting for epoch from quorum".into(),
                    Phase::EpochAcks => "Timeout while waiting for epoch to be acked by quorum".into(),
                    _ => format!(
                        "Timeout while waiting for NEWLEADER to be acked by quorum, only synced with sids: {:?}",
                        self.newleader_acks
                    ),
                }));
            }
            return Ok(());
        }
        if now < self.next_ping {
            return Ok(());
        }
        self.next_ping = now + (self.timing.tick_ms / 2).max(1);
        let timing = self.timing;
        let mut timed_out = Vec::new();
        for (link, h) in self.learners.iter_mut() {
            if !h.pinged {
                continue;
            }
            if !h.within_sync_limit(now, &timing) {
                timed_out.push(*link);
                continue;
            }
            if h.state == HState::Broadcast {
                h.pings_sent += 1;
            }
            ctx.out.push(Action::Send {
                link: *link,
                packet: QuorumPacket::new(PacketType::Ping, self.last_proposed, None),
            });
        }
        for link in timed_out {
            self.drop_learner(
                link,
                "Closing connection to peer due to transaction timeout.",
                ctx,
            );
        }
        self.tick_skip = !self.tick_skip;
        if !self.view.is_voter(self.me) {
            // Established in a resumed configuration that does not count it (Apache stops
            // committing and loses its followers, who leave for the new voters).
            return Err(Abdicate(Self::NOT_A_VOTER.into()));
        }
        if !self.tick_skip {
            let mut synced: BTreeSet<Sid> = self
                .learners
                .values()
                .filter_map(|h| h.alive_voter(now))
                .collect();
            synced.insert(self.me);
            let next_ok = self.last_seen.as_ref().is_none_or(|v| v.is_quorum(&synced));
            if !self.view.is_quorum(&synced) || !next_ok {
                return Err(Abdicate(format!(
                    "Not sufficient followers synced, only synced with sids: {synced:?}"
                )));
            }
        }
        Ok(())
    }
}
