//! Unit tests of `checker.rs`: small hand-made histories that must pass, and ones that must
//! fail (stale read, lost acknowledged write, version going back, write below what its
//! session saw), plus large histories that must check quickly.

use super::*;

fn init() -> Reg {
    Reg {
        version: 0,
        value: "init".into(),
    }
}
fn cas(s: u64, t: (u64, u64), value: &str, expected: i32, outcome: Outcome) -> Op {
    Op {
        session: s,
        call: Call::Write {
            value: value.into(),
            expected: Some(expected),
        },
        invoke: t.0,
        complete: t.1,
        outcome,
    }
}
fn ok(version: i32) -> Outcome {
    Outcome::Written {
        version,
        mzxid: version as i64,
    }
}
fn read(s: u64, t: (u64, u64), synced: bool, value: &str, version: i32) -> Op {
    Op {
        session: s,
        call: Call::Read { synced },
        invoke: t.0,
        complete: t.1,
        outcome: Outcome::Read {
            value: value.into(),
            version,
            mzxid: version as i64,
        },
    }
}

#[test]
fn sequential_cas_history_is_linearizable() {
    let h = vec![
        cas(1, (0, 10), "a", 0, ok(1)),
        read(2, (11, 20), true, "a", 1),
        cas(2, (21, 30), "b", 0, Outcome::BadVersion),
        cas(2, (31, 40), "b", 1, ok(2)),
        read(1, (41, 50), true, "b", 2),
    ];
    assert_eq!(check_linearizable(&h, init()).unwrap(), 5);
    assert!(check_sessions(&h).is_empty());
}

#[test]
fn concurrent_ops_may_linearize_in_either_order() {
    // The read overlaps the write and sees the old value; a second read sees the new.
    let h = vec![
        cas(1, (0, 100), "a", 0, ok(1)),
        read(2, (10, 20), true, "init", 0),
        read(3, (30, 40), true, "a", 1),
        // Two concurrent CAS on version 1: one wins, the other gets BadVersion.
        cas(1, (200, 300), "b", 1, Outcome::BadVersion),
        cas(2, (210, 290), "c", 1, ok(2)),
    ];
    assert!(check_linearizable(&h, init()).is_ok());
}

#[test]
fn stale_synced_read_is_caught() {
    let h = vec![
        cas(1, (0, 10), "a", 0, ok(1)),
        // Invoked after the write completed, yet sees the old value.
        read(2, (20, 30), true, "init", 0),
    ];
    let err = check_linearizable(&h, init()).unwrap_err();
    assert_eq!(err.stuck_op.invoke, 20, "{err:?}");
    assert!(!err.exhausted);
}

#[test]
fn stale_plain_read_is_allowed_by_linearizability_but_not_per_session() {
    let h = vec![
        cas(1, (0, 10), "a", 0, ok(1)),
        read(2, (20, 30), false, "init", 0),
    ];
    assert!(check_linearizable(&h, init()).is_ok());
    assert!(check_sessions(&h).is_empty(), "another session may lag");
    // The writer's own session must see its write (read-your-writes).
    let h = vec![
        cas(1, (0, 10), "a", 0, ok(1)),
        read(1, (20, 30), false, "init", 0),
    ];
    assert_eq!(check_sessions(&h).len(), 1);
}

#[test]
fn lost_acknowledged_write_is_caught() {
    // "a" was acknowledged at version 1, but later reads show another version 1.
    let h = vec![
        cas(1, (0, 10), "a", 0, ok(1)),
        cas(2, (20, 30), "b", 0, ok(1)),
        read(3, (40, 50), true, "b", 1),
    ];
    assert!(check_linearizable(&h, init()).is_err());
    assert!(!check_sessions(&h).is_empty(), "version 1 with two values");
    // Or the final read shows the value from before the acknowledged write.
    let h = vec![
        cas(1, (0, 10), "a", 0, ok(1)),
        read(3, (40, 50), true, "init", 0),
    ];
    assert!(check_linearizable(&h, init()).is_err());
}

#[test]
fn version_going_back_in_a_session_is_caught() {
    let h = vec![
        read(1, (0, 5), false, "init", 0),
        cas(2, (6, 10), "a", 0, ok(1)),
        cas(2, (11, 15), "b", 1, ok(2)),
        read(1, (20, 30), false, "b", 2),
        read(1, (31, 40), false, "a", 1),
    ];
    let errors = check_sessions(&h);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("observed version 1 after"), "{errors:?}");
}

