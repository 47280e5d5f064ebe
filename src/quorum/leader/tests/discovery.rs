//! Discovery: FOLLOWERINFO/OBSERVERINFO, the epoch, LEADERINFO, ACKEPOCH, and the initLimit waits.

use super::*;

/// A learner's first packet: (FOLLOWERINFO or OBSERVERINFO, sid, accepted epoch).
type Arrival = (PacketType, i64, i64);

#[test]
fn the_epoch_is_chosen_when_a_quorum_with_the_leader_reported_and_is_one_above_all_accepted() {
    // (leader's accepted epoch, learners in arrival order, chosen epoch)
    let cases: &[(i64, &[Arrival], i64)] = &[
        (1, &[(FollowerInfo, 2, 1)], 2),
        (1, &[(FollowerInfo, 2, 5)], 6),
        (7, &[(FollowerInfo, 3, 3)], 8),
        // An observer cannot complete the quorum but does raise the epoch.
        (1, &[(ObserverInfo, 4, 9), (FollowerInfo, 2, 1)], 10),
        // Nor can a server outside the config (it is served, never counted).
        (1, &[(FollowerInfo, 9, 4), (FollowerInfo, 3, 2)], 5),
    ];
    for &(leader_accepted, arrivals, epoch) in cases {
        let (mut h, out) = Harness::with(leader_accepted, 1, false);
        assert_eq!(out, vec![]);
        let mut waiting = Vec::new();
        for (i, &(kind, sid, accepted)) in arrivals.iter().enumerate() {
            let link = 100 + i as LinkId;
            waiting.push(link);
            let out = h.register(0, link, learner_info(kind, sid, accepted));
            if i + 1 < arrivals.len() {
                assert_eq!(
                    out,
                    vec![],
                    "case {leader_accepted} {arrivals:?}: no quorum yet"
                );
                assert_eq!(h.leader.epoch(), None);
                continue;
            }
            let mut expected = vec![Action::PersistAcceptedEpoch(epoch)];
            for &l in &waiting {
                expected.push(send(
                    l,
                    LeaderInfo,
                    z(epoch, 0),
                    Some(Bytes::from_static(&[0, 1, 0, 0])),
                ));
            }
            assert_eq!(out, expected, "case {leader_accepted} {arrivals:?}");
            assert_eq!(h.leader.epoch(), Some(epoch));
            assert_eq!(h.leader.phase(), Phase::EpochAcks);
        }
    }
}

#[test]
fn accepted_epoch_is_persisted_before_any_leaderinfo_goes_out() {
    let mut h = Harness::new();
    assert_eq!(h.register(0, L4, observer_info(4, 1)), vec![]);
    assert_eq!(
        h.register(0, L2, follower_info(2, 1)),
        vec![
            Action::PersistAcceptedEpoch(2),
            send(L2, LeaderInfo, z(2, 0), Some(encode_int(PROTOCOL_VERSION))),
            send(L4, LeaderInfo, z(2, 0), Some(encode_int(PROTOCOL_VERSION))),
        ]
    );
}

#[test]
fn a_learner_arriving_after_the_epoch_is_chosen_gets_leaderinfo_at_once_without_raising_it() {
    let mut h = Harness::new();
    h.register(0, L2, follower_info(2, 1));
    assert_eq!(
        h.register(5, L3, follower_info(3, 9)),
        vec![send(
            L3,
            LeaderInfo,
            z(2, 0),
            Some(encode_int(PROTOCOL_VERSION))
        )]
    );
    assert_eq!(h.leader.epoch(), Some(2));
}

#[test]
fn ackepoch_quorum_persists_current_epoch_then_syncs_every_waiting_learner() {
    let mut h = Harness::new();
    h.register(0, L2, follower_info(2, 1));
    h.register(0, L4, observer_info(4, 1));
    // The observer's ACKEPOCH is not counted: it waits.
    assert_eq!(h.packet(1, L4, ack_epoch(1, z(1, 3))), vec![]);
    assert_eq!(h.leader.phase(), Phase::EpochAcks);
    assert_eq!(
        h.packet(2, L2, ack_epoch(1, z(1, 3))),
        vec![
            Action::PersistCurrentEpoch(2),
            send(L2, Diff, z(1, 3), None),
            newleader(L2),
            send(L4, Diff, z(1, 3), None),
            newleader(L4),
        ]
    );
    assert_eq!(h.leader.phase(), Phase::Sync);
}

