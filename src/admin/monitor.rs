//! The `mntr` / `monitor` values: ZooKeeper's `dumpMonitorValues` (version, server state,
//! peer state) followed by what its default metrics provider dumps: the gauges
//! `ZooKeeperServer.registerMetrics` declares (and the quorum ones when there is a quorum),
//! the counters, and for each summary `avg_/min_/max_/cnt_/sum_<name>` plus
//! `p50_/p95_/p99_/p999_<name>` for the advanced ones.
//!
//! Owns: that list and its value types. Must not format it (`fourlw` prints
//! `zk_<key>\t<value>`, `commands` writes JSON).

use crate::status::summary::Detail;
use crate::status::{full_version, Snapshot};

/// A value as ZooKeeper types it: Java prints `Long`/`Integer` as integers and other
/// numbers as doubles (`MonitorCommand.print`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Str(String),
}

impl Value {
    /// Java's `String.valueOf` for the value (doubles always carry a decimal point).
    pub fn java_text(&self) -> String {
        match self {
            Value::Int(v) => v.to_string(),
            Value::Float(v) => java_double(*v),
            Value::Str(s) => s.clone(),
        }
    }
}

/// Java prints doubles with at least one decimal ("0.0"); Rust would print "0".
pub fn java_double(v: f64) -> String {
    if v.fract() == 0.0 && v.is_finite() {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

fn int(v: impl TryInto<i64>) -> Value {
    Value::Int(v.try_into().unwrap_or(i64::MAX))
}

/// A gauge's name and value. Shared with the Prometheus renderer, which exports the same
/// gauges under the same names.
pub fn gauges(s: &Snapshot) -> Vec<(&'static str, Value)> {
    let l = &s.stats.latency;
    let r = &s.stats.client_response;
    let mut g = vec![
        ("avg_latency", Value::Float(l.avg())),
        ("max_latency", int(l.max_ms)),
        ("min_latency", int(l.min_ms)),
        ("packets_received", int(s.stats.packets_received)),
        ("packets_sent", int(s.stats.packets_sent)),
        ("num_alive_connections", int(s.connection_count)),
        ("outstanding_requests", int(s.outstanding)),
        ("uptime", int(s.uptime_ms)),
        ("znode_count", int(s.node_count)),
        ("watch_count", int(s.watch_count)),
        ("ephemerals_count", int(s.ephemeral_count)),
        ("approximate_data_size", int(s.data_size)),
        ("global_sessions", int(s.global_sessions)),
        ("local_sessions", int(s.local_sessions)),
        ("open_file_descriptor_count", int(s.host.open_fds)),
        ("max_file_descriptor_count", int(s.host.max_fds)),
        // ZooKeeper drops connections at this rate while its request throttle is
        // overloaded; zkserver pauses reads instead (globalOutstandingLimit) and never drops.
        ("connection_drop_probability", Value::Float(0.0)),
        ("last_client_response_size", Value::Int(r.last)),
        ("max_client_response_size", Value::Int(r.max)),
        ("min_client_response_size", Value::Int(r.min)),
        // What ZooKeeper's Netty listener counts; see `status::tls` for how zkserver's
        // counts relate to Apache's.
        (
            "outstanding_tls_handshake",
            int(s.tls.outstanding_handshakes),
        ),
        ("auth_failed_count", int(s.auth_failed())),
        ("non_mtls_remote_conn_count", int(s.tls.non_mtls_remote)),
        ("non_mtls_local_conn_count", int(s.tls.non_mtls_local)),
    ];
    if let Some(q) = &s.quorum {
        g.push(("quorum_size", int(q.quorum_size)));
        if let Some(l) = &q.leader {
            g.extend([
                ("learners", int(l.learners)),
                ("synced_followers", int(l.synced_followers)),
                (
                    "synced_non_voting_followers",
                    int(l.synced_non_voting_followers),
                ),
                ("synced_observers", int(l.synced_observers)),
                ("pending_syncs", int(l.pending_syncs)),
                ("leader_uptime", int(l.uptime_ms)),
                ("last_proposal_size", Value::Int(l.proposal_sizes.last)),
                ("max_proposal_size", Value::Int(l.proposal_sizes.max)),
                ("min_proposal_size", Value::Int(l.proposal_sizes.min)),
            ]);
        } else if let Some((n, _)) = q.synced_observers() {
            g.push(("synced_observers", int(n)));
        }
    }
    g
}

/// Every `mntr` key (without `zk_`) and value, in ZooKeeper's order.
pub fn values(s: &Snapshot) -> Vec<(String, Value)> {
    let mut out = vec![
        ("version".to_string(), Value::Str(full_version())),
        (
            "server_state".to_string(),
            Value::Str(s.server_state().to_string()),
        ),
    ];
    if let Some(q) = &s.quorum {
        out.push(("peer_state".into(), Value::Str(q.detailed_peer_state())));
    }
    out.extend(gauges(s).into_iter().map(|(k, v)| (k.to_string(), v)));
    // Gauge and counter sets are dumped by DefaultMetricsProvider as `<key>_<name>`.
    for (i, set) in crate::status::QUOTA_GAUGE_SETS.iter().enumerate() {
        for (ns, values) in &s.quota {
            if let Some(v) = values[i] {
                out.push((format!("{ns}_{set}"), int(v)));
            }
        }
    }
    out.extend(
        s.metrics
            .counters
            .iter()
            .map(|(k, v)| (k.to_string(), int(*v))),
    );
    for (ns, v) in &s.metrics.quota_exceeded {
        let set = crate::status::QUOTA_EXCEEDED_COUNTER_SET;
        out.push((format!("{ns}_{set}"), int(*v)));
    }
    out.push((
        "digest_mismatches_count".into(),
        int(s.stats.digest_mismatches),
    ));
    for (name, sum) in &s.metrics.summaries {
        // AvgMinMaxCounter: the average is a double, the rest are longs (whole ms).
        out.push((format!("avg_{name}"), Value::Float(sum.avg())));
        out.push((format!("min_{name}"), int(sum.min.round() as i64)));
        out.push((format!("max_{name}"), int(sum.max.round() as i64)));
        out.push((format!("cnt_{name}"), int(sum.count)));
        out.push((format!("sum_{name}"), int(sum.sum.round() as i64)));
        if sum.detail == Detail::Advanced {
            for (label, q) in [("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999)] {
                out.push((
                    format!("{label}_{name}"),
                    int(sum.quantile(q).round() as i64),
                ));
            }
        }
    }
    out
}
