//! Synchronization: DIFF/TRUNC/SNAP, queued proposals, NEWLEADER, its ACKs and UPTODATE.

use super::*;

/// Brings follower 2 to ACKEPOCH with `peer_zxid`; returns the sync it gets (after
/// PersistCurrentEpoch).
fn sync_of(h: &mut Harness, peer_zxid: i64) -> Vec<Action> {
    h.register(0, L2, follower_info(2, 1));
    let out = h.packet(0, L2, ack_epoch(1, peer_zxid));
    assert_eq!(out[0], Action::PersistCurrentEpoch(2));
    out[1..].to_vec()
}

#[test]
fn diff_sends_each_missing_txn_as_proposal_and_commit_then_newleader() {
    let mut h = Harness::new();
    assert_eq!(
        sync_of(&mut h, z(1, 1)),
        vec![
            send(L2, Diff, z(1, 3), None),
            send(L2, ProposalPkt, z(1, 2), Some(txn(z(1, 2)))),
            send(L2, Commit, z(1, 2), None),
            send(L2, ProposalPkt, z(1, 3), Some(txn(z(1, 3)))),
            send(L2, Commit, z(1, 3), None),
            newleader(L2),
        ]
    );
}

#[test]
fn a_learner_in_sync_gets_an_empty_diff() {
    let mut h = Harness::new();
    assert_eq!(
        sync_of(&mut h, z(1, 3)),
        vec![send(L2, Diff, z(1, 3), None), newleader(L2)]
    );
}

#[test]
fn a_learner_older_than_the_committed_log_gets_a_snapshot_first() {
    let mut h = Harness::new();
    assert_eq!(
        sync_of(&mut h, 0x0000_0000_0000_0001),
        vec![Action::SendSnapshot { link: L2 }, newleader(L2)]
    );
}

#[test]
fn force_snapshot_sync_sends_a_snapshot_even_to_a_learner_in_sync() {
    let (mut h, _) = Harness::with(1, 1, true);
    assert_eq!(
        sync_of(&mut h, z(1, 3)),
        vec![Action::SendSnapshot { link: L2 }, newleader(L2)]
    );
}

/// Follower 2 establishes the leader, proposals 2:1 and 2:2 go out, then follower 3 (at
/// `peer_zxid`) syncs; returns what follower 3 gets.
fn sync_behind_two_outstanding(h: &mut Harness, peer_zxid: i64) -> Vec<Action> {
    h.register(0, L2, follower_info(2, 1));
    h.packet(0, L2, ack_epoch(1, z(1, 3)));
    h.packet(0, L2, ack(z(2, 0)));
    h.propose(1, z(2, 1));
    h.propose(1, z(2, 2));
    h.register(2, L3, follower_info(3, 1));
    h.packet(2, L3, ack_epoch(1, peer_zxid))
}

#[test]
fn outstanding_proposals_follow_the_sync_packets_for_participants_only() {
    let mut h = Harness::new();
    assert_eq!(
        sync_behind_two_outstanding(&mut h, z(1, 2)),
        vec![
            send(L3, Diff, z(1, 3), None),
            send(L3, ProposalPkt, z(1, 3), Some(txn(z(1, 3)))),
            send(L3, Commit, z(1, 3), None),
            send(L3, ProposalPkt, z(2, 1), Some(txn(z(2, 1)))),
            send(L3, ProposalPkt, z(2, 2), Some(txn(z(2, 2)))),
            newleader(L3),
        ]
    );
    h.register(3, L4, observer_info(4, 1));
    assert_eq!(
        h.packet(3, L4, ack_epoch(1, z(1, 3))),
        vec![send(L4, Diff, z(1, 3), None), newleader(L4)]
    );
}

#[test]
fn anything_but_an_ack_after_newleader_drops_the_learner() {
    let mut h = Harness::new();
    sync_of(&mut h, z(1, 3));
    let out = h.packet(1, L2, pkt(Ping, 0, Some(Bytes::new())));
    assert_eq!(
        out,
        vec![Action::Close {
            link: L2,
            reason: "Next packet was supposed to be an ACK, but received packet: PING, 0x0, 0"
                .into()
        }]
    );
    assert!(!h.leader.is_established());
}

#[test]
fn a_quorum_of_newleader_acks_establishes_the_leader() {
    let mut h = Harness::new();
    sync_of(&mut h, z(1, 3));
    assert_eq!(
        h.packet(1, L2, ack(z(2, 0))),
        vec![Action::StartServing, send(L2, UpToDate, -1, None)]
    );
    assert!(h.leader.is_established());
    assert_eq!(h.leader.last_committed(), z(2, 0));
    assert_eq!(h.leader.last_proposed(), z(2, 0));
    assert_eq!(h.leader.next_zxid(), Ok(Some(z(2, 1))));
}

#[test]
fn a_newleader_ack_from_another_epoch_is_not_counted_but_the_learner_still_gets_uptodate() {
    let mut h = Harness::new();
    h.register(0, L2, follower_info(2, 1));
    h.register(0, L3, follower_info(3, 1));
    h.packet(0, L2, ack_epoch(1, z(1, 3)));
    h.packet(0, L3, ack_epoch(1, z(1, 3)));
    // An Apache 3.8.0 follower's proposal ACK racing ahead of its NEWLEADER ACK looks like this.
    assert_eq!(h.packet(1, L2, ack(z(1, 0))), vec![]);
    assert!(!h.leader.is_established());
    assert_eq!(
        h.packet(2, L3, ack(z(2, 0))),
        vec![
            Action::StartServing,
            send(L2, UpToDate, -1, None),
            send(L3, UpToDate, -1, None),
        ]
    );
}

#[test]
fn a_learner_acking_newleader_after_establishment_gets_uptodate_at_once() {
    let mut h = established();
    h.register(5, L9 + 1, follower_info(3, 1));
    h.packet(5, L9 + 1, ack_epoch(1, z(1, 3)));
    assert_eq!(
        h.packet(6, L9 + 1, ack(z(2, 0))),
        vec![send(L9 + 1, UpToDate, -1, None)]
    );
}

#[test]
fn commits_between_newleader_and_uptodate_wait_for_uptodate() {
    // Proposals 2:1 and 2:2 are outstanding when follower 3 syncs: it gets them before
    // NEWLEADER.
    let mut h = Harness::new();
    sync_behind_two_outstanding(&mut h, z(1, 3));
    // 2:1 commits while follower 3 has not acknowledged NEWLEADER: no COMMIT to it yet (an
    // Apache 3.8.0 learner would crash on it, ZOOKEEPER-4394), only to follower 2.
    h.ok(3, Input::Persisted { zxid: z(2, 1) });
    let out = h.packet(3, L2, ack(z(2, 1)));
    assert!(out.contains(&send(L2, Commit, z(2, 1), None)), "{out:?}");
    assert!(
        !out.iter()
            .any(|a| matches!(a, Action::Send { link, .. } if *link == L3)),
        "{out:?}"
    );
    // Its NEWLEADER ACK: UPTODATE, then the held COMMIT.
    assert_eq!(
        h.packet(4, L3, ack(z(2, 0))),
        vec![
            send(L3, UpToDate, -1, None),
            send(L3, Commit, z(2, 1), None)
        ]
    );
    // From now on COMMITs go out at once.
    h.ok(5, Input::Persisted { zxid: z(2, 2) });
    let out = h.packet(5, L2, ack(z(2, 2)));
    assert!(out.contains(&send(L3, Commit, z(2, 2), None)), "{out:?}");
}
