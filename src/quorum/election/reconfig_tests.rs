//! The election under dynamic reconfiguration: a member's learner type follows the
//! configuration in force, and a member that configuration does not list (a removed voter)
//! follows the leader as a non-voting participant, as Apache's `learningState()` decides.

use super::tests::*;
use super::*;
use bytes::Bytes;

/// Voters 1, 2, 3 and observer 4; member 5 was removed.
fn view_without_5() -> QuorumView {
    QuorumView::new([1, 2, 3], [4], Bytes::from_static(b"version=100000001"))
}

/// `me` (not a voter) hears leader 1 and follower 2 of round 4.
fn joins(me: Sid, observer: bool) -> Decision {
    let v = view_without_5();
    let mut e = Election::new(me, observer, timing(), 5, 1);
    let mut out = Vec::new();
    e.start(&v, 0, 5, 1, &mut out);
    let sent = notifications(&out);
    assert_eq!(sent.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(sent[0].1.leader, i64::MIN, "a non-voter proposes no one");
    assert_eq!(
        e.receive(
            &v,
            1,
            1,
            established(ServerState::Leading, 1, 4, 2),
            &mut out
        ),
        None
    );
    e.receive(
        &v,
        2,
        2,
        established(ServerState::Following, 1, 4, 2),
        &mut out,
    )
    .expect("joins the established leader")
}

#[test]
fn a_removed_voter_follows_as_a_non_voting_participant() {
    let d = joins(5, false);
    assert_eq!((d.state, d.vote.leader), (ServerState::Following, 1));
}

#[test]
fn an_observer_of_the_configuration_observes() {
    let d = joins(4, false);
    assert_eq!((d.state, d.vote.leader), (ServerState::Observing, 1));
}

#[test]
fn a_configuration_that_lists_an_observer_as_a_voter_makes_it_a_participant() {
    // Started as `peerType=observer`; a reconfig made it a voter of the configuration in force.
    let v = QuorumView::new([1, 2, 4], [], Bytes::from_static(b"version=100000002"));
    let mut e = Election::new(4, true, timing(), 5, 1);
    e.set_observer(v.is_observer(4));
    let mut out = Vec::new();
    e.start(&v, 0, 5, 1, &mut out);
    let n = &notifications(&out)[0].1;
    assert_eq!((n.leader, n.zxid), (4, 5), "it votes, for itself");
    e.receive(
        &v,
        1,
        1,
        established(ServerState::Leading, 1, 4, 2),
        &mut out,
    );
    let d = e
        .receive(
            &v,
            2,
            2,
            established(ServerState::Following, 1, 4, 2),
            &mut out,
        )
        .expect("joins");
    assert_eq!(d.state, ServerState::Following);
}
