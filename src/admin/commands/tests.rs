//! Renderer tests against Apache ZooKeeper's real answers (tests/fixtures/apache-admin.json,
//! captured by tests/python/capture_apache_admin.py): same field names, same JSON types.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use super::*;
use crate::config::Config;
use crate::status::quorum::sample;
use crate::status::{ConnInfo, ConnStats, HostFacts, ServerMetrics};

const FIXTURE: &str = include_str!("../../../tests/fixtures/apache-admin.json");

fn apache(name: &str) -> (u64, Value) {
    let all: Value = serde_json::from_str(FIXTURE).unwrap();
    let a = &all["answers"][name];
    (a["status"].as_u64().unwrap(), a["body"].clone())
}

/// A standalone server with one session that holds an ephemeral node and two data watches,
/// like the server the fixture was captured from.
pub(crate) fn snapshot() -> Snapshot {
    let cfg = Config::parse(
        "tickTime=2000\ndataDir=/tmp/zk\nclientPort=2181\n",
        Path::new("zoo.cfg"),
        "",
    )
    .unwrap();
    let session = 0x0010_0000_0000_0001;
    Snapshot {
        config: Arc::new(cfg),
        serving: true,
        conns: vec![ConnInfo {
            addr: "127.0.0.1".parse().unwrap(),
            port: 40000,
            session: Some(session),
            queued: 0,
            timeout_ms: 10000,
            stats: ConnStats::default(),
        }],
        connection_count: 1,
        outstanding: 0,
        zxid: 3,
        node_count: 7,
        watch_count: 2,
        data_watch_count: 2,
        watch_paths: 2,
        watch_sessions: 1,
        watches_by_session: vec![(session, vec!["/a".into(), "/zz".into()])],
        watches_by_path: vec![("/a".into(), vec![session]), ("/zz".into(), vec![session])],
        ephemerals: vec![(session, vec!["/e".into()])],
        expiry_buckets: vec![(1_700_000_000_000, vec![session])],
        ephemeral_count: 1,
        data_size: 47,
        global_sessions: 1,
        local_sessions: 0,
        stats: crate::status::ServerStats::default(),
        uptime_ms: 1000,
        metrics: ServerMetrics::new().snapshot(),
        tls: Default::default(),
        quorum: None,
        digest_enabled: true,
        digests: Vec::new(),
        host: HostFacts::default(),
        quota: Default::default(),
    }
}

/// The JSON type of `v`, and recursively of its fields (arrays by their first element).
fn shape(v: &Value) -> Value {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(n) if n.is_f64() => "float".into(),
        Value::Number(_) => "int".into(),
        Value::String(_) => "string".into(),
        Value::Array(a) => Value::Array(a.iter().take(1).map(shape).collect()),
        Value::Object(o) => {
            // Maps keyed by session id or path: the keys are data, not field names.
            let keyed_by_data = o
                .keys()
                .all(|k| k.starts_with('/') || k.chars().all(|c| c.is_ascii_digit()));
            if keyed_by_data && !o.is_empty() {
                Value::Array(o.values().take(1).map(shape).collect())
            } else {
                Value::Object(o.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
            }
        }
    }
}

fn ours(name: &str) -> Value {
    let snap = snapshot();
    let primary = lookup(name).unwrap().primary();
    render_for_test(primary, &snap).into_value()
}

#[test]
fn every_apache_command_has_our_fields_and_types() {
    let all: Value = serde_json::from_str(FIXTURE).unwrap();
    let mut checked = 0;
    for (name, answer) in all["answers"].as_object().unwrap() {
        // Compared separately below: JVM-specific keys, 3.9-only commands, the links page.
        if matches!(
            name.as_str(),
            "/" | "nosuch"
                | "snapshot"
                | "restore"
                | "environment"
                | "env"
                | "envi"
                | "system_properties"
                | "sysp"
                | "monitor"
                | "mntr"
        ) {
            continue;
        }
        let theirs = &answer["body"];
        let mine = ours(name);
        assert_eq!(
            shape(&mine),
            shape(theirs),
            "{name}: ours {mine:#}\napache {theirs:#}"
        );
        assert_eq!(answer["status"], 200, "{name}");
        checked += 1;
    }
    assert!(checked >= 35, "only {checked} commands compared");
}

#[test]
fn aliases_answer_under_the_primary_name() {
    for (alias, primary) in [
        ("mntr", "monitor"),
        ("srvr", "server_stats"),
        ("cons", "connections"),
    ] {
        assert_eq!(apache(alias).1["command"], primary);
        assert_eq!(ours(alias)["command"], primary);
    }
}

#[test]
fn monitor_keys_are_a_subset_of_apaches_with_the_same_types() {
    let (_, theirs) = apache("monitor");
    let mine = ours("monitor");
    let theirs = theirs.as_object().unwrap();
    for (k, v) in mine.as_object().unwrap() {
        let Some(t) = theirs.get(k) else {
            panic!("monitor key {k} is not one of Apache's");
        };
        assert_eq!(shape(v), shape(t), "monitor {k}");
    }
    // What the dashboards and alert rules read is all there.
    for k in [
        "znode_count",
        "avg_latency",
        "num_alive_connections",
        "cnt_fsynctime",
        "sum_snapshottime",
        "p99_readlatency",
        "p999_updatelatency",
    ] {
        assert!(mine.get(k).is_some(), "{k}");
    }
}

