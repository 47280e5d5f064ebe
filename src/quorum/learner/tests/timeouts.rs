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
fn while_serving_each_packet_pushes_the_read_deadline_by_one_tick() {
    // tickTime 2000 ms, syncLimit 5: Apache waits 10 s; a synced learner here gives up after
    // one tick of silence (four missed half-tick pings), never later than syncLimit.
    let mut h = Harness::serving(false);
    let silence = timing().leader_silence_ms();
    assert_eq!(silence, timing().tick_ms);
    assert!(silence < SYNC_MS);
    h.ok_packet(7_000, pkt(Ping, z(2, 0), None));
    assert_eq!(h.ok(7_000 + silence, Input::Tick), vec![]);
    assert!(h.step(7_000 + silence + 1, Input::Tick).is_err());
}

#[test]
fn the_leader_silence_limit_is_one_tick_at_least_1_s_at_most_sync_limit() {
    let t = |tick_ms, sync_limit| Timing {
        tick_ms,
        sync_limit,
        ..timing()
    };
    assert_eq!(t(2000, 5).leader_silence_ms(), 2000);
    assert_eq!(t(300, 5).leader_silence_ms(), 1000);
    assert_eq!(t(100, 5).leader_silence_ms(), 500, "never beyond syncLimit");
    assert_eq!(t(3000, 1).leader_silence_ms(), 3000);
}
