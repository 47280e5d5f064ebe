//! Server and client resource sampling from /proc: CPU time (utime + stime) and RSS.
//! zkbench samples the server pids itself at the exact edges of the measured window, so
//! the CPU-µs/op figure excludes setup and warm-up.

use std::time::Instant;

use serde_json::{json, Value};

/// Kernel clock ticks per second for /proc times (USER_HZ; 100 on Linux).
const TICKS_PER_SEC: u64 = 100;

/// utime + stime of `pid` (or "self") in microseconds.
pub fn cpu_us(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the command name: state is field 3, utime field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 1_000_000 / TICKS_PER_SEC)
}

/// Resident set size of `pid` in KiB.
pub fn rss_kb(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// CPU counters of the server pids and of zkbench itself at the window's start.
pub struct CpuWindow {
    pids: Vec<String>,
    server0: u64,
    self0: u64,
    t0: Instant,
}

impl CpuWindow {
    pub fn start(pids: &[String]) -> CpuWindow {
        CpuWindow {
            pids: pids.to_vec(),
            server0: pids.iter().filter_map(|p| cpu_us(p)).sum(),
            self0: cpu_us("self").unwrap_or(0),
            t0: Instant::now(),
        }
    }

    /// CPU spent since `start`, per op for `ops`, plus the servers' RSS now.
    pub fn finish(&self, ops: u64) -> Value {
        let server =
            (self.pids.iter().filter_map(|p| cpu_us(p)).sum::<u64>()).saturating_sub(self.server0);
        let client = cpu_us("self").unwrap_or(0).saturating_sub(self.self0);
        let secs = self.t0.elapsed().as_secs_f64().max(1e-9);
        let per_op = |us: u64| {
            if ops == 0 {
                0.0
            } else {
                ((us as f64 / ops as f64) * 10.0).round() / 10.0
            }
        };
        let rss: u64 = self.pids.iter().filter_map(|p| rss_kb(p)).sum();
        json!({
            "server_pids": self.pids,
            "server_cpu_us": server,
            "server_cores": server as f64 / 1e6 / secs,
            "server_cpu_us_per_op": per_op(server),
            "client_cpu_us": client,
            "client_cpu_us_per_op": per_op(client),
            "server_rss_kb": rss,
        })
    }
}
