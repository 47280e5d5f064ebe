//! An observer (`server.N=...:observer` + `peerType=observer`) reports `Mode: observer`,
//! serves reads of writes made elsewhere (after `sync`), forwards its clients' writes, fires
//! watches — and does not vote: with two of three voters gone it stops serving too.

use std::time::Duration;

use zookeeper_client::EventType;

use crate::common::ensemble::{Ensemble, EnsembleOpts};
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
