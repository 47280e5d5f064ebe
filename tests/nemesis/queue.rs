//! The queue and counter models: producers create sequential znodes under one parent, consumers
//! read the children after a `sync` and delete one. The parent's sequence numbers are a
//! fetch-and-increment counter, so an acknowledged enqueue that completed before another was
//! sent must hold the lower number (real-time order), and no two hold the same. The queue must
//! lose nothing: every acknowledged item is still there after heal, or was consumed; no item
//! is consumed twice or comes back after it was consumed; nothing appears that no producer
//! tried. Owns these operations and their check; the register is `checker.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use zookeeper_client::{Client, Error};

use crate::util::sequential;
use crate::workload::{timed, Rng};

pub const QUEUE: &str = "/nemesis/queue";
const PREFIX: &str = "item-";

/// An acknowledged enqueue: its sequence number and when it was sent and answered (µs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    pub seq: i64,
    pub invoke: u64,
    pub complete: u64,
}

/// What producers and consumers saw.
#[derive(Debug, Default, Clone)]
pub struct QueueLog {
    pub enqueued: Vec<Enqueued>,
    /// Enqueues whose outcome is unknown (their names were never told).
    pub maybe_enqueued: usize,
    /// Items whose delete was acknowledged.
    pub dequeued: Vec<String>,
    /// Items whose delete has an unknown outcome.
    pub maybe_dequeued: Vec<String>,
}

impl QueueLog {
    pub fn ops(&self) -> usize {
        self.enqueued.len() + self.maybe_enqueued + self.dequeued.len() + self.maybe_dequeued.len()
    }
}

pub fn item_name(seq: i64) -> String {
    format!("{PREFIX}{seq:010}")
}

fn micros(t0: Instant) -> u64 {
    t0.elapsed().as_micros() as u64
}

/// One enqueue; false when its outcome is unknown (the session may be gone).
pub async fn enqueue(c: &Client, t0: Instant, log: &std::sync::Mutex<QueueLog>) -> bool {
    let invoke = micros(t0);
    let path = format!("{QUEUE}/{PREFIX}");
    let r = timed(c.create(&path, b"q", &sequential())).await;
    let complete = micros(t0);
    let mut log = log.lock().unwrap();
    match r {
        Ok((_, seq)) => {
            log.enqueued.push(Enqueued {
                seq: seq.into_i64(),
                invoke,
                complete,
            });
            true
        }
        Err(_) => {
            log.maybe_enqueued += 1;
            false
        }
    }
}

/// One dequeue: `sync`, list, delete one of the oldest few (consumers race for them; a
/// NONODE means another consumer won). False when an outcome is unknown.
pub async fn dequeue(c: &Client, rng: &mut Rng, log: &std::sync::Mutex<QueueLog>) -> bool {
    if timed(c.sync(QUEUE)).await.is_err() {
        return false;
    }
    let mut children = match timed(c.get_children(QUEUE)).await {
        Ok((children, _)) => children,
        Err(_) => return false,
    };
    if children.is_empty() {
        return true;
    }
    children.sort();
    let pick = children[rng.range(0, children.len().min(3) as u64) as usize].clone();
    let r = timed(c.delete(&format!("{QUEUE}/{pick}"), None)).await;
    let mut log = log.lock().unwrap();
    match r {
        Ok(()) => log.dequeued.push(pick),
        Err(Error::NoNode) => {}
        Err(_) => {
            log.maybe_dequeued.push(pick);
            return false;
        }
    }
    true
}

