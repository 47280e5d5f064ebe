//! A ZooKeeper summary metric (`MetricsContext.getSummary`): count, sum, min and max since
//! the last reset, plus quantiles over a sliding window.
//!
//! The window follows the Prometheus Java client's `TimeWindowQuantiles` that ZooKeeper's
//! Prometheus provider uses (ten minutes in five age buckets), with disjoint buckets: a
//! value goes into the current two-minute bucket only (one record on the hot path), the
//! oldest bucket is cleared as time moves on, and quantiles are read from all five merged,
//! so they cover the last eight to ten minutes. Buckets are `hdrhistogram`s with two
//! significant digits (1% error; ZooKeeper's CKMS targets allow 5% at the median and 0.1%
//! at p99). Times are kept in microseconds and shown in milliseconds, ZooKeeper's unit, so
//! sub-millisecond fsyncs are not rounded to zero.
//!
//! Owns: one summary's numbers. Must not know metric names or output formats.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// What a summary's values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Durations: recorded in µs, reported in ms.
    Millis,
    /// Plain counts (txns per batch, txns loaded).
    Count,
}

/// ZooKeeper's `DetailLevel`: BASIC summaries export the median only, ADVANCED ones
/// p50/p90/p99 to Prometheus and p50/p95/p99/p999 to `mntr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    Basic,
    Advanced,
}

const AGE_BUCKETS: usize = 5;
const MAX_AGE: Duration = Duration::from_secs(600);

/// The quantiles a snapshot carries: Prometheus's (0.5, 0.9, 0.99) and mntr's extra
/// (0.95, 0.999).
pub const QUANTILES: [f64; 5] = [0.5, 0.9, 0.95, 0.99, 0.999];

struct Inner {
    count: u64,
    sum: u64,
    min: u64,
    max: u64,
    ring: Vec<Histogram<u64>>,
    current: usize,
    rotated_at: Instant,
}

impl Inner {
    fn new(now: Instant) -> Inner {
        Inner {
            count: 0,
            sum: 0,
            min: 0,
            max: 0,
            ring: (0..AGE_BUCKETS)
                .filter_map(|_| Histogram::new(2).ok())
                .collect(),
            current: 0,
            rotated_at: now,
        }
    }

    /// Moves to a fresh bucket for every two minutes passed since the last look.
    fn rotate(&mut self, now: Instant) {
        let step = MAX_AGE / AGE_BUCKETS as u32;
        let mut turns = 0;
        while now.saturating_duration_since(self.rotated_at) > step && turns < AGE_BUCKETS {
            self.current = (self.current + 1) % AGE_BUCKETS;
            if let Some(h) = self.ring.get_mut(self.current) {
                h.reset();
            }
            self.rotated_at += step;
            turns += 1;
        }
        if turns == AGE_BUCKETS {
            self.rotated_at = now;
        }
    }
}

/// A summary metric; cheap to observe from any thread.
pub struct Summary {
    unit: Unit,
    detail: Detail,
    inner: Mutex<Inner>,
}

/// A summary's numbers at one moment, in the reporting unit (ms for durations).
#[derive(Debug, Clone, PartialEq)]
pub struct SummarySnapshot {
    pub unit: Unit,
    pub detail: Detail,
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    /// Value at each of [`QUANTILES`] over the window (0 when the window is empty).
    pub quantiles: [f64; 5],
    /// How many values the window holds.
    pub window_count: u64,
}

impl SummarySnapshot {
    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }

    /// The value at quantile `q` (one of [`QUANTILES`]).
    pub fn quantile(&self, q: f64) -> f64 {
        QUANTILES
            .iter()
            .position(|&x| x == q)
            .and_then(|i| self.quantiles.get(i).copied())
            .unwrap_or(0.0)
    }
}

