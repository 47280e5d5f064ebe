//! The Go client most Go services use, go-zookeeper (Debian's
//! `golang-github-samuel-go-zookeeper-dev`, upstream github.com/go-zookeeper/zk), against a
//! real server: `tests/go/reconnect_watches` forces a reconnect and checks that credentials
//! and watches are re-registered (both sent with ordinary positive xids), that the watches
//! fire, and that the client could match every reply. Built offline in GOPATH mode.
//!
//! Needs `go` and the client's source under /usr/share/gocode: with `CI=true` a missing one
//! fails the test, otherwise the test is skipped with a message. Runs against Apache too
//! (`ZK_IMPL=apache`).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{Opts, ZkServer};

const GOPATH: &str = "/usr/share/gocode";
const CLIENT_SRC: &str = "/usr/share/gocode/src/github.com/samuel/go-zookeeper/zk";

/// Skip (or, under CI=true, fail) when an outside tool is missing.
fn require(what: &str, present: bool) -> bool {
    if present {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{what} is required when CI=true (apt-get install golang-go golang-github-samuel-go-zookeeper-dev)");
    }
    eprintln!("SKIPPED: {what} not found; apt-get install golang-go golang-github-samuel-go-zookeeper-dev");
    false
}

/// Builds the Go program; `None` when the toolchain or the client source is missing.
fn build(program: &str) -> Option<PathBuf> {
    let go = Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !require("the Go toolchain (`go`)", go)
        || !require(CLIENT_SRC, Path::new(CLIENT_SRC).is_dir())
    {
        return None;
    }
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go");
    let exe = out_dir.join(program);
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/go")
        .join(program);
    let status = Command::new("go")
        .args(["build", "-o"])
        .arg(&exe)
        .arg(".")
        .current_dir(&src)
        .env("GO111MODULE", "off")
        .env("GOPATH", GOPATH)
        .env("GOPROXY", "off")
        .env("GOFLAGS", "")
        .env("GOCACHE", out_dir.join("cache"))
        .status()
        .expect("run go build");
    assert!(status.success(), "go build of tests/go/{program} failed");
    Some(exe)
}

#[test]
fn go_client_keeps_its_watches_across_a_reconnect() {
    let Some(exe) = build("reconnect_watches") else {
        return;
    };
    let Some(zk) = ZkServer::start(Opts::default()) else {
        return;
    };
    let mut child = Command::new(&exe)
        .arg(zk.addr())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the Go client");
    // The program bounds each of its waits; this only guards against a hung process.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("OK:"),
        "go-zookeeper reconnect check failed ({}):\n{stdout}\n{stderr}\nserver log:\n{}",
        out.status,
        zk.log()
    );
}
