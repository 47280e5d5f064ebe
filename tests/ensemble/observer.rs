//! An observer (`server.N=...:observer` + `peerType=observer`) reports `Mode: observer`,
//! serves reads of writes made elsewhere (after `sync`), forwards its clients' writes, fires
//! watches — and does not vote: with two of three voters gone it stops serving too.

use std::time::Duration;

use zookeeper_client::EventType;

use crate::common::ensemble::{free_port, Ensemble, EnsembleOpts};
use crate::util::{
    assert_same_everywhere, connect, connect_session, create_all, create_retrying, ephemeral,
    persistent, LEARNER_DIFF, LEARNER_SNAP,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observer_serves_reads_and_forwards_writes_but_does_not_vote() {
    observer_scenario(EnsembleOpts::new(3, 1)).await;
}

/// The observer scenario on `opts` (3 voters and observer 4).
pub async fn observer_scenario(opts: EnsembleOpts) {
    // Sessions long enough to outlive the two-voter outage below.
    let opts = opts.cfg("maxSessionTimeout=60000");
    let Some(mut ens) = Ensemble::start_ready(opts).await else {
        return;
    };
    let observer = 4;
    assert_eq!(ens.mode(observer).as_deref(), Some("observer"));
    let leader = ens.leader().expect("leader");

    let co = connect_session(
        &ens.addr(observer),
        Duration::from_secs(20),
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let cl = connect(&ens.addr(leader)).await;
    // Writes through the observer are forwarded to the leader.
    co.create("/obs", b"via-observer", &persistent())
        .await
        .unwrap();
    co.set_data("/obs", b"set-via-observer", Some(0))
        .await
        .unwrap();
    co.create("/obs/eph", b"", &ephemeral()).await.unwrap();
    // Writes elsewhere reach the observer's readers and watchers.
    let (_, _, watcher) = co.get_and_watch_data("/obs").await.unwrap();
    cl.create("/obs/from-leader", b"l", &persistent())
        .await
        .unwrap();
    cl.set_data("/obs", b"set-via-leader", None).await.unwrap();
    let ev = tokio::time::timeout(Duration::from_secs(10), watcher.changed())
        .await
        .unwrap_or_else(|_| ens.fail("watch on the observer did not fire"));
    assert_eq!(ev.event_type, EventType::NodeDataChanged);
    co.sync("/obs").await.unwrap();
    let (data, stat) = co.get_data("/obs").await.unwrap();
    assert_eq!((data.as_slice(), stat.version), (&b"set-via-leader"[..], 2));

    let tree = assert_same_everywhere(&ens, &ens.ids(), "/obs").await;
    assert_eq!(tree["/obs/eph"].stat.ephemeral_owner, co.session_id().0);

    // One voter plus the observer is not a quorum of three voters.
    let follower = ens.followers()[0];
    ens.kill(leader);
    ens.kill(follower);
    ens.wait_not_serving(observer, Duration::from_secs(15))
        .await;
    let last_voter = ens
        .voter_ids()
        .into_iter()
        .find(|&id| id != leader && id != follower)
        .unwrap();
    ens.wait_not_serving(last_voter, Duration::from_secs(15))
        .await;

    ens.start_member(follower);
    ens.wait_serving(&[observer, last_voter, follower], Duration::from_secs(60))
        .await;
    assert_eq!(ens.mode(observer).as_deref(), Some("observer"));
    create_retrying(&co, "/obs/after").await;
    ens.start_member(leader);
    ens.wait_ready(Duration::from_secs(60)).await;
    let tree = assert_same_everywhere(&ens, &ens.ids(), "/obs").await;
    assert!(tree.contains_key("/obs/after"));

    // An observer that missed writes catches up when it returns (it takes no part in the
    // quorum, so the writes went on without it).
    drop(co);
    // The close goes through the observer: let it commit before the observer stops.
    let cl = connect(&ens.addr(ens.leader().expect("leader"))).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while cl.check_stat("/obs/eph").await.unwrap().is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "closing the session keeps /obs/eph"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ens.stop(observer);
    let leader = ens.leader().expect("leader");
    let cl = connect(&ens.addr(leader)).await;
    let paths: Vec<String> = (0..1000).map(|i| format!("/obs/missed-{i:04}")).collect();
    create_all(&cl, &paths).await;
    let from = ens.member(observer).log_len();
    ens.start_member(observer);
    ens.wait_ready(Duration::from_secs(60)).await;
    let log = ens.member(observer).log_since(from);
    assert!(
        log.contains(LEARNER_DIFF) || log.contains(LEARNER_SNAP),
        "observer sync:\n{log}"
    );
    let tree = assert_same_everywhere(&ens, &ens.ids(), "/obs").await;
    assert!(tree.contains_key("/obs/missed-0999"));
}

/// `GET /commands/<cmd>` on an AdminServer, the JSON body.
fn admin_get(port: u16, cmd: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect admin");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET /commands/{cmd} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The leader's AdminServer `observers` lists its real observer with Apache's fields
/// (`LearnerHandler.getLearnerHandlerInfo`, compared with an Apache 3.8 leader's answer), and
/// followers list none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_lists_its_observer_in_the_admin_server() {
    let Some(mut ens) = Ensemble::prepare(EnsembleOpts::new(3, 1)) else {
        return;
    };
    let mut admin = std::collections::BTreeMap::new();
    for id in ens.ids() {
        let port = free_port();
        let path = ens.member(id).cfg_path();
        let text = std::fs::read_to_string(&path).unwrap().replace(
            "admin.enableServer=false",
            &format!(
                "admin.enableServer=true\nadmin.serverAddress=127.0.0.1\nadmin.serverPort={port}"
            ),
        );
        ens.write_cfg(id, &text);
        admin.insert(id, port);
    }
    for id in ens.ids() {
        ens.start_member(id);
    }
    let leader = ens.wait_ready(Duration::from_secs(60)).await;
    // A write through the observer: a REQUEST it forwards, then a committed zxid it is sent.
    let co = connect(&ens.addr(4)).await;
    co.create("/obs-admin", b"x", &persistent()).await.unwrap();
    co.sync("/obs-admin").await.unwrap();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;

    let got = admin_get(admin[&leader], "observers");
    assert_eq!(got["command"], "observers", "{got}");
    assert_eq!(got["synced_observers"], 1, "{got}");
    let list = got["observers"].as_array().expect("observers array");
    assert_eq!(list.len(), 1, "{got}");
    let o = list[0].as_object().unwrap();
    let keys: Vec<&str> = o.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "remote_socket_address",
            "sid",
            "established",
            "queued_packets",
            "queued_packets_size",
            "packets_received",
            "packets_sent",
            "requests",
            "last_zxid"
        ],
        "{got}"
    );
    assert_eq!(o["sid"], 4, "{got}");
    assert!(
        o["remote_socket_address"]
            .as_str()
            .unwrap()
            .starts_with("/127.0.0.1:"),
        "{got}"
    );
    let established = o["established"].as_i64().unwrap();
    assert!(
        established > before - 120_000 && established <= before,
        "{got}"
    );
    assert!(o["packets_received"].as_u64().unwrap() >= 2, "{got}");
    assert!(o["packets_sent"].as_u64().unwrap() >= 3, "{got}");
    assert!(o["requests"].as_u64().unwrap() >= 1, "{got}");
    assert!(o["last_zxid"].as_i64().unwrap() > 0, "{got}");
    for f in ens.followers() {
        let got = admin_get(admin[&f], "observers");
        assert_eq!(got["observers"], serde_json::json!([]), "member {f}: {got}");
    }
}
