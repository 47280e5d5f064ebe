//! How a (re)joining member is brought up to date, each mode proven by the lines both sides
//! log and by identical data and stats on every member afterwards. DIFF and SNAP happen while
//! another member keeps writing (the live proposals interleave with the sync), and every
//! acknowledged live write must be everywhere too:
//! - DIFF: a follower restarted after missing thousands of writes (more than the leader keeps
//!   in memory, so the txns come from the leader's on-disk log);
//! - SNAP: a follower whose dataDir was wiped;
//! - TRUNC: a leader that logged a txn no follower ever read (followers SIGSTOPped, then
//!   SIGKILLed with it unread in their socket buffers), was SIGKILLed, and restarts after the
//!   others elected a new leader — the txn must vanish.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::ensemble::{Ensemble, EnsembleOpts};
use crate::common::Impl;
use crate::util::{
    assert_same_everywhere, connect, create_all, ephemeral, leader_sync_line, persistent, set_all,
    LiveWriter, Node, LEARNER_DIFF, LEARNER_SNAP, LEARNER_TRUNC,
};

const READY: Duration = Duration::from_secs(60);

fn children(parent: &str, from: usize, to: usize) -> Vec<String> {
    (from..to).map(|i| format!("{parent}/n{i:05}")).collect()
}

/// Snapshot files (either server's naming) in a member's dataDir.
fn snapshot_count(data_dir: &Path) -> usize {
    std::fs::read_dir(data_dir.join("version-2"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("snapshot."))
                .count()
        })
        .unwrap_or(0)
}

