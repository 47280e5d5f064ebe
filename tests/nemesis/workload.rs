//! The clients of a nemesis run: worker tasks, each with its own ZooKeeper session (connect
//! string naming every member, rotated so workers start on different members), doing CAS on
//! one register, unconditional writes, `sync`+reads, plain reads, creates of unique
//! znodes under a log parent, enqueues/dequeues (`queue.rs`) and an exclusive lease
//! (`lease.rs`), recording every operation's invocation and completion.
//! Owns the recording; checking is `checker.rs`, faults are `main.rs`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zookeeper_client::{Client, Error};

use crate::checker::{Call, Op, Outcome};
use crate::lease::{Held, Leaser};
use crate::queue::{dequeue, enqueue, QueueLog};
use crate::util::persistent;

pub const REG: &str = "/nemesis/reg";
pub const LOG: &str = "/nemesis/log";

/// A reply later than this is given up on (an indeterminate write).
const OP_TIMEOUT: Duration = Duration::from_secs(6);
const SESSION_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything the workers recorded.
#[derive(Default)]
pub struct Recorded {
    pub ops: Vec<Op>,
    /// Log znodes whose create was acknowledged.
    pub created: Vec<String>,
    /// Log znodes whose create failed in an unknown way (may exist).
    pub maybe_created: Vec<String>,
    pub sessions: u64,
    /// The queue and counter model (`queue.rs`).
    pub queue: QueueLog,
    /// The lease model's hold intervals (`lease.rs`).
    pub leases: Vec<Held>,
}

/// A tiny seeded generator (splitmix64): schedules and workloads replay from a seed.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo).max(1)
    }
}

pub struct Workers {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    pub rec: Arc<Mutex<Recorded>>,
}

impl Workers {
    /// Starts `n` workers against the members in `addrs`.
    pub fn start(n: usize, addrs: &[String], seed: u64, t0: Instant) -> Workers {
        let stop = Arc::new(AtomicBool::new(false));
        let rec = Arc::new(Mutex::new(Recorded::default()));
        let tasks = (0..n)
            .map(|w| {
                let mut order = addrs.to_vec();
                order.rotate_left(w % addrs.len());
                let connect = order.join(",");
                let rng = Rng::new(seed.wrapping_mul(1000) + w as u64);
                tokio::spawn(worker(w, connect, rng, t0, stop.clone(), rec.clone()))
            })
            .collect();
        Workers { stop, tasks, rec }
    }

    /// Stops the workers (each finishes its current step) and returns the recording.
    pub async fn stop(self) -> Recorded {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.tasks {
            tokio::time::timeout(Duration::from_secs(60), t)
                .await
                .expect("worker stops")
                .expect("worker task");
        }
        std::mem::take(&mut *self.rec.lock().unwrap())
    }
}

fn micros(t0: Instant) -> u64 {
    t0.elapsed().as_micros() as u64
}

