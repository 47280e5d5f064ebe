//! Reconfiguration on a learner: NEWLEADER's configuration activated at UPTODATE; a reconfig
//! PROPOSAL activated by its COMMITANDACTIVATE (committed too), leaving the leader when it is
//! not the designated one; without `reconfigEnabled` the txn is only committed.

use bytes::{BufMut, BytesMut};

use super::*;

const NEXT: &str = "server.1=a:2888:3888:participant\nserver.2=b:2888:3888:participant\n\
                    server.4=d:2888:3888:observer\nversion=200000001";

/// A reconfig txn at `zxid` installing `NEXT`.
fn reconfig_txn(zxid: i64) -> Bytes {
    crate::quorum::testkit::reconfig_txn(zxid, NEXT)
}

fn commit_and_activate(zxid: i64, designated: i64) -> QuorumPacket {
    pkt(
        CommitAndActivate,
        zxid,
        Some(Bytes::copy_from_slice(&designated.to_be_bytes())),
    )
}

fn next_view() -> QuorumView {
    QuorumView::from_config(Bytes::from_static(NEXT.as_bytes())).unwrap()
}

fn enabled(observer: bool) -> Harness {
    let mut h = Harness::serving(observer);
    h.l.reconfig_enabled = true;
    h
}

#[test]
fn commit_and_activate_activates_then_commits() {
    let mut h = enabled(false);
    let t = reconfig_txn(z(2, 1));
    h.ok_packet(1, pkt(Proposal, z(2, 1), Some(t.clone())));
    assert_eq!(
        h.ok_packet(2, commit_and_activate(z(2, 1), 1)),
        vec![
            Action::ActivateConfig { view: next_view() },
            Action::Apply {
                zxid: z(2, 1),
                txn: t
            },
        ]
    );
}

#[test]
fn another_designated_leader_means_leaving_this_one_in_broadcast_and_in_sync() {
    for mut h in [enabled(false), Harness::diffing(false)] {
        h.l.reconfig_enabled = true;
        h.ok_packet(1, pkt(Proposal, z(2, 1), Some(reconfig_txn(z(2, 1)))));
        let r = h.packet(2, commit_and_activate(z(2, 1), 2));
        assert!(
            matches!(r, Err(Abandon(ref m)) if m.contains("designated leader is now 2")),
            "{r:?}"
        );
    }
}

#[test]
fn without_reconfig_enabled_the_txn_is_only_committed() {
    let mut h = Harness::serving(false);
    let t = reconfig_txn(z(2, 1));
    h.ok_packet(1, pkt(Proposal, z(2, 1), Some(t.clone())));
    assert_eq!(
        h.ok_packet(2, commit_and_activate(z(2, 1), 3)),
        vec![Action::Apply {
            zxid: z(2, 1),
            txn: t
        }]
    );
}

#[test]
fn an_observer_activates_at_inform_and_activate() {
    let mut h = enabled(true);
    let t = reconfig_txn(z(2, 1));
    let mut data = BytesMut::new();
    data.put_i64(1);
    data.extend_from_slice(&t);
    let out = h.ok_packet(1, pkt(InformAndActivate, z(2, 1), Some(data.freeze())));
    assert_eq!(out[0], Action::ActivateConfig { view: next_view() });
    assert!(out.contains(&Action::Apply {
        zxid: z(2, 1),
        txn: t
    }));
}

#[test]
fn newleaders_configuration_is_activated_at_uptodate() {
    let mut h = Harness::diffing(false);
    h.l.reconfig_enabled = true;
    let stamped = view().with_version(z(2, 0));
    h.ok_packet(0, pkt(NewLeader, z(2, 0), Some(stamped.config().clone())));
    let out = h.ok_packet(0, pkt(UpToDate, -1, None));
    assert!(out.contains(&Action::ActivateConfig { view: stamped }));
}

