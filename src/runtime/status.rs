//! Counters the four-letter words report, and the status snapshot the core hands to
//! `admin` (which only ever sees that snapshot).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::core::Core;
use crate::admin::{self, ConnInfo, Snapshot};
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

#[derive(Debug, Clone, Default)]
pub struct ServerStats {
    pub packets_received: u64,
    pub packets_sent: u64,
    pub latency: Latency,
    pub auth_failed: u64,
    /// Committed txns whose leader-computed digest differed from ours after applying.
    pub digest_mismatches: u64,
    pub last_response_size: usize,
    pub min_response_size: usize,
    pub max_response_size: usize,
}

impl ServerStats {
    pub fn sent(&mut self, latency: Duration, size: usize) {
        self.packets_sent += 1;
        self.latency.add(latency);
        self.last_response_size = size;
        self.min_response_size = if self.min_response_size == 0 {
            size
        } else {
            self.min_response_size.min(size)
        };
        self.max_response_size = self.max_response_size.max(size);
    }
}

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

fn wall_ms() -> i64 {
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
}

impl Core {
    /// Runs a four-letter word (the connection already checked the whitelist).
    pub(super) fn four_letter(&mut self, cmd: &str) -> String {
        match cmd {
            "crst" => {
                for c in self.conns.values_mut() {
                    c.stats = ConnStats {
                        established_ms: c.stats.established_ms,
                        ..Default::default()
                    };
                }
                return "Connection stats reset.\n".into();
            }
            "srst" => {
                self.stats = ServerStats::default();
                return "Server stats reset.\n".into();
            }
            _ => {}
        }
        admin::render(cmd, &self.snapshot(cmd))
    }

    fn snapshot(&self, cmd: &str) -> Snapshot {
        let detail = matches!(cmd, "cons" | "stat" | "wchc" | "wchp" | "dump");
        let conns = if detail {
            self.conns
                .values()
                .map(|c| ConnInfo {
                    addr: c.addr,
                    port: c.port,
                    session: c.session,
                    queued: c
                        .session
                        .and_then(|s| self.queues.get(&s))
                        .map_or(0, |q| q.len()),
                    timeout_ms: c
                        .session
                        .and_then(|s| self.sessions.get(s))
                        .map_or(0, |s| s.timeout_ms),
                    stats: c.stats.clone(),
                })
                .collect()
        } else {
            Vec::new()
        };
        let outstanding = self.queues.values().map(|q| q.len()).sum();
        Snapshot {
            config: self.cfg.clone(),
            serving: self.member.is_serving(),
            mode: self.member.mode().name(),
            conns,
            connection_count: self.conns.len(),
            outstanding,
            zxid: self.tree.last_zxid(),
            node_count: self.tree.node_count(),
            watch_count: self.watches.watch_count(),
            watch_paths: self.watches.path_count(),
            watch_sessions: self.watches.session_count(),
            watches_by_session: if cmd == "wchc" {
                self.watches
                    .by_session()
                    .map(|(s, p)| (s, p.iter().cloned().collect()))
                    .collect()
            } else {
                Vec::new()
            },
            watches_by_path: if cmd == "wchp" {
                self.watches
                    .by_path()
                    .map(|(p, s)| (p.clone(), s))
                    .collect()
            } else {
                Vec::new()
            },
            ephemerals: if cmd == "dump" {
                self.sessions
                    .iter()
                    .map(|s| (s.id, self.tree.ephemerals_of(s.id).cloned().collect()))
                    .collect()
            } else {
                Vec::new()
            },
            expiry_buckets: if cmd == "dump" {
                self.sessions.expiry_buckets()
            } else {
                Vec::new()
            },
            ephemeral_count: self.tree.ephemeral_count(),
            data_size: self.tree.approximate_data_size(),
            global_sessions: self.sessions.len(),
            stats: self.stats.clone(),
            uptime_ms: self.started.elapsed().as_millis() as u64,
            log_counters: self.store.counters(),
        }
    }
}
