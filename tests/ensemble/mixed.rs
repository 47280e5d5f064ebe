//! Mixed ensembles: Apache ZooKeeper 3.8 members (Debian's jar) and zkserver members in one
//! ensemble, speaking Apache's quorum protocol to each other. The scenarios are the ones the
//! homogeneous tests prove, run with zkserver in each role: leader of Apache followers, follower
//! and observer of an Apache leader; DIFF, SNAP and TRUNC in both directions; a leader SIGKILL
//! under load; containers and TTL nodes swept by either leader; a session moving between
//! members of both kinds. Roles are deterministic: member 3 starts with one lower-numbered member and
//! wins the first election (equal zxids: the highest id leads), and after it dies the second
//! highest leads.
//!
//! Each test starts JVMs, so they take turns (`MIXED`); without `java` they skip loudly, and
//! fail with `CI=true`.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common::ensemble::{four_letter_timeout, Ensemble, EnsembleOpts};
use crate::common::Impl::{Apache as A, ZkServer as Z};
use crate::failover::leader_sigkill_scenario;
use crate::observer::observer_scenario;
use crate::replication::writes_through_every_member;
use crate::sync_modes::{diff_scenario, snap_scenario, trunc_scenario};
use zookeeper_client::{Acls, Client, CreateMode};

use crate::util::{assert_same_everywhere, connect, create_all, ephemeral, persistent, sequential};