/// Every acknowledged live write is in `tree`, and there were some.
fn assert_live_writes(tree: &std::collections::BTreeMap<String, Node>, acked: &[String]) {
    assert!(!acked.is_empty(), "the live writer got no acknowledgement");
    let missing: Vec<&String> = acked.iter().filter(|p| !tree.contains_key(*p)).collect();
    assert!(
        missing.is_empty(),
        "acknowledged live writes missing: {missing:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_restarted_after_missing_thousands_of_writes_catches_up_by_diff() {
    diff_scenario(EnsembleOpts::new(3, 0)).await;
}

/// The DIFF scenario on `opts` (3 voters): the lowest-numbered follower lags and catches up.
pub async fn diff_scenario(opts: EnsembleOpts) {
    // An Apache leader switches from a txn-log DIFF to a SNAP once the log files to read
    // (beyond the one holding the peer's zxid) outweigh snapshotSizeFactor × its newest
    // snapshot; 0 lifts that limit so the outcome does not hinge on where its log rolled.
    // (zkserver has no such limit: it always diffs from its log when the log covers the gap.)
    // snapCount=1000 rolls the log every few hundred txns: the DIFF spans several segments.
    let opts = opts.cfg("snapshotSizeFactor=0").cfg("snapCount=1000");
    let Some(mut ens) = Ensemble::start_ready(opts).await else {
        return;
    };
    let leader = ens.leader().expect("leader");
    let lagger = ens.followers()[0];
    let c = connect(&ens.addr(leader)).await;
    c.create("/diff", b"", &persistent()).await.unwrap();
    create_all(&c, &children("/diff", 0, 100)).await;
    // The lagger holds those 100 (a quorum acknowledged them without it, maybe).
    let at_lagger = connect(&ens.addr(lagger)).await;
    at_lagger.sync("/diff").await.unwrap();
    assert!(at_lagger
        .check_stat("/diff/n00099")
        .await
        .unwrap()
        .is_some());
    drop(at_lagger);

    ens.stop(lagger);
    // Thousands of writes the lagging member misses: more than the leader's in-memory
    // committed log (commitLogCount, 500), so they must come from its on-disk log.
    for chunk in (100..3100).step_by(500) {
        create_all(&c, &children("/diff", chunk, chunk + 500)).await;
    }
    set_all(&c, &children("/diff", 0, 100), b"changed").await;
    // The leader snapshotted inside the gap: its own periodic snapshots are no reason for a SNAP.
    let snapshots = snapshot_count(&ens.member(leader).data_dir());
    assert!(
        snapshots >= 2,
        "leader {leader} wrote {snapshots} snapshot(s) during 3000 writes with snapCount=1000"
    );

    let other = ens.followers()[0];
    let live = LiveWriter::start(&ens.addr(other), "/diff").await;
    let (from_l, from_f) = (ens.member(leader).log_len(), ens.member(lagger).log_len());
    ens.start_member(lagger);
    ens.wait_ready(READY).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let acked = live.stop().await;
    let learner_log = ens.member(lagger).log_since(from_f);
    assert!(
        learner_log.contains(LEARNER_DIFF) && !learner_log.contains(LEARNER_SNAP),
        "member {lagger} must sync by DIFF:\n{learner_log}"
    );
    let leader_log = ens.member(leader).log_since(from_l);
    assert!(
        leader_sync_line(&ens, leader, &leader_log, lagger, "DIFF"),
        "leader {leader} must log a DIFF for {lagger}:\n{leader_log}"
    );
    let tree = assert_same_everywhere(&ens, &ens.ids(), "/diff").await;
    assert_live_writes(&tree, &acked);
    assert_eq!(tree["/diff"].children.len(), 3100 + acked.len());
    assert_eq!(tree["/diff/n00000"].data, b"changed");
    assert_eq!(tree["/diff/n00000"].stat.version, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wiped_member_catches_up_by_snap() {
    snap_scenario(EnsembleOpts::new(3, 0)).await;
}

/// The SNAP scenario on `opts` (3 voters): the lowest-numbered follower is wiped.
pub async fn snap_scenario(opts: EnsembleOpts) {
    let Some(mut ens) = Ensemble::start_ready(opts).await else {
        return;
    };
    let leader = ens.leader().expect("leader");
    let wiped = ens.followers()[0];
    let c = connect(&ens.addr(leader)).await;
    c.create("/snap", b"", &persistent()).await.unwrap();
    create_all(&c, &children("/snap", 0, 300)).await;
    // A live session's ephemeral must arrive with the snapshot, owner included.
    c.create("/snap/eph", b"e", &ephemeral()).await.unwrap();

    ens.stop(wiped);
    ens.wipe(wiped);
    create_all(&c, &children("/snap", 300, 500)).await;
    set_all(&c, &children("/snap", 0, 10), b"v1").await;

    let other = ens.followers()[0];
    let live = LiveWriter::start(&ens.addr(other), "/snap").await;
    let (from_l, from_w) = (ens.member(leader).log_len(), ens.member(wiped).log_len());
    ens.start_member(wiped);
    ens.wait_ready(READY).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let acked = live.stop().await;
    let learner_log = ens.member(wiped).log_since(from_w);
    assert!(
        learner_log.contains(LEARNER_SNAP),
        "wiped member {wiped} must sync by SNAP:\n{learner_log}"
    );
    let leader_log = ens.member(leader).log_since(from_l);
    assert!(
        leader_sync_line(&ens, leader, &leader_log, wiped, "SNAP"),
        "leader {leader} must log a SNAP for {wiped}:\n{leader_log}"
    );
    let tree = assert_same_everywhere(&ens, &ens.ids(), "/snap").await;
    assert_live_writes(&tree, &acked);
    assert_eq!(tree["/snap"].children.len(), 501 + acked.len());
    assert_eq!(tree["/snap/eph"].stat.ephemeral_owner, c.session_id().0);
    assert_eq!(tree["/snap/n00000"].data, b"v1");
}

/// Whether `zkserver log-dump` finds a txn on `path` in any log segment of `data_dir`.
fn zkserver_log_has(data_dir: &Path, path: &str) -> bool {
    let Ok(dir) = std::fs::read_dir(data_dir.join("version-2")) else {
        return false;
    };
    dir.flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("log."))
        .any(|e| {
            Command::new(env!("CARGO_BIN_EXE_zkserver"))
                .arg("log-dump")
                .arg(e.path())
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(path))
        })
}

/// Waits until every txn log file of member `id` holds at least its 16-byte header. An
/// Apache 3.8 member SIGKILLed between creating a log file and flushing its header cannot
/// start again ("Unable to load database on disk", EOFException in `FileHeader`), so the
/// scenario must not stop a follower in that window (a loaded machine made it wide once).
async fn wait_log_headers_on_disk(ens: &Ensemble, id: u64) {
    let dir = ens.member(id).data_dir().join("version-2");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let short = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                e.file_name().to_string_lossy().starts_with("log.")
                    && e.metadata().is_ok_and(|m| m.len() < 16)
            });
        if !short {
            return;
        }
        if std::time::Instant::now() > deadline {
            ens.fail(&format!(
                "member {id}'s txn log has no header on disk after 20 s"
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn txn_the_quorum_never_committed_is_truncated() {
    trunc_scenario(EnsembleOpts::new(3, 0)).await;
}

/// The TRUNC scenario on `opts` (3 voters): the leader (the highest id) logs a txn alone and
/// is truncated by the next leader (the second highest).
pub async fn trunc_scenario(opts: EnsembleOpts) {
    let Some(mut ens) = Ensemble::start_ready(opts).await else {
        return;
    };
    let old = ens.leader().expect("leader");
    let followers = ens.followers();
    let c = connect(&ens.addr(old)).await;
    c.create("/trunc", b"", &persistent()).await.unwrap();
    c.create("/trunc/committed", b"c", &persistent())
        .await
        .unwrap();

    for &f in &followers {
        wait_log_headers_on_disk(&ens, f).await;
    }
    // The followers stop (SIGSTOP): the next write is logged by the leader alone. Their
    // kernels still receive the PROPOSAL into the socket buffers — and a killed leader's
    // kernel still delivers what it had queued — so the stopped followers are SIGKILLed
    // before they can read it, and restarted from their disks, which never saw it.
    for &f in &followers {
        ens.pause(f);
    }
    let lost = tokio::spawn(async move {
        let r = c
            .create("/trunc/lost", b"never committed", &persistent())
            .await;
        (c, r)
    });
    tokio::time::sleep(Duration::from_millis(600)).await;
    if ens.member(old).imp == Impl::ZkServer {
        let dir = ens.member(old).data_dir();
        assert!(
            zkserver_log_has(&dir, "/trunc/lost"),
            "the leader should have logged the uncommitted create"
        );
    }
    assert!(
        !lost.is_finished(),
        "a write without a quorum must not be acknowledged"
    );
    ens.kill(old);
    lost.abort();
    for &f in &followers {
        ens.kill(f);
    }

    // The followers elect a new leader without that txn. Nobody writes in the new epoch
    // (no client connects) before the old leader is back.
    for &f in &followers {
        ens.start_member(f);
    }
    let new = ens.wait_serving(&followers, READY).await;
    assert_ne!(new, old);
    for &f in &followers {
        if ens.member(f).imp == Impl::ZkServer {
            assert!(
                !zkserver_log_has(&ens.member(f).data_dir(), "/trunc/lost"),
                "test premise: follower {f} must not have received the txn"
            );
        }
    }
    let (from_new, from_old) = (ens.member(new).log_len(), ens.member(old).log_len());
    ens.start_member(old);
    ens.wait_ready(READY).await;

    let old_log = ens.member(old).log_since(from_old);
    assert!(
        old_log.contains(LEARNER_TRUNC),
        "old leader {old} must be truncated:\n{old_log}"
    );
    let new_log = ens.member(new).log_since(from_new);
    assert!(
        leader_sync_line(&ens, new, &new_log, old, "TRUNC"),
        "new leader {new} must log a TRUNC for {old}:\n{new_log}"
    );
    let tree = assert_same_everywhere(&ens, &ens.ids(), "/trunc").await;
    assert_eq!(
        tree["/trunc"].children,
        vec!["committed".to_string()],
        "the uncommitted create must be gone everywhere"
    );
    if ens.member(old).imp == Impl::ZkServer {
        assert!(
            !zkserver_log_has(&ens.member(old).data_dir(), "/trunc/lost"),
            "TRUNC must remove the txn from the old leader's log too"
        );
    }
    // The ensemble works on: a write through the truncated member reaches everyone.
    let c = connect(&ens.addr(old)).await;
    c.create("/trunc/after", b"a", &persistent()).await.unwrap();
    let tree = assert_same_everywhere(&ens, &ens.ids(), "/trunc").await;
    assert_eq!(tree["/trunc"].children, vec!["after", "committed"]);
}
