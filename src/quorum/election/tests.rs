use super::*;
use bytes::Bytes;

fn timing() -> Timing {
    Timing::default()
}

fn view3() -> QuorumView {
    QuorumView::new([1, 2, 3], [], Bytes::from_static(b"version=0"))
}

fn notifications(out: &[Action]) -> Vec<(Sid, Notification)> {
    out.iter()
        .filter_map(|a| match a {
            Action::Notify { to, n } => Some((*to, n.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_new_round_proposes_itself_to_every_other_voter() {
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
fn the_highest_zxid_wins_after_the_finalize_wait() {
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
fn established_members_answer_looking_peers_with_their_vote() {
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
fn a_late_joiner_follows_a_quorum_of_established_peers() {
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
fn non_voters_get_an_immediate_answer_and_are_not_counted() {
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
fn silence_doubles_the_notification_interval() {
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
