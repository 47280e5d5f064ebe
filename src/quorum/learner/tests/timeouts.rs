//! Read timeouts: initLimit before NEWLEADER, syncLimit after.

use super::*;

#[test]
fn before_newleader_the_leader_may_be_silent_for_init_limit() {
    let mut h = Harness::registered(false);
    h.ok_packet(1_000, pkt(Diff, z(1, 3), None));
    assert_eq!(h.ok(1_000 + INIT_MS, Input::Tick), vec![]);
    assert_eq!(
        h.step(1_000 + INIT_MS + 1, Input::Tick),
        Err(Abandon(format!(
            "no packet from leader 1 for {INIT_MS} ms (Read timed out)"
        )))
    );
}

#[test]
fn after_newleader_the_leader_may_be_silent_for_sync_limit_only() {
    let mut h = Harness::diffing(false);
    h.ok_packet(5_000, newleader());
    assert_eq!(h.ok(5_000 + SYNC_MS, Input::Tick), vec![]);
    assert_eq!(
        h.step(5_000 + SYNC_MS + 1, Input::Tick),
        Err(Abandon(format!(
            "no packet from leader 1 for {SYNC_MS} ms (Read timed out)"
        )))
    );
}

#[test]
fn while_serving_each_packet_pushes_the_read_deadline_by_sync_limit() {
    let mut h = Harness::serving(false);
    h.ok_packet(7_000, pkt(Ping, z(2, 0), None));
    assert_eq!(h.ok(7_000 + SYNC_MS, Input::Tick), vec![]);
    assert!(h.step(7_000 + SYNC_MS + 1, Input::Tick).is_err());
}