/// One mixed ensemble at a time: three JVMs and a test's load already fill two cores.
pub static MIXED: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Three voters running `impls`, member 3 leading first.
fn three(impls: [crate::common::Impl; 3]) -> EnsembleOpts {
    EnsembleOpts::new(3, 0).mixed(&impls).led_by(3)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zkserver_leads_two_apache_followers_and_they_agree_on_every_write_and_digest() {
    let _turn = MIXED.lock().await;
    let Some(ens) = writes_through_every_member(three([A, A, Z])).await else {
        return;
    };
    assert_eq!(ens.leader(), Some(3), "zkserver (id 3) must lead");
    same_digests_after_many_writes(&ens).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zkserver_follows_an_apache_leader_and_they_agree_on_every_write_and_digest() {
    let _turn = MIXED.lock().await;
    let Some(ens) = writes_through_every_member(three([Z, A, A])).await else {
        return;
    };
    assert_eq!(ens.leader(), Some(3), "Apache (id 3) must lead");
    same_digests_after_many_writes(&ens).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_from_an_apache_leader_to_a_zkserver_follower() {
    let _turn = MIXED.lock().await;
    diff_scenario(three([Z, A, A])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_from_a_zkserver_leader_to_an_apache_follower() {
    let _turn = MIXED.lock().await;
    diff_scenario(three([A, Z, Z])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snap_from_an_apache_leader_to_a_wiped_zkserver() {
    let _turn = MIXED.lock().await;
    snap_scenario(three([Z, A, A])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snap_from_a_zkserver_leader_to_a_wiped_apache_member() {
    let _turn = MIXED.lock().await;
    snap_scenario(three([A, Z, Z])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apache_leader_truncates_a_former_zkserver_leader() {
    let _turn = MIXED.lock().await;
    trunc_scenario(three([A, A, Z])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zkserver_leader_truncates_a_former_apache_leader() {
    let _turn = MIXED.lock().await;
    trunc_scenario(three([Z, Z, A])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zkserver_observes_an_apache_leader() {
    let _turn = MIXED.lock().await;
    observer_scenario(EnsembleOpts::new(3, 1).mixed(&[Z, A, A, Z]).led_by(3)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apache_observes_a_zkserver_leader() {
    let _turn = MIXED.lock().await;
    observer_scenario(EnsembleOpts::new(3, 1).mixed(&[A, Z, Z, A]).led_by(3)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zkserver_leader_sigkilled_under_load() {
    let _turn = MIXED.lock().await;
    // zkserver (3) leads first; a member of each kind survives, the restarted one follows.
    leader_sigkill_scenario(three([Z, A, Z]), 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apache_leader_sigkilled_under_load() {
    let _turn = MIXED.lock().await;
    leader_sigkill_scenario(three([A, Z, A]), 1).await;
}

/// Writes a few hundred more txns (the digest log keeps zxids that are multiples of 128),
/// then `hash` must give the same digest for each zxid that two members both logged, every
/// member must have logged some, and none may have seen a proposal's `TxnDigest` disagree
/// with its own tree.
pub async fn same_digests_after_many_writes(ens: &Ensemble) {
    let leader = ens.leader().expect("leader");
    let c = connect(&ens.addr(leader)).await;
    c.create("/digest", b"", &persistent()).await.unwrap();
    let paths: Vec<String> = (0..400).map(|i| format!("/digest/n{i:04}")).collect();
    create_all(&c, &paths).await;
    assert_same_everywhere(ens, &ens.ids(), "/digest").await;

    let mut reference: Option<(u64, BTreeMap<String, String>)> = None;
    for id in ens.ids() {
        let port = ens.member(id).client_port;
        let out = four_letter_timeout(port, "hash", Duration::from_secs(5))
            .unwrap_or_else(|| ens.fail(&format!("member {id} did not answer `hash`")));
        let logged = digest_lines(&out);
        assert!(
            logged.len() >= 3,
            "member {id} ({:?}) logged too few digests: {out:?}",
            ens.member(id).imp
        );
        match &reference {
            None => reference = Some((id, logged)),
            Some((ref_id, want)) => {
                let common: Vec<&String> =
                    logged.keys().filter(|z| want.contains_key(*z)).collect();
                assert!(
                    common.len() >= 3,
                    "members {ref_id} and {id} share too few logged zxids"
                );
                for z in common {
                    assert_eq!(
                        logged[z],
                        want[z],
                        "digest at zxid {z}: member {id} ({:?}) vs member {ref_id}",
                        ens.member(id).imp
                    );
                }
            }
        }
    }
    // Every proposal carried the leader's expected digest, and no member disagreed with it.
    for id in ens.ids() {
        let log = ens.member(id).log();
        for line in ["Digests are not matching", "digest mismatch"] {
            assert!(
                !log.contains(line),
                "member {id} ({:?}) logged {line:?}",
                ens.member(id).imp
            );
        }
    }
}

/// `hash` lines (`<zxid hex>: <digest>`), keyed by zxid.
fn digest_lines(out: &str) -> BTreeMap<String, String> {
    out.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(z, d)| (z.trim().to_string(), d.trim().to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_ttl_nodes_and_a_moved_session_under_a_zkserver_leader() {
    let _turn = MIXED.lock().await;
    lifecycles(three([A, A, Z])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_ttl_nodes_and_a_moved_session_under_an_apache_leader() {
    let _turn = MIXED.lock().await;
    lifecycles(three([Z, Z, A])).await;
}

/// Nodes whose life the leader ends and sessions that move, created through member 1 (of the
/// other kind than the leader): an emptied container and an expired TTL node are deleted by the
/// leader's sweep everywhere; a session whose member is SIGKILLed resumes on member 2 with its
/// ephemeral and its owner id, and closing it removes the ephemeral everywhere.
async fn lifecycles(opts: EnsembleOpts) {
    let opts = opts.env(
        "SERVER_JVMFLAGS",
        "-Dzookeeper.extendedTypesEnabled=true -Dznode.container.checkIntervalMs=200",
    );
    let Some(mut ens) = Ensemble::start_ready(opts).await else {
        return;
    };
    let c1 = connect(&ens.addr(1)).await;
    c1.create("/life", b"", &persistent()).await.unwrap();
    let container = CreateMode::Container.with_acls(Acls::anyone_all());
    c1.create("/life/box", b"", &container).await.unwrap();
    c1.create("/life/box/item", b"", &persistent())
        .await
        .unwrap();
    let ttl = CreateMode::Persistent
        .with_acls(Acls::anyone_all())
        .with_ttl(Duration::from_millis(300));
    c1.create("/life/ttl", b"", &ttl).await.unwrap();
    c1.create("/life/seq-", b"", &sequential()).await.unwrap();
    c1.delete("/life/box/item", None).await.unwrap();
    for id in ens.ids() {
        let c = connect(&ens.addr(id)).await;
        for path in ["/life/box", "/life/ttl"] {
            wait_gone(&ens, &c, path, id).await;
        }
    }

    // A session moves from member 1 (SIGKILLed) to member 2.
    let mover = connect(&ens.addr(1)).await;
    mover.create("/life/eph", b"e", &ephemeral()).await.unwrap();
    let owner = mover.session_id().0;
    // Not dropped: a dropped client closes its session as soon as it reaches member 1 again.
    let info = mover.session().clone();
    std::mem::forget(mover);
    ens.kill(1);
    let moved = Client::connector()
        .with_session(info)
        .with_session_timeout(Duration::from_secs(20))
        .connect(&ens.addr(2))
        .await
        .unwrap_or_else(|e| ens.fail(&format!("session did not move to member 2: {e}")));
    assert_eq!(moved.session_id().0, owner);
    let stat = moved
        .check_stat("/life/eph")
        .await
        .unwrap()
        .expect("ephemeral kept");
    assert_eq!(stat.ephemeral_owner, owner);
    moved
        .create("/life/after-move", b"", &persistent())
        .await
        .unwrap();
    ens.start_member(1);
    ens.wait_ready(Duration::from_secs(60)).await;
    let tree = assert_same_everywhere(&ens, &ens.ids(), "/life").await;
    assert_eq!(tree["/life/eph"].stat.ephemeral_owner, owner);
    drop(moved); // closes the session
    for id in ens.ids() {
        let c = connect(&ens.addr(id)).await;
        wait_gone(&ens, &c, "/life/eph", id).await;
    }
    let tree = assert_same_everywhere(&ens, &ens.ids(), "/life").await;
    assert!(tree.contains_key("/life/after-move"));
    assert_eq!(
        tree["/life"].children.len(),
        2,
        "{:?}",
        tree["/life"].children
    );
}

/// Waits until `path` is gone as seen (after `sync`) through member `id`.
async fn wait_gone(ens: &Ensemble, c: &Client, path: &str, id: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        c.sync(path).await.unwrap();
        if c.check_stat(path).await.unwrap().is_none() {
            return;
        }
        if std::time::Instant::now() > deadline {
            ens.fail(&format!("{path} still exists on member {id}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
