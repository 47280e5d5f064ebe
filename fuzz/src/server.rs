//! The whole-server target's server: a real zkserver (the library's `runtime::boot::serve`, as
//! `main` runs it) on its own tokio runtime in a background thread of the fuzzing process, so
//! libFuzzer sees the coverage of everything a fuzzed connection reaches (connection handling,
//! dispatch, prep, the tree, watches, sessions, the log) and a panic anywhere aborts the run.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use zkserver::config::Config;
use zkserver::fuzzing::server::{four_letter, harness_config, Witness};

/// A running server and its witness session.
pub struct Harness {
    pub addr: SocketAddr,
    pub witness: std::sync::Mutex<Witness>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts the server once per process (data in a fresh directory) and waits for `imok`.
pub fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let base = if Path::new("/dev/shm").is_dir() {
            std::path::PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("zkserver-fuzz-server-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("data directory");
        let port = free_port();
        let text = harness_config(&dir.display().to_string(), port);
        let cfg = Config::parse(&text, &dir.join("zoo.cfg"), "").expect("harness config");
        let cfg = Arc::new(cfg);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime");
            let code = rt.block_on(zkserver::runtime::boot::serve(cfg));
            panic!("the server stopped: {code:?}");
        });
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let start = Instant::now();
        while four_letter(addr, "ruok").ok().as_deref() != Some("imok") {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let witness = Witness::start(addr).expect("witness session");
        Harness {
            addr,
            witness: std::sync::Mutex::new(witness),
        }
    })
}
