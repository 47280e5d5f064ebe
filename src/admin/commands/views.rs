//! Each AdminServer command's JSON fields, named and typed as ZooKeeper's Jackson output
//! names them (snake case of the Java getters, maps keyed by strings).
//!
//! Owns: field names and shapes. Must not decide status codes or touch the server.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::admin::fourlw::environment;
use crate::admin::json::Object;
use crate::admin::monitor::{self, Value as MonitorValue};
use crate::status::quorum::{LearnerInfo, PeerState, QuorumStatus};
use crate::status::{full_version, BufferStats, ConnInfo, Snapshot};

/// The data fields of `primary` (without `command`/`error`, which `Reply` adds).
pub fn render(primary: &str, params: &HashMap<String, String>, s: &Snapshot) -> Object {
    let mut o = Object::new();
    match primary {
        "configuration" => configuration(&mut o, s),
        "connections" => {
            o.put("connections", connections(s, false))
                .put("secure_connections", json!([]));
        }
        "hash" => {
            // `ZxidDigest`'s getters as Jackson names them; empty with digests disabled.
            let log: Vec<Value> = s
                .digests
                .iter()
                .map(|d| json!({"zxid": d.zxid, "digest_version": d.digest_version, "digest": d.digest}))
                .collect();
            o.put("digests", log);
        }
        "dirs" => {
            o.put("datadir_size", s.host.data_dir_size)
                .put("logdir_size", s.host.log_dir_size);
        }
        "dump" => dump(&mut o, s),
        "environment" => {
            for (k, v) in environment(s) {
                o.put(k, v);
            }
        }
        "get_trace_mask" => {
            // zkserver has no ZooTrace logging: nothing is traced.
            o.put("tracemask", 0);
        }
        "initial_configuration" => {
            o.put("initial_configuration", s.config.initial_config.clone());
        }
        "is_read_only" => {
            o.put("read_only", s.read_only());
        }
        "last_snapshot" => {
            let (zxid, ts) = s
                .host
                .last_snapshot
                .map_or((-1, -1), |l| (l.zxid, l.timestamp));
            // Long.toHexString: two's complement for -1.
            o.put("zxid", format!("{zxid:x}")).put("timestamp", ts);
        }
        "leader" => leader(&mut o, s.quorum.as_ref()),
        "monitor" => {
            for (k, v) in monitor::values(s) {
                o.put(k, monitor_json(v));
            }
        }
        "observer_connection_stat_reset"
            if s.quorum.as_ref().is_some_and(|q| q.leader.is_some()) =>
        {
            o.put(
                "error",
                "observer_connection_stat_reset is not supported by zkserver yet",
            );
        }
        // Standalone (or not leading): there are no observer connections to reset.
        "observer_connection_stat_reset" => {}
        "observers" => {
            let (n, list) = s
                .quorum
                .as_ref()
                .and_then(QuorumStatus::synced_observers)
                .unwrap_or((0, &[]));
            o.put("synced_observers", n).put(
                "observers",
                Value::Array(list.iter().map(learner).collect()),
            );
        }
        "ruok" => {}
        "set_trace_mask" => set_trace_mask(&mut o, params),
        "server_stats" => server_stats(&mut o, s),
        "stats" => {
            server_stats(&mut o, s);
            o.put("connections", connections(s, true))
                .put("secure_connections", json!([]));
        }
        "system_properties" => system_properties(&mut o, s),
        "voting_view" => voting_view(&mut o, s.quorum.as_ref()),
        "watches" => {
            let map: serde_json::Map<String, Value> = s
                .watches_by_session
                .iter()
                .map(|(id, paths)| (id.to_string(), json!(paths)))
                .collect();
            o.put("session_id_to_watched_paths", map);
        }
        "watches_by_path" => {
            let map: serde_json::Map<String, Value> = s
                .watches_by_path
                .iter()
                .map(|(path, ids)| (path.clone(), json!(ids)))
                .collect();
            o.put("path_to_session_ids", map);
        }
        "watch_summary" => {
            o.put("num_connections", s.watch_sessions)
                .put("num_paths", s.watch_paths)
                .put("num_total_watches", s.data_watch_count);
        }
        "zabstate" => zabstate(&mut o, s),
        _ => {}
    }
    o
}

