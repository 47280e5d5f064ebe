//! Broadcast: PROPOSAL/ACK/COMMIT, INFORM, PING, SYNC, REVALIDATE, leaving.

use super::*;

#[test]
fn a_proposal_is_logged_and_acked_only_once_durable_in_order_and_batched() {
    let mut h = Harness::serving(false);
    assert_eq!(h.ok_packet(1, proposal(z(2, 1))), vec![append(z(2, 1))]);
    assert_eq!(h.ok_packet(1, proposal(z(2, 2))), vec![append(z(2, 2))]);
    assert_eq!(h.ok_packet(1, proposal(z(2, 3))), vec![append(z(2, 3))]);
    assert_eq!(
        h.persisted(2, z(2, 2)),
        vec![sent_ack(z(2, 1)), sent_ack(z(2, 2))]
    );
    assert_eq!(h.persisted(3, z(2, 2)), vec![], "each ACK once");
    assert_eq!(h.persisted(4, z(2, 3)), vec![sent_ack(z(2, 3))]);
}

#[test]
fn a_commit_applies_the_oldest_pending_txn() {
    let mut h = Harness::serving(false);
    h.ok_packet(1, proposal(z(2, 1)));
    h.ok_packet(1, proposal(z(2, 2)));
    assert_eq!(h.ok_packet(2, commit(z(2, 1))), vec![apply(z(2, 1))]);
    assert_eq!(h.ok_packet(2, commit(z(2, 2))), vec![apply(z(2, 2))]);
    assert_eq!(h.l.pending_count(), 0);
}

#[test]
fn a_commit_that_is_not_the_oldest_pending_txn_abandons_the_leader() {
    let mut h = Harness::serving(false);
    h.ok_packet(1, proposal(z(2, 1)));
    h.ok_packet(1, proposal(z(2, 2)));
    assert_eq!(
        h.packet(2, commit(z(2, 2))),
        Err(Abandon(
            "Committing zxid 0x200000002 but next pending txn 0x200000001".into()
        ))
    );
}

#[test]
fn a_commit_without_a_pending_txn_is_ignored() {
    let mut h = Harness::serving(false);
    assert_eq!(h.ok_packet(1, commit(z(2, 1))), vec![]);
}

#[test]
fn an_observer_logs_and_applies_each_inform_and_ignores_proposals_and_commits() {
    let mut h = Harness::serving(true);
    assert_eq!(
        h.ok_packet(1, inform(z(2, 1))),
        vec![append(z(2, 1)), apply(z(2, 1))]
    );
    assert_eq!(h.ok_packet(2, proposal(z(2, 2))), vec![]);
    assert_eq!(h.ok_packet(2, commit(z(2, 2))), vec![]);
    assert_eq!(h.persisted(3, z(2, 1)), vec![], "observers never ACK");
}

#[test]
fn a_follower_ignores_informs() {
    let mut h = Harness::serving(false);
    assert_eq!(h.ok_packet(1, inform(z(2, 1))), vec![]);
}

#[test]
fn a_ping_is_answered_by_the_host_with_the_touched_sessions() {
    let mut h = Harness::serving(false);
    assert_eq!(
        h.ok_packet(1, pkt(Ping, z(2, 7), None)),
        vec![Action::PingReply {
            link: LINK,
            zxid: z(2, 7)
        }]
    );
}

#[test]
fn a_sync_answers_the_oldest_waiting_client_sync() {
    let mut h = Harness::serving(false);
    assert_eq!(h.ok_packet(1, pkt(Sync, 0, None)), vec![Action::SyncDone]);
}

#[test]
fn a_revalidate_answer_reaches_the_host() {
    let mut h = Harness::serving(false);
    let answer = pkt(Revalidate, -1, Some(encode_revalidate_reply(0x55, true)));
    assert_eq!(
        h.ok_packet(1, answer),
        vec![Action::Revalidated {
            session: 0x55,
            valid: true
        }]
    );
    let short = pkt(Revalidate, -1, Some(Bytes::from_static(&[0; 8])));
    assert_eq!(
        h.packet(2, short),
        Err(Abandon("malformed REVALIDATE answer".into()))
    );
}

#[test]
fn an_uptodate_after_serving_is_ignored() {
    let mut h = Harness::serving(false);
    assert_eq!(h.ok_packet(1, pkt(UpToDate, -1, None)), vec![]);
}

#[test]
fn packets_on_another_link_are_ignored() {
    let mut h = Harness::serving(false);
    let other = Input::Packet {
        link: LINK + 1,
        packet: proposal(z(2, 1)),
    };
    assert_eq!(h.ok(1, other), vec![]);
    assert_eq!(h.ok(1, Input::LinkClosed { link: LINK + 1 }), vec![]);
}

#[test]
fn a_lost_connection_after_registering_abandons_the_leader() {
    let mut h = Harness::registered(false);
    assert_eq!(
        h.step(1, Input::LinkClosed { link: LINK }),
        Err(Abandon("connection to leader 1 closed".into()))
    );
}

#[test]
fn shutdown_closes_the_link_and_returns_the_logged_but_unapplied_txns() {
    let mut h = Harness::serving(false);
    h.ok_packet(1, proposal(z(2, 1)));
    h.ok_packet(1, proposal(z(2, 2)));
    h.ok_packet(2, commit(z(2, 1)));
    let mut out = Vec::new();
    let logged = h.l.shutdown("bye", &mut out);
    assert_eq!(
        out,
        vec![Action::Close {
            link: LINK,
            reason: "bye".into()
        }]
    );
    assert_eq!(logged, (vec![(z(2, 2), txn(z(2, 2)))], None));
}

#[test]
fn txn_zxid_reads_the_header() {
    assert_eq!(txn_zxid(&txn(z(2, 9))), Some(z(2, 9)));
    assert_eq!(txn_zxid(&[0; 19]), None);
}