#[test]
fn ackepoch_with_minus_one_is_neither_checked_nor_counted() {
    let mut h = Harness::new();
    h.register(0, L3, follower_info(3, 1));
    // Follower 2 already accepted epoch 2, so it answers -1; even a zxid above the leader's
    // is not "ahead" then (`waitForEpochAck` looks at neither).
    h.register(0, L2, follower_info(2, 2));
    assert_eq!(h.packet(1, L2, ack_epoch(-1, z(1, 7))), vec![]);
    assert_eq!(h.leader.phase(), Phase::EpochAcks, "-1 does not count");
    assert_eq!(
        h.packet(2, L3, ack_epoch(1, z(1, 3))),
        vec![
            Action::PersistCurrentEpoch(2),
            send(L2, Trunc, z(1, 3), None),
            newleader(L2),
            send(L3, Diff, z(1, 3), None),
            newleader(L3),
        ]
    );
}

#[test]
fn a_learner_more_recent_than_the_leader_is_dropped_during_epoch_acks() {
    // Leader summary: currentEpoch 1, last zxid (1,3).
    let cases = [
        (2, z(1, 1), true),
        (1, z(1, 4), true),
        (1, z(1, 3), false),
        (0, z(1, 9), false),
    ];
    for (epoch, zxid, ahead) in cases {
        let mut h = Harness::new();
        h.register(0, L2, follower_info(2, 1));
        let out = h.packet(1, L2, ack_epoch(epoch, zxid));
        if ahead {
            assert_eq!(out.len(), 1, "{epoch} {zxid:x}: {out:?}");
            let (link, reason) = close_reason(&out[0]);
            assert_eq!(link, L2);
            assert!(
                reason.starts_with("Follower is ahead of the leader, leader summary: 1"),
                "{reason}"
            );
            assert_eq!(h.leader.phase(), Phase::EpochAcks);
            assert!(h.leader.learners().is_empty());
        } else {
            assert_eq!(out[0], Action::PersistCurrentEpoch(2), "{epoch} {zxid:x}");
        }
    }
}

#[test]
fn after_the_ackepoch_quorum_a_learner_with_uncommitted_txns_is_truncated_not_refused() {
    let mut h = Harness::new();
    h.register(0, L2, follower_info(2, 1));
    h.packet(0, L2, ack_epoch(1, z(1, 3)));
    h.register(1, L3, follower_info(3, 1));
    // Ahead of the leader's summary, but `waitForEpochAck` returns at once now: it is truncated.
    assert_eq!(
        h.packet(2, L3, ack_epoch(1, z(1, 5))),
        vec![send(L3, Trunc, z(1, 3), None), newleader(L3)]
    );
}

#[test]
fn ackepoch_shorter_than_4_bytes_drops_the_learner() {
    for data in [None, Some(Bytes::from_static(&[0, 0, 1]))] {
        let mut h = Harness::new();
        h.register(0, L2, follower_info(2, 1));
        let out = h.packet(1, L2, pkt(AckEpoch, z(1, 3), data));
        assert_eq!(
            out,
            vec![Action::Close {
                link: L2,
                reason: "ACKEPOCH payload shorter than 4 bytes".into()
            }]
        );
        assert_eq!(h.leader.phase(), Phase::EpochAcks);
    }
}

#[test]
fn a_packet_other_than_ackepoch_after_leaderinfo_drops_the_learner() {
    let mut h = Harness::new();
    h.register(0, L2, follower_info(2, 1));
    let out = h.packet(1, L2, ack(z(2, 0)));
    assert_eq!(
        out,
        vec![Action::Close {
            link: L2,
            reason: "ACK, 0x200000000, -1 is not ACKEPOCH".into()
        }]
    );
}

