//! The ensemble under fire: a seeded schedule of faults against a 3-member (or `NEMESIS_MEMBERS`) ensemble of real
//! processes (zkserver, or Apache ZooKeeper 3.8 with `ZK_IMPL=apache`) while clients on
//! every member record a history, then every fault is healed and the history is checked.
//!
//! Faults: leader SIGKILL + restart, follower SIGKILL + restart, leader SIGSTOP for longer
//! than syncLimit then SIGCONT (a zombie leader that must not commit anything), the leader
//! cut from both followers on the peer ports (iptables, `common::netfault`) then healed, one
//! follower cut likewise, one member's peer links made lossy (and so slow) for a while.
//! Each partition must have an effect (a new leader, a follower that
//! stops serving) or the run fails: a partition that cuts nothing would prove nothing.
//!
//! Checks after heal: the CAS register history (writes + `sync`+reads + a final synced read
//! on every member) is linearizable (`checker.rs`); per session, observed versions never go
//! back and writes follow what the session saw (FIFO, plain reads monotonic, read-your-
//! writes); every acknowledged create is on every member, and nothing that was never
//! attempted; every member holds the same tree (data and every Stat field).
//!
//! `NEMESIS_SEEDS=1,2,3` (default `1,2`), `NEMESIS_SECONDS=N` (default 30, per seed) and
//! `NEMESIS_MEMBERS=5` (default 3 voters; two clients per member) size the run; `scripts/nemesis.sh` soaks with many seeds. A failing run keeps the history,
//! the schedule, the seed and every member's log in one folder and prints its path.
#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

#[allow(dead_code)]
#[path = "../ensemble/util.rs"]
mod util;

mod checker;
mod lease;
mod logs;
mod queue;
mod recheck;
mod report;
mod verdict;
mod versions;
mod workload;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use checker::{Call, Op, Outcome};
use common::ensemble::{Ensemble, EnsembleOpts};
use common::netfault::NetFaults;
use report::{capture_panics, note, Evidence, Journal, Summary};
use verdict::{check_history, check_trees};
use workload::{Rng, Workers, LOG, REG};

/// The kinds of fault a schedule draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    LeaderKill,
    FollowerKill,
    LeaderPause,
    LeaderPartition,
    FollowerPartition,
    /// One member's peer links lossy (5–40 % of packets dropped at random, so TCP resends
    /// them after 200 ms or more: lossy and slow), then healed.
    LossyLinks,
}

const ALL: [Fault; 6] = [
    Fault::LeaderKill,
    Fault::FollowerKill,
    Fault::LeaderPause,
    Fault::LeaderPartition,
    Fault::FollowerPartition,
    Fault::LossyLinks,
];

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_fault_schedules_keep_histories_linearizable() {
    let seeds: Vec<u64> = std::env::var("NEMESIS_SEEDS")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let seconds: u64 = env_or("NEMESIS_SECONDS", 30);
    capture_panics();
    let mut total = Summary::default();
    for seed in seeds {
        match run(seed, Duration::from_secs(seconds)).await {
            Some(s) => total.add(&s),
            None => return,
        }
    }
    eprintln!("NEMESIS SUMMARY {}", total.line());
}