impl Summary {
    pub fn new(unit: Unit, detail: Detail) -> Summary {
        Summary {
            unit,
            detail,
            inner: Mutex::new(Inner::new(Instant::now())),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a duration (for [`Unit::Millis`] summaries).
    pub fn observe(&self, d: Duration) {
        self.record_at(
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
            Instant::now(),
        );
    }

    /// Records a count (for [`Unit::Count`] summaries).
    pub fn observe_count(&self, n: u64) {
        self.record_at(n, Instant::now());
    }

    fn record_at(&self, raw: u64, now: Instant) {
        let mut g = self.lock();
        g.rotate(now);
        g.min = if g.count == 0 { raw } else { g.min.min(raw) };
        g.max = g.max.max(raw);
        g.count += 1;
        g.sum = g.sum.saturating_add(raw);
        let current = g.current;
        if let Some(h) = g.ring.get_mut(current) {
            // Auto-resizing histograms do not fail on u64 values.
            let _ = h.record(raw);
        }
    }

    pub fn reset(&self) {
        *self.lock() = Inner::new(Instant::now());
    }

    pub fn snapshot(&self) -> SummarySnapshot {
        self.snapshot_at(Instant::now())
    }

    fn snapshot_at(&self, now: Instant) -> SummarySnapshot {
        let mut g = self.lock();
        g.rotate(now);
        let scale = match self.unit {
            Unit::Millis => 1000.0,
            Unit::Count => 1.0,
        };
        let mut quantiles = [0.0; 5];
        let mut window = Histogram::<u64>::new(2).ok();
        if let Some(w) = window.as_mut() {
            for h in &g.ring {
                let _ = w.add(h);
            }
        }
        let window_count = window.as_ref().map_or(0, |w| w.len());
        if let Some(w) = window.as_ref().filter(|w| !w.is_empty()) {
            for (slot, q) in quantiles.iter_mut().zip(QUANTILES) {
                *slot = w.value_at_quantile(q) as f64 / scale;
            }
        }
        SummarySnapshot {
            unit: self.unit,
            detail: self.detail,
            count: g.count,
            sum: g.sum as f64 / scale,
            min: g.min as f64 / scale,
            max: g.max as f64 / scale,
            quantiles,
            window_count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_reported_in_milliseconds() {
        let s = Summary::new(Unit::Millis, Detail::Basic);
        s.observe(Duration::from_micros(250));
        s.observe(Duration::from_millis(3));
        let snap = s.snapshot();
        assert_eq!(snap.count, 2);
        assert!((snap.sum - 3.25).abs() < 1e-9, "{snap:?}");
        assert!((snap.min - 0.25).abs() < 1e-9 && (snap.max - 3.0).abs() < 1e-9);
        assert!((snap.avg() - 1.625).abs() < 1e-9);
    }

    #[test]
    fn quantiles_follow_the_distribution() {
        let s = Summary::new(Unit::Count, Detail::Advanced);
        for v in 1..=1000 {
            s.observe_count(v);
        }
        let snap = s.snapshot();
        for (q, want) in [(0.5, 500.0), (0.9, 900.0), (0.99, 990.0)] {
            let got = snap.quantile(q);
            assert!((got - want).abs() <= want * 0.02, "q{q}: {got} vs {want}");
        }
    }

    #[test]
    fn window_forgets_old_values_but_totals_do_not() {
        let s = Summary::new(Unit::Count, Detail::Basic);
        let start = Instant::now();
        s.record_at(1000, start);
        // Ten minutes and a bit later every bucket has been cleared once.
        let later = start + MAX_AGE + Duration::from_secs(130);
        s.record_at(10, later);
        let snap = s.snapshot_at(later);
        assert_eq!(snap.count, 2);
        assert_eq!(snap.max, 1000.0);
        assert_eq!(snap.quantile(0.99), 10.0);
    }

    #[test]
    fn reset_starts_over() {
        let s = Summary::new(Unit::Millis, Detail::Basic);
        s.observe(Duration::from_millis(5));
        s.reset();
        let snap = s.snapshot();
        assert_eq!((snap.count, snap.sum, snap.quantile(0.5)), (0, 0.0, 0.0));
    }
}