fn monitor_json(v: MonitorValue) -> Value {
    match v {
        MonitorValue::Int(i) => json!(i),
        MonitorValue::Float(f) => json!(f),
        MonitorValue::Str(s) => json!(s),
    }
}

/// `ZooKeeperServerConf.toMap` (the data directories are the `version-2` ones).
fn configuration(o: &mut Object, s: &Snapshot) {
    let c = &s.config;
    o.put("client_port", c.client_port)
        .put(
            "data_dir",
            c.data_dir.join("version-2").display().to_string(),
        )
        .put(
            "data_log_dir",
            c.data_log_dir.join("version-2").display().to_string(),
        )
        .put("tick_time", c.tick_time_ms)
        .put("max_client_cnxns", c.max_client_cnxns)
        .put("min_session_timeout", c.min_session_timeout_ms)
        .put("max_session_timeout", c.max_session_timeout_ms)
        .put("server_id", c.server_id)
        .put("client_port_listen_backlog", c.client_port_listen_backlog);
}

/// `ServerCnxn.getConnectionInfo(brief)`.
fn connection(c: &ConnInfo, brief: bool) -> Value {
    let st = &c.stats;
    let mut o = Object::new();
    o.put("remote_socket_address", format!("{}:{}", c.addr, c.port))
        // Java NIO's interest set: zkserver always reads (OP_READ = 1).
        .put("interest_ops", 1)
        .put("outstanding_requests", c.queued)
        .put("packets_received", st.packets_received)
        .put("packets_sent", st.packets_sent);
    if !brief {
        o.put("session_id", c.session.unwrap_or(0))
            .put("last_operation", st.last_op)
            .put("established", st.established_ms)
            .put("session_timeout", c.timeout_ms)
            .put("last_cxid", st.last_cxid)
            .put("last_zxid", st.last_zxid)
            .put("last_response_time", st.last_response_ms)
            .put("last_latency", st.last_latency_ms)
            .put("min_latency", st.latency.min_ms)
            .put("avg_latency", st.latency.avg() as u64)
            .put("max_latency", st.latency.max_ms);
    }
    o.into_value()
}

fn connections(s: &Snapshot, brief: bool) -> Value {
    Value::Array(s.conns.iter().map(|c| connection(c, brief)).collect())
}

fn dump(o: &mut Object, s: &Snapshot) {
    let expiry: serde_json::Map<String, Value> = s
        .expiry_buckets
        .iter()
        .map(|(at, ids)| (at.to_string(), json!(ids)))
        .collect();
    let ephemerals: serde_json::Map<String, Value> = s
        .ephemerals
        .iter()
        .filter(|(_, paths)| !paths.is_empty())
        .map(|(id, paths)| (id.to_string(), json!(paths)))
        .collect();
    o.put("expiry_time_to_session_ids", expiry)
        .put("session_id_to_ephemeral_paths", ephemerals);
}

fn leader(o: &mut Object, q: Option<&QuorumStatus>) {
    match q {
        Some(q) => {
            o.put("is_leader", q.state == PeerState::Leading)
                .put(
                    "leader_id",
                    q.leader_id
                        .and_then(|id| i64::try_from(id).ok())
                        .unwrap_or(-1),
                )
                .put("leader_ip", q.leader_address.clone().unwrap_or_default());
        }
        None => {
            o.put("error", "server is not initialized");
        }
    }
}

/// `LearnerHandler.getLearnerHandlerInfo`.
fn learner(l: &LearnerInfo) -> Value {
    let mut o = Object::new();
    o.put("remote_socket_address", l.remote_socket_address.clone())
        .put("sid", l.sid)
        .put("established", l.established)
        .put("queued_packets", l.queued_packets)
        .put("queued_packets_size", l.queued_packets_size)
        .put("packets_received", l.packets_received)
        .put("packets_sent", l.packets_sent)
        .put("requests", l.requests)
        .put("last_zxid", l.last_zxid);
    o.into_value()
}

fn set_trace_mask(o: &mut Object, params: &HashMap<String, String>) {
    let error = match params.get("traceMask") {
        None => "setTraceMask requires long traceMask argument".to_string(),
        Some(v) if v.parse::<i64>().is_err() => {
            format!("setTraceMask requires long traceMask argument, got {v}")
        }
        Some(_) => "zkserver has no ZooKeeper trace logging; the trace mask stays 0".into(),
    };
    o.put("error", error);
}

