use super::tests::*;
use super::*;
use bytes::Bytes;

#[test]
fn a_quorum_decides_at_once_when_every_other_voter_is_known_down() {
    let v = view3();
    let mut e = Election::new(1, false, timing(), 5, 1);
    let mut out = Vec::new();
    e.start(&v, 0, 5, 1, &mut out);
    assert_eq!(e.peer_down(&v, 3), None, "no quorum yet");
    let from2 = Notification {
        state: 0,
        leader: 2,
        zxid: 5,
        election_epoch: 1,
        peer_epoch: 1,
        version: 2,
        config: Bytes::new(),
    };
    // 2 beats us; once we adopt its vote, 1 and 2 agree and 3 cannot vote: no finalize wait.
    let d = e
        .receive(&v, 10, 2, from2, &mut out)
        .expect("decided without waiting");
    assert_eq!((d.state, d.vote.leader), (ServerState::Following, 2));
}

#[test]
fn a_standing_quorum_stops_waiting_when_the_last_voter_goes_down() {
    let v = view3();
    let mut e = Election::new(2, false, timing(), 5, 1);
    let mut out = Vec::new();
    e.start(&v, 0, 5, 1, &mut out);
    let from1 = Notification {
        state: 0,
        leader: 2,
        zxid: 5,
        election_epoch: 1,
        peer_epoch: 1,
        version: 2,
        config: Bytes::new(),
    };
    assert_eq!(e.receive(&v, 10, 1, from1, &mut out), None, "waits for 3");
    let d = e.peer_down(&v, 3).expect("3 cannot vote now");
    assert_eq!((d.state, d.vote.leader), (ServerState::Leading, 2));
    // A peer that comes back is waited for again in the next round.
    e.peer_up(3);
    e.start(&v, 100, 5, 1, &mut out);
    assert!(e.peer_down(&v, 1).is_none());
}
