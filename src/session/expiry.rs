//! ZooKeeper's `ExpiryQueue`: sessions grouped in buckets one tick wide, so the expirer wakes
//! once per tick instead of once per session. Pure: the caller passes `now_ms` and acts on what
//! [`ExpiryQueue::take_expired`] returns. Must not know what a session *is* beyond its id.

use std::collections::{BTreeMap, HashMap, HashSet};

/// Buckets of session ids keyed by expiry time (a multiple of the tick).
#[derive(Debug, Clone)]
pub struct ExpiryQueue {
    tick_ms: i64,
    /// id → the bucket it sits in, for O(1) moves.
    bucket_of: HashMap<i64, i64>,
    /// expiry time → ids expiring then; ordered so the earliest bucket is first.
    buckets: BTreeMap<i64, HashSet<i64>>,
}

impl ExpiryQueue {
    /// A queue whose buckets are `tick_ms` wide (ZooKeeper uses `tickTime`).
    /// A non-positive tick is treated as 1 ms so the arithmetic never divides by zero.
    pub fn new(tick_ms: i64) -> Self {
        Self {
            tick_ms: tick_ms.max(1),
            bucket_of: HashMap::new(),
            buckets: BTreeMap::new(),
        }
    }

    /// The bucket a deadline falls in: the next tick boundary strictly after `time_ms`
    /// (ZooKeeper's `roundToNextInterval`, `(time / interval + 1) * interval`), so a session is
    /// never expired before its deadline.
    pub fn round_to_next_tick(&self, time_ms: i64) -> i64 {
        (time_ms.div_euclid(self.tick_ms) + 1).saturating_mul(self.tick_ms)
    }

    /// Record activity: `id` now expires at the bucket of `now_ms + timeout_ms`.
    /// Returns that bucket time. Moving to the bucket it already sits in costs nothing.
    pub fn touch(&mut self, id: i64, timeout_ms: i64, now_ms: i64) -> i64 {
        let new_bucket = self.round_to_next_tick(now_ms.saturating_add(timeout_ms));
        match self.bucket_of.insert(id, new_bucket) {
            Some(old) if old == new_bucket => return new_bucket,
            Some(old) => self.remove_from_bucket(old, id),
            None => {}
        }
        self.buckets.entry(new_bucket).or_default().insert(id);
        new_bucket
    }

    /// Forget `id` (session closed). Returns the bucket it was in, if any.
    pub fn remove(&mut self, id: i64) -> Option<i64> {
        let old = self.bucket_of.remove(&id)?;
        self.remove_from_bucket(old, id);
        Some(old)
    }

    fn remove_from_bucket(&mut self, bucket: i64, id: i64) {
        if let Some(set) = self.buckets.get_mut(&bucket) {
            set.remove(&id);
            if set.is_empty() {
                self.buckets.remove(&bucket);
            }
        }
    }

    /// Remove and return every id whose bucket time is `<= now_ms`, earliest bucket first
    /// (ids within one bucket are sorted, so the result is deterministic).
    pub fn take_expired(&mut self, now_ms: i64) -> Vec<i64> {
        let mut out = Vec::new();
        while let Some(entry) = self.buckets.first_entry() {
            if *entry.key() > now_ms {
                break;
            }
            let mut ids: Vec<i64> = entry.remove().into_iter().collect();
            ids.sort_unstable();
            for id in &ids {
                self.bucket_of.remove(id);
            }
            out.extend(ids);
        }
        out
    }

    /// When the earliest bucket expires, so the driver knows how long to sleep.
    pub fn next_expiration_ms(&self) -> Option<i64> {
        self.buckets.keys().next().copied()
    }

    /// The bucket `id` sits in.
    pub fn expiry_of(&self, id: i64) -> Option<i64> {
        self.bucket_of.get(&id).copied()
    }

    /// Buckets in expiry order with their (sorted) ids, for the `dump` four-letter word.
    pub fn buckets(&self) -> Vec<(i64, Vec<i64>)> {
        self.buckets
            .iter()
            .map(|(t, set)| {
                let mut ids: Vec<i64> = set.iter().copied().collect();
                ids.sort_unstable();
                (*t, ids)
            })
            .collect()
    }

    /// Number of ids queued.
    pub fn len(&self) -> usize {
        self.bucket_of.len()
    }

    /// True when no id is queued.
    pub fn is_empty(&self) -> bool {
        self.bucket_of.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rounds_up_to_the_next_tick_strictly() {
        let q = ExpiryQueue::new(2000);
        assert_eq!(q.round_to_next_tick(0), 2000);
        assert_eq!(q.round_to_next_tick(1999), 2000);
        assert_eq!(q.round_to_next_tick(2000), 4000);
        assert_eq!(q.round_to_next_tick(-1), 0);
    }

    #[test]
    fn touch_places_in_bucket_and_moves() {
        let mut q = ExpiryQueue::new(2000);
        assert_eq!(q.touch(1, 10_000, 500), 12_000);
        assert_eq!(q.expiry_of(1), Some(12_000));
        assert_eq!(q.touch(1, 10_000, 2_500), 14_000);
        assert_eq!(
            q.buckets(),
            vec![(14_000, vec![1])],
            "old bucket emptied and dropped"
        );
        assert_eq!(q.touch(1, 10_000, 2_600), 14_000, "same bucket: no move");
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn take_expired_returns_due_buckets_in_order() {
        let mut q = ExpiryQueue::new(1000);
        q.touch(3, 5_000, 0); // 6000
        q.touch(1, 2_000, 0); // 3000
        q.touch(2, 2_000, 100); // 3000
        q.touch(4, 9_000, 0); // 10000
        assert_eq!(q.next_expiration_ms(), Some(3_000));
        assert!(q.take_expired(2_999).is_empty());
        assert_eq!(q.take_expired(6_000), vec![1, 2, 3]);
        assert_eq!(q.next_expiration_ms(), Some(10_000));
        assert_eq!(q.expiry_of(1), None);
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn remove_forgets_the_session() {
        let mut q = ExpiryQueue::new(1000);
        q.touch(1, 1_000, 0);
        assert_eq!(q.remove(1), Some(2_000));
        assert_eq!(q.remove(1), None);
        assert!(q.take_expired(i64::MAX).is_empty());
        assert!(q.is_empty());
        assert_eq!(q.next_expiration_ms(), None);
    }

    #[test]
    fn a_touched_session_is_not_expired_early() {
        let mut q = ExpiryQueue::new(2000);
        q.touch(9, 4_000, 0);
        q.touch(9, 4_000, 3_900);
        assert!(q.take_expired(7_999).is_empty());
        assert_eq!(q.take_expired(8_000), vec![9]);
    }
}
