use super::*;
use bytes::Bytes;

pub(super) fn timing() -> Timing {
    Timing::default()
}

pub(super) fn view3() -> QuorumView {
    QuorumView::new([1, 2, 3], [], Bytes::from_static(b"version=0"))
}

pub(super) fn notifications(out: &[Action]) -> Vec<(Sid, Notification)> {
    out.iter()
        .filter_map(|a| match a {
            Action::Notify { to, n } => Some((*to, n.clone())),
            _ => None,
        })
        .collect()
}

#[test]
pub(super) fn a_new_round_proposes_itself_to_every_other_voter() {
    let v = view3();
    let mut e = Election::new(2, false, timing(), 0x1_0000_0005, 1);
    let mut out = Vec::new();
    assert_eq!(e.start(&v, 0, 0x1_0000_0005, 1, &mut out), None);
    let sent = notifications(&out);
    assert_eq!(sent.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![1, 3]);
    let n = &sent[0].1;
    assert_eq!(
        (n.state, n.leader, n.zxid, n.election_epoch, n.peer_epoch),
        (0, 2, 0x1_0000_0005, 1, 1)
    );
    assert_eq!(n.config, Bytes::from_static(b"version=0"));
}

#[test]
pub(super) fn the_highest_zxid_wins_after_the_finalize_wait() {
    let v = view3();
    let mut e = Election::new(1, false, timing(), 5, 1);
    let mut out = Vec::new();
    e.start(&v, 0, 5, 1, &mut out);
    out.clear();
    // Peer 3 has a newer history: adopt its vote and re-broadcast.
    let from3 = Notification {
        state: 0,
        leader: 3,
        zxid: 9,
        election_epoch: 1,
        peer_epoch: 1,
        version: 2,
        config: Bytes::new(),
    };
    assert_eq!(e.receive(&v, 10, 3, from3.clone(), &mut out), None);
    assert_eq!(e.proposal().leader, 3);
    assert_eq!(notifications(&out).len(), 2);
    // A quorum (us + 3) agrees; nothing better within 200 ms decides.
    assert_eq!(e.tick(&v, 100, &mut out), None);
    let d = e.tick(&v, 211, &mut out).expect("decided");
    assert_eq!(d.state, ServerState::Following);
    assert_eq!(
        (d.vote.leader, d.vote.zxid, d.vote.election_epoch),
        (3, 9, 1)
    );
}

#[test]
pub(super) fn established_members_answer_looking_peers_with_their_vote() {
    let v = view3();
    let mut e = Election::new(1, false, timing(), 5, 1);
    let mut out = Vec::new();
    e.start(&v, 0, 5, 1, &mut out);
    e.set_state(ServerState::Following);
    out.clear();
    let looking = Notification {
        state: 0,
        leader: 2,
        zxid: 1,
        election_epoch: 7,
        peer_epoch: 0,
        version: 2,
        config: Bytes::new(),
    };
    e.receive(&v, 5, 2, looking.clone(), &mut out);
    let sent = notifications(&out);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, 2);
    assert_eq!(sent[0].1.state, ServerState::Following as i32);
    // Established peers ignore each other.
    out.clear();
    e.receive(
        &v,
        6,
        2,
        Notification {
            state: 2,
            ..looking
        },
        &mut out,
    );
    assert!(out.is_empty());
}

#[test]
pub(super) fn a_late_joiner_follows_a_quorum_of_established_peers() {
    let v = view3();
    let mut e = Election::new(3, false, timing(), 0, 0);
    let mut out = Vec::new();
    e.start(&v, 0, 0, 0, &mut out);
    let leading = Notification {
        state: ServerState::Leading as i32,
        leader: 1,
        zxid: 0x2_0000_0000,
        election_epoch: 4,
        peer_epoch: 2,
        version: 2,
        config: Bytes::new(),
    };
    assert_eq!(e.receive(&v, 1, 1, leading.clone(), &mut out), None);
    let following = Notification {
        state: ServerState::Following as i32,
        ..leading
    };
    let d = e.receive(&v, 2, 2, following, &mut out).expect("joins");
    assert_eq!(d.state, ServerState::Following);
    assert_eq!(d.vote.leader, 1);
    assert_eq!(e.logical_clock(), 4);
}

