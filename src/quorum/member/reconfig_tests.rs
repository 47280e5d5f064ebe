//! A member under dynamic reconfiguration: while LOOKING it activates a newer configuration
//! a notification carries and elects again under it (`FastLeaderElection.WorkerReceiver`),
//! and its learner type follows the configuration in force (`updateLearnerType`).

use bytes::Bytes;

use super::tests::{hear, member, state_changed};
use super::*;
use crate::quorum::testkit::*;

use ServerState::{Following, Looking};

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
