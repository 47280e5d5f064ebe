//! The member, one input at a time: how it moves between LOOKING and a role, and what it keeps
//! and emits when a role ends (`QuorumPeer.run`; QUORUM.md §2.6, §2.7, §3.3, §8).
//!
//! Voters 1, 2, 3 and observer 4, each starting with epochs 1/1 and txns (1,1)..(1,3). Member 3
//! wins elections (highest id at equal zxids); the epoch it leads is 2.

use bytes::Bytes;

use super::*;
use crate::quorum::action::NoLog;
use crate::quorum::testkit::*;
use crate::quorum::wire::payload::{encode_int, PROTOCOL_VERSION};
use crate::quorum::wire::PacketType::{Ack, Diff, LeaderInfo, NewLeader, Proposal, UpToDate};
use crate::quorum::wire::{Notification, QuorumPacket};

pub(super) const LEARNER_LINK: LinkId = FIRST_LEARNER_LINK;
/// The link follower 2 uses into leader 3.
const IN_LINK: LinkId = 7;
const INIT_MS: u64 = 20_000;

use ServerState::{Following, Leading, Looking, Observing};

pub(super) fn member(me: Sid, observer: bool) -> Member {
    let mut committed = CommittedLog::new(0);
    for c in 1..=3 {
        committed.push(z(1, c), txn(z(1, c)));
    }
    Member::new(MemberInit {
        me,
        observer,
        view: view(),
        timing: timing(),
        last_zxid: z(1, 3),
        accepted_epoch: 1,
        current_epoch: 1,
        committed,
        force_snap: false,
        reconfig_enabled: false,
        last_seen: None,
    })
}

pub(super) fn step(m: &mut Member, now: u64, input: Input) -> Vec<Action> {
    m.step(now, input, &NoLog)
}

pub(super) fn hear(m: &mut Member, now: u64, from: Sid, n: Notification) -> Vec<Action> {
    step(m, now, Input::Notification { from, n })
}

pub(super) fn packet(m: &mut Member, now: u64, link: LinkId, packet: QuorumPacket) -> Vec<Action> {
    step(m, now, Input::Packet { link, packet })
}

pub(super) fn looking(leader: i64, zxid: i64, round: i64, peer_epoch: i64) -> Notification {
    note(Looking, leader, zxid, round, peer_epoch)
}

pub(super) fn state_changed(state: ServerState, leader: Option<Sid>) -> Action {
    Action::StateChanged { state, leader }
}

/// Member 3 after winning round 1 at time 210 (in discovery).
pub(super) fn leading() -> Member {
    let mut m = member(3, false);
    m.start(0);
    hear(&mut m, 10, 2, looking(3, z(1, 3), 1, 1));
    assert_eq!(
        step(&mut m, 210, Input::Tick),
        vec![state_changed(Leading, Some(3))]
    );
    m
}

/// Leader 3 established at time 1000 with follower 2 on `IN_LINK`.
pub(super) fn established() -> Member {
    let mut m = leading();
    step(&mut m, 300, Input::LearnerConnected { link: IN_LINK });
    packet(&mut m, 300, IN_LINK, follower_info(2, 1));
    packet(&mut m, 300, IN_LINK, ack_epoch(1, z(1, 3)));
    assert!(!m.is_serving());
    assert_eq!(m.next_zxid(), None, "not established yet");
    assert_eq!(
        packet(&mut m, 1_000, IN_LINK, ack(z(2, 0))),
        vec![Action::StartServing, send(IN_LINK, UpToDate, -1, None)]
    );
    m
}

/// Member 1 after deciding at time 210 to follow 3.
pub(super) fn following() -> Member {
    let mut m = member(1, false);
    m.start(0);
    hear(&mut m, 10, 3, looking(3, z(1, 3), 1, 1));
    assert_eq!(
        step(&mut m, 210, Input::Tick),
        vec![
            state_changed(Following, Some(3)),
            Action::ConnectToLeader {
                link: LEARNER_LINK,
                leader: 3
            }
        ]
    );
    m
}

/// Follower 1 synced (empty DIFF) and serving epoch 2 at time 500.
pub(super) fn serving_follower() -> Member {
    let mut m = following();
    step(&mut m, 300, Input::LeaderConnected { link: LEARNER_LINK });
    packet(&mut m, 300, LEARNER_LINK, leader_info(2));
    packet(&mut m, 300, LEARNER_LINK, pkt(Diff, z(1, 3), None));
    packet(
        &mut m,
        400,
        LEARNER_LINK,
        pkt(NewLeader, z(2, 0), Some(Bytes::from_static(CONFIG))),
    );
    assert_eq!(
        packet(&mut m, 500, LEARNER_LINK, pkt(UpToDate, -1, None)),
        vec![send(LEARNER_LINK, Ack, z(2, 0), None), Action::StartServing]
    );
    m
}

