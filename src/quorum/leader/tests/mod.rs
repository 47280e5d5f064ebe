//! The leader, one input at a time: the exact actions each packet of each phase produces
//! (`Leader.lead`, `LearnerHandler.run`, `Leader.processAck`; QUORUM.md §3–§6).
//!
//! Leader 1 starts with acceptedEpoch = currentEpoch = 1 and txns (1,1)..(1,3) committed, so
//! the epoch a quorum chooses is 2 unless a test says otherwise. Learner links: follower 2 on
//! `L2`, follower 3 on `L3`, observer 4 on `L4`.

use bytes::Bytes;

use super::*;
use crate::proto::records::Id;
use crate::quorum::action::NoLog;
use crate::quorum::testkit::*;
use crate::quorum::wire::payload::{
    encode_int, encode_revalidate, encode_touched, ForwardedRequest, LearnerInfo, PROTOCOL_VERSION,
};
use crate::quorum::wire::{PacketType, QuorumPacket};

mod barrier;
mod broadcast;
mod discovery;
mod reconfig;
mod sync;

const L2: LinkId = 10;
const L3: LinkId = 11;
const L4: LinkId = 12;
/// A learner that only reached discovery.
const L9: LinkId = 19;

const INIT_MS: u64 = 20_000;
const SYNC_MS: u64 = 10_000;

use PacketType::{
    AckEpoch, Commit, CommitAndActivate, Diff, FollowerInfo, Inform, InformAndActivate, LeaderInfo,
    NewLeader, ObserverInfo, Ping, Proposal as ProposalPkt, Request, Revalidate, Sync, Trunc,
    UpToDate,
};

struct Harness {
    leader: Leader,
    committed: CommittedLog,
    last_applied: i64,
}

impl Harness {
    /// Leader 1 with the given epochs over committed txns (1,1)..(1,3).
    fn with(accepted: i64, current: i64, force_snap: bool) -> (Harness, Vec<Action>) {
        let mut committed = CommittedLog::new(0);
        for c in 1..=3 {
            committed.push(z(1, c), txn(z(1, c)));
        }
        let mut out = Vec::new();
        let leader = {
            let mut ctx = Ctx {
                now: 0,
                out: &mut out,
                committed: &mut committed,
                log: &NoLog,
                last_applied: z(1, 3),
            };
            Leader::new(
                1,
                (view(), None),
                timing(),
                (accepted, current),
                z(1, 3),
                (force_snap, false),
                &mut ctx,
            )
            .expect("a leader starts")
        };
        let h = Harness {
            leader,
            committed,
            last_applied: z(1, 3),
        };
        (h, out)
    }

    fn new() -> Harness {
        let (h, out) = Harness::with(1, 1, false);
        assert_eq!(out, vec![], "a leader alone chooses no epoch");
        h
    }

    fn step(&mut self, now: u64, input: Input) -> Result<Vec<Action>, Abdicate> {
        let mut out = Vec::new();
        let r = {
            let mut ctx = Ctx {
                now,
                out: &mut out,
                committed: &mut self.committed,
                log: &NoLog,
                last_applied: self.last_applied,
            };
            self.leader.step(input, &mut ctx)
        };
        self.track(&out);
        r.map(|()| out)
    }

    /// What the member does with the leader's actions that feeds back into it.
    fn track(&mut self, out: &[Action]) {
        for a in out {
            match a {
                Action::Apply { zxid, .. } => self.last_applied = *zxid,
                Action::StartServing => {
                    let start = z(self.leader.epoch().expect("an epoch"), 0);
                    self.last_applied = self.last_applied.max(start);
                }
                _ => {}
            }
        }
    }

    fn ok(&mut self, now: u64, input: Input) -> Vec<Action> {
        self.step(now, input).expect("the leader carries on")
    }

    fn connect(&mut self, now: u64, link: LinkId) {
        assert_eq!(self.ok(now, Input::LearnerConnected { link }), vec![]);
    }

    fn packet(&mut self, now: u64, link: LinkId, packet: QuorumPacket) -> Vec<Action> {
        self.ok(now, Input::Packet { link, packet })
    }

    fn tick(&mut self, now: u64) -> Result<Vec<Action>, Abdicate> {
        self.step(now, Input::Tick)
    }

    fn propose(&mut self, now: u64, zxid: i64) -> Vec<Action> {
        assert_eq!(self.leader.next_zxid(), Ok(Some(zxid)));
        let mut out = Vec::new();
        {
            let mut ctx = Ctx {
                now,
                out: &mut out,
                committed: &mut self.committed,
                log: &NoLog,
                last_applied: self.last_applied,
            };
            self.leader.propose(zxid, txn(zxid), &mut ctx);
        }
        self.track(&out);
        out
    }

    fn revalidated(&mut self, link: LinkId, session: i64, valid: bool) -> Vec<Action> {
        let mut out = Vec::new();
        let mut ctx = Ctx {
            now: 0,
            out: &mut out,
            committed: &mut self.committed,
            log: &NoLog,
            last_applied: self.last_applied,
        };
        self.leader.revalidated(link, session, valid, &mut ctx);
        out
    }

    /// A learner connects and registers; returns what its FOLLOWERINFO/OBSERVERINFO produced.
    fn register(&mut self, now: u64, link: LinkId, info: QuorumPacket) -> Vec<Action> {
        self.connect(now, link);
        self.packet(now, link, info)
    }

    /// PING replies from every synced learner, so none times out while a test waits.
    fn keep_alive(&mut self, now: u64, links: &[LinkId]) {
        for &link in links {
            let empty = pkt(Ping, 0, Some(Bytes::new()));
            assert_eq!(self.packet(now, link, empty), vec![]);
        }
    }
}

fn close_reason(a: &Action) -> (LinkId, &str) {
    match a {
        Action::Close { link, reason } => (*link, reason.as_str()),
        other => panic!("expected Close, got {other:?}"),
    }
}

fn newleader(link: LinkId) -> Action {
    send(link, NewLeader, z(2, 0), Some(Bytes::from_static(CONFIG)))
}

/// Epoch 2 chosen with follower 2; followers 2 and 3 and observer 4 synced (empty DIFFs) and
/// the leader established at time 0, with every learner sent UPTODATE.
fn established() -> Harness {
    let mut h = Harness::new();
    h.register(0, L2, follower_info(2, 1));
    h.register(0, L3, follower_info(3, 1));
    h.register(0, L4, observer_info(4, 1));
    for link in [L2, L3, L4] {
        h.packet(0, link, ack_epoch(1, z(1, 3)));
    }
    for link in [L2, L3, L4] {
        h.packet(0, link, ack(z(2, 0)));
    }
    assert!(h.leader.is_established());
    // A fourth learner (sid 9, not in the config) that only reached LEADERINFO.
    assert_eq!(
        h.register(0, L9, follower_info(9, 1)),
        vec![send(
            L9,
            LeaderInfo,
            z(2, 0),
            Some(encode_int(PROTOCOL_VERSION))
        )]
    );
    h
}