#[test]
pub(super) fn non_voters_get_an_immediate_answer_and_are_not_counted() {
    let v = QuorumView::new([1, 2, 3], [4], Bytes::new());
    let mut e = Election::new(1, false, timing(), 0, 0);
    let mut out = Vec::new();
    e.start(&v, 0, 0, 0, &mut out);
    out.clear();
    let from_observer = Notification {
        state: 0,
        leader: i64::MIN,
        zxid: i64::MIN,
        election_epoch: 1,
        peer_epoch: i64::MIN,
        version: 2,
        config: Bytes::new(),
    };
    e.receive(&v, 1, 4, from_observer, &mut out);
    assert_eq!(notifications(&out).len(), 1);
    assert_eq!(notifications(&out)[0].0, 4);
}

#[test]
pub(super) fn silence_doubles_the_notification_interval() {
    let v = view3();
    let mut e = Election::new(1, false, timing(), 0, 0);
    let mut out = Vec::new();
    e.start(&v, 0, 0, 0, &mut out);
    out.clear();
    e.tick(&v, 199, &mut out);
    assert!(out.is_empty());
    e.tick(&v, 200, &mut out);
    assert_eq!(notifications(&out).len(), 2, "re-sent after 200 ms");
    out.clear();
    e.tick(&v, 599, &mut out);
    assert!(out.is_empty(), "next after 400 more ms");
    e.tick(&v, 600, &mut out);
    assert_eq!(notifications(&out).len(), 2);
}

pub(super) fn looking(leader: i64, zxid: i64, round: i64, peer_epoch: i64) -> Notification {
    crate::quorum::testkit::note(ServerState::Looking, leader, zxid, round, peer_epoch)
}

pub(super) fn established(
    state: ServerState,
    leader: i64,
    round: i64,
    peer_epoch: i64,
) -> Notification {
    crate::quorum::testkit::note(state, leader, 0x1_0000_0005, round, peer_epoch)
}

/// Member `me` of `v`, started (round 1) at time 0 with last zxid 5 in epoch 1.
pub(super) fn started(me: Sid, v: &QuorumView) -> Election {
    let mut e = Election::new(me, false, timing(), 5, 1);
    e.start(v, 0, 5, 1, &mut Vec::new());
    e
}

#[test]
pub(super) fn a_vote_from_a_later_round_resets_the_tally_and_keeps_the_better_of_it_and_our_own() {
    let v = view3();
    let mut e = started(2, &v);
    let mut out = Vec::new();
    // Round 3 proposes 1 with an older zxid: we move to round 3 but stay with our own vote.
    assert_eq!(e.receive(&v, 10, 1, looking(1, 2, 3, 1), &mut out), None);
    assert_eq!(e.logical_clock(), 3);
    assert_eq!(e.proposal().leader, 2);
    let sent = notifications(&out);
    assert_eq!(sent.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![1, 3]);
    assert_eq!(
        (sent[0].1.leader, sent[0].1.zxid, sent[0].1.election_epoch),
        (2, 5, 3)
    );
    // The tally of round 1 is gone: only 1's vote and our own (via the loopback) are counted.
    let mut counted: Vec<Sid> = e.recvset.keys().copied().collect();
    counted.sort_unstable();
    assert_eq!(counted, vec![1, 2]);
}

#[test]
pub(super) fn a_looking_vote_from_an_earlier_round_is_answered_with_our_proposal_and_not_counted() {
    let v = view3();
    let mut e = started(2, &v);
    e.start(&v, 5, 5, 1, &mut Vec::new());
    assert_eq!(e.logical_clock(), 2);
    let mut out = Vec::new();
    assert_eq!(e.receive(&v, 10, 3, looking(3, 9, 1, 1), &mut out), None);
    let sent = notifications(&out);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, 3);
    assert_eq!(
        (sent[0].1.state, sent[0].1.leader, sent[0].1.election_epoch),
        (0, 2, 2)
    );
    assert_eq!(
        e.proposal().leader,
        2,
        "a better vote of an old round is not adopted"
    );
    assert!(!e.recvset.contains_key(&3));
}

