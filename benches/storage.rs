//! Group-commit benchmark: fsyncs/s vs txns/s on the real file log (fsync on), with several client
//! threads that each wait for their txn to be durable before sending the next (as ZooKeeper clients
//! waiting for replies do), plus an open-loop firehose and a raw fdatasync probe.
//!
//! Run: `cargo bench --bench storage` (env `BENCH_SECS`, default 3; `BENCH_DIR` for the data dir).

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use zkserver::storage::{FileTxnLog, GroupCommitter, LogOptions};

const TXN: usize = 128;

fn bench_dir() -> tempfile::TempDir {
    match std::env::var("BENCH_DIR") {
        Ok(d) => tempfile::tempdir_in(d).expect("tempdir"),
        Err(_) => tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir"),
    }
}

struct Durable {
    zxid: Mutex<i64>,
    cv: Condvar,
}

fn closed_loop(clients: usize, secs: f64) {
    let dir = bench_dir();
    let log = FileTxnLog::open(dir.path(), LogOptions::default()).expect("open");
    let durable = Arc::new(Durable {
        zxid: Mutex::new(0),
        cv: Condvar::new(),
    });
    let d2 = durable.clone();
    let gc = GroupCommitter::spawn(Box::new(log), move |z| {
        *d2.zxid.lock().expect("lock") = z;
        d2.cv.notify_all();
    })
    .expect("spawn");
    let seq = Arc::new(Mutex::new(0i64));
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let start = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (seq, tx, durable) = (seq.clone(), gc.sender(), durable.clone());
            thread::spawn(move || {
                let payload = Bytes::from(vec![7u8; TXN]);
                let mut lat = Vec::new();
                while Instant::now() < deadline {
                    let t0 = Instant::now();
                    let z = {
                        let mut s = seq.lock().expect("lock");
                        *s += 1;
                        tx.submit(*s, payload.clone()).expect("submit");
                        *s
                    };
                    let mut d = durable.zxid.lock().expect("lock");
                    while *d < z {
                        d = durable.cv.wait(d).expect("wait");
                    }
                    lat.push(t0.elapsed());
                }
                lat
            })
        })
        .collect();
    let mut lat: Vec<Duration> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("join"))
        .collect();
    let elapsed = start.elapsed().as_secs_f64();
    let m = gc.metrics();
    gc.shutdown().expect("shutdown");
    lat.sort();
    let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)].as_micros();
    println!(
        "closed-loop clients={clients:3}  txns/s={:8.0}  fsyncs/s={:6.0}  txns/fsync={:6.1}  last fsync={:5}us max={:6}us  commit p50={}us p99={}us",
        m.txn_count() as f64 / elapsed,
        m.fsync_count() as f64 / elapsed,
        m.txn_count() as f64 / m.fsync_count().max(1) as f64,
        m.last_fsync_micros(),
        m.max_fsync_micros(),
        p(0.5),
        p(0.99),
    );
}

fn firehose(n: i64) {
    let dir = bench_dir();
    let log = FileTxnLog::open(dir.path(), LogOptions::default()).expect("open");
    let done = Arc::new(Durable {
        zxid: Mutex::new(0),
        cv: Condvar::new(),
    });
    let d2 = done.clone();
    let gc = GroupCommitter::spawn(Box::new(log), move |z| {
        *d2.zxid.lock().expect("lock") = z;
        d2.cv.notify_all();
    })
    .expect("spawn");
    let payload = Bytes::from(vec![7u8; TXN]);
    let start = Instant::now();
    for z in 1..=n {
        gc.submit(z, payload.clone()).expect("submit");
    }
    let mut d = done.zxid.lock().expect("lock");
    while *d < n {
        d = done.cv.wait(d).expect("wait");
    }
    drop(d);
    let elapsed = start.elapsed().as_secs_f64();
    let m = gc.metrics();
    gc.shutdown().expect("shutdown");
    println!(
        "firehose    txns={n}  txns/s={:8.0}  fsyncs/s={:6.0}  txns/fsync={:6.1}  max fsync={}us",
        n as f64 / elapsed,
        m.fsync_count() as f64 / elapsed,
        n as f64 / m.fsync_count().max(1) as f64,
        m.max_fsync_micros()
    );
}

/// fdatasync after a 128 B write: sparse preallocation (set_len, what the log does) vs zero-filled.
fn fdatasync_probe(zero_fill: bool, n: usize) {
    let dir = bench_dir();
    let path = dir.path().join("probe");
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .expect("open");
    let size = 64u64 << 20;
    if zero_fill {
        let chunk = vec![0u8; 1 << 20];
        for i in 0..64 {
            f.write_all_at(&chunk, i << 20).expect("fill");
        }
    } else {
        f.set_len(size).expect("set_len");
    }
    f.sync_all().expect("sync");
    let buf = [9u8; TXN];
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        let t0 = Instant::now();
        f.write_all_at(&buf, (i * TXN) as u64).expect("write");
        f.sync_data().expect("fdatasync");
        lat.push(t0.elapsed());
    }
    lat.sort();
    println!(
        "fdatasync   prealloc={:10}  p50={}us p99={}us",
        if zero_fill { "zero-fill" } else { "sparse" },
        lat[n / 2].as_micros(),
        lat[n * 99 / 100].as_micros()
    );
}

fn main() {
    let secs: f64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    fdatasync_probe(false, 500);
    fdatasync_probe(true, 500);
    for clients in [1, 4, 16, 64, 256] {
        closed_loop(clients, secs);
    }
    firehose(200_000);
}