#[test]
fn environment_and_properties_use_apaches_keys_where_they_apply() {
    let (_, env) = apache("environment");
    for k in ours("environment").as_object().unwrap().keys() {
        if k == "server.implementation" || k == "command" || k == "error" {
            continue;
        }
        assert!(env.get(k).is_some(), "environment key {k}");
    }
    let props = ours("system_properties");
    assert!(props.get("os.name").is_some() && props.get("user.dir").is_some());
}

#[test]
fn unknown_and_auth_commands_answer_like_zookeeper() {
    let (status, body) = apache("nosuch");
    let mine = Reply::error("nosuch", "Unknown command: nosuch", 200);
    assert_eq!((mine.status as u64, mine.body.into_value()), (status, body));
    assert!(lookup("snapshot").unwrap().needs_auth && lookup("rest").unwrap().needs_auth);
    assert!(lookup("shed_connections").is_none());
}

#[test]
fn error_in_data_keeps_its_place_before_command() {
    let leader = render_for_test("leader", &snapshot());
    let keys: Vec<&str> = leader.0.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["error", "command"]);
    let (_, theirs) = apache("leader");
    assert_eq!(leader.into_value(), theirs);
}

#[test]
fn quorum_fields_render_when_present() {
    let mut snap = snapshot();
    snap.quorum = Some(sample::leader());
    let leader = render_for_test("leader", &snap).into_value();
    assert_eq!(leader["is_leader"], true);
    assert_eq!(leader["leader_id"], 2);
    assert_eq!(leader["error"], Value::Null);
    let zab = render_for_test("zabstate", &snap).into_value();
    assert_eq!(
        (zab["zabstate"].as_str(), zab["voting"].as_bool()),
        (Some("broadcast"), Some(true))
    );
    assert_eq!(zab["last_zxid"], "0x3");
    let view = render_for_test("voting_view", &snap).into_value();
    assert_eq!(view["current_config"]["1"]["learner_type"], "participant");
    assert_eq!(
        view["current_config"]["1"]["server_addresses"][0],
        "10.0.0.1:2888"
    );
    let obs = render_for_test("observers", &snap).into_value();
    assert_eq!(obs["synced_observers"], 1);
    assert_eq!(obs["observers"][0]["sid"], 4);
    let srvr = render_for_test("server_stats", &snap).into_value();
    assert_eq!(srvr["server_stats"]["server_state"], "leader");
    assert_eq!(srvr["proposal_stats"]["max_buffer_size"], 120);
    let mntr = render_for_test("monitor", &snap).into_value();
    assert_eq!(mntr["server_state"], "leader");
    assert_eq!(mntr["peer_state"], "leading - broadcast");
    for (k, v) in [
        ("learners", 3),
        ("synced_followers", 2),
        ("quorum_size", 3),
        ("leader_uptime", 5000),
    ] {
        assert_eq!(mntr[k], v, "{k}");
    }
}

const ENSEMBLE: &str = include_str!("../../../tests/fixtures/apache-ensemble-admin.json");

#[test]
fn ensemble_answers_have_apaches_fields_and_types() {
    let fx: Value = serde_json::from_str(ENSEMBLE).unwrap();
    let mut snap = snapshot();
    snap.zxid = 0x1_0000_0000;
    let mut leader = sample::leader();
    leader.leader.as_mut().unwrap().observers.clear();
    leader.voting_view.truncate(1);
    snap.quorum = Some(leader.clone());
    for cmd in [
        "zabstate",
        "leader",
        "voting_view",
        "observers",
        "server_stats",
    ] {
        let theirs = &fx["leader"][cmd];
        let mine = render_for_test(cmd, &snap).into_value();
        assert_eq!(
            shape(&mine),
            shape(theirs),
            "leader {cmd}: ours {mine:#}\napache {theirs:#}"
        );
    }
    let mut follower = leader;
    follower.state = crate::status::quorum::PeerState::Following;
    follower.leader = None;
    snap.quorum = Some(follower);
    for cmd in ["zabstate", "leader", "observers", "server_stats"] {
        let theirs = &fx["follower"][cmd];
        let mine = render_for_test(cmd, &snap).into_value();
        assert_eq!(
            shape(&mine),
            shape(theirs),
            "follower {cmd}: ours {mine:#}\napache {theirs:#}"
        );
    }
    assert_eq!(
        render_for_test("zabstate", &snap).into_value()["is_leader"],
        false
    );
}

#[test]
fn ensemble_monitor_keys_are_apaches() {
    let fx: Value = serde_json::from_str(ENSEMBLE).unwrap();
    let mut snap = snapshot();
    snap.quorum = Some(sample::leader());
    let theirs = fx["leader"]["monitor"].as_object().unwrap();
    let mine = render_for_test("monitor", &snap).into_value();
    for (k, v) in mine.as_object().unwrap() {
        let t = theirs
            .get(k)
            .unwrap_or_else(|| panic!("leader monitor key {k} is not Apache's"));
        assert_eq!(shape(v), shape(t), "{k}");
    }
    for k in [
        "peer_state",
        "learners",
        "synced_followers",
        "pending_syncs",
        "leader_uptime",
        "quorum_size",
        "min_proposal_size",
    ] {
        assert!(mine.get(k).is_some() && theirs.contains_key(k), "{k}");
    }
}
