//! Reconfiguration on the leader: a reconfig and what follows it need quorums of the old and
//! the new configuration; its commit is COMMITANDACTIVATE/INFORMANDACTIVATE with the
//! designated leader; a leader that is not in the new configuration steps down.

use bytes::{BufMut, BytesMut};

use super::*;
use crate::quorum::QuorumView;

/// Voters 1 and 2 (3 removed), observer 4, version `v`.
fn without_3(v: i64) -> QuorumView {
    QuorumView::from_config(Bytes::from(
        "server.1=a:2888:3888:participant\nserver.2=b:2888:3888:participant\n\
         server.4=d:2888:3888:observer\nversion=0",
    ))
    .unwrap()
    .with_version(v)
}

fn propose_reconfig(h: &mut Harness, zxid: i64, next: QuorumView) -> Vec<Action> {
    let mut out = Vec::new();
    let mut ctx = Ctx {
        now: 1,
        out: &mut out,
        committed: &mut h.committed,
        log: &NoLog,
        last_applied: h.last_applied,
    };
    h.leader.propose_reconfig(zxid, txn(zxid), next, &mut ctx);
    out
}

fn designated(sid: i64) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(&sid.to_be_bytes()))
}

#[test]
fn a_reconfig_needs_a_quorum_of_both_configurations_then_activates() {
    let mut h = established();
    assert!(h.leader.is_quorum_synced(&without_3(0), 1));
    let next = without_3(z(2, 1));
    propose_reconfig(&mut h, z(2, 1), next.clone());
    assert!(h.leader.reconfig_in_progress());
    // 1 and 3 are a quorum of {1,2,3} but not of {1,2}.
    assert_eq!(h.ok(2, Input::Persisted { zxid: z(2, 1) }), vec![]);
    assert_eq!(h.packet(2, L3, ack(z(2, 1))), vec![]);
    let mut inform = BytesMut::new();
    inform.put_i64(1);
    inform.extend_from_slice(&txn(z(2, 1)));
    assert_eq!(
        h.packet(3, L2, ack(z(2, 1))),
        vec![
            Action::ActivateConfig { view: next.clone() },
            send(L2, CommitAndActivate, z(2, 1), designated(1)),
            send(L3, CommitAndActivate, z(2, 1), designated(1)),
            send(L4, InformAndActivate, z(2, 1), Some(inform.freeze())),
            Action::Apply {
                zxid: z(2, 1),
                txn: txn(z(2, 1))
            },
        ]
    );
    assert!(!h.leader.reconfig_in_progress());
    assert_eq!(h.leader.view(), &next);
    // From now on 1 and 2 are the quorum; 3's ACK counts for nothing.
    h.propose(4, z(2, 2));
    h.ok(4, Input::Persisted { zxid: z(2, 2) });
    assert_eq!(h.packet(5, L3, ack(z(2, 2))), vec![]);
    assert_eq!(
        h.packet(5, L2, ack(z(2, 2))).len(),
        4,
        "COMMIT ×2, INFORM, Apply"
    );
}

#[test]
fn a_proposal_after_a_pending_reconfig_also_needs_both_quorums() {
    let mut h = established();
    propose_reconfig(&mut h, z(2, 1), without_3(z(2, 1)));
    h.propose(1, z(2, 2));
    h.ok(2, Input::Persisted { zxid: z(2, 2) });
    assert_eq!(h.packet(2, L3, ack(z(2, 1))), vec![]);
    assert_eq!(h.packet(2, L3, ack(z(2, 2))), vec![]);
    let out = h.packet(3, L2, ack(z(2, 1)));
    assert!(out.contains(&send(L2, CommitAndActivate, z(2, 1), designated(1))));
    assert!(h
        .packet(3, L2, ack(z(2, 2)))
        .contains(&send(L2, Commit, z(2, 2), None)));
}

#[test]
fn a_leader_left_out_of_the_new_configuration_hands_over_and_steps_down() {
    let mut h = established();
    let next = QuorumView::from_config(Bytes::from(
        "server.2=b:2888:3888:participant\nserver.3=c:2888:3888:participant\nversion=0",
    ))
    .unwrap()
    .with_version(z(2, 1));
    propose_reconfig(&mut h, z(2, 1), next);
    h.ok(1, Input::Persisted { zxid: z(2, 1) });
    h.packet(1, L3, ack(z(2, 1)));
    let r = h.step(
        2,
        Input::Packet {
            link: L2,
            packet: ack(z(2, 1)),
        },
    );
    let Err(Abdicate(reason)) = r else {
        panic!("the leader must step down: {r:?}")
    };
    assert!(reason.contains("server 2 is"), "{reason}");
}

#[test]
fn newleader_stamps_a_version_0_configuration_with_reconfig_enabled() {
    let mut h = Harness::new();
    h.leader.reconfig_enabled = true;
    h.register(0, L2, follower_info(2, 1));
    h.packet(0, L2, ack_epoch(1, z(1, 3)));
    let stamped = view().with_version(z(2, 0));
    let out = h.packet(0, L2, ack(z(2, 0)));
    assert!(out.contains(&Action::ActivateConfig {
        view: stamped.clone()
    }));
    assert_eq!(h.leader.view().version(), z(2, 0));
}

/// A learner that registers, acknowledges epoch 2 and NEWLEADER; what its NEWLEADER ACK
/// produced.
fn sync_follower(h: &mut Harness, link: LinkId, sid: i64) -> Vec<Action> {
    h.register(0, link, follower_info(sid, 1));
    let synced = h.packet(0, link, ack_epoch(1, z(1, 3)));
    let config = h.leader.newleader_config().config().clone();
    assert!(
        synced.contains(&send(link, NewLeader, z(2, 0), Some(config))),
        "NEWLEADER carries the last seen configuration: {synced:?}"
    );
    h.packet(0, link, ack(z(2, 0)))
}

