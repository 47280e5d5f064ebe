//! The rolling migration the README's "Migrating from Apache ZooKeeper" section describes, run
//! end to end: a 3-member Apache ZooKeeper 3.8 ensemble, with pipelined writers on several
//! sessions and a compare-and-set writer running throughout, is rolled member by member to
//! zkserver (followers first, the leader last; each step waits for the member to serve and the
//! ensemble to have one leader), then one member is rolled back to Apache. Once with every
//! dataDir kept in place (zkserver reads Apache's files; the way back goes through
//! `zkserver export-apache`), once with each dataDir wiped (every member comes back by SNAP).
//! At the end: no acknowledged write is lost, the CAS writer never saw a version go back,
//! and every member holds the same tree and the same `hash` digests.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use zookeeper_client::{Client, Error};

use crate::common::ensemble::{Ensemble, EnsembleOpts};
use crate::common::Impl::{self, Apache as A, ZkServer as Z};
use crate::mixed::{same_digests_after_many_writes, MIXED};
use crate::util::{
    assert_same_everywhere, connect, persistent, LiveWriter, LEARNER_DIFF, LEARNER_SNAP,
    LEARNER_TRUNC,
};

const READY: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, PartialEq)]
enum DataDirs {
    /// The new server starts on the old one's files.
    Kept,
    /// The dataDir is emptied (but for `myid`): the member syncs by SNAP.
    Wiped,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apache_ensemble_rolled_to_zkserver_in_place_and_one_member_back() {
    let _turn = MIXED.lock().await;
    rolling_migration(DataDirs::Kept).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apache_ensemble_rolled_to_zkserver_with_wiped_datadirs_and_one_member_back() {
    let _turn = MIXED.lock().await;
    rolling_migration(DataDirs::Wiped).await;
}

async fn rolling_migration(dirs: DataDirs) {
    // snapCount=1000: Apache rolls its log and snapshots during the run, so zkserver starts
    // on a dataDir with several snapshots and log segments.
    let opts = EnsembleOpts::new(3, 0)
        .mixed(&[A, A, A])
        .led_by(3)
        .cfg("snapCount=1000")
        // An Apache leader sends a SNAP instead of a DIFF from its log once the log to send
        // outweighs a third of its snapshot; 0 lifts that, so a kept dataDir is proven used.
        .cfg("snapshotSizeFactor=0")
        .cfg("maxSessionTimeout=60000");
    let Some(mut ens) = Ensemble::start_ready(opts).await else {
        return;
    };
    let setup = connect(&ens.addr(1)).await;
    setup.create("/mig", b"", &persistent()).await.unwrap();
    setup.create("/mig/cas", b"0", &persistent()).await.unwrap();
    let everyone = ens.connect_string();
    let mut writers = Vec::new();
    for _ in 0..3 {
        writers.push(LiveWriter::start(&everyone, "/mig").await);
    }
    let cas = CasWriter::start(&everyone, "/mig/cas").await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Followers first, the leader last.
    let leader = ens.leader().expect("leader");
    let mut order: Vec<u64> = ens.followers();
    order.push(leader);
    for id in order {
        replace(&mut ens, id, Z, dirs).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(ens.ids().iter().all(|&id| ens.member(id).imp == Z));

    // And one follower back to Apache.
    let back = ens.followers()[0];
    replace(&mut ens, back, A, dirs).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut acked = Vec::new();
    for w in writers {
        acked.extend(w.stop().await);
    }
    let (cas_version, went_back) = cas.stop().await;
    assert!(went_back.is_empty(), "versions went back: {went_back:?}");
    assert!(
        cas_version > 10,
        "the CAS writer made progress ({cas_version})"
    );

    let tree = assert_same_everywhere(&ens, &ens.ids(), "/mig").await;
    let missing: Vec<&String> = acked.iter().filter(|p| !tree.contains_key(*p)).collect();
    assert!(
        missing.is_empty(),
        "acknowledged writes lost in the migration: {missing:?}"
    );
    assert!(acked.len() > 100, "writes flowed ({} acked)", acked.len());
    assert!(
        tree["/mig/cas"].stat.version >= cas_version,
        "the last acknowledged CAS version {cas_version} is gone: {:?}",
        tree["/mig/cas"].stat
    );
    same_digests_after_many_writes(&ens).await;
}

/// Stops member `id`, switches it to `to` (with its dataDir kept, exported for Apache, or
/// wiped), starts it and waits until every member serves with one leader.
async fn replace(ens: &mut Ensemble, id: u64, to: Impl, dirs: DataDirs) {
    ens.stop(id);
    match (dirs, to) {
        (DataDirs::Wiped, _) => ens.wipe(id),
        (DataDirs::Kept, A) => export_for_apache(&ens.member(id).data_dir()),
        (DataDirs::Kept, Z) => {}
    }
    ens.set_impl(id, to);
    let from = ens.member(id).log_len();
    ens.start_member(id);
    ens.wait_ready(READY).await;
    assert_eq!(
        ens.mode(id).as_deref().map(|m| m != "standalone"),
        Some(true),
        "member {id} rejoined the ensemble"
    );
    // Kept: the new server loaded the old one's files and needed only the txns it missed.
    let log = ens.member(id).log_since(from);
    let by_snap = log.contains(LEARNER_SNAP);
    let by_log = log.contains(LEARNER_DIFF) || log.contains(LEARNER_TRUNC);
    match dirs {
        DataDirs::Kept => assert!(
            by_log && !by_snap,
            "member {id} ({to:?}) must sync from its own files:\n{log}"
        ),
        DataDirs::Wiped => assert!(by_snap, "member {id} ({to:?}) must sync by SNAP:\n{log}"),
    }
}

/// The README's way back: `zkserver export-apache <dataDir> <out>`, then `<out>` becomes the
/// dataDir (it holds the snapshot, the epoch files and `myid`).
fn export_for_apache(data_dir: &Path) {
    let out = data_dir.with_file_name("exported");
    let status = Command::new(env!("CARGO_BIN_EXE_zkserver"))
        .arg("export-apache")
        .arg(data_dir)
        .arg(&out)
        .status()
        .expect("run zkserver export-apache");
    assert!(status.success(), "export-apache failed: {status}");
    std::fs::remove_dir_all(data_dir).expect("remove the zkserver dataDir");
    std::fs::rename(&out, data_dir).expect("move the export into place");
}

/// One session setting `path` with the version it last saw (compare-and-set), through any
/// member. Every acknowledged set must return the next version, and every re-read (after a
/// lost connection or a refused CAS) must show a version at least as new as the last one
/// acknowledged: a lost acknowledged write or a stale member would show a version going back.
struct CasWriter {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<(i32, Vec<String>)>,
}

impl CasWriter {
    async fn start(connect_string: &str, path: &str) -> CasWriter {
        let c = connect(connect_string).await;
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, path) = (stop.clone(), path.to_string());
        let task = tokio::spawn(async move {
            let mut acked = 0;
            let mut went_back = Vec::new();
            let mut expected = 0;
            while !flag.load(Ordering::SeqCst) {
                match c.set_data(&path, b"v", Some(expected)).await {
                    Ok(stat) => {
                        if stat.version != expected + 1 {
                            went_back.push(format!("set at {expected} gave {}", stat.version));
                        }
                        acked = stat.version;
                        expected = stat.version;
                    }
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        if let Some(seen) = reread(&c, &path).await {
                            if seen < acked {
                                went_back.push(format!("read {seen} after acked {acked}"));
                            }
                            expected = seen;
                        }
                    }
                }
            }
            (acked, went_back)
        });
        CasWriter { stop, task }
    }

    /// Stops; returns the last acknowledged version and every violation seen.
    async fn stop(self) -> (i32, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("CAS writer stops")
            .expect("CAS writer task")
    }
}

/// The current version of `path` after a `sync`, or `None` if the member cannot answer now.
async fn reread(c: &Client, path: &str) -> Option<i32> {
    let r: Result<i32, Error> = async {
        c.sync(path).await?;
        Ok(c.get_data(path).await?.1.version)
    }
    .await;
    r.ok()
}