fn buffer_stats(b: &BufferStats) -> Value {
    json!({
        "last_buffer_size": b.last,
        "min_buffer_size": b.min,
        "max_buffer_size": b.max,
    })
}

/// `Commands.SrvrCommand`: the `ServerStats` bean as Jackson writes it.
fn server_stats(o: &mut Object, s: &Snapshot) {
    let st = &s.stats;
    let mut stats = Object::new();
    stats
        .put("packets_sent", st.packets_sent)
        .put("packets_received", st.packets_received)
        .put(
            "fsync_threshold_exceed_count",
            s.metrics.fsync_threshold_exceed,
        )
        .put("client_response_stats", buffer_stats(&st.client_response))
        .put("provider_null", false)
        .put("data_dir_size", s.host.data_dir_size)
        .put("log_dir_size", s.host.log_dir_size)
        .put("server_state", s.server_state())
        .put("last_processed_zxid", s.zxid)
        .put("outstanding_requests", s.outstanding)
        .put("avg_latency", st.latency.avg())
        .put("max_latency", st.latency.max_ms)
        .put("min_latency", st.latency.min_ms)
        .put("num_alive_client_connections", s.connection_count)
        .put("uptime", s.uptime_ms)
        .put("auth_failed_count", s.auth_failed())
        .put("non_mtlsremote_conn_count", s.tls.non_mtls_remote)
        .put("non_mtlslocal_conn_count", s.tls.non_mtls_local);
    o.put("version", full_version())
        .put("read_only", s.read_only())
        .put("server_stats", stats.into_value())
        .put("client_response", buffer_stats(&st.client_response));
    if let Some(l) = s.quorum.as_ref().and_then(|q| q.leader.as_ref()) {
        o.put("proposal_stats", buffer_stats(&l.proposal_sizes));
    }
    o.put("node_count", s.node_count);
}

/// The properties that mean something for this process, sorted as ZooKeeper sorts the
/// JVM's: the environment entries plus every effective `zookeeper.*` property.
fn system_properties(o: &mut Object, s: &Snapshot) {
    let mut props: Vec<(String, String)> = environment(s)
        .into_iter()
        .filter(|(k, _)| k.starts_with("os.") || k.starts_with("user."))
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    props.extend(
        s.config
            .properties
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    props.sort();
    for (k, v) in props {
        o.put(k, v);
    }
}

fn voting_view(o: &mut Object, q: Option<&QuorumStatus>) {
    let view: serde_json::Map<String, Value> = q
        .map(|q| q.voting_view.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|m| {
            let v = json!({
                "server_addresses": m.server_addresses,
                "election_addresses": m.election_addresses,
                "client_address": m.client_address,
                "learner_type": if m.observer { "observer" } else { "participant" },
            });
            (m.sid.to_string(), v)
        })
        .collect();
    o.put("current_config", view);
}

fn zabstate(o: &mut Object, s: &Snapshot) {
    match &s.quorum {
        Some(q) => {
            o.put("myid", s.config.server_id)
                .put("is_leader", q.state == PeerState::Leading)
                .put("quorum_address", multiple_addresses(&q.quorum_address))
                .put("election_address", multiple_addresses(&q.election_address))
                .put("client_address", q.client_address.clone())
                .put("voting", q.voting)
                .put("last_zxid", format!("0x{:x}", s.zxid))
                .put("zab_epoch", s.zxid >> 32)
                .put("zab_counter", s.zxid & 0xffff_ffff)
                .put("zabstate", q.zab_state.name());
        }
        None => {
            o.put("voting", false).put("zabstate", "");
        }
    }
}

/// ZooKeeper's `MultipleAddresses` as Jackson writes it (every getter becomes a field), for
/// this server's own `host:port` (so "reachable" is itself).
fn multiple_addresses(addr: &str) -> Value {
    let (host, port) = addr.rsplit_once(':').unwrap_or((addr, ""));
    let port: Value = port.parse::<u16>().map_or(Value::Null, Value::from);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    json!({
        "empty": addr.is_empty(),
        "all_addresses": [addr],
        "all_reachable_addresses": [addr],
        "one": addr,
        "reachable_address": addr,
        "wildcard_addresses": [format!("0.0.0.0:{port}")],
        "all_ports": [port],
        "all_host_strings": [host],
        "all_reachable_addresses_or_all": [addr],
        "reachable_or_one": addr,
    })
}