#[test]
fn a_reconfig_proposed_before_the_epoch_is_resumed_once_both_quorums_synced() {
    let mut h = Harness::new();
    h.leader.reconfig_enabled = true;
    // The reconfig txn (1,3) was proposed last epoch, and not known to be committed.
    let next = without_3(z(1, 3));
    h.leader.last_seen = Some(next.clone());
    // 1 and 3 are a quorum of {1,2,3}, not of {1,2}: not established yet.
    let out = sync_follower(&mut h, L3, 3);
    assert!(!out.contains(&Action::StartServing), "{out:?}");
    assert!(!h.leader.is_established());
    let out = sync_follower(&mut h, L2, 2);
    let activated = out
        .iter()
        .position(|a| a == &Action::ActivateConfig { view: next.clone() });
    let serving = out.iter().position(|a| a == &Action::StartServing);
    assert!(
        activated.is_some() && activated < serving,
        "activated, then serving: {out:?}"
    );
    assert_eq!(h.leader.view(), &next);
    assert!(!h.leader.reconfig_in_progress());
    assert_eq!(h.leader.next_zxid(), Ok(Some(z(2, 1))));
}

#[test]
fn a_leader_established_in_a_resumed_configuration_without_it_stops_leading() {
    let mut h = Harness::new();
    h.leader.reconfig_enabled = true;
    let next = QuorumView::from_config(Bytes::from(
        "server.2=b:2888:3888:participant\nserver.3=c:2888:3888:participant\nversion=0",
    ))
    .unwrap()
    .with_version(z(1, 3));
    h.leader.last_seen = Some(next.clone());
    sync_follower(&mut h, L2, 2);
    let out = sync_follower(&mut h, L3, 3);
    assert!(out.contains(&Action::ActivateConfig { view: next }));
    // It proposes nothing, and steps down at its next quorum check.
    assert!(matches!(h.leader.next_zxid(), Err(Abdicate(_))));
    let r = h.tick(1);
    assert!(
        matches!(&r, Err(Abdicate(m)) if m.contains("no voter")),
        "{r:?}"
    );
}

#[test]
fn a_reconfig_proposal_is_reported_as_the_last_seen_configuration() {
    let mut h = established();
    let next = without_3(z(2, 1));
    let out = propose_reconfig(&mut h, z(2, 1), next.clone());
    assert_eq!(out[0], Action::LastSeenConfig { view: next });
}

/// Leader 1 (last logged zxid (1,3), reconfigEnabled) started with `last_seen`.
fn leader_with_last_seen(last_seen: QuorumView) -> (Leader, Vec<Action>) {
    let mut committed = CommittedLog::new(0);
    let mut out = Vec::new();
    let mut ctx = Ctx {
        now: 0,
        out: &mut out,
        committed: &mut committed,
        log: &NoLog,
        last_applied: z(1, 3),
    };
    let l = Leader::new(
        1,
        (view(), Some(last_seen)),
        timing(),
        (1, 1),
        z(1, 3),
        (false, true),
        &mut ctx,
    )
    .expect("a leader starts");
    (l, out)
}

#[test]
fn a_last_seen_configuration_whose_txn_is_logged_is_resumed() {
    let (l, out) = leader_with_last_seen(without_3(z(1, 3)));
    assert_eq!(out, vec![]);
    assert!(l.reconfig_in_progress());
    assert_eq!(l.newleader_config(), without_3(z(1, 3)));
}

#[test]
fn a_last_seen_configuration_whose_txn_was_never_logged_is_dropped_and_cleared() {
    // `.dynamic.next` was written when (1,4) was proposed; the crash lost the txn itself.
    let (l, out) = leader_with_last_seen(without_3(z(1, 4)));
    assert_eq!(out, vec![Action::LastSeenConfig { view: view() }]);
    assert!(!l.reconfig_in_progress());
    assert_eq!(l.newleader_config().voters().collect::<Vec<_>>(), [1, 2, 3]);
}

#[test]
fn a_learner_that_registers_as_a_follower_is_sent_proposals_even_where_the_configuration_says_observer(
) {
    // Member 4 is an observer here, but follows (a configuration it has seen says it votes,
    // or none lists it): as Apache's LearnerHandler, the FOLLOWERINFO decides. Sent INFORMs,
    // a follower drops them and answers `sync`s without the txns.
    let mut h = Harness::new();
    h.register(0, L2, follower_info(2, 1));
    h.register(0, L4, follower_info(4, 1));
    for link in [L2, L4] {
        h.packet(0, link, ack_epoch(1, z(1, 3)));
    }
    h.packet(0, L4, ack(z(2, 0)));
    assert!(!h.leader.is_established(), "4 does not vote");
    h.packet(0, L2, ack(z(2, 0)));
    assert!(h.leader.is_established());
    let out = h.propose(1, z(2, 1));
    assert!(
        out.contains(&send(L4, ProposalPkt, z(2, 1), Some(txn(z(2, 1))))),
        "{out:?}"
    );
    assert_eq!(h.ok(2, Input::Persisted { zxid: z(2, 1) }), vec![]);
    assert_eq!(
        h.packet(2, L4, ack(z(2, 1))),
        vec![],
        "its ACK does not count"
    );
    let out = h.packet(3, L2, ack(z(2, 1)));
    assert!(out.contains(&send(L4, Commit, z(2, 1), None)), "{out:?}");
}