// ------------------------------------------------------------------------------------------
// LOOKING → a role
// ------------------------------------------------------------------------------------------

#[test]
pub(super) fn start_enters_looking_and_proposes_itself_to_the_other_voters() {
    let mut m = member(1, false);
    let vote = looking(1, z(1, 3), 1, 1);
    assert_eq!(
        m.start(0),
        vec![
            state_changed(Looking, None),
            Action::Notify {
                to: 2,
                n: vote.clone()
            },
            Action::Notify { to: 3, n: vote },
        ]
    );
    assert_eq!(m.mode(), Mode::Looking);
    assert_eq!(m.zab_state(), "ELECTION");
}

#[test]
pub(super) fn winning_the_election_makes_a_leader_in_discovery() {
    let m = leading();
    assert_eq!(m.mode(), Mode::Leading);
    assert_eq!(m.leader(), Some(3));
    assert_eq!(m.zab_state(), "DISCOVERY");
    assert!(!m.is_serving());
}

#[test]
pub(super) fn deciding_to_follow_dials_the_leader() {
    let m = following();
    assert_eq!(m.mode(), Mode::Following);
    assert_eq!(m.leader(), Some(3));
    assert_eq!(m.zab_state(), "DISCOVERY");
}

#[test]
pub(super) fn an_observer_joins_an_established_leader_and_dials_it() {
    let mut m = member(4, true);
    let start = m.start(0);
    let nobody = note(Looking, i64::MIN, i64::MIN, 1, i64::MIN);
    assert_eq!(
        start,
        vec![
            state_changed(Looking, None),
            Action::Notify {
                to: 1,
                n: nobody.clone()
            },
            Action::Notify {
                to: 2,
                n: nobody.clone()
            },
            Action::Notify { to: 3, n: nobody },
        ]
    );
    assert_eq!(hear(&mut m, 5, 3, note(Leading, 3, z(1, 3), 1, 2)), vec![]);
    assert_eq!(
        hear(&mut m, 6, 1, note(Following, 3, z(1, 3), 1, 2)),
        vec![
            state_changed(Observing, Some(3)),
            Action::ConnectToLeader {
                link: LEARNER_LINK,
                leader: 3
            }
        ]
    );
    assert_eq!(m.mode(), Mode::Observing);
}

// ------------------------------------------------------------------------------------------
// A role ends
// ------------------------------------------------------------------------------------------

#[test]
pub(super) fn a_leader_that_never_served_gives_up_into_a_new_election_without_stop_serving() {
    let mut m = leading();
    assert_eq!(step(&mut m, 210 + INIT_MS - 1, Input::Tick), vec![]);
    let vote = looking(3, z(1, 3), 2, 1);
    assert_eq!(
        step(&mut m, 210 + INIT_MS, Input::Tick),
        vec![
            state_changed(Looking, None),
            Action::Notify {
                to: 1,
                n: vote.clone()
            },
            Action::Notify { to: 2, n: vote },
        ]
    );
    assert_eq!(m.mode(), Mode::Looking);
    assert_eq!(m.election().logical_clock(), 2);
}

#[test]
pub(super) fn an_established_leader_that_loses_its_quorum_stops_serving_and_applies_its_logged_proposals(
) {
    let mut m = established();
    step(&mut m, 1_000, Input::Tick);
    let out = m.propose(1_100, z(2, 1), txn(z(2, 1)), &NoLog);
    assert_eq!(out.last(), Some(&append(z(2, 1))));
    assert_eq!(
        step(&mut m, 1_200, Input::LinkClosed { link: IN_LINK }),
        vec![Action::Close {
            link: IN_LINK,
            reason: "connection closed".into()
        }]
    );
    assert_eq!(step(&mut m, 2_000, Input::Tick), vec![]);
    let reason = "Not sufficient followers synced, only synced with sids: {3}".to_string();
    // Elects again with the logged (2,1) and currentEpoch 2.
    let vote = looking(3, z(2, 1), 2, 2);
    assert_eq!(
        step(&mut m, 3_000, Input::Tick),
        vec![
            Action::StopServing { reason },
            Action::ApplyLogged {
                txns: vec![(z(2, 1), txn(z(2, 1)))]
            },
            state_changed(Looking, None),
            Action::Notify {
                to: 1,
                n: vote.clone()
            },
            Action::Notify { to: 2, n: vote },
        ]
    );
    assert!(!m.is_serving());
    assert_eq!((m.last_zxid(), m.last_applied()), (z(2, 1), z(2, 1)));
}

