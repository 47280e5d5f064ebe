//! `sync` waits for a quorum to confirm the leadership with PINGs sent after it arrived
//! (`leader/barrier.rs`), then, for a learner's, for what was proposed before it to commit.

use super::*;

fn sync_request() -> QuorumPacket {
    let r = ForwardedRequest {
        session: 0x77,
        cxid: 4,
        op: 9,
        body: Bytes::from_static(b"\x00\x00\x00\x02/a"),
    };
    pkt(Request, -1, Some(r.encode()))
}

fn reply() -> QuorumPacket {
    pkt(Ping, z(2, 0), Some(Bytes::new()))
}

/// The PINGs of a confirmation round: the synced voters, never the observer or a learner
/// still in discovery.
fn round_pings(zxid: i64) -> Vec<Action> {
    vec![send(L2, Ping, zxid, None), send(L3, Ping, zxid, None)]
}

fn local_sync(h: &mut Harness, now: u64, token: u64) -> Vec<Action> {
    let mut out = Vec::new();
    let mut ctx = Ctx {
        now,
        out: &mut out,
        committed: &mut h.committed,
        log: &NoLog,
        last_applied: h.last_applied,
    };
    h.leader.local_sync(token, &mut ctx);
    out
}

#[test]
fn a_learner_sync_is_answered_once_one_follower_answers_a_ping_sent_after_it() {
    let mut h = established();
    assert_eq!(h.packet(1, L2, sync_request()), round_pings(z(2, 0)));
    assert_eq!(h.leader.pending_sync_count(), 1);
    // Follower 3 and the leader are a quorum of three.
    assert_eq!(h.packet(2, L3, reply()), vec![send(L2, Sync, 0, None)]);
    assert_eq!(h.leader.pending_sync_count(), 0);
    assert_eq!(h.packet(2, L2, reply()), vec![], "the round is over");
}

#[test]
fn a_learner_sync_is_answered_right_after_the_last_proposal_commits() {
    let mut h = established();
    h.propose(1, z(2, 1));
    h.propose(1, z(2, 2));
    assert_eq!(h.packet(2, L3, sync_request()), round_pings(z(2, 2)));
    assert_eq!(
        h.packet(2, L2, reply()),
        vec![],
        "confirmed, (2,2) not committed"
    );
    assert_eq!(h.leader.pending_sync_count(), 1);
    h.ok(3, Input::Persisted { zxid: z(2, 2) });
    h.packet(4, L2, ack(z(2, 1)));
    let out = h.packet(5, L2, ack(z(2, 2)));
    assert_eq!(out.last(), Some(&send(L3, Sync, 0, None)));
    assert_eq!(h.leader.pending_sync_count(), 0);
}

#[test]
fn a_commit_alone_does_not_answer_a_sync_without_a_confirmation() {
    let mut h = established();
    h.propose(1, z(2, 1));
    h.packet(2, L3, sync_request());
    h.ok(3, Input::Persisted { zxid: z(2, 1) });
    let out = h.packet(4, L2, ack(z(2, 1)));
    assert!(!out.contains(&send(L3, Sync, 0, None)), "{out:?}");
    assert_eq!(h.leader.pending_sync_count(), 1);
}

#[test]
fn a_reply_to_a_ping_sent_before_the_sync_does_not_confirm_it() {
    let mut h = established();
    // A regular ping goes out; the sync arrives before its replies.
    let tick = h.tick(0).expect("leading");
    assert_eq!(tick.len(), 3, "{tick:?}");
    assert_eq!(local_sync(&mut h, 1, 7), round_pings(z(2, 0)));
    assert_eq!(h.packet(2, L2, reply()), vec![], "answers the tick's ping");
    assert_eq!(h.packet(2, L3, reply()), vec![], "answers the tick's ping");
    assert_eq!(
        h.packet(3, L3, reply()),
        vec![Action::SyncConfirmed { token: 7 }]
    );
}

#[test]
fn replies_to_pings_sent_during_the_sync_phase_are_not_counted() {
    let mut h = established();
    // Learner replies beyond the PINGs sent since UPTODATE (e.g. a learner that answered PINGs
    // it got before UPTODATE) must not confirm a later round.
    h.packet(1, L2, reply());
    h.packet(1, L2, reply());
    local_sync(&mut h, 2, 1);
    assert_eq!(
        h.packet(3, L4, reply()),
        vec![],
        "an observer is not a voter"
    );
    assert_eq!(
        h.packet(3, L2, reply()),
        vec![Action::SyncConfirmed { token: 1 }]
    );
}

#[test]
fn syncs_during_a_round_share_the_next_one() {
    let mut h = established();
    assert_eq!(local_sync(&mut h, 1, 1), round_pings(z(2, 0)));
    assert_eq!(local_sync(&mut h, 1, 2), vec![]);
    assert_eq!(h.packet(1, L2, sync_request()), vec![]);
    // Round 1 ends; round 2 starts at once for the two that arrived during it.
    let mut first = vec![Action::SyncConfirmed { token: 1 }];
    first.extend(round_pings(z(2, 0)));
    assert_eq!(h.packet(2, L3, reply()), first);
    assert_eq!(h.leader.pending_sync_count(), 2);
    assert_eq!(
        h.packet(3, L2, reply()),
        vec![],
        "2's first reply answers round 1's ping"
    );
    assert_eq!(
        h.packet(4, L3, reply()),
        vec![Action::SyncConfirmed { token: 2 }, send(L2, Sync, 0, None)]
    );
}

#[test]
fn a_leader_its_followers_left_never_confirms_and_steps_down() {
    let mut h = established();
    let _ = h.tick(0);
    assert_eq!(local_sync(&mut h, 1, 5), round_pings(z(2, 0)));
    // No reply comes (the followers follow a new leader now); the leader's liveness check
    // ends its leadership, and the sync is never confirmed.
    let mut now = 0;
    loop {
        now += 500;
        match h.tick(now) {
            Ok(out) => assert!(
                !out.contains(&Action::SyncConfirmed { token: 5 }),
                "{out:?}"
            ),
            Err(Abdicate(reason)) => {
                assert!(reason.contains("Not sufficient followers"), "{reason}");
                break;
            }
        }
        assert!(now < 3 * SYNC_MS, "the leader never stepped down");
    }
}

#[test]
fn a_follower_that_leaves_is_dropped_from_the_round_and_its_sync_forgotten() {
    let mut h = established();
    h.packet(1, L2, sync_request());
    assert_eq!(h.leader.pending_sync_count(), 1);
    let out = h.ok(2, Input::LinkClosed { link: L2 });
    assert_eq!(close_reason(&out[0]).0, L2);
    assert_eq!(h.leader.pending_sync_count(), 0);
    assert_eq!(h.packet(3, L3, reply()), vec![]);
}
