//! Broadcast: proposals, quorum commits in order, SYNC, PING, REVALIDATE, REQUEST and liveness.

use super::*;

#[test]
fn a_proposal_goes_to_forwarding_followers_only_then_is_logged() {
    let mut h = established();
    // Not to observer 4, not to the learner still in discovery.
    assert_eq!(
        h.propose(1, z(2, 1)),
        vec![
            send(L2, ProposalPkt, z(2, 1), Some(txn(z(2, 1)))),
            send(L3, ProposalPkt, z(2, 1), Some(txn(z(2, 1)))),
            Action::Append {
                zxid: z(2, 1),
                txn: txn(z(2, 1))
            },
        ]
    );
    assert_eq!(h.leader.last_proposed(), z(2, 1));
    assert_eq!(h.leader.outstanding_count(), 1);
}

fn committed_actions(zxid: i64) -> Vec<Action> {
    vec![
        send(L2, Commit, zxid, None),
        send(L3, Commit, zxid, None),
        send(L4, Inform, zxid, Some(txn(zxid))),
        Action::Apply {
            zxid,
            txn: txn(zxid),
        },
    ]
}

#[test]
fn a_follower_ack_plus_the_leaders_own_fsync_commits() {
    let mut h = established();
    h.propose(1, z(2, 1));
    assert_eq!(h.packet(2, L2, ack(z(2, 1))), vec![], "one vote of three");
    assert_eq!(
        h.ok(3, Input::Persisted { zxid: z(2, 1) }),
        committed_actions(z(2, 1))
    );
    assert_eq!(h.leader.last_committed(), z(2, 1));
    assert_eq!(h.committed.max_zxid(), Some(z(2, 1)));
}

#[test]
fn the_leaders_fsync_alone_commits_nothing() {
    let mut h = established();
    h.propose(1, z(2, 1));
    assert_eq!(h.ok(2, Input::Persisted { zxid: z(2, 1) }), vec![]);
    assert_eq!(h.packet(3, L2, ack(z(2, 1))), committed_actions(z(2, 1)));
}

#[test]
fn two_follower_acks_are_a_quorum_even_before_the_leaders_fsync() {
    // `Proposal.hasAllQuorums` counts voters; the leader's own ACK is just one of them.
    let mut h = established();
    h.propose(1, z(2, 1));
    assert_eq!(h.packet(2, L2, ack(z(2, 1))), vec![]);
    assert_eq!(h.packet(2, L3, ack(z(2, 1))), committed_actions(z(2, 1)));
}

#[test]
fn an_observers_ack_does_not_count() {
    let mut h = established();
    h.propose(1, z(2, 1));
    h.ok(2, Input::Persisted { zxid: z(2, 1) });
    assert_eq!(h.packet(3, L4, ack(z(2, 1))), vec![]);
    assert_eq!(h.leader.outstanding_count(), 1);
}

#[test]
fn commits_go_strictly_in_zxid_order() {
    let mut h = established();
    h.propose(1, z(2, 1));
    h.propose(1, z(2, 2));
    assert_eq!(h.ok(2, Input::Persisted { zxid: z(2, 2) }), vec![]);
    // (2,2) has a quorum, but (2,1) does not: nothing commits.
    assert_eq!(h.packet(3, L3, ack(z(2, 2))), vec![]);
    assert_eq!(h.leader.last_committed(), z(2, 0));
    // (2,1)'s quorum commits it, then (2,2) right behind it.
    let mut both = committed_actions(z(2, 1));
    both.extend(committed_actions(z(2, 2)));
    assert_eq!(h.packet(4, L2, ack(z(2, 1))), both);
}

#[test]
fn acks_for_epoch_starts_committed_or_unknown_zxids_are_ignored() {
    let mut h = established();
    assert_eq!(h.packet(1, L2, ack(z(2, 1))), vec![], "nothing outstanding");
    h.propose(1, z(2, 1));
    h.ok(1, Input::Persisted { zxid: z(2, 1) });
    h.packet(1, L2, ack(z(2, 1)));
    h.propose(2, z(2, 2));
    for zxid in [z(2, 0), z(2, 1), z(2, 9), z(1, 3)] {
        assert_eq!(h.packet(3, L3, ack(zxid)), vec![], "{zxid:x}");
    }
    assert_eq!(h.leader.outstanding_count(), 1);
    assert_eq!(h.leader.last_committed(), z(2, 1));
}

#[test]
fn pings_go_every_half_tick_to_synced_learners_with_the_last_proposed_zxid() {
    let mut h = established();
    let pings = |zxid| {
        vec![
            send(L2, Ping, zxid, None),
            send(L3, Ping, zxid, None),
            send(L4, Ping, zxid, None),
        ]
    };
    assert_eq!(h.tick(0), Ok(pings(z(2, 0))));
    assert_eq!(h.tick(999), Ok(vec![]));
    h.propose(999, z(2, 1));
    assert_eq!(h.tick(1_000), Ok(pings(z(2, 1))));
}