#[test]
pub(super) fn looking_votes_with_a_minus_one_zxid_are_ignored() {
    let v = view3();
    let mut e = started(1, &v);
    let mut out = Vec::new();
    e.receive(&v, 10, 3, looking(3, -1, 1, 1), &mut out);
    assert_eq!(e.proposal().leader, 1);
    assert!(notifications(&out).is_empty());
    assert!(!e.recvset.contains_key(&3));
    // A member whose own database is "-1" ignores every LOOKING vote (ZOOKEEPER-261).
    let mut empty = Election::new(1, false, timing(), -1, 0);
    empty.start(&v, 0, -1, 0, &mut Vec::new());
    empty.receive(&v, 10, 3, looking(3, 9, 1, 1), &mut out);
    assert_eq!(empty.proposal().leader, 1);
    assert!(empty.recvset.is_empty());
}

#[test]
pub(super) fn a_vote_for_a_server_that_is_not_a_voter_is_ignored() {
    let v = QuorumView::new([1, 2, 3], [4], Bytes::new());
    let mut e = started(1, &v);
    let mut out = Vec::new();
    for leader in [4, 9, -5] {
        assert_eq!(
            e.receive(&v, 10, 3, looking(leader, 99, 1, 9), &mut out),
            None
        );
    }
    assert_eq!(e.proposal().leader, 1);
    assert!(notifications(&out).is_empty());
    assert!(!e.recvset.contains_key(&3));
}

#[test]
pub(super) fn the_member_proposed_by_a_quorum_decides_to_lead_after_the_finalize_wait() {
    let v = view3();
    let mut e = started(3, &v);
    let mut out = Vec::new();
    assert_eq!(e.receive(&v, 10, 1, looking(3, 5, 1, 1), &mut out), None);
    assert_eq!(e.tick(&v, 209, &mut out), None);
    let d = e.tick(&v, 210, &mut out).expect("decided");
    assert_eq!(d.state, ServerState::Leading);
    assert_eq!(
        d.vote,
        Vote {
            leader: 3,
            zxid: 5,
            election_epoch: 1,
            peer_epoch: 1
        }
    );
    assert_eq!(e.state(), ServerState::Leading);
    assert_eq!(e.current_vote(), d.vote);
}

#[test]
pub(super) fn a_better_vote_during_the_finalize_wait_reopens_the_round() {
    let v = view3();
    let mut e = started(1, &v);
    let mut out = Vec::new();
    e.receive(&v, 10, 2, looking(2, 5, 1, 1), &mut out);
    assert_eq!(e.proposal().leader, 2, "a quorum (1, 2) now stands for 2");
    out.clear();
    assert_eq!(e.receive(&v, 100, 3, looking(3, 5, 1, 1), &mut out), None);
    assert_eq!(e.proposal().leader, 3);
    assert_eq!(
        notifications(&out).len(),
        2,
        "the new proposal is re-broadcast"
    );
    assert_eq!(
        e.tick(&v, 210, &mut out),
        None,
        "2's quorum no longer decides"
    );
    let d = e
        .tick(&v, 300, &mut out)
        .expect("3's quorum (1, 3) decides");
    assert_eq!((d.state, d.vote.leader), (ServerState::Following, 3));
}

#[test]
pub(super) fn a_vote_no_better_during_the_finalize_wait_only_delays_the_decision() {
    let v = view3();
    let mut e = started(3, &v);
    let mut out = Vec::new();
    e.receive(&v, 10, 1, looking(3, 5, 1, 1), &mut out);
    out.clear();
    assert_eq!(e.receive(&v, 150, 2, looking(2, 5, 1, 1), &mut out), None);
    // 2 has not seen our proposal: it alone gets it again (zkserver's targeted reply).
    let sent = notifications(&out);
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].0, sent[0].1.leader), (2, 3));
    assert_eq!(e.tick(&v, 210, &mut out), None);
    assert_eq!(e.tick(&v, 349, &mut out), None);
    assert_eq!(
        e.tick(&v, 350, &mut out).map(|d| d.state),
        Some(ServerState::Leading)
    );
}