/// Checks the log against the items `present` under the queue after heal.
pub fn check_queue(log: &QueueLog, present: &BTreeSet<String>) -> Result<(), String> {
    // Counter: unique numbers, in real-time order.
    let mut by_seq: BTreeMap<i64, Enqueued> = BTreeMap::new();
    for e in &log.enqueued {
        if let Some(other) = by_seq.insert(e.seq, *e) {
            return Err(format!(
                "sequence number {} given twice: {other:?} and {e:?}",
                e.seq
            ));
        }
    }
    let mut by_complete = log.enqueued.clone();
    by_complete.sort_by_key(|e| e.complete);
    let mut by_invoke = log.enqueued.clone();
    by_invoke.sort_by_key(|e| e.invoke);
    let mut done = 0;
    let mut highest: Option<Enqueued> = None;
    for b in &by_invoke {
        while done < by_complete.len() && by_complete[done].complete < b.invoke {
            let a = by_complete[done];
            if highest.is_none_or(|h| a.seq > h.seq) {
                highest = Some(a);
            }
            done += 1;
        }
        if let Some(a) = highest {
            if a.seq >= b.seq {
                return Err(format!(
                    "enqueue {b:?} was sent after {a:?} was answered but got a lower number"
                ));
            }
        }
    }
    // Queue: consumed once, never back, nothing lost, nothing invented.
    let mut consumed = BTreeSet::new();
    for d in &log.dequeued {
        if !consumed.insert(d) {
            return Err(format!("{d} consumed twice"));
        }
        if present.contains(d) {
            return Err(format!("{d} is back after it was consumed"));
        }
    }
    let maybe: BTreeSet<&String> = log.maybe_dequeued.iter().collect();
    let acked: BTreeSet<String> = log.enqueued.iter().map(|e| item_name(e.seq)).collect();
    let lost: Vec<&String> = acked
        .iter()
        .filter(|n| !present.contains(*n) && !consumed.contains(n) && !maybe.contains(n))
        .collect();
    if !lost.is_empty() {
        return Err(format!(
            "{} acknowledged items lost, first: {:?}",
            lost.len(),
            &lost[..lost.len().min(5)]
        ));
    }
    let unknown: BTreeSet<&String> = present
        .iter()
        .chain(consumed.iter().copied())
        .filter(|n| !acked.contains(*n))
        .collect();
    if unknown.len() > log.maybe_enqueued {
        return Err(format!(
            "{} items nobody enqueued (only {} enqueues have unknown outcomes): {:?}",
            unknown.len(),
            log.maybe_enqueued,
            unknown.iter().take(5).collect::<Vec<_>>()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(seq: i64, invoke: u64, complete: u64) -> Enqueued {
        Enqueued {
            seq,
            invoke,
            complete,
        }
    }

    fn log(enqueued: Vec<Enqueued>, dequeued: &[i64]) -> QueueLog {
        QueueLog {
            enqueued,
            dequeued: dequeued.iter().map(|&s| item_name(s)).collect(),
            ..QueueLog::default()
        }
    }

    fn present(seqs: &[i64]) -> BTreeSet<String> {
        seqs.iter().map(|&s| item_name(s)).collect()
    }

    #[test]
    fn a_consistent_queue_passes() {
        // Overlapping enqueues may take their numbers in either order.
        let l = log(vec![e(2, 0, 10), e(1, 5, 12), e(3, 11, 20)], &[1]);
        assert_eq!(check_queue(&l, &present(&[2, 3])), Ok(()));
    }

    #[test]
    fn a_number_below_one_already_answered_fails() {
        let l = log(vec![e(5, 0, 10), e(4, 11, 20)], &[]);
        assert!(check_queue(&l, &present(&[4, 5])).is_err());
    }

    #[test]
    fn a_number_given_twice_fails() {
        let l = log(vec![e(5, 0, 10), e(5, 0, 10)], &[]);
        assert!(check_queue(&l, &present(&[5])).is_err());
    }

    #[test]
    fn a_lost_item_fails_unless_its_consumption_is_unknown() {
        let mut l = log(vec![e(1, 0, 10), e(2, 11, 20)], &[]);
        assert!(check_queue(&l, &present(&[2])).is_err());
        l.maybe_dequeued.push(item_name(1));
        assert_eq!(check_queue(&l, &present(&[2])), Ok(()));
    }

    #[test]
    fn an_item_back_after_consumption_or_consumed_twice_fails() {
        let l = log(vec![e(1, 0, 10)], &[1]);
        assert!(check_queue(&l, &present(&[1])).is_err());
        let l = log(vec![e(1, 0, 10)], &[1, 1]);
        assert!(check_queue(&l, &present(&[])).is_err());
    }

    #[test]
    fn items_nobody_enqueued_fail_beyond_the_unknown_enqueues() {
        let mut l = log(vec![e(1, 0, 10)], &[]);
        assert!(check_queue(&l, &present(&[1, 7])).is_err());
        l.maybe_enqueued = 1;
        assert_eq!(check_queue(&l, &present(&[1, 7])), Ok(()));
    }
}
