//! A member under dynamic reconfiguration: while LOOKING it activates a newer configuration
//! a notification carries and elects again under it (`FastLeaderElection.WorkerReceiver`),
//! and its learner type follows the configuration in force (`updateLearnerType`); a last seen
//! configuration (a reconfig proposal, or `<zoo.cfg>.dynamic.next` at start) is what the
//! member resumes when it leads next.

use bytes::Bytes;

use super::tests::{hear, looking, member, packet, state_changed, step};
use super::*;
use crate::quorum::testkit::*;

use crate::quorum::wire::PacketType::NewLeader;
use ServerState::{Following, Leading, Looking};

/// Voters 1, 2, 4 and observer 3 (3 and 4 swapped roles), at version (1,9).
const SWAPPED: &[u8] = b"server.1=a:2888:3888:participant\nserver.2=b:2888:3888:participant\n\
    server.3=c:2888:3888:observer\nserver.4=d:2888:3888:participant\nversion=100000009";

fn swapped() -> QuorumView {
    QuorumView::from_config(Bytes::from_static(SWAPPED)).expect("parses")
}

/// A vote from `leader`'s peers carrying the swapped configuration.
fn gossip(state: ServerState, leader: i64) -> Notification {
    Notification {
        config: Bytes::from_static(SWAPPED),
        ..note(state, leader, z(1, 9), 3, 1)
    }
}

fn enabled(me: Sid, observer: bool) -> Member {
    let mut m = member(me, observer);
    m.reconfig_enabled = true;
    m
}

#[test]
fn a_looking_member_activates_a_newer_configuration_and_elects_again_under_it() {
    let mut m = enabled(1, false);
    m.start(0);
    let out = hear(&mut m, 5, 2, gossip(Following, 4));
    assert_eq!(
        without_notifies(&out),
        vec![
            Action::ActivateConfig { view: swapped() },
            state_changed(Looking, None)
        ],
        "the notification itself is dropped: no decision on it"
    );
    assert_eq!(m.view(), &swapped());
    assert_eq!(m.election().logical_clock(), 2, "a new round");
    let to: Vec<Sid> = notifies(&out).iter().map(|(s, _)| *s).collect();
    assert_eq!(to, [2, 4], "the voters of the new configuration");
    assert_eq!(notifies(&out)[0].1.config, Bytes::from_static(SWAPPED));
}

#[test]
fn an_observer_made_a_voter_by_a_configuration_votes_with_its_history() {
    let mut m = enabled(4, true);
    let start = m.start(0);
    assert_eq!(
        notifies(&start)[0].1.zxid,
        i64::MIN,
        "an observer votes for no one"
    );
    let out = hear(&mut m, 5, 1, gossip(Looking, 1));
    let n = &notifies(&out)[0].1;
    assert_eq!((n.leader, n.zxid, n.peer_epoch), (4, z(1, 3), 1));
}

#[test]
fn a_member_made_an_observer_by_a_configuration_votes_for_no_one() {
    let mut m = enabled(3, false);
    m.start(0);
    let out = hear(&mut m, 5, 1, gossip(Looking, 1));
    let n = &notifies(&out)[0].1;
    assert_eq!((n.leader, n.zxid), (i64::MIN, i64::MIN));
}

#[test]
fn a_configuration_no_newer_or_without_reconfig_enabled_is_only_a_vote() {
    let mut m = member(1, false);
    m.start(0);
    let out = hear(&mut m, 5, 2, gossip(Following, 4));
    assert!(!out
        .iter()
        .any(|a| matches!(a, Action::ActivateConfig { .. })));
    assert_eq!(m.view(), &view());
    let mut m = enabled(1, false);
    m.start(0);
    let out = hear(&mut m, 5, 2, note(Looking, 3, z(1, 3), 1, 1));
    assert!(!out
        .iter()
        .any(|a| matches!(a, Action::ActivateConfig { .. })));
}

// --- the last seen configuration: what a member resumes when it leads next ---

/// Voters 1 and 2 (3 removed), observer 4, version 0x100000005.
const WITHOUT_3: &[u8] = b"server.1=a:2888:3888:participant\nserver.2=b:2888:3888:participant\n\
server.4=d:2888:3888:observer\nversion=100000005";

fn without_3() -> QuorumView {
    QuorumView::from_config(Bytes::from_static(WITHOUT_3)).unwrap()
}

fn member_with(me: Sid, reconfig_enabled: bool, last_seen: Option<QuorumView>) -> Member {
    let mut m = member(me, false);
    m.reconfig_enabled = reconfig_enabled;
    m.last_seen = last_seen;
    m
}

#[test]
fn a_member_that_leads_next_resumes_its_last_seen_configuration() {
    // 3 saw a reconfig proposal removing 1 ({2,3} remain), logged at (1,3), before its leader
    // failed; it wins the next election.
    let next = QuorumView::from_config(Bytes::from_static(
        b"server.2=b:2888:3888:participant\nserver.3=c:2888:3888:participant\nversion=100000003",
    ))
    .unwrap();
    let mut m = member_with(3, true, Some(next.clone()));
    m.start(0);
    hear(&mut m, 10, 2, looking(3, z(1, 3), 1, 1));
    assert_eq!(
        step(&mut m, 210, Input::Tick),
        vec![state_changed(Leading, Some(3))]
    );
    step(&mut m, 300, Input::LearnerConnected { link: 7 });
    packet(&mut m, 300, 7, follower_info(2, 1));
    let out = packet(&mut m, 300, 7, ack_epoch(1, z(1, 3)));
    assert!(
        out.contains(&send(7, NewLeader, z(2, 0), Some(next.config().clone()))),
        "NEWLEADER carries the last seen configuration: {out:?}"
    );
    let out = packet(&mut m, 400, 7, ack(z(2, 0)));
    assert!(
        out.contains(&Action::ActivateConfig { view: next.clone() }),
        "{out:?}"
    );
    assert!(m.is_serving());
    assert_eq!(m.view(), &next);
}

#[test]
fn a_proposal_seen_as_learner_is_what_the_member_resumes() {
    let mut m = member_with(1, true, None);
    let next = without_3();
    let out = vec![Action::LastSeenConfig { view: next.clone() }];
    m.track(&out);
    assert_eq!(m.last_seen, Some(next.clone()));
    // NEWLEADER of a leader without it: the proposal was dropped.
    m.track(&[Action::LastSeenConfig { view: view() }]);
    assert_eq!(m.last_seen, None);
    m.track(&[Action::LastSeenConfig { view: next.clone() }]);
    m.track(&[Action::ActivateConfig { view: next }]);
    assert_eq!(m.last_seen, None, "in force now");
}