/// One seeded run; `None` when it had to skip (no root/iptables, no java for Apache).
async fn run(seed: u64, length: Duration) -> Option<Summary> {
    if !common::netfault::available() {
        return None;
    }
    let base = 41000 + (std::process::id() % 500) * 10;
    let members: usize = env_or("NEMESIS_MEMBERS", 3);
    let opts = EnsembleOpts::new(members, 0).run_as_uids(base);
    let mut ens = Ensemble::prepare(opts)?;
    let mut net = NetFaults::new(&ens, base)?;
    for id in ens.ids() {
        ens.start_member(id);
    }
    ens.wait_ready(Duration::from_secs(60)).await;

    let t0 = Instant::now();
    let journal = Arc::new(Mutex::new(Journal::default()));
    let admin = util::connect(&ens.addr(ens.leader().unwrap())).await;
    for p in ["/nemesis", LOG, queue::QUEUE] {
        admin.create(p, b"", &util::persistent()).await.unwrap();
    }
    admin
        .create(REG, b"init", &util::persistent())
        .await
        .unwrap();
    drop(admin);

    let addrs: Vec<String> = ens.ids().iter().map(|&id| ens.addr(id)).collect();
    let workers = Workers::start(2 * members, &addrs, seed, t0);
    let _evidence = Evidence {
        seed,
        imp: format!("{:?}", ens.imp()),
        logs: ens.members.iter().map(|m| (m.id, m.log_path())).collect(),
        journal: journal.clone(),
        history: workers.rec.clone(),
    };
    note(
        &journal,
        t0,
        format!("seed {seed}: {:?} ensemble ready", ens.imp()),
    );

    let mut rng = Rng::new(seed);
    // Every kind once first (in a seeded order), then random kinds.
    let mut kinds = ALL.to_vec();
    for i in (1..kinds.len()).rev() {
        kinds.swap(i, rng.range(0, i as u64 + 1) as usize);
    }
    let tick = Duration::from_millis(300);
    let sync_limit = tick * 5;
    let mut round = 0;
    while t0.elapsed() < length {
        tokio::time::sleep(Duration::from_millis(rng.range(800, 2000))).await;
        let kind = kinds
            .get(round)
            .copied()
            .unwrap_or_else(|| ALL[rng.range(0, ALL.len() as u64) as usize]);
        round += 1;
        let leader = ens.wait_ready(Duration::from_secs(60)).await;
        let followers: Vec<u64> = ens.ids().into_iter().filter(|&id| id != leader).collect();
        let follower = followers[rng.range(0, followers.len() as u64) as usize];
        let hold = Duration::from_millis(rng.range(500, 2500));
        *journal
            .lock()
            .unwrap()
            .faults
            .entry(format!("{kind:?}"))
            .or_default() += 1;
        match kind {
            Fault::LeaderKill | Fault::FollowerKill => {
                let id = if kind == Fault::LeaderKill {
                    leader
                } else {
                    follower
                };
                note(
                    &journal,
                    t0,
                    format!("{kind:?}: SIGKILL member {id} (leader {leader}), down {hold:?}"),
                );
                ens.kill(id);
                tokio::time::sleep(hold).await;
                ens.start_member(id);
                note(&journal, t0, format!("restarted member {id}"));
            }
            Fault::LeaderPause => {
                let hold = sync_limit + hold + Duration::from_millis(1000);
                note(
                    &journal,
                    t0,
                    format!("{kind:?}: SIGSTOP leader {leader} for {hold:?}"),
                );
                ens.pause(leader);
                tokio::time::sleep(hold).await;
                ens.resume(leader);
                note(&journal, t0, format!("SIGCONT member {leader}"));
            }
            Fault::LossyLinks => {
                let id = if rng.range(0, 2) == 0 {
                    leader
                } else {
                    follower
                };
                let percent = rng.range(5, 41);
                let others: Vec<u64> = ens.ids().into_iter().filter(|&o| o != id).collect();
                let hold = hold * 2;
                note(
                    &journal,
                    t0,
                    format!("{kind:?}: member {id} (leader {leader}) drops {percent}% of peer packets for {hold:?}"),
                );
                net.lossy(id, &others, percent);
                tokio::time::sleep(hold).await;
                net.heal();
                note(&journal, t0, "links healed".into());
            }
            Fault::LeaderPartition | Fault::FollowerPartition => {
                let id = if kind == Fault::LeaderPartition {
                    leader
                } else {
                    follower
                };
                let others: Vec<u64> = ens.ids().into_iter().filter(|&o| o != id).collect();
                note(
                    &journal,
                    t0,
                    format!("{kind:?}: cut member {id} (leader {leader}) from {others:?}"),
                );
                net.isolate(id, &others);
                wait_partition_effect(&ens, kind, id, &others).await;
                note(
                    &journal,
                    t0,
                    format!("partition took effect ({:?})", ens.modes()),
                );
                tokio::time::sleep(hold).await;
                net.heal();
                note(&journal, t0, "healed".into());
            }
        }
    }

    // Heal everything, let the ensemble settle, stop the clients.
    net.heal();
    for id in ens.ids() {
        if !ens.member(id).is_running() {
            ens.start_member(id);
        }
    }
    let leader = ens.wait_ready(Duration::from_secs(60)).await;
    note(
        &journal,
        t0,
        format!("all healed, leader {leader}; stopping clients"),
    );
    let rec_arc = workers.rec.clone();
    let recorded = workers.stop().await;
    *rec_arc.lock().unwrap() = recorded;

    // Final synced read of the register on every member, into the history.
    for id in ens.ids() {
        let c = util::connect(&ens.addr(id)).await;
        let inv = t0.elapsed().as_micros() as u64;
        c.sync(REG).await.unwrap();
        let (data, stat) = c.get_data(REG).await.unwrap();
        rec_arc.lock().unwrap().ops.push(Op {
            session: u64::MAX - id,
            call: Call::Read { synced: true },
            invoke: inv,
            complete: t0.elapsed().as_micros() as u64,
            outcome: Outcome::Read {
                value: String::from_utf8_lossy(&data).into_owned(),
                version: stat.version,
                mzxid: stat.mzxid,
            },
        });
    }

    let summary = {
        let rec = rec_arc.lock().unwrap();
        check_history(&rec, &journal, t0)
    };
    check_trees(&ens, &rec_arc).await;
    if ens.imp() == common::Impl::ZkServer {
        // Apache's learners keep the log tail a SNAP replaced, so only zkserver's logs qualify.
        let logged = logs::check_logs(&ens);
        note(
            &journal,
            t0,
            format!("{logged} logged txns agree across members"),
        );
    }
    let j = journal.lock().unwrap();
    let summary = Summary {
        seeds: 1,
        faults: j.faults.clone(),
        ..summary
    };
    eprintln!("nemesis: seed {seed}: {}", summary.line());
    Some(summary)
}

/// Waits until the partition shows: cutting the leader makes the others elect a new one;
/// a cut follower stops serving. Panics otherwise.
async fn wait_partition_effect(ens: &Ensemble, kind: Fault, id: u64, others: &[u64]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let modes = ens.modes();
        let done = match kind {
            Fault::LeaderPartition => others
                .iter()
                .any(|o| modes.get(o).and_then(|m| m.as_deref()) == Some("leader")),
            _ => modes.get(&id).is_some_and(|m| m.is_none()),
        };
        if done {
            return;
        }
        if Instant::now() > deadline {
            ens.fail(&format!(
                "{kind:?} of member {id} had no effect in 20 s: {modes:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