#[test]
fn ping_replies_report_the_sessions_to_touch() {
    let mut h = established();
    let touched = encode_touched(&[(0x11, 4_000), (0x12, 6_000)]);
    assert_eq!(
        h.packet(1, L2, pkt(Ping, z(2, 0), Some(touched))),
        vec![Action::TouchSessions(vec![(0x11, 4_000), (0x12, 6_000)])]
    );
    assert_eq!(
        h.packet(1, L2, pkt(Ping, z(2, 0), Some(Bytes::new()))),
        vec![]
    );
}

#[test]
fn revalidate_goes_to_the_host_and_its_answer_is_a_9_byte_revalidate() {
    let mut h = established();
    let asked = pkt(
        Revalidate,
        -1,
        Some(encode_revalidate(0x0100_0000_0000_0005, 30_000)),
    );
    assert_eq!(
        h.packet(1, L3, asked),
        vec![Action::Revalidate {
            link: L3,
            sid: 3,
            session: 0x0100_0000_0000_0005,
            timeout_ms: 30_000
        }]
    );
    let out = h.revalidated(L3, 0x0100_0000_0000_0005, true);
    assert_eq!(
        out,
        vec![send(
            L3,
            Revalidate,
            -1,
            Some(Bytes::from_static(&[1, 0, 0, 0, 0, 0, 0, 5, 1]))
        )]
    );
    let out = h.revalidated(L3, 0x0100_0000_0000_0005, false);
    assert_eq!(
        out,
        vec![send(
            L3,
            Revalidate,
            -1,
            Some(Bytes::from_static(&[1, 0, 0, 0, 0, 0, 0, 5, 0]))
        )]
    );
}

#[test]
fn a_forwarded_request_reaches_the_host_with_its_auth_ids() {
    let mut h = established();
    let request = ForwardedRequest {
        session: 0x0200_0000_0000_0001,
        cxid: 12,
        op: 1,
        body: Bytes::from_static(b"create-body"),
    };
    let auth = vec![
        Id {
            scheme: "ip".into(),
            id: "10.0.0.2".into(),
        },
        Id {
            scheme: "digest".into(),
            id: "u:h".into(),
        },
    ];
    let mut p = pkt(Request, -1, Some(request.encode()));
    p.auth = Some(auth.clone());
    assert_eq!(
        h.packet(1, L2, p),
        vec![Action::Forwarded {
            link: L2,
            sid: 2,
            request,
            auth
        }]
    );
}

#[test]
fn a_learner_that_does_not_ack_a_proposal_within_sync_limit_is_dropped_at_the_next_ping() {
    let mut h = established();
    let all = [L2, L3, L4];
    for t in (0..=SYNC_MS).step_by(1_000) {
        h.keep_alive(t, &all);
        h.tick(t).expect("leading");
        if t == 1_000 {
            h.propose(t, z(2, 1));
            h.packet(t, L3, ack(z(2, 1)));
        }
    }
    // Follower 2 talks but never ACKs (2,1), sent at 1000: at 11000 it is 10 s old.
    h.keep_alive(11_000, &all);
    let out = h.tick(11_000).expect("still a quorum");
    assert_eq!(
        out,
        vec![
            send(L3, Ping, z(2, 1), None),
            send(L4, Ping, z(2, 1), None),
            Action::Close {
                link: L2,
                reason: "Closing connection to peer due to transaction timeout.".into()
            },
        ]
    );
}

#[test]
fn the_leader_steps_down_when_fewer_than_a_quorum_was_heard_within_sync_limit() {
    let mut h = established();
    for t in (0..=SYNC_MS).step_by(1_000) {
        let out = h.tick(t).expect("learners heard within syncLimit");
        assert_eq!(out.len(), 3, "{t}: {out:?}");
    }
    // Nothing heard since 0: the reads time out at 11000 …
    assert_eq!(
        h.tick(11_000),
        Ok([L2, L3, L4]
            .map(|link| Action::Close {
                link,
                reason: "Read timed out".into()
            })
            .to_vec())
    );
    // … and the next full tick finds only the leader itself.
    let err = h.tick(12_000).expect_err("steps down");
    assert!(
        err.0
            .starts_with("Not sufficient followers synced, only synced with sids: {1"),
        "{err:?}"
    );
}

#[test]
fn one_follower_heard_within_sync_limit_keeps_the_quorum() {
    let mut h = established();
    for t in (0..=3 * SYNC_MS).step_by(1_000) {
        h.keep_alive(t, &[L2]);
        h.tick(t).expect("1 and 2 are a quorum");
    }
    assert_eq!(h.leader.learners().len(), 1);
}
