//! The request counters ZooKeeper keeps per server (`ServerStats`) and per connection
//! (`ServerCnxn` stats). The core updates them as it answers; the snapshot copies them.
//!
//! Owns: counting and resetting. Must not render anything or read other server state.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::metrics::ServerMetrics;
use crate::proto::opcode::OpCode;

/// Latency in ms, min/avg/max, as ServerStats keeps it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latency {
    pub count: u64,
    pub total_ms: u64,
    pub min_ms: u64,
    pub max_ms: u64,
}

impl Latency {
    fn add(&mut self, d: Duration) {
        let ms = d.as_millis() as u64;
        self.min_ms = if self.count == 0 {
            ms
        } else {
            self.min_ms.min(ms)
        };
        self.max_ms = self.max_ms.max(ms);
        self.total_ms += ms;
        self.count += 1;
    }

    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.total_ms as f64 / self.count as f64
        }
    }
}

/// Sizes of the replies sent to clients (ZooKeeper's `BufferStats`): -1 until the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferStats {
    pub last: i64,
    pub min: i64,
    pub max: i64,
}

impl Default for BufferStats {
    fn default() -> Self {
        BufferStats {
            last: -1,
            min: -1,
            max: -1,
        }
    }
}

impl BufferStats {
    pub fn add(&mut self, size: usize) {
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        self.last = size;
        self.min = if self.min < 0 {
            size
        } else {
            self.min.min(size)
        };
        self.max = self.max.max(size);
    }
}

/// ZooKeeper's `ServerStats`: what `srvr`, `mntr` and `/metrics` report about requests.
#[derive(Debug, Clone, Default)]
pub struct ServerStats {
    pub packets_received: u64,
    pub packets_sent: u64,
    pub latency: Latency,
    pub auth_failed: u64,
    /// Committed txns whose leader-computed digest differed from ours after applying
    /// (`digest_mismatches_count`).
    pub digest_mismatches: u64,
    pub client_response: BufferStats,
    /// Set by the core just before it answers a write, so `sent` counts the answer as
    /// ZooKeeper's update latency (a request with a txn header) rather than read latency.
    /// If that connection is gone (no reply sent), the next reply takes the mark: one
    /// latency sample in the other summary, never a lost or double count.
    replying_update: bool,
}

impl ServerStats {
    /// Marks the next `sent` as the answer to a write (ZooKeeper's `updatelatency`).
    pub fn next_reply_is_update(&mut self) {
        self.replying_update = true;
    }

    /// One reply left: `ServerStats.updateLatency` + `updateClientResponseSize`.
    pub fn sent(&mut self, latency: Duration, size: usize) {
        self.packets_sent += 1;
        self.latency.add(latency);
        self.client_response.add(size);
        let metrics = ServerMetrics::global();
        if std::mem::take(&mut self.replying_update) {
            metrics.update_latency.observe(latency);
        } else {
            metrics.read_latency.observe(latency);
        }
    }

    /// `srst`: latency, packet counters and response sizes start over, and so do the
    /// metrics (ZooKeeper's `ServerStats.reset` also calls `ServerMetrics.resetAll`).
    /// The auth-failure count is kept, as in ZooKeeper.
    pub fn reset(&mut self) {
        let auth_failed = self.auth_failed;
        *self = ServerStats {
            auth_failed,
            ..ServerStats::default()
        };
        ServerMetrics::global().reset();
    }
}

/// One connection's counters (`cons`).
#[derive(Debug, Clone)]
pub struct ConnStats {
    pub packets_received: u64,
    pub packets_sent: u64,
    pub established_ms: i64,
    pub last_op: &'static str,
    pub last_cxid: i32,
    pub last_zxid: i64,
    pub last_response_ms: i64,
    pub last_latency_ms: u64,
    pub latency: Latency,
}

impl Default for ConnStats {
    fn default() -> Self {
        ConnStats {
            packets_received: 0,
            packets_sent: 0,
            established_ms: wall_ms(),
            last_op: "NA",
            last_cxid: 0,
            last_zxid: -1,
            last_response_ms: 0,
            last_latency_ms: 0,
            latency: Latency::default(),
        }
    }
}

pub(crate) fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// ZooKeeper's abbreviations for `lop=` in `cons`.
fn short_op(op: OpCode) -> &'static str {
    use OpCode::*;
    match op {
        Ping => "PING",
        Create | Create2 | CreateContainer | CreateTtl => "CREA",
        Delete => "DELE",
        Exists => "EXIS",
        GetData => "GETD",
        SetData => "SETD",
        GetAcl => "GETA",
        SetAcl => "SETA",
        GetChildren | GetChildren2 => "GETC",
        Sync => "SYNC",
        Multi => "MULT",
        MultiRead => "MLTR",
        SetWatches | SetWatches2 => "SETW",
        CloseSession => "CLOS",
        _ => "UNKN",
    }
}

impl ConnStats {
    pub fn received(&mut self, xid: i32, op: OpCode) {
        self.packets_received += 1;
        self.last_op = short_op(op);
        if xid > 0 {
            self.last_cxid = xid;
        }
    }

    pub fn sent(&mut self, _xid: i32, zxid: i64, latency: Duration, _size: usize) {
        self.packets_sent += 1;
        self.last_zxid = zxid;
        self.last_response_ms = wall_ms();
        self.last_latency_ms = latency.as_millis() as u64;
        self.latency.add(latency);
    }

    /// `crst`: counters start over; the connection keeps its establishment time.
    pub fn reset(&mut self) {
        *self = ConnStats {
            established_ms: self.established_ms,
            ..ConnStats::default()
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_sizes_start_at_minus_one_like_buffer_stats() {
        let mut b = BufferStats::default();
        assert_eq!((b.last, b.min, b.max), (-1, -1, -1));
        b.add(16);
        b.add(29);
        b.add(20);
        assert_eq!((b.last, b.min, b.max), (20, 16, 29));
    }

    #[test]
    fn reset_keeps_auth_failures_and_establishment() {
        let mut s = ServerStats {
            packets_received: 3,
            auth_failed: 2,
            ..ServerStats::default()
        };
        s.sent(Duration::from_millis(4), 10);
        s.reset();
        assert_eq!(
            (s.packets_received, s.packets_sent, s.auth_failed),
            (0, 0, 2)
        );
        assert_eq!(s.client_response.last, -1);
        let mut c = ConnStats::default();
        let est = c.established_ms;
        c.received(5, OpCode::GetData);
        c.reset();
        assert_eq!(
            (c.packets_received, c.last_op, c.established_ms),
            (0, "NA", est)
        );
    }
}
