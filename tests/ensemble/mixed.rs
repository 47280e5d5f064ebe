//! Mixed ensembles: Apache ZooKeeper 3.8 members (Debian's jar) and zkserver members in one
//! ensemble, speaking Apache's quorum protocol to each other. The scenarios are the ones the
//! homogeneous tests prove, run with zkserver in each role: leader of Apache followers, follower
//! and observer of an Apache leader; DIFF, SNAP and TRUNC in both directions; a leader SIGKILL
//! under load. Election order makes the roles deterministic: with equal zxids the highest
//! server id leads, and after it dies the second highest.
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
use crate::util::{assert_same_everywhere, connect, create_all, persistent};

/// One mixed ensemble at a time: three JVMs and a test's load already fill two cores.
static MIXED: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn three(impls: [crate::common::Impl; 3]) -> EnsembleOpts {
    EnsembleOpts::new(3, 0).mixed(&impls)
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
    observer_scenario(EnsembleOpts::new(3, 1).mixed(&[Z, A, A, Z])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apache_observes_a_zkserver_leader() {
    let _turn = MIXED.lock().await;
    observer_scenario(EnsembleOpts::new(3, 1).mixed(&[A, Z, Z, A])).await;
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
/// then `hash` must give the same digest for each zxid that two members both logged, and
/// every member must have logged some.
async fn same_digests_after_many_writes(ens: &Ensemble) {
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
}

/// `hash` lines (`<zxid hex>: <digest>`), keyed by zxid.
fn digest_lines(out: &str) -> BTreeMap<String, String> {
    out.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(z, d)| (z.trim().to_string(), d.trim().to_string()))
        .collect()
}
