//! CI replay of the fuzz corpora on stable Rust: every input of `fuzz/corpus/<target>/` (the
//! curated corpora: every coverage edge the campaigns reached, grown from real traffic) and `fuzz/regressions/<target>/`
//! (every crash a campaign found, kept after its fix) goes through the same check the libFuzzer
//! target runs (`zkserver::fuzzing`), with the allocation bound measured by the counting
//! allocator. The whole-server corpus is fed over TCP to the real `zkserver` binary (or to
//! Apache ZooKeeper with `ZK_IMPL=apache`), with a witness session checked after every input.
//! libFuzzer itself (nightly + cargo-fuzz) runs only from `scripts/fuzz.sh`, never in CI.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use zkserver::fuzzing;

#[global_allocator]
static ALLOC: fuzzing::alloc::CountingAlloc = fuzzing::alloc::CountingAlloc;

/// The allocation counters are process-wide: tests of this file run one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Every input of a target's corpus and regressions, by path. An empty corpus is an error: the
/// replay must not pass by having nothing to replay.
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut out = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(rd) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for entry in rd {
            let path = entry.unwrap().path();
            if path.is_file() {
                let bytes = std::fs::read(&path).unwrap();
                out.push((path, bytes));
            }
        }
    }
    out.sort();
    assert!(
        out.len() >= 2,
        "fuzz/corpus/{target} is missing or empty (scripts/fuzz.sh curate {target} makes it)"
    );
    out
}

/// Runs `check` over every input, naming the input that fails.
fn replay(target: &str, check: fn(&[u8])) {
    let _serial = serial();
    let inputs = inputs(target);
    for (path, bytes) in &inputs {
        let result = std::panic::catch_unwind(|| check(bytes));
        if let Err(e) = result {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("{target}: {} fails: {msg}", path.display());
        }
    }
    assert!(
        fuzzing::alloc::installed(),
        "the counting allocator is not in use"
    );
    eprintln!("{target}: {} inputs replayed", inputs.len());
}

#[test]
fn client_corpus() {
    replay("client", fuzzing::client::check_connection);
}

#[test]
fn four_letter_corpus() {
    replay("four_letter", fuzzing::client::check_four_letter);
}

#[test]
fn election_corpus() {
    replay("election", fuzzing::quorum::check_election);
}

#[test]
fn quorum_corpus() {
    replay("quorum", fuzzing::quorum::check_quorum_stream);
}

#[test]
fn txn_corpus() {
    replay("txn", fuzzing::txn::check_txns);
}

#[test]
fn apache_snap_corpus() {
    replay("apache_snap", fuzzing::snap::check_apache_snap);
}

#[test]
fn log_corpus() {
    replay("log", fuzzing::storage::check_log);
}

#[test]
fn snapshot_corpus() {
    replay("snapshot", fuzzing::storage::check_snapshot);
}

#[test]
fn zoo_cfg_corpus() {
    replay("zoo_cfg", fuzzing::config::check_zoo_cfg);
}

/// The whole-server corpus against the real binary: every input is a client connection; after
/// each, `ruok` and the witness session's write, read and watch must still work.
#[test]
fn server_corpus() {
    use common::{Opts, ZkServer};
    use fuzzing::server::{feed, Witness, SUPER_DIGEST};
    let opts = Opts::default()
        .tick(100)
        .cfg("maxClientCnxns=0")
        .cfg("forceSync=no")
        .cfg("snapCount=1000000")
        .env(
            "SERVER_JVMFLAGS",
            &format!(
                "-Dzookeeper.DigestAuthenticationProvider.superDigest={SUPER_DIGEST} \
                 -Dzookeeper.extendedTypesEnabled=true"
            ),
        );
    let _serial = serial();
    if common::is_apache() {
        // Run against Apache 3.8 this corpus shows where it is not per-session FIFO: an auth
        // packet is answered at once, ahead of the session's earlier requests, and a passing
        // top-level check is never answered. The harness checks zkserver's stricter order.
        eprintln!("SKIPPED under ZK_IMPL=apache: the harness checks zkserver's reply order");
        return;
    }
    let Some(server) = ZkServer::start(opts) else {
        return;
    };
    let addr = server.addr().parse().unwrap();
    let mut witness = Witness::start(addr).unwrap();
    let inputs = inputs("server");
    for (i, (path, bytes)) in inputs.iter().enumerate() {
        if let Err(e) = feed(addr, bytes).and_then(|()| witness.check()) {
            panic!(
                "server: {} fails: {e}\nserver log:\n{}",
                path.display(),
                server.log()
            );
        }
        if i % 200 == 199 {
            witness.sweep().unwrap();
        }
    }
    eprintln!("server: {} inputs replayed", inputs.len());
    // A fuzzing process starved of CPU between inputs leaves the witness silent past its
    // session timeout (2 s at tickTime 100); its session expires, rightly, and the harness
    // must tell that from a server that closed it (a campaign stopped on this once).
    std::thread::sleep(std::time::Duration::from_millis(2_600));
    if let Err(e) = witness.check() {
        panic!(
            "after a silence past the session timeout: {e}\nserver log:\n{}",
            server.log()
        );
    }
}

/// The allocation bound is not vacuous: a reservation sized by a declared length instead of the
/// bytes present trips it.
#[test]
fn allocation_bound_catches_a_reservation_sized_by_a_declared_length() {
    let _serial = serial();
    fuzzing::alloc::reset();
    let declared = 16 << 20;
    let reserved: Vec<u8> = Vec::with_capacity(declared);
    std::hint::black_box(&reserved);
    drop(reserved);
    let tripped = std::panic::catch_unwind(|| fuzzing::alloc::assert_within("a decoder", 1 << 20));
    assert!(tripped.is_err());
    fuzzing::alloc::reset();
    fuzzing::alloc::assert_within("nothing", 1 << 20);
}