#[test]
pub(super) fn a_follower_that_loses_its_leader_stops_serving_applies_logged_txns_and_elects_with_them(
) {
    let mut m = serving_follower();
    assert_eq!(
        packet(
            &mut m,
            600,
            LEARNER_LINK,
            pkt(Proposal, z(2, 1), Some(txn(z(2, 1))))
        ),
        vec![append(z(2, 1))]
    );
    let reason = "connection to leader 3 closed".to_string();
    let vote = looking(1, z(2, 1), 2, 2);
    assert_eq!(
        step(&mut m, 700, Input::LinkClosed { link: LEARNER_LINK }),
        vec![
            Action::Close {
                link: LEARNER_LINK,
                reason: reason.clone()
            },
            Action::StopServing { reason },
            Action::ApplyLogged {
                txns: vec![(z(2, 1), txn(z(2, 1)))]
            },
            state_changed(Looking, None),
            Action::Notify {
                to: 2,
                n: vote.clone()
            },
            Action::Notify { to: 3, n: vote },
        ]
    );
    assert_eq!(m.epochs(), (2, 2));
}

#[test]
pub(super) fn an_observer_that_loses_its_leader_waits_200_ms_before_electing_again() {
    let mut m = member(4, true);
    m.start(0);
    hear(&mut m, 5, 3, note(Leading, 3, z(1, 3), 1, 2));
    hear(&mut m, 6, 1, note(Following, 3, z(1, 3), 1, 2));
    let gave_up = 6 + INIT_MS;
    assert_eq!(
        step(&mut m, gave_up, Input::Tick),
        vec![
            Action::Close {
                link: LEARNER_LINK,
                reason: "could not connect to leader 3 within initLimit".into()
            },
            state_changed(Looking, None),
        ]
    );
    assert_eq!(m.mode(), Mode::Looking);
    assert_eq!(step(&mut m, gave_up + 199, Input::Tick), vec![]);
    let out = step(&mut m, gave_up + 200, Input::Tick);
    assert_eq!(without_notifies(&out), vec![state_changed(Looking, None)]);
    let to: Vec<Sid> = notifies(&out).iter().map(|(s, _)| *s).collect();
    assert_eq!(to, vec![1, 2, 3]);
    assert_eq!(m.election().logical_clock(), 2);
}

// ------------------------------------------------------------------------------------------
// Proposing
// ------------------------------------------------------------------------------------------

#[test]
pub(super) fn only_an_established_leader_hands_out_zxids() {
    let mut m = member(3, false);
    assert_eq!(m.next_zxid(), None, "not started");
    m.start(0);
    assert_eq!(m.next_zxid(), None, "looking");
    assert_eq!(following().next_zxid(), None, "following");
    assert_eq!(leading().next_zxid(), None, "leading, in discovery");
    assert_eq!(established().next_zxid(), Some(z(2, 1)));
}

#[test]
pub(super) fn propose_does_nothing_unless_an_established_leader() {
    let mut m = leading();
    assert_eq!(m.propose(300, z(2, 1), txn(z(2, 1)), &NoLog), vec![]);
    let mut f = serving_follower();
    assert_eq!(f.propose(600, z(2, 1), txn(z(2, 1)), &NoLog), vec![]);
}

#[test]
pub(super) fn propose_drops_a_txn_prepared_in_another_epoch() {
    // Prepared while leading an earlier epoch, proposed after this leader was re-elected.
    let mut m = established();
    assert_eq!(m.propose(1_100, z(1, 4), txn(z(1, 4)), &NoLog), vec![]);
    assert_eq!(m.next_zxid(), Some(z(2, 1)));
}

#[test]
pub(super) fn propose_sends_to_the_followers_and_logs_and_next_zxid_moves_on() {
    let mut m = established();
    assert_eq!(
        m.propose(1_100, z(2, 1), txn(z(2, 1)), &NoLog),
        vec![
            send(IN_LINK, Proposal, z(2, 1), Some(txn(z(2, 1)))),
            append(z(2, 1))
        ]
    );
    assert_eq!(m.next_zxid(), Some(z(2, 2)));
    assert_eq!(m.last_proposed(), Some(z(2, 1)));
}

