//! A member cut off from the quorum stops serving: `srvr` says so, new clients are refused
//! and writes fail, as in Apache. When a second voter returns, the quorum forms again, the
//! same session carries on and the data is intact everywhere.

use std::time::Duration;

use crate::common::ensemble::{Ensemble, EnsembleOpts};
use crate::util::{assert_same_everywhere, connect, connect_timeout, create_retrying, persistent};

const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minority_refuses_writes_and_recovers_when_the_quorum_returns() {
    let Some(mut ens) = Ensemble::start_ready(EnsembleOpts::new(3, 0)).await else {
        return;
    };
    let leader = ens.leader().expect("leader");
    let followers = ens.followers();
    let (alone, other) = (followers[0], followers[1]);
    let c = connect(&ens.addr(alone)).await;
    let session = c.session_id();
    c.create("/minority", b"before", &persistent())
        .await
        .unwrap();

    ens.kill(leader);
    ens.kill(other);
    let srvr = ens.wait_not_serving(alone, Duration::from_secs(15)).await;
    assert_eq!(srvr.trim_end(), NOT_SERVING);
    assert!(
        connect_timeout(&ens.addr(alone), Duration::from_secs(2))
            .await
            .is_err(),
        "a member without a quorum must refuse new sessions"
    );
    let write = tokio::time::timeout(
        Duration::from_secs(5),
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
