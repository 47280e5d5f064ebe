//! Writes through every member are seen by every other member after `sync`, with identical
//! stats, in 3- and 5-member ensembles; a watch set on one member fires for a write made
//! through another; `srvr` shows one leader and followers.

use std::time::Duration;

use zookeeper_client::EventType;

use crate::common::ensemble::{Ensemble, EnsembleOpts};
use crate::util::{assert_same_everywhere, connect, ephemeral, persistent, sequential};

/// Writes of every kind through each member of an ensemble of `opts.voters` voters, checked on
/// every member; returns the running ensemble for further checks.
pub async fn writes_through_every_member(opts: EnsembleOpts) -> Option<Ensemble> {
    let voters = opts.voters;
    let ens = Ensemble::start_ready(opts).await?;
    let leader = ens.leader().expect("one leader");
    for (id, mode) in ens.modes() {
        let want = if id == leader { "leader" } else { "follower" };
        assert_eq!(
            mode.as_deref(),
            Some(want),
            "member {id}: {:?}",
            ens.srvr(id)
        );
    }

    let mut clients = Vec::new();
    for id in ens.ids() {
        clients.push((id, connect(&ens.addr(id)).await));
    }
    let (_, first) = &clients[0];
    first.create("/rep", b"root", &persistent()).await.unwrap();
    first.create("/rep/w", b"0", &persistent()).await.unwrap();

    // A watch through the last member; the change comes through the first.
    let (_, last) = clients.last().unwrap();
    let (_, _, watcher) = last.get_and_watch_data("/rep/w").await.unwrap();

    for (id, c) in &clients {
        let base = format!("/rep/m{id}");
        c.create(&base, b"created", &persistent()).await.unwrap();
        let st = c
            .set_data(&base, format!("set-by-{id}").as_bytes(), Some(0))
            .await
            .unwrap();
        assert_eq!(st.version, 1);
        c.create(&format!("{base}/seq-"), b"s", &sequential())
            .await
            .unwrap();
        c.create(&format!("{base}/eph"), b"e", &ephemeral())
            .await
            .unwrap();
        let mut multi = c.new_multi_writer();
        multi
            .add_create(&format!("{base}/multi"), b"m", &persistent())
            .unwrap();
        multi.add_set_data(&base, b"multi", Some(1)).unwrap();
        multi.commit().await.unwrap();
    }
    first.set_data("/rep/w", b"1", None).await.unwrap();
    let event = tokio::time::timeout(Duration::from_secs(10), watcher.changed())
        .await
        .unwrap_or_else(|_| ens.fail("watch on the last member did not fire"));
    assert_eq!(event.event_type, EventType::NodeDataChanged);
    assert_eq!(event.path, "/rep/w");

    let tree = assert_same_everywhere(&ens, &ens.ids(), "/rep").await;
    for (id, c) in &clients {
        let n = &tree[&format!("/rep/m{id}")];
        assert_eq!(n.data, b"multi");
        assert_eq!(n.stat.version, 2);
        assert_eq!(n.children.len(), 3, "{:?}", n.children);
        let eph = &tree[&format!("/rep/m{id}/eph")];
        assert_eq!(eph.stat.ephemeral_owner, c.session_id().0);
    }
    assert_eq!(tree["/rep"].children.len(), voters + 1);
    drop(clients);
    Some(ens)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_members_replicate_writes_through_every_member() {
    writes_through_every_member(EnsembleOpts::new(3, 0)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_members_replicate_writes_through_every_member() {
    writes_through_every_member(EnsembleOpts::new(5, 0)).await;
}

/// Five members tolerate two failures: with two followers SIGKILLed the other three keep
/// serving writes, and the two catch up when they return.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_members_keep_serving_with_two_down() {
    let Some(mut ens) = Ensemble::start_ready(EnsembleOpts::new(5, 0)).await else {
        return;
    };
    let leader = ens.leader().expect("leader");
    let followers = ens.followers();
    let (down, up) = followers.split_at(2);
    let c = connect(&ens.addr(up[0])).await;
    c.create("/five", b"", &persistent()).await.unwrap();
    for &id in down {
        ens.kill(id);
    }
    // The three left are a quorum of five: writes through a follower still commit.
    let paths: Vec<String> = (0..200).map(|i| format!("/five/n{i:03}")).collect();
    crate::util::create_all(&c, &paths).await;
    let mut alive = vec![leader];
    alive.extend_from_slice(up);
    assert_same_everywhere(&ens, &alive, "/five").await;
    for &id in down {
        ens.start_member(id);
    }
    ens.wait_ready(Duration::from_secs(60)).await;
    assert_eq!(
        ens.leader(),
        Some(leader),
        "returning followers do not disturb the leader"
    );
    let tree = assert_same_everywhere(&ens, &ens.ids(), "/five").await;
    assert_eq!(tree["/five"].children.len(), 200);
}
