//! A member's configuration across roles (`reconfigEnabled`): a LOOKING member adopts a newer
//! configuration from a peer's notification and elects again with it; a last seen
//! configuration (a reconfig proposal, or `<zoo.cfg>.dynamic.next` at start) is what the member
//! resumes when it leads next.

use bytes::Bytes;

use super::tests::{hear, looking, packet, state_changed, step};
use super::*;
use crate::quorum::testkit::*;
use crate::quorum::wire::PacketType::NewLeader;
use ServerState::{Leading, Looking};

/// Voters 1 and 2 (3 removed), observer 4, version 0x100000005.
const WITHOUT_3: &[u8] = b"server.1=a:2888:3888:participant\nserver.2=b:2888:3888:participant\n\
server.4=d:2888:3888:observer\nversion=100000005";

fn without_3() -> QuorumView {
    QuorumView::from_config(Bytes::from_static(WITHOUT_3)).unwrap()
}

fn member_with(me: Sid, reconfig_enabled: bool, last_seen: Option<QuorumView>) -> Member {
    let mut committed = CommittedLog::new(0);
    for c in 1..=3 {
        committed.push(z(1, c), txn(z(1, c)));
    }
    Member::new(MemberInit {
        me,
        observer: false,
        view: view(),
        timing: timing(),
        last_zxid: z(1, 3),
        accepted_epoch: 1,
        current_epoch: 1,
        committed,
        force_snap: false,
        reconfig_enabled,
        last_seen,
    })
}

fn with_config(mut n: Notification, config: &'static [u8]) -> Notification {
    n.config = Bytes::from_static(config);
    n
}

#[test]
fn a_looking_member_adopts_a_newer_configuration_and_elects_again() {
    let mut m = member_with(1, true, None);
    m.start(0);
    let out = hear(
        &mut m,
        10,
        2,
        with_config(looking(2, z(1, 5), 1, 1), WITHOUT_3),
    );
    assert_eq!(out[0], Action::ActivateConfig { view: without_3() });
    assert_eq!(out[1], state_changed(Looking, None));
    // A new round, announced to the voters of the new configuration (3 is none of them).
    let notified: Vec<(Sid, i64, Bytes)> = out
        .iter()
        .filter_map(|a| match a {
            Action::Notify { to, n } => Some((*to, n.election_epoch, n.config.clone())),
            _ => None,
        })
        .collect();
    assert!(!notified.is_empty(), "{out:?}");
    assert!(notified
        .iter()
        .all(|(to, round, config)| *to != 3 && *round == 2 && config == &without_3().config()[..]));
    assert_eq!(m.view(), &without_3());
}

#[test]
fn an_older_configuration_or_reconfig_disabled_changes_nothing() {
    let mut m = member_with(1, false, None);
    m.start(0);
    let out = hear(
        &mut m,
        10,
        2,
        with_config(looking(2, z(1, 5), 1, 1), WITHOUT_3),
    );
    assert!(
        !out.iter()
            .any(|a| matches!(a, Action::ActivateConfig { .. })),
        "{out:?}"
    );
    assert_eq!(m.view(), &view());

    let mut m = member_with(1, true, None);
    m.start(0);
    hear(
        &mut m,
        10,
        2,
        with_config(looking(2, z(1, 5), 1, 1), WITHOUT_3),
    );
    let older = b"server.1=a:2888:3888:participant\nserver.2=b:2888:3888:participant\n\
server.3=c:2888:3888:participant\nversion=100000001";
    let out = hear(&mut m, 20, 2, with_config(looking(2, z(1, 5), 2, 1), older));
    assert!(
        !out.iter()
            .any(|a| matches!(a, Action::ActivateConfig { .. })),
        "{out:?}"
    );
    assert_eq!(m.view(), &without_3());
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