#[test]
pub(super) fn proposing_the_last_counter_of_an_epoch_makes_the_leader_abdicate() {
    let mut m = established();
    let last_but_one = z(2, 0xffff_fffe);
    m.propose(1_100, last_but_one, txn(last_but_one), &NoLog);
    // The host gets the exhausted zxid like any other, as Apache's prep does …
    let exhausted = z(2, 0xffff_ffff);
    assert_eq!(m.next_zxid(), Some(exhausted));
    // … and proposing it starts a new epoch (`Leader.propose`, ZOOKEEPER-1277).
    let reason =
        "zxid lower 32 bits have rolled over, forcing re-election, and therefore new epoch start"
            .to_string();
    let out = m.propose(1_200, exhausted, txn(exhausted), &NoLog);
    assert_eq!(
        without_notifies(&out),
        vec![
            Action::Close {
                link: IN_LINK,
                reason: reason.clone()
            },
            Action::StopServing { reason },
            Action::ApplyLogged {
                txns: vec![(last_but_one, txn(last_but_one))]
            },
            state_changed(Looking, None),
        ]
    );
    assert_eq!(notifies(&out)[0].1.zxid, last_but_one);
    assert_eq!(m.mode(), Mode::Looking);
}

// ------------------------------------------------------------------------------------------
// The vote after a role is established (ZOOKEEPER-1732)
// ------------------------------------------------------------------------------------------

#[test]
pub(super) fn an_established_leader_reports_the_new_epoch_in_its_vote() {
    let m = leading();
    assert_eq!(m.election().current_vote().peer_epoch, 1);
    let mut m = established();
    assert_eq!(m.election().current_vote().peer_epoch, 2);
    // A newcomer asking while LOOKING hears it.
    let out = hear(&mut m, 1_100, 1, looking(1, z(1, 3), 5, 1));
    assert_eq!(notifies(&out), vec![(1, note(Leading, 3, z(1, 3), 1, 2))]);
}

#[test]
pub(super) fn a_synced_follower_reports_the_new_epoch_in_its_vote() {
    let m = following();
    assert_eq!(m.election().current_vote().peer_epoch, 1);
    let m = serving_follower();
    assert_eq!(m.election().current_vote().peer_epoch, 2);
    assert_eq!(m.epochs(), (2, 2));
}

#[test]
pub(super) fn the_leader_tracks_its_epochs_as_it_persists_them() {
    let mut m = leading();
    step(&mut m, 300, Input::LearnerConnected { link: IN_LINK });
    assert_eq!(
        packet(&mut m, 300, IN_LINK, follower_info(2, 1)),
        vec![
            Action::PersistAcceptedEpoch(2),
            send(
                IN_LINK,
                LeaderInfo,
                z(2, 0),
                Some(encode_int(PROTOCOL_VERSION))
            )
        ]
    );
    assert_eq!(m.epochs(), (2, 1));
    packet(&mut m, 300, IN_LINK, ack_epoch(1, z(1, 3)));
    assert_eq!(m.epochs(), (2, 2));
}

pub(super) fn append(zxid: i64) -> Action {
    Action::Append {
        zxid,
        txn: txn(zxid),
    }
}

#[test]
pub(super) fn an_observer_waiting_to_elect_again_does_not_decide_on_the_last_rounds_votes() {
    let mut m = member(4, true);
    m.start(0);
    hear(&mut m, 5, 3, note(Leading, 3, z(1, 3), 1, 2));
    hear(&mut m, 6, 1, note(Following, 3, z(1, 3), 1, 2));
    let gave_up = 6 + INIT_MS;
    step(&mut m, gave_up, Input::Tick);
    // A late reply of the old round must not send it straight back to leader 3.
    assert_eq!(
        hear(&mut m, gave_up + 50, 2, note(Following, 3, z(1, 3), 1, 2)),
        vec![]
    );
    assert_eq!(m.mode(), Mode::Looking);
    // Once it elects again (round 2), that vote alone is no quorum either.
    let out = step(&mut m, gave_up + 200, Input::Tick);
    assert_eq!(without_notifies(&out), vec![state_changed(Looking, None)]);
    assert_eq!(m.mode(), Mode::Looking);
    assert_eq!(m.election().logical_clock(), 2);
}

#[test]
pub(super) fn a_learner_connection_to_a_member_that_does_not_lead_is_closed() {
    for mut m in [member(3, false), following()] {
        assert_eq!(
            step(&mut m, 300, Input::LearnerConnected { link: IN_LINK }),
            vec![Action::Close {
                link: IN_LINK,
                reason: "not leading".into()
            }]
        );
    }
}
