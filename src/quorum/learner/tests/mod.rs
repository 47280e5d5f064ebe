//! A follower or observer, one input at a time: the exact actions each packet of each phase
//! produces (`Learner.connectToLeader`, `registerWithLeader`, `syncWithLeader` in its 3.8.5+
//! order, `Follower.processPacket`, `Observer.processPacket`; QUORUM.md §3–§6).
//!
//! Follower 2 (or observer 4) follows leader 1; it starts with acceptedEpoch = currentEpoch = 1
//! and has logged up to (1,3). The leader's new epoch is 2 unless a test says otherwise.

use bytes::Bytes;

use super::*;
use crate::quorum::testkit::*;
use crate::quorum::wire::payload::{encode_int, encode_revalidate_reply};
use crate::quorum::wire::{PacketType, QuorumPacket};

use PacketType::{
    Ack, AckEpoch, Commit, CommitAndActivate, Diff, FollowerInfo, Inform, InformAndActivate,
    LeaderInfo, NewLeader, ObserverInfo, Ping, Proposal, Revalidate, Snap, Sync, Trunc, UpToDate,
};

mod activate;
mod broadcast;
mod register;
mod sync;
mod timeouts;

const LINK: LinkId = 1 << 62;
const INIT_MS: u64 = 20_000;
const SYNC_MS: u64 = 10_000;

struct Harness {
    l: Learner,
}

impl Harness {
    fn with(observer: bool, accepted_epoch: i64) -> (Harness, Vec<Action>) {
        let setup = LearnerSetup {
            me: if observer { 4 } else { 2 },
            observer,
            leader: 1,
            link: LINK,
            view: view(),
            timing: timing(),
            reconfig_enabled: false,
            state: LearnerState {
                accepted_epoch,
                current_epoch: 1,
                last_zxid: z(1, 3),
            },
        };
        let mut out = Vec::new();
        let l = Learner::new(setup, 0, &mut out);
        (Harness { l }, out)
    }

    fn step(&mut self, now: u64, input: Input) -> Result<Vec<Action>, Abandon> {
        let mut out = Vec::new();
        self.l
            .step(input, &mut Ctx { now, out: &mut out })
            .map(|()| out)
    }

    fn ok(&mut self, now: u64, input: Input) -> Vec<Action> {
        self.step(now, input).expect("the learner carries on")
    }

    fn packet(&mut self, now: u64, packet: QuorumPacket) -> Result<Vec<Action>, Abandon> {
        self.step(now, Input::Packet { link: LINK, packet })
    }

    fn ok_packet(&mut self, now: u64, packet: QuorumPacket) -> Vec<Action> {
        self.packet(now, packet).expect("the learner carries on")
    }

    fn persisted(&mut self, now: u64, zxid: i64) -> Vec<Action> {
        self.ok(now, Input::Persisted { zxid })
    }

    /// Connected and registered at time 0 for epoch 2: waiting for DIFF/TRUNC/SNAP.
    fn registered(observer: bool) -> Harness {
        let (mut h, _) = Harness::with(observer, 1);
        h.ok(0, Input::LeaderConnected { link: LINK });
        h.ok_packet(0, leader_info(2));
        assert_eq!(h.l.phase(), Phase::AwaitSync);
        h
    }

    /// Registered and told DIFF (nothing missing yet).
    fn diffing(observer: bool) -> Harness {
        let mut h = Harness::registered(observer);
        assert_eq!(h.ok_packet(0, pkt(Diff, z(1, 3), None)), vec![]);
        h
    }

    /// Synced with an empty DIFF and serving: NEWLEADER, its ACK, UPTODATE.
    fn serving(observer: bool) -> Harness {
        let mut h = Harness::diffing(observer);
        h.ok_packet(0, newleader());
        h.ok_packet(0, pkt(UpToDate, -1, None));
        assert_eq!(h.l.phase(), Phase::Broadcast);
        h
    }
}

fn newleader() -> QuorumPacket {
    pkt(NewLeader, z(2, 0), Some(Bytes::from_static(CONFIG)))
}

fn proposal(zxid: i64) -> QuorumPacket {
    pkt(Proposal, zxid, Some(txn(zxid)))
}

fn commit(zxid: i64) -> QuorumPacket {
    pkt(Commit, zxid, None)
}

fn inform(zxid: i64) -> QuorumPacket {
    pkt(Inform, zxid, Some(txn(zxid)))
}

fn append(zxid: i64) -> Action {
    Action::Append {
        zxid,
        txn: txn(zxid),
    }
}

fn apply(zxid: i64) -> Action {
    Action::Apply {
        zxid,
        txn: txn(zxid),
    }
}

fn sent_ack(zxid: i64) -> Action {
    send(LINK, Ack, zxid, None)
}
