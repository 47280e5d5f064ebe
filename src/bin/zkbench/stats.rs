//! Latency recording: hdrhistograms (total, per operation kind and per second), error
//! counts by code, and the progress line printed once a second. Averages hide the tail
//! that matters for a coordination service, so everything reports percentiles.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::{json, Value};

/// Operation kinds the load generator issues, each with its own histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Create,
    Set,
    Get,
    Exists,
    Children,
    Delete,
    Multi,
    /// W1: a sync create followed by an unawaited delete of the same node.
    CreateDel,
}

pub const OP_KINDS: [OpKind; 8] = [
    OpKind::Create,
    OpKind::Set,
    OpKind::Get,
    OpKind::Exists,
    OpKind::Children,
    OpKind::Delete,
    OpKind::Multi,
    OpKind::CreateDel,
];

impl OpKind {
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Create => "create",
            OpKind::Set => "set",
            OpKind::Get => "get",
            OpKind::Exists => "exists",
            OpKind::Children => "children",
            OpKind::Delete => "delete",
            OpKind::Multi => "multi",
            OpKind::CreateDel => "createdel",
        }
    }

    pub fn parse(s: &str) -> Option<OpKind> {
        OP_KINDS.iter().copied().find(|k| k.name() == s)
    }
}

/// A histogram of microseconds, 1 µs to 100 s at 3 significant digits.
pub fn new_hist() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000, 3).expect("constant histogram bounds are valid")
}

/// Percentile summary of a histogram, in microseconds.
pub fn summary(h: &Histogram<u64>) -> Value {
    json!({
        "count": h.len(),
        "mean_us": (h.mean() * 10.0).round() / 10.0,
        "p50_us": h.value_at_quantile(0.5),
        "p90_us": h.value_at_quantile(0.9),
        "p99_us": h.value_at_quantile(0.99),
        "p999_us": h.value_at_quantile(0.999),
        "max_us": h.max(),
    })
}

struct Inner {
    total: Histogram<u64>,
    per_op: Vec<Histogram<u64>>,
    interval: Histogram<u64>,
    interval_p99: Vec<u64>,
    errors: BTreeMap<i32, u64>,
    started: Instant,
    stopped: Option<Instant>,
}

/// Shared by every worker of a run. Results before `start_measuring` are discarded.
pub struct Recorder {
    inner: Mutex<Inner>,
    pub ops: AtomicU64,
    pub errs: AtomicU64,
    measuring: AtomicBool,
}

impl Recorder {
    pub fn new() -> Arc<Recorder> {
        Arc::new(Recorder {
            inner: Mutex::new(Inner {
                total: new_hist(),
                per_op: OP_KINDS.iter().map(|_| new_hist()).collect(),
                interval: new_hist(),
                interval_p99: Vec::new(),
                errors: BTreeMap::new(),
                started: Instant::now(),
                stopped: None,
            }),
            ops: AtomicU64::new(0),
            errs: AtomicU64::new(0),
            measuring: AtomicBool::new(false),
        })
    }

    /// One completed operation; `err` is the reply's error code (0 = ok, -4 = lost).
    pub fn record(&self, kind: OpKind, lat_us: u64, err: i32) {
        self.ops.fetch_add(1, Ordering::Relaxed);
        if err != 0 {
            self.errs.fetch_add(1, Ordering::Relaxed);
        }
        let Ok(mut g) = self.inner.lock() else { return };
        g.interval.saturating_record(lat_us);
        if !self.measuring.load(Ordering::Relaxed) {
            return;
        }
        if err != 0 {
            *g.errors.entry(err).or_insert(0) += 1;
            return;
        }
        g.total.saturating_record(lat_us);
        let i = OP_KINDS.iter().position(|k| *k == kind).unwrap_or(0);
        g.per_op[i].saturating_record(lat_us);
    }

    /// Ends the warm-up: clears everything and starts the measured window.
    pub fn start_measuring(&self) {
        if let Ok(mut g) = self.inner.lock() {
            g.total.reset();
            g.per_op.iter_mut().for_each(|h| h.reset());
            g.errors.clear();
            g.interval_p99.clear();
            g.started = Instant::now();
        }
        self.measuring.store(true, Ordering::Relaxed);
    }

    pub fn stop_measuring(&self) {
        self.measuring.store(false, Ordering::Relaxed);
        if let Ok(mut g) = self.inner.lock() {
            g.stopped = Some(Instant::now());
        }
    }

    /// Takes the last second's histogram: (count, p50, p99).
    fn tick(&self) -> (u64, u64, u64) {
        let Ok(mut g) = self.inner.lock() else {
            return (0, 0, 0);
        };
        let h = &g.interval;
        let out = (h.len(), h.value_at_quantile(0.5), h.value_at_quantile(0.99));
        g.interval.reset();
        if self.measuring.load(Ordering::Relaxed) && out.0 > 0 {
            g.interval_p99.push(out.2);
        }
        out
    }

    /// The measured window as JSON: throughput, latency, per-op latency, errors.
    pub fn result(&self) -> Value {
        let Ok(g) = self.inner.lock() else {
            return Value::Null;
        };
        let end = g.stopped.unwrap_or_else(Instant::now);
        let secs = end.duration_since(g.started).as_secs_f64().max(1e-9);
        let errors: u64 = g.errors.values().sum();
        let mut per_op = serde_json::Map::new();
        for (k, h) in OP_KINDS.iter().zip(&g.per_op) {
            if !h.is_empty() {
                per_op.insert(k.name().into(), summary(h));
            }
        }
        json!({
            "seconds": secs,
            "ops": g.total.len(),
            "throughput": g.total.len() as f64 / secs,
            "errors": errors,
            "errors_by_code": g.errors.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "latency": summary(&g.total),
            "per_op": per_op,
            "max_1s_p99_us": g.interval_p99.iter().copied().max().unwrap_or(0),
        })
    }
}

/// Prints one progress line per second on stderr until `stop` is set.
pub fn spawn_progress(rec: Arc<Recorder>, label: String, stop: Arc<AtomicBool>) {
    tokio::spawn(async move {
        let t0 = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        while !stop.load(Ordering::Relaxed) {
            tick.tick().await;
            let (n, p50, p99) = rec.tick();
            eprintln!(
                "[{label} {:>4}s] {n:>8} ops/s  p50 {p50:>7} us  p99 {p99:>8} us  errors {}",
                t0.elapsed().as_secs(),
                rec.errs.load(Ordering::Relaxed)
            );
        }
    });
}