#[test]
pub(super) fn an_observer_votes_for_no_one_to_the_voters_and_observes_the_quorums_choice() {
    let v = QuorumView::new([1, 2, 3], [4], Bytes::new());
    let mut e = Election::new(4, true, timing(), 5, 1);
    let mut out = Vec::new();
    assert_eq!(e.start(&v, 0, 5, 1, &mut out), None);
    let sent = notifications(&out);
    assert_eq!(
        sent.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(
        (sent[0].1.leader, sent[0].1.zxid, sent[0].1.peer_epoch),
        (i64::MIN, i64::MIN, i64::MIN)
    );
    out.clear();
    e.receive(&v, 10, 1, looking(3, 5, 1, 1), &mut out);
    e.receive(&v, 11, 3, looking(3, 5, 1, 1), &mut out);
    let d = e.tick(&v, 211, &mut out).expect("decided");
    assert_eq!((d.state, d.vote.leader), (ServerState::Observing, 3));
}

#[test]
pub(super) fn established_peers_of_our_round_are_compared_by_leader_id_as_apache_stores_them() {
    // `receivedFollowingNotification` stores same-round votes as version 0, so against the
    // sender's version-2 vote only the leader id is compared: a follower still reporting its
    // old peer epoch agrees with a leader that already reports the new one.
    let v = view3();
    let mut e = started(2, &v);
    let mut out = Vec::new();
    assert_eq!(
        e.receive(
            &v,
            10,
            1,
            established(ServerState::Leading, 1, 1, 3),
            &mut out
        ),
        None
    );
    let d = e
        .receive(
            &v,
            11,
            3,
            established(ServerState::Following, 1, 1, 2),
            &mut out,
        )
        .expect("joins");
    assert_eq!((d.state, d.vote.leader), (ServerState::Following, 1));
    assert_eq!(
        d.vote.peer_epoch, 2,
        "the end vote is the deciding notification's"
    );
}

#[test]
pub(super) fn established_peers_of_another_round_must_agree_on_the_peer_epoch() {
    let v = view3();
    let mut e = started(2, &v);
    let mut out = Vec::new();
    e.receive(
        &v,
        10,
        1,
        established(ServerState::Leading, 1, 4, 3),
        &mut out,
    );
    assert_eq!(
        e.receive(
            &v,
            11,
            3,
            established(ServerState::Following, 1, 4, 2),
            &mut out
        ),
        None
    );
    let d = e
        .receive(
            &v,
            12,
            3,
            established(ServerState::Following, 1, 4, 3),
            &mut out,
        )
        .expect("joins");
    assert_eq!((d.state, d.vote.leader), (ServerState::Following, 1));
    assert_eq!(e.logical_clock(), 4);
}

#[test]
pub(super) fn followers_alone_are_not_enough_without_the_leader_saying_it_leads() {
    let v = QuorumView::new([1, 2, 3, 4, 5], [], Bytes::new());
    let mut e = started(5, &v);
    let mut out = Vec::new();
    for from in [1, 3, 4] {
        assert_eq!(
            e.receive(
                &v,
                10,
                from,
                established(ServerState::Following, 2, 1, 2),
                &mut out
            ),
            None,
            "from {from}"
        );
    }
    let d = e
        .receive(
            &v,
            11,
            2,
            established(ServerState::Leading, 2, 1, 2),
            &mut out,
        )
        .expect("the leader confirmed");
    assert_eq!((d.state, d.vote.leader), (ServerState::Following, 2));
}

#[test]
pub(super) fn observing_peers_are_not_counted() {
    let v = view3();
    let mut e = started(1, &v);
    let mut out = Vec::new();
    let observing = established(ServerState::Observing, 3, 1, 1);
    assert_eq!(e.receive(&v, 10, 2, observing.clone(), &mut out), None);
    assert_eq!(e.receive(&v, 10, 3, observing, &mut out), None);
    assert!(notifications(&out).is_empty());
    assert_eq!(e.proposal().leader, 1);
}