#[test]
fn session_writes_must_follow_what_it_saw() {
    // FIFO: a session's write issued after it read version 2 cannot make version 2.
    let h = vec![
        read(1, (0, 5), false, "b", 2),
        cas(1, (6, 10), "c", 1, ok(2)),
    ];
    assert_eq!(check_sessions(&h).len(), 2, "order and value clash");
}

#[test]
fn indeterminate_write_may_or_may_not_happen() {
    let lost = Outcome::Unknown;
    // It happened: a later read sees it.
    let h = vec![
        cas(1, (0, 10), "a", 0, lost.clone()),
        read(2, (50, 60), true, "a", 1),
    ];
    assert!(check_linearizable(&h, init()).is_ok());
    // It did not: a later read sees the old value and another write takes version 1.
    let h = vec![
        cas(1, (0, 10), "a", 0, lost.clone()),
        read(2, (50, 60), true, "init", 0),
        cas(2, (61, 70), "b", 0, ok(1)),
    ];
    assert!(check_linearizable(&h, init()).is_ok());
    // It happened late, long after its client gave up (ZooKeeper may apply it then).
    let h = vec![
        cas(1, (0, 10), "a", 0, lost.clone()),
        read(2, (50, 60), true, "init", 0),
        read(2, (70, 80), true, "a", 1),
    ];
    assert!(check_linearizable(&h, init()).is_ok());
    // But never before it was invoked.
    let h = vec![
        read(2, (0, 5), true, "a", 1),
        cas(1, (10, 20), "a", 0, lost),
    ];
    assert!(check_linearizable(&h, init()).is_err());
}

#[test]
fn many_unseen_indeterminate_writes_check_quickly() {
    // 40 unconditional writes lost in a row, never read, among 2,000 acknowledged CAS.
    let mut h = Vec::new();
    for v in 0..2000u64 {
        let t = v * 10;
        h.push(cas(
            1,
            (t, t + 5),
            &format!("v{}", v + 1),
            v as i32,
            ok(v as i32 + 1),
        ));
        if v < 40 {
            h.push(Op {
                session: 2,
                call: Call::Write {
                    value: format!("lost{v}"),
                    expected: None,
                },
                invoke: t + 1,
                complete: t + 2,
                outcome: Outcome::Unknown,
            });
        }
        h.push(read(
            3,
            (t + 6, t + 9),
            true,
            &format!("v{}", v + 1),
            v as i32 + 1,
        ));
    }
    let started = std::time::Instant::now();
    assert!(check_linearizable(&h, init()).is_ok());
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // With a version gap, a lost write may explain it: it stays in.
    let h = vec![
        cas(1, (0, 10), "a", 0, ok(1)),
        Op {
            session: 2,
            call: Call::Write {
                value: "lost".into(),
                expected: None,
            },
            invoke: 11,
            complete: 12,
            outcome: Outcome::Unknown,
        },
        cas(1, (20, 30), "b", 2, ok(3)),
    ];
    assert!(check_linearizable(&h, init()).is_ok());
}

#[test]
fn unconditional_write_and_wrong_result_version() {
    let w = |s, t, v: &str, out| Op {
        session: s,
        call: Call::Write {
            value: v.into(),
            expected: None,
        },
        invoke: t,
        complete: t + 5,
        outcome: out,
    };
    let h = vec![w(1, 0, "a", ok(1)), w(2, 10, "b", ok(2))];
    assert!(check_linearizable(&h, init()).is_ok());
    let h = vec![w(1, 0, "a", ok(1)), w(2, 10, "b", ok(3))];
    assert!(check_linearizable(&h, init()).is_err(), "version skipped");
}

#[test]
fn larger_concurrent_history_checks_quickly() {
    // 6 sessions, 3000 ops: rounds of overlapping CAS attempts, one winner per round.
    let mut h = Vec::new();
    for round in 0..500u64 {
        let t = round * 100;
        let winner = round % 6;
        let value = format!("r{round}s{winner}");
        for s in 0..6u64 {
            let v = format!("r{round}s{s}");
            if s == winner {
                h.push(cas(s, (t, t + 50), &v, round as i32, ok(round as i32 + 1)));
            } else if s == (winner + 1) % 6 {
                h.push(cas(s, (t + 1, t + 60), &v, round as i32, Outcome::Unknown));
            } else if s % 2 == 0 {
                h.push(cas(
                    s,
                    (t + 2, t + 70),
                    &v,
                    round as i32,
                    Outcome::BadVersion,
                ));
            } else {
                h.push(read(s, (t + 80, t + 90), true, &value, round as i32 + 1));
            }
        }
    }
    let started = std::time::Instant::now();
    assert!(check_linearizable(&h, init()).is_ok());
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}