/// A new session, retried until `stop`.
async fn session(connect: &str, stop: &AtomicBool) -> Option<Client> {
    while !stop.load(Ordering::SeqCst) {
        let r = Client::connector()
            .with_session_timeout(SESSION_TIMEOUT)
            .with_connection_timeout(Duration::from_secs(2))
            .connect(connect)
            .await;
        match r {
            Ok(c) => return Some(c),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    None
}

pub async fn timed<T>(f: impl std::future::Future<Output = Result<T, Error>>) -> Result<T, Error> {
    tokio::time::timeout(OP_TIMEOUT, f)
        .await
        .unwrap_or(Err(Error::Timeout))
}

fn read_outcome(r: Result<(Vec<u8>, zookeeper_client::Stat), Error>) -> Outcome {
    match r {
        Ok((data, stat)) => Outcome::Read {
            value: String::from_utf8_lossy(&data).into_owned(),
            version: stat.version,
            mzxid: stat.mzxid,
        },
        Err(_) => Outcome::Failed,
    }
}

fn write_outcome(r: Result<zookeeper_client::Stat, Error>) -> Outcome {
    match r {
        Ok(stat) => Outcome::Written {
            version: stat.version,
            mzxid: stat.mzxid,
        },
        Err(Error::BadVersion) => Outcome::BadVersion,
        Err(_) => Outcome::Unknown,
    }
}

/// Whether an error means this session is gone (a new one is needed).
fn session_gone(o: &Outcome) -> bool {
    matches!(o, Outcome::Failed | Outcome::Unknown)
}

async fn worker(
    w: usize,
    connect: String,
    mut rng: Rng,
    t0: Instant,
    stop: Arc<AtomicBool>,
    rec: Arc<Mutex<Recorded>>,
) {
    let mut n = 0u64;
    let mut sess_no = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let Some(c) = session(&connect, &stop).await else {
            return;
        };
        sess_no += 1;
        let session = (w as u64) << 32 | sess_no;
        rec.lock().unwrap().sessions += 1;
        let mut leaser = Leaser::new(&c, session, t0);
        let held = Mutex::new(Vec::new());
        let mut trouble = 0;
        while !stop.load(Ordering::SeqCst) && trouble < 3 {
            n += 1;
            let step = rng.range(0, 13);
            let mut ops = Vec::new();
            if step == 12 {
                if !leaser.step(&c, t0, &held).await {
                    trouble += 1;
                }
            } else if step >= 10 {
                let queue = Mutex::new(QueueLog::default());
                let ok = if step == 10 {
                    enqueue(&c, t0, &queue).await
                } else {
                    dequeue(&c, &mut rng, &queue).await
                };
                merge_queue(&rec, queue.into_inner().unwrap());
                if !ok {
                    trouble += 1;
                }
            } else if step < 5 {
                // Plain read, then CAS on what it saw pipelined with a plain read: FIFO says
                // the second read sees the CAS (or later).
                let inv = micros(t0);
                let out = read_outcome(timed(c.get_data(REG)).await);
                let seen = match &out {
                    Outcome::Read { version, .. } => Some(*version),
                    _ => None,
                };
                ops.push(op(session, Call::Read { synced: false }, inv, t0, out));
                if let Some(v) = seen {
                    let value = format!("w{w}-{n}");
                    let expected = if step == 0 { None } else { Some(v) };
                    let inv = micros(t0);
                    let wf = c.set_data(REG, value.as_bytes(), expected);
                    let inv2 = micros(t0);
                    let rf = c.get_data(REG);
                    let wr = write_outcome(timed(wf).await);
                    ops.push(op(session, Call::Write { value, expected }, inv, t0, wr));
                    let rr = read_outcome(timed(rf).await);
                    ops.push(op(session, Call::Read { synced: false }, inv2, t0, rr));
                }
            } else if step < 8 {
                let inv = micros(t0);
                let sf = c.sync(REG);
                let rf = c.get_data(REG);
                let out = match timed(sf).await {
                    Ok(()) => read_outcome(timed(rf).await),
                    Err(_) => Outcome::Failed,
                };
                ops.push(op(session, Call::Read { synced: true }, inv, t0, out));
            } else {
                let path = format!("{LOG}/w{w}-{n:06}");
                let r = timed(c.create(&path, b"x", &persistent())).await;
                let mut g = rec.lock().unwrap();
                match r {
                    Ok(_) => g.created.push(path),
                    Err(_) => {
                        g.maybe_created.push(path);
                        trouble += 1;
                    }
                }
            }
            let bad = ops.iter().any(|o| session_gone(&o.outcome));
            rec.lock().unwrap().ops.extend(ops);
            if bad {
                trouble += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            } else {
                trouble = 0;
                tokio::time::sleep(Duration::from_millis(rng.range(2, 15))).await;
            }
            if c.state() == zookeeper_client::SessionState::Expired
                || c.state() == zookeeper_client::SessionState::Closed
            {
                break;
            }
        }
        leaser.finish(t0, &held);
        rec.lock()
            .unwrap()
            .leases
            .extend(held.into_inner().unwrap());
    }
}

/// Adds one worker's queue operations to the shared log.
fn merge_queue(rec: &Mutex<Recorded>, q: QueueLog) {
    let mut g = rec.lock().unwrap();
    g.queue.enqueued.extend(q.enqueued);
    g.queue.maybe_enqueued += q.maybe_enqueued;
    g.queue.dequeued.extend(q.dequeued);
    g.queue.maybe_dequeued.extend(q.maybe_dequeued);
}

fn op(session: u64, call: Call, invoke: u64, t0: Instant, outcome: Outcome) -> Op {
    Op {
        session,
        call,
        invoke,
        complete: micros(t0),
        outcome,
    }
}
