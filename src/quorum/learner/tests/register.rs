//! Connecting (with retries) and registering: FOLLOWERINFO/OBSERVERINFO, LEADERINFO, ACKEPOCH.

use super::*;

#[test]
fn a_new_learner_dials_its_leader() {
    let (h, out) = Harness::with(false, 1);
    assert_eq!(
        out,
        vec![Action::ConnectToLeader {
            link: LINK,
            leader: 1
        }]
    );
    assert_eq!(h.l.phase(), Phase::Connecting);
}

#[test]
fn a_failed_connection_is_retried_100_ms_later_for_5_attempts_in_all() {
    let (mut h, _) = Harness::with(false, 1);
    let mut t = 0;
    for _attempt in 2..=5 {
        assert_eq!(h.ok(t, Input::LinkClosed { link: LINK }), vec![]);
        assert_eq!(h.ok(t + 99, Input::Tick), vec![]);
        assert_eq!(
            h.ok(t + 100, Input::Tick),
            vec![Action::ConnectToLeader {
                link: LINK,
                leader: 1
            }]
        );
        t += 150;
    }
    assert_eq!(
        h.step(t, Input::LinkClosed { link: LINK }),
        Err(Abandon("connection to leader 1 closed".into()))
    );
}

#[test]
fn connecting_gives_up_after_init_limit() {
    let (mut h, _) = Harness::with(false, 1);
    assert_eq!(h.ok(INIT_MS - 1, Input::Tick), vec![]);
    assert_eq!(
        h.step(INIT_MS, Input::Tick),
        Err(Abandon(
            "could not connect to leader 1 within initLimit".into()
        ))
    );
}

#[test]
fn a_connected_follower_sends_followerinfo_with_its_accepted_epoch_and_a_20_byte_learner_info() {
    let (mut h, _) = Harness::with(false, 1);
    let info = [
        0, 0, 0, 0, 0, 0, 0, 2, // sid
        0, 1, 0, 0, // protocol version 0x10000
        0, 0, 0, 0, 0, 0, 0, 0, // config version
    ];
    assert_eq!(
        h.ok(5, Input::LeaderConnected { link: LINK }),
        vec![send(
            LINK,
            FollowerInfo,
            z(1, 0),
            Some(Bytes::copy_from_slice(&info))
        )]
    );
    assert_eq!(h.l.phase(), Phase::Registering);
}

#[test]
fn a_connected_observer_sends_observerinfo() {
    let (mut h, _) = Harness::with(true, 3);
    let out = h.ok(5, Input::LeaderConnected { link: LINK });
    assert_eq!(
        out,
        vec![send(
            LINK,
            ObserverInfo,
            z(3, 0),
            Some(Bytes::copy_from_slice(&[
                0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
            ]))
        )]
    );
}

#[test]
fn leaderinfo_with_a_newer_epoch_persists_it_and_acks_with_the_current_epoch() {
    let (mut h, _) = Harness::with(false, 1);
    h.ok(0, Input::LeaderConnected { link: LINK });
    assert_eq!(
        h.ok_packet(1, leader_info(2)),
        vec![
            Action::PersistAcceptedEpoch(2),
            send(LINK, AckEpoch, z(1, 3), Some(encode_int(1))),
        ]
    );
    assert_eq!(h.l.state().accepted_epoch, 2);
    assert_eq!(h.l.new_epoch(), 2);
}

#[test]
fn leaderinfo_with_the_accepted_epoch_is_acked_with_minus_one() {
    let (mut h, _) = Harness::with(false, 2);
    h.ok(0, Input::LeaderConnected { link: LINK });
    assert_eq!(
        h.ok_packet(1, leader_info(2)),
        vec![send(
            LINK,
            AckEpoch,
            z(1, 3),
            Some(Bytes::from_static(&[0xff, 0xff, 0xff, 0xff]))
        )]
    );
}

#[test]
fn leaderinfo_with_an_older_epoch_abandons_the_leader() {
    let (mut h, _) = Harness::with(false, 3);
    h.ok(0, Input::LeaderConnected { link: LINK });
    assert_eq!(
        h.packet(1, leader_info(2)),
        Err(Abandon(
            "Leaders epoch, 2 is less than accepted epoch, 3".into()
        ))
    );
}

#[test]
fn a_first_reply_other_than_a_full_leaderinfo_abandons_the_leader() {
    let replies = [
        pkt(LeaderInfo, z(2, 0), Some(Bytes::from_static(&[0, 1, 0]))),
        pkt(LeaderInfo, z(2, 0), None),
        newleader(),
        pkt(Diff, z(1, 3), None),
        pkt(Ping, 0, None),
    ];
    for p in replies {
        let (mut h, _) = Harness::with(false, 1);
        h.ok(0, Input::LeaderConnected { link: LINK });
        let what = p.describe();
        assert!(h.packet(1, p).is_err(), "{what}");
    }
}
