//! Synchronization: the first sync packet, the txns before and after NEWLEADER, its ACK, UPTODATE.

use super::*;

#[test]
fn diff_starts_a_sync_with_no_action() {
    let h = Harness::diffing(false);
    assert_eq!(h.l.phase(), Phase::Syncing);
}

#[test]
fn trunc_truncates_the_log_to_the_leaders_zxid() {
    let mut h = Harness::registered(false);
    assert_eq!(
        h.ok_packet(1, pkt(Trunc, z(1, 2), None)),
        vec![Action::TruncateLog { zxid: z(1, 2) }]
    );
    assert_eq!(h.l.state().last_zxid, z(1, 2));
}

#[test]
fn snap_loads_the_leaders_database() {
    let mut h = Harness::registered(false);
    let body = Bytes::from_static(b"database");
    assert_eq!(
        h.ok(
            1,
            Input::Snapshot {
                link: LINK,
                zxid: z(1, 6),
                body: body.clone()
            }
        ),
        vec![Action::LoadSnapshot {
            zxid: z(1, 6),
            body
        }]
    );
    assert_eq!(h.l.state().last_zxid, z(1, 6));
}

#[test]
fn an_unexpected_first_sync_packet_abandons_the_leader() {
    for p in [
        proposal(z(1, 4)),
        newleader(),
        pkt(UpToDate, -1, None),
        pkt(Snap, z(1, 3), None),
        pkt(Ping, z(2, 0), None),
    ] {
        let mut h = Harness::registered(false);
        let what = p.describe();
        assert_eq!(
            h.packet(1, p),
            Err(Abandon(format!(
                "Got unexpected packet from leader: {what}"
            )))
        );
    }
}

#[test]
fn a_snapshot_outside_the_start_of_sync_abandons_the_leader() {
    let mut h = Harness::diffing(false);
    let r = h.step(
        1,
        Input::Snapshot {
            link: LINK,
            zxid: z(1, 6),
            body: Bytes::new(),
        },
    );
    assert_eq!(
        r,
        Err(Abandon("SNAP outside the start of synchronization".into()))
    );
}

#[test]
fn diff_txns_are_logged_at_newleader_and_newleader_is_acked_once_they_are_durable() {
    let mut h = Harness::diffing(false);
    assert_eq!(h.ok_packet(1, proposal(z(1, 4))), vec![]);
    assert_eq!(h.ok_packet(1, commit(z(1, 4))), vec![]);
    assert_eq!(h.ok_packet(1, proposal(z(1, 5))), vec![]);
    assert_eq!(
        h.ok_packet(2, newleader()),
        vec![append(z(1, 4)), append(z(1, 5))]
    );
    assert_eq!(h.l.phase(), Phase::NewLeaderFsync);
    assert_eq!(h.persisted(3, z(1, 4)), vec![], "(1,5) is not durable yet");
    assert_eq!(
        h.persisted(4, z(1, 5)),
        vec![Action::PersistCurrentEpoch(2), sent_ack(z(2, 0))]
    );
    assert_eq!(h.l.phase(), Phase::AwaitUpToDate);
    assert_eq!(h.l.state().current_epoch, 2);
}

#[test]
fn nothing_is_sent_between_newleader_and_its_ack() {
    let mut h = Harness::diffing(false);
    h.ok_packet(1, proposal(z(1, 4)));
    h.ok_packet(2, newleader());
    for p in [
        pkt(Ping, z(2, 0), None),
        proposal(z(2, 1)),
        commit(z(1, 4)),
        pkt(PacketType::Sync, 0, None),
    ] {
        assert_eq!(h.ok_packet(3, p), vec![]);
    }
    assert_eq!(h.ok(4, Input::Tick), vec![]);
    assert_eq!(
        h.persisted(5, z(1, 4)),
        vec![Action::PersistCurrentEpoch(2), sent_ack(z(2, 0))]
    );
}

#[test]
fn newleader_after_an_empty_diff_is_acked_at_once() {
    let mut h = Harness::diffing(false);
    assert_eq!(
        h.ok_packet(1, newleader()),
        vec![Action::PersistCurrentEpoch(2), sent_ack(z(2, 0))]
    );
}

#[test]
fn trunc_mode_logs_its_txns_like_a_diff_and_takes_no_snapshot() {
    let mut h = Harness::registered(false);
    h.ok_packet(1, pkt(Trunc, z(1, 2), None));
    assert_eq!(h.ok_packet(1, proposal(z(1, 3))), vec![]);
    assert_eq!(h.ok_packet(1, commit(z(1, 3))), vec![]);
    assert_eq!(h.ok_packet(2, newleader()), vec![append(z(1, 3))]);
    assert_eq!(
        h.persisted(3, z(1, 3)),
        vec![Action::PersistCurrentEpoch(2), sent_ack(z(2, 0))]
    );
}

