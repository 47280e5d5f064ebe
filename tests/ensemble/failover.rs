//! SIGKILL of the leader under write load. Two pipelined writer sessions per member create
//! znodes and record every create the server acknowledged; mid-load the leader is killed.
//! A new leader must be elected among the others, the writers on the survivors must get
//! acknowledgements again, and after the old leader is restarted every acknowledged znode
//! must exist — with identical stats — on every member.
//!
//! Also: a leader frozen by SIGSTOP is replaced and rejoins as a follower; every member
//! SIGKILLed at once under load recovers every acknowledged write from disk.
//!
//! `ENSEMBLE_SOAK_ROUNDS=N` repeats the kill/elect/restart cycle N times under the same load
//! (`scripts/ensemble-soak.sh`); CI runs one round.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zookeeper_client::Client;

use crate::common::ensemble::{Ensemble, EnsembleOpts};
use crate::util::{assert_same_everywhere, connect, persistent};

/// What one writer saw.
#[derive(Default)]
struct Record {
    /// Acknowledged creates, with when the acknowledgement arrived.
    acked: Vec<(String, Instant)>,
    errors: usize,
}

/// Creates `/load/<name>-<n>` in pipelined batches until `stop`, recording acknowledgements.
/// Errors (connection loss while the ensemble elects) leave the outcome unknown: not recorded.
async fn writer(c: Client, name: String, stop: Arc<AtomicBool>, rec: Arc<Mutex<Record>>) {
    let opts = persistent();
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let paths: Vec<String> = (0..16)
            .map(|i| format!("/load/{name}-{:06}", n + i))
            .collect();
        n += 16;
        let futs: Vec<_> = paths.iter().map(|p| c.create(p, b"x", &opts)).collect();
        let mut failed = false;
        for (f, p) in futs.into_iter().zip(&paths) {
            match f.await {
                Ok(_) => rec.lock().unwrap().acked.push((p.clone(), Instant::now())),
                Err(_) => {
                    rec.lock().unwrap().errors += 1;
                    failed = true;
                }
            }
        }
        let pause = if failed { 100 } else { 15 };
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
}

type Writer = (u64, Arc<Mutex<Record>>, tokio::task::JoinHandle<()>);

/// Acknowledged creates so far, all writers together.
fn acks(writers: &[Writer]) -> usize {
    writers
        .iter()
        .map(|(_, r, _)| r.lock().unwrap().acked.len())
        .sum()
}