#[test]
fn a_reconfig_proposed_during_sync_is_last_seen_and_activated_by_its_commit() {
    let mut h = Harness::diffing(false);
    h.l.reconfig_enabled = true;
    let t = reconfig_txn(z(2, 1));
    let out = h.ok_packet(1, pkt(Proposal, z(2, 1), Some(t)));
    assert_eq!(out, vec![Action::LastSeenConfig { view: next_view() }]);
    let out = h.ok_packet(2, commit_and_activate(z(2, 1), 1));
    assert_eq!(out, vec![Action::ActivateConfig { view: next_view() }]);
    assert_eq!(h.l.view, next_view());
}

#[test]
fn newleaders_configuration_without_the_leader_as_voter_leaves_at_uptodate() {
    let mut h = Harness::diffing(false);
    h.l.reconfig_enabled = true;
    let without_leader = QuorumView::from_config(Bytes::from(
        "server.2=b:2888:3888:participant\nserver.3=c:2888:3888:participant\nversion=200000000",
    ))
    .unwrap();
    let out = h.ok_packet(
        0,
        pkt(NewLeader, z(2, 0), Some(without_leader.config().clone())),
    );
    assert!(out.contains(&Action::LastSeenConfig {
        view: without_leader.clone()
    }));
    let r = h.packet(0, pkt(UpToDate, -1, None));
    assert!(
        matches!(r, Err(Abandon(ref m)) if m.contains("designated leader")),
        "{r:?}"
    );
    assert_eq!(h.l.view, without_leader);
}

#[test]
fn an_observer_activates_at_inform_and_activate_during_sync_and_applies_the_txn() {
    // A reconfig committed while this observer syncs reaches it as INFORMANDACTIVATE before
    // NEWLEADER; dropping it would leave a hole in its history.
    let mut h = Harness::diffing(true);
    h.l.reconfig_enabled = true;
    let t = reconfig_txn(z(2, 1));
    let mut data = BytesMut::new();
    data.put_i64(1);
    data.extend_from_slice(&t);
    let out = h.ok_packet(1, pkt(InformAndActivate, z(2, 1), Some(data.freeze())));
    assert_eq!(out, vec![Action::ActivateConfig { view: next_view() }]);
    h.ok_packet(2, newleader());
    let out = h.ok_packet(3, pkt(UpToDate, -1, None));
    assert!(
        out.contains(&Action::Apply {
            zxid: z(2, 1),
            txn: t
        }),
        "{out:?}"
    );
}

#[test]
fn newleaders_configuration_still_in_flight_waits_for_its_commit() {
    // An established leader syncs this follower while its reconfig (2,1) is in flight:
    // NEWLEADER carries that configuration, the sync the proposal only.
    let mut h = Harness::diffing(false);
    h.l.reconfig_enabled = true;
    let t = reconfig_txn(z(2, 1));
    h.ok_packet(1, pkt(Proposal, z(2, 1), Some(t.clone())));
    h.ok_packet(
        1,
        pkt(NewLeader, z(2, 0), Some(next_view().config().clone())),
    );
    h.persisted(2, z(2, 1));
    let out = h.ok_packet(3, pkt(UpToDate, -1, None));
    assert!(
        !out.iter()
            .any(|a| matches!(a, Action::ActivateConfig { .. })),
        "{out:?}"
    );
    assert_eq!(h.l.view, view());
    let out = h.ok_packet(4, commit_and_activate(z(2, 1), 1));
    assert_eq!(out[0], Action::ActivateConfig { view: next_view() });
}

#[test]
fn newleaders_configuration_the_sync_showed_committed_is_activated_at_uptodate() {
    let mut h = Harness::registered(false);
    h.l.reconfig_enabled = true;
    let t = reconfig_txn(z(2, 1));
    h.ok_packet(0, pkt(Diff, z(2, 1), None));
    h.ok_packet(1, pkt(Proposal, z(2, 1), Some(t)));
    h.ok_packet(1, pkt(Commit, z(2, 1), None));
    h.ok_packet(
        1,
        pkt(NewLeader, z(2, 0), Some(next_view().config().clone())),
    );
    h.persisted(2, z(2, 1));
    let out = h.ok_packet(3, pkt(UpToDate, -1, None));
    assert!(
        out.contains(&Action::ActivateConfig { view: next_view() }),
        "{out:?}"
    );
}
