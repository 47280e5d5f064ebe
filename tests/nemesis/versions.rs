//! A second, decisive linearizability check for the register, for when the Wing–Gong–Lowe
//! search (`checker.rs`) gives up on a large history with many indeterminate writes. It uses
//! what ZooKeeper tells: every write makes the next version and every value written is unique,
//! so each version names its write and the order of effective writes is the version order. A
//! history is then linearizable iff its ops fit, in their real-time windows, into the sequence
//! write(v₁), reads of v₁, write(v₂), reads of v₂, …: placing each as early as its window and
//! everything before it allow (greedy, which is optimal for such a chain) either succeeds or
//! names the op that cannot fit. Writes nobody saw and that were never acknowledged (versions
//! in gaps, or none) take no place. What it does not check: BadVersion answers (the search
//! does); plain reads (only their values and versions are used, to name versions; the
//! session checks check them); a server reporting versions it never made (the session checks
//! compare versions, values and zxids).

use std::collections::BTreeMap;

use crate::checker::{Call, Op, Outcome, Version};

/// `Ok(number of ops placed)`, or why the history cannot be linearized.
pub fn check_by_versions(history: &[Op]) -> Result<usize, String> {
    let mut version_of: BTreeMap<&str, Version> = BTreeMap::new();
    for o in history {
        let (value, v) = match (&o.call, &o.outcome) {
            (_, Outcome::Read { value, version, .. }) => (value.as_str(), *version),
            (Call::Write { value, .. }, Outcome::Written { version, .. }) => {
                (value.as_str(), *version)
            }
            _ => continue,
        };
        if let Some(other) = version_of.insert(value, v) {
            if other != v {
                return Err(format!("value {value:?} seen at versions {other} and {v}"));
            }
        }
    }
    // Per version: its write (if known) and its reads.
    let mut writes: BTreeMap<Version, &Op> = BTreeMap::new();
    let mut reads: BTreeMap<Version, Vec<&Op>> = BTreeMap::new();
    for o in history {
        match (&o.call, &o.outcome) {
            (Call::Read { synced: true }, Outcome::Read { version, .. }) => {
                reads.entry(*version).or_default().push(o)
            }
            (Call::Write { value, .. }, Outcome::Written { .. } | Outcome::Unknown) => {
                if let Some(&v) = version_of.get(value.as_str()) {
                    if writes.insert(v, o).is_some() {
                        return Err(format!("two writes made version {v}"));
                    }
                }
            }
            _ => {}
        }
    }
    let complete = |o: &Op| {
        if o.outcome == Outcome::Unknown {
            u64::MAX
        } else {
            o.complete
        }
    };
    let versions: Vec<Version> = writes.keys().chain(reads.keys()).copied().collect();
    let versions: std::collections::BTreeSet<Version> = versions.into_iter().collect();
    let mut floor = 0u64;
    let mut placed = 0;
    for v in versions {
        if let Some(w) = writes.get(&v) {
            let at = w.invoke.max(floor);
            if at > complete(w) {
                return Err(format!(
                    "write of version {v} {w:?} answered before an op that must precede it was sent (at {floor} µs)"
                ));
            }
            floor = at;
            placed += 1;
        }
        let mut next_floor = floor;
        for r in reads.get(&v).into_iter().flatten() {
            let at = r.invoke.max(floor);
            if at > complete(r) {
                return Err(format!(
                    "read of version {v} {r:?} answered before an op that must precede it was sent (at {floor} µs): a stale read"
                ));
            }
            next_floor = next_floor.max(at);
            placed += 1;
        }
        floor = next_floor;
    }
    Ok(placed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(value: &str, invoke: u64, complete: u64, version: Option<Version>) -> Op {
        Op {
            session: 1,
            call: Call::Write {
                value: value.into(),
                expected: None,
            },
            invoke,
            complete,
            outcome: match version {
                Some(version) => Outcome::Written { version, mzxid: 0 },
                None => Outcome::Unknown,
            },
        }
    }

    fn r(value: &str, version: Version, invoke: u64, complete: u64) -> Op {
        Op {
            session: 2,
            call: Call::Read { synced: true },
            invoke,
            complete,
            outcome: Outcome::Read {
                value: value.into(),
                version,
                mzxid: 0,
            },
        }
    }

    #[test]
    fn overlapping_ops_in_version_order_pass() {
        let h = [
            w("a", 0, 10, Some(1)),
            r("a", 1, 5, 12),
            w("b", 8, 20, Some(2)),
            r("a", 1, 9, 15),
            r("b", 2, 16, 30),
        ];
        assert_eq!(check_by_versions(&h), Ok(5));
    }

    #[test]
    fn a_read_of_an_overwritten_version_sent_after_the_overwrite_was_answered_fails() {
        let h = [
            w("a", 0, 10, Some(1)),
            w("b", 11, 20, Some(2)),
            r("a", 1, 21, 30),
        ];
        assert!(check_by_versions(&h).is_err());
    }

    #[test]
    fn versions_against_real_time_order_fail() {
        let h = [w("b", 0, 10, Some(2)), w("a", 11, 20, Some(1))];
        assert!(check_by_versions(&h).is_err());
    }

    #[test]
    fn an_indeterminate_write_seen_later_and_gaps_pass() {
        let h = [
            w("a", 0, 10, Some(1)),
            w("x", 11, 0, None),
            w("lost", 12, 0, None),
            r("x", 3, 50, 60),
            w("c", 61, 70, Some(4)),
            r("c", 4, 71, 80),
        ];
        assert_eq!(check_by_versions(&h), Ok(5));
    }

    #[test]
    fn a_read_before_its_write_was_sent_fails() {
        let h = [r("a", 1, 0, 5), w("a", 6, 10, Some(1))];
        assert!(check_by_versions(&h).is_err());
    }

    #[test]
    fn plain_reads_may_be_stale() {
        let mut stale = r("a", 1, 21, 30);
        stale.call = Call::Read { synced: false };
        let h = [w("a", 0, 10, Some(1)), w("b", 11, 20, Some(2)), stale];
        assert_eq!(check_by_versions(&h), Ok(2));
    }

    #[test]
    fn one_value_at_two_versions_fails() {
        let h = [w("a", 0, 10, Some(1)), r("a", 2, 11, 12)];
        assert!(check_by_versions(&h).is_err());
    }
}
