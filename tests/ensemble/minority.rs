//! A member cut off from the quorum stops serving: `srvr` says so, new clients are refused
//! and writes fail, as in Apache. When a second voter returns, the quorum forms again, the
//! same session carries on and the data is intact everywhere.

use std::time::Duration;

use crate::common::ensemble::{Ensemble, EnsembleOpts};
use crate::util::{
    assert_same_everywhere, connect_session, connect_timeout, create_retrying, persistent,
};

const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minority_refuses_writes_and_recovers_when_the_quorum_returns() {
    // A long session: the outage below (plus a JVM restart with ZK_IMPL=apache on a busy
    // machine) must not outlast it, or the client gives the session up by itself.
    let opts = EnsembleOpts::new(3, 0).cfg("maxSessionTimeout=60000");
    let Some(mut ens) = Ensemble::start_ready(opts).await else {
        return;
    };
    let leader = ens.leader().expect("leader");
    let followers = ens.followers();
    let (alone, other) = (followers[0], followers[1]);
    let c = connect_session(
        &ens.addr(alone),
        Duration::from_secs(20),
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let session = c.session_id();
    c.create("/minority", b"before", &persistent())
        .await
        .unwrap();

    ens.kill(leader);
    ens.kill(other);
    let srvr = ens.wait_not_serving(alone, Duration::from_secs(15)).await;
    assert_eq!(srvr.trim_end(), NOT_SERVING);
    let refused = tokio::time::timeout(
        Duration::from_secs(3),
        connect_timeout(&ens.addr(alone), Duration::from_secs(1)),
    )
    .await;
    assert!(
        !matches!(refused, Ok(Ok(_))),
        "a member without a quorum must refuse new sessions"
    );
    let write = tokio::time::timeout(
        Duration::from_secs(3),
        c.create("/minority/during", b"", &persistent()),
    )
    .await;
    assert!(
        !matches!(write, Ok(Ok(_))),
        "a write on a minority must not succeed: {write:?}"
    );

    // One voter back: two of three form a quorum again.
    ens.start_member(other);
    ens.wait_serving(&[alone, other], Duration::from_secs(60))
        .await;
    create_retrying(&c, "/minority/after").await;
    assert_eq!(c.session_id(), session, "the session survived the outage");

    ens.start_member(leader);
    ens.wait_ready(Duration::from_secs(60)).await;
    let tree = assert_same_everywhere(&ens, &ens.ids(), "/minority").await;
    assert_eq!(tree["/minority"].data, b"before");
    assert!(tree.contains_key("/minority/after"));
}
