//! Sessions of clients connected to followers: the leader alone expires sessions, so a
//! follower must report its clients' activity (PING) — an idle but live client keeps its
//! session and ephemerals for many session timeouts — and a client that vanishes without
//! closing loses its session and ephemerals everywhere once its timeout has passed.

use std::time::{Duration, Instant};

use crate::common::ensemble::{Ensemble, EnsembleOpts};
use crate::common::jute::Enc;
use crate::common::raw::{ConnectReq, RawConn};
use crate::util::{connect, connect_session, persistent, subtree};

const CREATE: i32 = 1;
const EPHEMERAL: i32 = 1;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_keep_live_sessions_and_the_leader_expires_dead_ones() {
    let Some(ens) = Ensemble::start_ready(EnsembleOpts::new(3, 0)).await else {
        return;
    };
    let followers = ens.followers();
    let (f1, f2) = (followers[0], followers[1]);
    let setup = connect(&ens.addr(f1)).await;
    setup.create("/s", b"", &persistent()).await.unwrap();

    // A live, idle client on follower 1 with a short (1.5 s) session.
    let live = connect_session(
        &ens.addr(f1),
        Duration::from_secs(10),
        Duration::from_millis(1500),
    )
    .await
    .unwrap();
    live.create(
        "/s/alive",
        b"",
        &zookeeper_client::CreateMode::Ephemeral.with_acls(zookeeper_client::Acls::anyone_all()),
    )
    .await
    .unwrap();

    // A raw client on follower 2 that creates an ephemeral and then goes silent (no pings,
    // no close): its session must expire.
    let mut dead = RawConn::open(ens.member(f2).client_port).await;
    let resp = dead
        .handshake(&ConnectReq::new_session(1500))
        .await
        .expect("handshake");
    assert!(resp.timeout_ms >= 600, "{resp:?}");
    let body = Enc::new()
        .str("/s/dead")
        .buf(b"")
        .open_acl()
        .int(EPHEMERAL)
        .bytes();
    let r = dead.call(CREATE, &body).await;
    assert_eq!(r.err, 0, "create ephemeral: {r:?}");
    let created = Instant::now();

    // Several session timeouts later: the silent session is gone everywhere, the live one
    // (pinging its follower, which reports it to the leader) is not.
    tokio::time::sleep(Duration::from_secs(6)).await;
    for id in ens.ids() {
        let t = subtree(&ens.addr(id), "/s").await;
        assert!(
            t.contains_key("/s/alive"),
            "member {id}: a live client's ephemeral vanished after {:?}",
            created.elapsed()
        );
        assert!(
            !t.contains_key("/s/dead"),
            "member {id}: a silent client's ephemeral outlived its session"
        );
    }
    drop(dead);
}