/// Waits for the writer tasks on `members` to stop (they finish their current batch).
async fn join_writers(writers: &mut [Writer], members: &[u64]) {
    for (id, _, task) in writers.iter_mut() {
        if members.contains(id) {
            tokio::time::timeout(Duration::from_secs(40), task)
                .await
                .unwrap_or_else(|_| panic!("writer on member {id} did not stop"))
                .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_sigkill_under_load_loses_no_acknowledged_write() {
    let rounds: usize = std::env::var("ENSEMBLE_SOAK_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    leader_sigkill_scenario(EnsembleOpts::new(3, 0), rounds).await;
}

/// `rounds` times: SIGKILL the leader while two writers per member pipeline creates, check
/// that a new leader serves every survivor's writers, restart the old one; at the end every
/// acknowledged create is on every member.
pub async fn leader_sigkill_scenario(opts: EnsembleOpts, rounds: usize) {
    let Some(mut ens) = Ensemble::start_ready(opts).await else {
        return;
    };
    let first_leader = ens.leader().expect("leader");
    connect(&ens.addr(first_leader))
        .await
        .create("/load", b"", &persistent())
        .await
        .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let mut writers: Vec<Writer> = Vec::new();
    for id in ens.ids() {
        for k in 0..2 {
            let c = connect(&ens.addr(id)).await;
            let rec = Arc::new(Mutex::new(Record::default()));
            let task = tokio::spawn(writer(c, format!("m{id}w{k}"), stop.clone(), rec.clone()));
            writers.push((id, rec, task));
        }
    }

    for round in 1..=rounds {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let before = acks(&writers);
        assert!(
            before > 100,
            "round {round}: load is running ({before} acks)"
        );
        let old_leader = ens.leader().expect("leader");
        ens.kill(old_leader);
        let killed_at = Instant::now();
        let survivors = ens.running_ids();
        let new_leader = ens.wait_serving(&survivors, Duration::from_secs(30)).await;
        assert_ne!(new_leader, old_leader);
        let elected_in = killed_at.elapsed();

        // The surviving writers work against the new leader for a while.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        for (id, rec, _) in &writers {
            if *id == old_leader {
                continue;
            }
            let r = rec.lock().unwrap();
            let after = r.acked.iter().filter(|(_, t)| *t > killed_at).count();
            assert!(
                after > 0,
                "round {round}: writer on member {id}: no acknowledged write after leader \
                 {old_leader} died ({} acks in all, {} errors)",
                r.acked.len(),
                r.errors
            );
        }
        // The old leader's writers still hold requests their client queued while it was
        // down; they go out when it is back.
        ens.start_member(old_leader);
        ens.wait_ready(Duration::from_secs(60)).await;
        eprintln!(
            "round {round}: leader {old_leader} killed, member {new_leader} led after \
             {elected_in:?}; {} acks so far",
            acks(&writers)
        );
    }
    stop.store(true, Ordering::SeqCst);
    join_writers(&mut writers, &ens.ids()).await;

    let tree = assert_same_everywhere(&ens, &ens.ids(), "/load").await;
    let mut total = 0;
    for (id, rec, _) in &writers {
        for (path, _) in &rec.lock().unwrap().acked {
            total += 1;
            if !tree.contains_key(path) {
                ens.fail(&format!(
                    "acknowledged create {path} (writer on member {id}) is missing after the \
                     leader was killed"
                ));
            }
        }
    }
    eprintln!(
        "{total} acknowledged creates all present on every member ({} znodes)",
        tree.len() - 1
    );
}

/// A leader frozen (SIGSTOP, like a long GC pause) for longer than syncLimit is replaced; when
/// it resumes it must step down and follow, not lead a second ensemble, and nothing any
/// writer saw acknowledged may be lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_leader_is_replaced_and_rejoins_as_a_follower() {
    let Some(mut ens) = Ensemble::start_ready(EnsembleOpts::new(3, 0)).await else {
        return;
    };
    let old_leader = ens.leader().expect("leader");
    connect(&ens.addr(old_leader))
        .await
        .create("/load", b"", &persistent())
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers: Vec<Writer> = Vec::new();
    for id in ens.ids() {
        let c = connect(&ens.addr(id)).await;
        let rec = Arc::new(Mutex::new(Record::default()));
        let task = tokio::spawn(writer(c, format!("m{id}"), stop.clone(), rec.clone()));
        writers.push((id, rec, task));
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    ens.pause(old_leader);
    let paused_at = Instant::now();
    let others: Vec<u64> = ens.ids().into_iter().filter(|&i| i != old_leader).collect();
    let new_leader = ens.wait_serving(&others, Duration::from_secs(30)).await;
    assert_ne!(new_leader, old_leader);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    ens.resume(old_leader);
    ens.wait_ready(Duration::from_secs(60)).await;
    assert_eq!(
        ens.leader(),
        Some(new_leader),
        "the resumed member must not lead"
    );
    assert_eq!(ens.mode(old_leader).as_deref(), Some("follower"));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(true, Ordering::SeqCst);
    join_writers(&mut writers, &ens.ids()).await;
    for (id, rec, _) in &writers {
        let r = rec.lock().unwrap();
        let after = r.acked.iter().filter(|(_, t)| *t > paused_at).count();
        assert!(
            after > 0,
            "writer on member {id}: no write acknowledged after the freeze"
        );
    }
    let tree = assert_same_everywhere(&ens, &ens.ids(), "/load").await;
    for (id, rec, _) in &writers {
        for (path, _) in &rec.lock().unwrap().acked {
            if !tree.contains_key(path) {
                ens.fail(&format!(
                    "acknowledged create {path} (member {id}) is missing"
                ));
            }
        }
    }
}

/// Every member SIGKILLed at once under load (a power cut), then all restarted from their
/// disks: they elect again and every acknowledged write is there, identical everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_ensemble_sigkilled_under_load_recovers_every_acknowledged_write() {
    let Some(mut ens) = Ensemble::start_ready(EnsembleOpts::new(3, 0)).await else {
        return;
    };
    let leader = ens.leader().expect("leader");
    connect(&ens.addr(leader))
        .await
        .create("/load", b"", &persistent())
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers: Vec<Writer> = Vec::new();
    for id in ens.ids() {
        let c = connect(&ens.addr(id)).await;
        let rec = Arc::new(Mutex::new(Record::default()));
        let task = tokio::spawn(writer(c, format!("m{id}"), stop.clone(), rec.clone()));
        writers.push((id, rec, task));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for id in ens.ids() {
        ens.kill(id);
    }
    stop.store(true, Ordering::SeqCst);
    let before_cut = acks(&writers);
    assert!(before_cut > 100, "load ran: {before_cut} acks");
    for id in ens.ids() {
        ens.start_member(id);
    }
    ens.wait_ready(Duration::from_secs(60)).await;
    // Requests the clients still held go out once they reconnect; let them settle.
    join_writers(&mut writers, &ens.ids()).await;
    let acked: Vec<(u64, String)> = writers
        .iter()
        .flat_map(|(id, rec, _)| {
            let r = rec.lock().unwrap();
            r.acked
                .iter()
                .map(|(p, _)| (*id, p.clone()))
                .collect::<Vec<_>>()
        })
        .collect();
    let tree = assert_same_everywhere(&ens, &ens.ids(), "/load").await;
    for (id, path) in &acked {
        if !tree.contains_key(path) {
            ens.fail(&format!(
                "acknowledged create {path} (writer on member {id}) lost in the power cut"
            ));
        }
    }
}
