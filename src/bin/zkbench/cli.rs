//! Command line: the workload name (W-number or its PERFORMANCE.md name), the presets
//! that give each W its sessions × in-flight × mix, and the human summary table.

use std::time::Duration;

use clap::{Parser, ValueEnum};
use serde_json::Value;

use crate::load::{parse_mix, LoadCfg};
use crate::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    #[value(name = "W1", alias = "lat-write")]
    LatWrite,
    #[value(name = "W2", alias = "lat-read")]
    LatRead,
    #[value(name = "W3", alias = "tput-create")]
    TputCreate,
    #[value(name = "W4", alias = "tput-set")]
    TputSet,
    #[value(name = "W5", alias = "tput-read")]
    TputRead,
    #[value(name = "W6", alias = "mix-90-10")]
    Mix9010,
    #[value(name = "W9", alias = "mem-load")]
    MemLoad,
    #[value(name = "W11", alias = "snap-stall")]
    SnapStall,
    #[value(name = "W12", alias = "watch-fanout")]
    WatchFanout,
    #[value(name = "W13", alias = "session-storm")]
    SessionStorm,
    #[value(name = "W14", alias = "big-children")]
    BigChildren,
    /// A custom load: give --sessions, --inflight and --mix.
    #[value(name = "load")]
    Load,
}

impl Workload {
    pub fn short(self) -> &'static str {
        use Workload::*;
        match self {
            LatWrite => "W1",
            LatRead => "W2",
            TputCreate => "W3",
            TputSet => "W4",
            TputRead => "W5",
            Mix9010 => "W6",
            MemLoad => "W9",
            SnapStall => "W11",
            WatchFanout => "W12",
            SessionStorm => "W13",
            BigChildren => "W14",
            Load => "load",
        }
    }

    pub fn name(self) -> &'static str {
        use Workload::*;
        match self {
            LatWrite => "lat-write",
            LatRead => "lat-read",
            TputCreate => "tput-create",
            TputSet => "tput-set",
            TputRead => "tput-read",
            Mix9010 => "mix-90-10",
            MemLoad => "mem-load",
            SnapStall => "snap-stall",
            WatchFanout => "watch-fanout",
            SessionStorm => "session-storm",
            BigChildren => "big-children",
            Load => "load",
        }
    }

    /// (sessions, in flight per session, mix) from PERFORMANCE.md §8.
    fn preset(self) -> (usize, usize, &'static str) {
        use Workload::*;
        match self {
            LatWrite => (1, 1, "createdel=1"),
            LatRead => (1, 1, "get=1"),
            TputCreate | SnapStall => (64, 4, "create=1"),
            TputSet => (64, 16, "set=1"),
            TputRead => (64, 16, "get=1"),
            Mix9010 => (64, 16, "get=90,set=10"),
            _ => (16, 16, "get=1"),
        }
    }
}

/// zkbench: drive a ZooKeeper-protocol server with one of the PERFORMANCE.md workloads.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Args {
    /// W1 lat-write, W2 lat-read, W3 tput-create, W4 tput-set, W5 tput-read, W6 mix-90-10,
    /// W9 mem-load, W11 snap-stall (with --rate), W12 watch-fanout, W13 session-storm,
    /// W14 big-children, or load (custom --mix).
    pub workload: Workload,
    /// Comma-separated host:port list; sessions are spread round-robin.
    #[arg(long, default_value = "127.0.0.1:2181")]
    pub servers: String,
    /// Sessions (W13: sessions in the storm; W9: loader sessions).
    #[arg(long)]
    pub sessions: Option<usize>,
    /// Requests in flight per session.
    #[arg(long)]
    pub inflight: Option<usize>,
    /// Op weights, e.g. get=90,set=10 (ops: create set get exists children delete multi createdel).
    #[arg(long)]
    pub mix: Option<String>,
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    #[arg(long, default_value_t = 100)]
    pub data_size: usize,
    /// Pre-created keys for get/set/exists/children.
    #[arg(long, default_value_t = 10_000)]
    pub keys: usize,
    /// Fixed total rate in ops/s (open loop; latency from the scheduled send time).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Name of the subtree /zkbench/<run> (reuse it to reuse the key space).
    #[arg(long)]
    pub run: Option<String>,
    /// Append the JSON result to this file instead of printing it on stdout.
    #[arg(long)]
    pub json: Option<String>,
    /// Free-form label copied into the JSON (e.g. apache / zkserver).
    #[arg(long, default_value = "")]
    pub label: String,
    /// Server pids whose CPU and RSS are sampled over the measured window.
    #[arg(long, value_delimiter = ',')]
    pub pids: Vec<String>,
    /// Client runtime threads (1 = current-thread runtime).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Session timeout asked for, ms.
    #[arg(long, default_value_t = 30_000)]
    pub timeout_ms: i32,
    /// Concurrent handshakes for W12/W13.
    #[arg(long, default_value_t = 64)]
    pub conc: usize,
    #[arg(long, default_value_t = 1000)]
    pub parents: usize,
    #[arg(long, default_value_t = 1000)]
    pub children: usize,
    #[arg(long, default_value_t = 1000)]
    pub watchers: usize,
    #[arg(long, default_value_t = 100_000)]
    pub max_children: usize,
    #[arg(long, default_value_t = 10_000)]
    pub step: usize,
    #[arg(long, default_value_t = 5)]
    pub samples: usize,
}

/// The load configuration: preset for the workload, overridden by explicit flags.
pub fn load_cfg(args: &Args, base: &str) -> Result<LoadCfg, Error> {
    let (sessions, inflight, mix) = args.workload.preset();
    if args.workload == Workload::SnapStall && args.rate.is_none() {
        return Err("W11 needs --rate (50% of Apache's W3 peak)".into());
    }
    Ok(LoadCfg {
        sessions: args.sessions.unwrap_or(sessions).max(1),
        inflight: args.inflight.unwrap_or(inflight).max(1),
        warmup: Duration::from_secs_f64(args.warmup.max(0.0)),
        duration: Duration::from_secs_f64(args.duration.max(0.1)),
        data_size: args.data_size,
        keys: args.keys.max(1),
        rate: args.rate,
        mix: parse_mix(args.mix.as_deref().unwrap_or(mix))?,
        base: base.to_string(),
        timeout_ms: args.timeout_ms,
        pids: args.pids.clone(),
    })
}

/// A short human summary of one result on stderr.
pub fn print_table(out: &Value) {
    let r = &out["result"];
    let name = format!(
        "{} {}",
        out["workload"].as_str().unwrap_or(""),
        out["name"].as_str().unwrap_or("")
    );
    let Some(lat) = r.get("latency") else {
        eprintln!("{name}: {r}");
        return;
    };
    let f = |v: &Value| v.to_string();
    eprintln!(
        "{:<18} {:>10} {:>9} {:>9} {:>9} {:>7} {:>10} {:>10}",
        "workload", "ops/s", "p50 us", "p99 us", "p99.9 us", "errors", "srv us/op", "cli us/op"
    );
    eprintln!(
        "{:<18} {:>10.0} {:>9} {:>9} {:>9} {:>7} {:>10} {:>10}",
        name,
        r["throughput"].as_f64().unwrap_or(0.0),
        f(&lat["p50_us"]),
        f(&lat["p99_us"]),
        f(&lat["p999_us"]),
        f(&r["errors"]),
        f(&r["resources"]["server_cpu_us_per_op"]),
        f(&r["resources"]["client_cpu_us_per_op"]),
    );
}