#[test]
fn a_first_packet_other_than_followerinfo_or_observerinfo_drops_the_learner() {
    let firsts = [
        ack(0),
        pkt(Ping, 0, Some(Bytes::new())),
        pkt(Request, -1, Some(Bytes::from_static(&[0; 16]))),
        ack_epoch(1, 0),
        leader_info(2),
        QuorumPacket {
            kind: 99,
            zxid: 0,
            data: None,
            auth: None,
        },
    ];
    for p in firsts {
        let mut h = Harness::new();
        h.connect(0, L2);
        let what = p.describe();
        assert_eq!(
            h.packet(0, L2, p),
            vec![Action::Close {
                link: L2,
                reason: format!("First packet {what} is not FOLLOWERINFO or OBSERVERINFO"),
            }]
        );
        assert!(h.leader.learners().is_empty());
    }
}

#[test]
fn learner_info_with_a_newer_config_version_is_refused() {
    let mut h = Harness::new();
    let info = LearnerInfo {
        sid: 2,
        protocol_version: PROTOCOL_VERSION,
        config_version: 1,
    };
    let out = h.register(0, L2, pkt(FollowerInfo, z(1, 0), Some(info.encode())));
    assert_eq!(
        out,
        vec![Action::Close {
            link: L2,
            reason: "Follower is ahead of the leader (has a later activated configuration)".into()
        }]
    );
    assert_eq!(h.leader.epoch(), None, "its accepted epoch was not counted");
}

#[test]
fn observers_do_not_count_toward_the_epoch_quorum() {
    let mut h = Harness::new();
    assert_eq!(h.register(0, L4, observer_info(4, 1)), vec![]);
    // A FOLLOWERINFO from a server configured as observer counts no more.
    assert_eq!(h.register(0, L3, follower_info(4, 1)), vec![]);
    assert_eq!(h.leader.epoch(), None);
}

#[test]
fn observers_do_not_count_toward_the_newleader_quorum() {
    let mut h = Harness::new();
    h.register(0, L2, follower_info(2, 1));
    h.register(0, L4, observer_info(4, 1));
    h.packet(0, L2, ack_epoch(1, z(1, 3)));
    h.packet(0, L4, ack_epoch(1, z(1, 3)));
    assert_eq!(h.packet(1, L4, ack(z(2, 0))), vec![]);
    assert!(!h.leader.is_established());
    // The follower's ACK establishes; the observer waiting for UPTODATE gets it too.
    assert_eq!(
        h.packet(2, L2, ack(z(2, 0))),
        vec![
            Action::StartServing,
            send(L2, UpToDate, -1, None),
            send(L4, UpToDate, -1, None),
        ]
    );
}

#[test]
fn discovery_gives_up_after_init_limit_without_a_quorum() {
    let mut h = Harness::new();
    assert_eq!(h.tick(INIT_MS - 1), Ok(vec![]));
    assert_eq!(
        h.tick(INIT_MS),
        Err(Abdicate(
            "Timeout while waiting for epoch from quorum".into()
        ))
    );
}

#[test]
fn the_epoch_ack_wait_gives_up_init_limit_after_the_epoch_was_chosen() {
    let mut h = Harness::new();
    h.register(5_000, L2, follower_info(2, 1));
    assert_eq!(h.tick(5_000 + INIT_MS - 1), Ok(vec![]));
    assert_eq!(
        h.tick(5_000 + INIT_MS),
        Err(Abdicate(
            "Timeout while waiting for epoch to be acked by quorum".into()
        ))
    );
}

#[test]
fn the_newleader_ack_wait_gives_up_init_limit_after_the_epoch_acks() {
    let mut h = Harness::new();
    h.register(0, L2, follower_info(2, 1));
    h.packet(8_000, L2, ack_epoch(1, z(1, 3)));
    assert_eq!(h.leader.phase(), Phase::Sync);
    assert_eq!(h.tick(8_000 + INIT_MS - 1), Ok(vec![]));
    let err = h.tick(8_000 + INIT_MS).expect_err("gives up");
    assert!(
        err.0
            .starts_with("Timeout while waiting for NEWLEADER to be acked by quorum"),
        "{err:?}"
    );
}

#[test]
fn a_learner_silent_for_init_limit_is_dropped() {
    let mut h = Harness::new();
    h.connect(0, L3);
    h.register(1_000, L2, follower_info(2, 1));
    assert_eq!(h.tick(INIT_MS), Ok(vec![]));
    assert_eq!(
        h.tick(INIT_MS + 1),
        Ok(vec![Action::Close {
            link: L3,
            reason: "Read timed out".into()
        }])
    );
}