#[test]
fn snap_mode_applies_commits_before_newleader_and_snapshots_before_the_ack() {
    let mut h = Harness::registered(false);
    h.ok(
        1,
        Input::Snapshot {
            link: LINK,
            zxid: z(1, 6),
            body: Bytes::new(),
        },
    );
    assert_eq!(h.ok_packet(2, proposal(z(1, 7))), vec![]);
    assert_eq!(h.ok_packet(2, commit(z(1, 7))), vec![apply(z(1, 7))]);
    // An outstanding proposal: logged at NEWLEADER, after the snapshot.
    assert_eq!(h.ok_packet(2, proposal(z(1, 8))), vec![]);
    assert_eq!(
        h.ok_packet(3, newleader()),
        vec![Action::TakeSnapshot, append(z(1, 8))]
    );
    assert_eq!(
        h.persisted(4, z(1, 8)),
        vec![Action::PersistCurrentEpoch(2), sent_ack(z(2, 0))]
    );
}

#[test]
fn snap_mode_skips_a_commit_that_is_not_the_next_proposal() {
    let mut h = Harness::registered(false);
    h.ok(
        1,
        Input::Snapshot {
            link: LINK,
            zxid: z(1, 6),
            body: Bytes::new(),
        },
    );
    h.ok_packet(2, proposal(z(1, 7)));
    assert_eq!(h.ok_packet(2, commit(z(1, 9))), vec![]);
    assert_eq!(h.ok_packet(2, commit(z(1, 7))), vec![apply(z(1, 7))]);
    assert_eq!(
        h.ok_packet(3, newleader()),
        vec![
            Action::TakeSnapshot,
            Action::PersistCurrentEpoch(2),
            sent_ack(z(2, 0))
        ]
    );
}

#[test]
fn uptodate_acks_the_epoch_then_the_synced_txns_then_logs_later_proposals_then_applies_commits() {
    let mut h = Harness::diffing(false);
    h.ok_packet(1, proposal(z(1, 4)));
    h.ok_packet(1, commit(z(1, 4)));
    h.ok_packet(1, proposal(z(1, 5)));
    h.ok_packet(2, newleader());
    // Live traffic after NEWLEADER: (1,5) commits, (2,1) is proposed.
    h.ok_packet(3, commit(z(1, 5)));
    h.ok_packet(3, proposal(z(2, 1)));
    h.persisted(4, z(1, 5));
    assert_eq!(
        h.ok_packet(5, pkt(UpToDate, -1, None)),
        vec![
            sent_ack(z(2, 0)),
            Action::StartServing,
            sent_ack(z(1, 4)),
            sent_ack(z(1, 5)),
            append(z(2, 1)),
            apply(z(1, 4)),
            apply(z(1, 5)),
        ]
    );
    assert!(h.l.is_serving());
    // (2,1), logged after UPTODATE, is ACKed once durable and applied at its COMMIT.
    assert_eq!(h.persisted(6, z(2, 1)), vec![sent_ack(z(2, 1))]);
    assert_eq!(h.ok_packet(7, commit(z(2, 1))), vec![apply(z(2, 1))]);
}

#[test]
fn a_persisted_report_while_waiting_for_uptodate_acks_nothing() {
    let mut h = Harness::diffing(false);
    h.ok_packet(1, newleader());
    h.ok_packet(2, proposal(z(2, 1)));
    assert_eq!(h.persisted(3, z(2, 1)), vec![]);
}

#[test]
fn uptodate_is_ignored_before_newleader_was_acked() {
    let mut h = Harness::diffing(false);
    h.ok_packet(1, proposal(z(1, 4)));
    h.ok_packet(2, newleader());
    assert_eq!(h.ok_packet(3, pkt(UpToDate, -1, None)), vec![]);
    assert_eq!(h.l.phase(), Phase::NewLeaderFsync);
}

#[test]
fn an_observer_keeps_informs_until_uptodate_and_logs_nothing_at_newleader() {
    let mut h = Harness::diffing(true);
    assert_eq!(h.ok_packet(1, inform(z(1, 4))), vec![]);
    assert_eq!(
        h.ok_packet(2, newleader()),
        vec![Action::PersistCurrentEpoch(2), sent_ack(z(2, 0))]
    );
    assert_eq!(h.ok_packet(3, inform(z(1, 5))), vec![]);
    assert_eq!(
        h.ok_packet(4, pkt(UpToDate, -1, None)),
        vec![
            sent_ack(z(2, 0)),
            Action::StartServing,
            append(z(1, 4)),
            apply(z(1, 4)),
            append(z(1, 5)),
            apply(z(1, 5)),
        ]
    );
}

#[test]
fn an_observer_in_snap_mode_applies_informs_before_newleader_at_once() {
    let mut h = Harness::registered(true);
    h.ok(
        1,
        Input::Snapshot {
            link: LINK,
            zxid: z(1, 6),
            body: Bytes::new(),
        },
    );
    assert_eq!(h.ok_packet(2, inform(z(1, 7))), vec![apply(z(1, 7))]);
    assert_eq!(
        h.ok_packet(3, newleader()),
        vec![
            Action::TakeSnapshot,
            Action::PersistCurrentEpoch(2),
            sent_ack(z(2, 0))
        ]
    );
}
