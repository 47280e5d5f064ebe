//! Shared helpers for the integration tests: start a ZooKeeper server (our `zkserver` binary or
//! Apache ZooKeeper 3.8, chosen by env `ZK_IMPL`) on a free port with a temporary dataDir, wait
//! until it answers `srvr`, stop/kill/restart it, and talk four-letter words. Raw jute encoding
//! lives in `jute.rs`, raw client sessions in `raw.rs`, ensembles (several members) in
//! `ensemble.rs`.
#![allow(dead_code)]

pub mod datadir;
pub mod ensemble;
pub mod jute;
pub mod netfault;
pub mod raw;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Which server implementation the tests drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impl {
    ZkServer,
    Apache,
}

/// `ZK_IMPL=apache` selects Apache ZooKeeper; anything else (or unset) selects `zkserver`.
pub fn impl_kind() -> Impl {
    match std::env::var("ZK_IMPL").as_deref() {
        Ok("apache") => Impl::Apache,
        _ => Impl::ZkServer,
    }
}

pub fn is_apache() -> bool {
    impl_kind() == Impl::Apache
}

/// Start-up options: extra zoo.cfg lines (a key given here replaces the default for that key),
/// tickTime and environment variables (`SERVER_JVMFLAGS` is honoured by both implementations).
#[derive(Clone, Debug, Default)]
pub struct Opts {
    pub tick_time: Option<u32>,
    pub cfg: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl Opts {
    pub fn tick(mut self, ms: u32) -> Self {
        self.tick_time = Some(ms);
        self
    }
    pub fn cfg(mut self, line: &str) -> Self {
        self.cfg.push(line.to_string());
        self
    }
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }
}

/// A running server; dropping it kills the process (SIGKILL) and removes the dataDir.
pub struct ZkServer {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    opts: Opts,
}

const JAVA_CP: &str = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar";

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}

/// `None` when Apache is requested but java is missing and `CI` is not `true` (skips loudly);
/// panics in CI so a missing tool cannot turn into a silently green run.
fn java_available() -> bool {
    let ok = Command::new("java")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok && std::env::var("CI").as_deref() == Ok("true") {
        panic!("ZK_IMPL=apache but `java` is not available (CI=true)");
    }
    ok
}

impl ZkServer {
    /// Starts a server; returns `None` (after printing why) only if the test must be skipped.
    pub fn start(opts: Opts) -> Option<ZkServer> {
        if is_apache() && !java_available() {
            eprintln!("SKIPPED: ZK_IMPL=apache but `java` is not installed");
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let mut server = ZkServer {
            port: free_port(),
            dir,
            child: None,
            opts,
        };
        server.spawn();
        Some(server)
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn write_cfg(&self) -> PathBuf {
        let tick = self.opts.tick_time.unwrap_or(2000);
        let mut lines: Vec<String> = vec![
            format!("tickTime={tick}"),
            format!("dataDir={}", self.data_dir().display()),
            format!("clientPort={}", self.port),
            "admin.enableServer=false".into(),
            "4lw.commands.whitelist=*".into(),
        ];
        for extra in &self.opts.cfg {
            let key = extra.split('=').next().unwrap_or("").trim().to_string();
            lines.retain(|l| l.split('=').next().unwrap_or("").trim() != key);
            lines.push(extra.clone());
        }
        let path = self.dir.path().join("zoo.cfg");
        std::fs::write(&path, lines.join("\n") + "\n").expect("write zoo.cfg");
        path
    }

    fn spawn(&mut self) {
        std::fs::create_dir_all(self.data_dir()).expect("create dataDir");
        let cfg = self.write_cfg();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .expect("open server.log");
        let mut cmd = match impl_kind() {
            Impl::ZkServer => Command::new(env!("CARGO_BIN_EXE_zkserver")),
            Impl::Apache => {
                let mut c = Command::new("java");
                c.arg("-Xmx512m");
                for (k, v) in &self.opts.env {
                    if k == "SERVER_JVMFLAGS" {
                        c.args(v.split_whitespace());
                    }
                }
                c.args([
                    "-cp",
                    JAVA_CP,
                    "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                ]);
                c
            }
        };
        cmd.arg(&cfg)
            .envs(self.opts.env.iter().map(|(k, v)| (k, v)));
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log);
        self.child = Some(cmd.spawn().expect("spawn server"));
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("server exited early ({status}); log:\n{}", self.log());
                }
            }
            if let Ok(out) = try_four_letter(self.port, "srvr") {
                if out.contains("Mode:") {
                    return;
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "server did not answer srvr within 30s; log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, wait up to 10 s, then SIGKILL.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops (SIGTERM) and starts again on the same port and dataDir.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for ZkServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends a four-letter word and returns everything the server wrote before closing.
pub fn four_letter(port: u16, cmd: &str) -> String {
    try_four_letter(port, cmd).expect("four-letter word")
}

fn try_four_letter(port: u16, cmd: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(cmd.as_bytes())?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Connects a `zookeeper-client` session to `server`.
pub async fn client(server: &ZkServer) -> zookeeper_client::Client {
    zookeeper_client::Client::connector()
        .with_session_timeout(Duration::from_secs(10))
        .connect(&server.addr())
        .await
        .expect("client connect")
}
