//! zkserver's own log output, read from the file its stderr is redirected to (as with
//! `zkServer.sh start`, `start-foreground > file`, systemd or CI): plain text without terminal
//! escapes, one JSON object per line with `ZKSERVER_LOG_FORMAT=json`, an unknown format refused
//! at start, and a bounded number of lines however hard clients push the warnings they can
//! provoke. These are zkserver's logs, so with `ZK_IMPL=apache` the tests are skipped.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::jute::{op, Enc};
use common::raw::RawConn;
use common::{is_apache, Opts, ZkServer};

/// Lines a call site may write per minute (`zkserver::logging::limit::BURST`).
const BURST: usize = 10;

fn zkserver_only() -> bool {
    if is_apache() {
        eprintln!("SKIPPED: this test reads zkserver's own log format (ZK_IMPL=apache)");
        return false;
    }
    true
}

/// Provokes two warnings: a SASL token without SASL, then an unknown opcode (which closes).
async fn provoke_warnings(port: u16) {
    let (mut c, _) = RawConn::session(port).await;
    assert_eq!(c.call(op::SASL, &Enc::new().buf(b"").bytes()).await.err, 0);
    c.send(60, 99, &[]).await;
    assert_eq!(c.read_reply().await.unwrap().err, -6);
    assert!(c.closed_within(Duration::from_secs(5)).await);
}

/// Waits until the server log satisfies `ready` (log writes are not synchronous with replies).
async fn wait_log(zk: &ZkServer, what: &str, ready: impl Fn(&str) -> bool) -> String {
    for _ in 0..100 {
        let log = zk.log();
        if ready(&log) {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the log never showed {what}:\n{}", zk.log());
}

async fn log_with(zk: &ZkServer, needle: &str) -> String {
    wait_log(zk, needle, |log| log.contains(needle)).await
}

#[tokio::test]
async fn redirected_log_has_no_terminal_escapes() {
    if !zkserver_only() {
        return;
    }
    let Some(zk) = ZkServer::start(Opts::default()) else {
        return;
    };
    provoke_warnings(zk.port).await;
    let log = log_with(&zk, "unimplemented opcode").await;
    assert!(log.contains(" WARN ") && log.contains("op=99"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "terminal escapes in a log written to a file:\n{log:?}"
    );
}

#[tokio::test]
async fn json_format_writes_one_object_per_line() {
    if !zkserver_only() {
        return;
    }
    let opts = Opts::default().env("ZKSERVER_LOG_FORMAT", "json");
    let Some(zk) = ZkServer::start(opts) else {
        return;
    };
    provoke_warnings(zk.port).await;
    let log = log_with(&zk, "unimplemented opcode").await;
    let mut seen_warning = false;
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}\nwhole log:\n{log}"));
        for key in ["timestamp", "level", "target", "message"] {
            assert!(v.get(key).is_some(), "no {key:?} in {line}");
        }
        // Fields sit next to the message, where ELK and Loki pick them up.
        if v["message"] == "unimplemented opcode; answering UNIMPLEMENTED and closing" {
            assert_eq!(v["level"], "WARN", "{line}");
            assert_eq!(v["op"], 99, "{line}");
            assert!(v["client"]
                .as_str()
                .is_some_and(|c| c.starts_with("127.0.0.1:")));
            seen_warning = true;
        }
    }
    assert!(seen_warning, "{log}");
    assert!(!log.contains('\u{1b}'), "{log:?}");
}

#[test]
fn unknown_log_format_is_refused() {
    if !zkserver_only() {
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_zkserver"))
        .arg("/nonexistent/zoo.cfg")
        .env("ZKSERVER_LOG_FORMAT", "xml")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("ZKSERVER_LOG_FORMAT") && stderr.contains("json"),
        "{stderr}"
    );
}

/// Counts lines containing `needle` and checks the limiter's bound, including the note on the
/// last line written.
fn assert_limited(log: &str, needle: &str) {
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(needle)).collect();
    assert_eq!(
        lines.len(),
        BURST,
        "{needle:?} should be written exactly {BURST} times:\n{log}"
    );
    assert!(lines[BURST - 1].contains("rate_limit="), "{log}");
}

/// Every warning a client can provoke at will is rate-limited per call site: thousands of
/// SASL tokens, malformed requests, unknown opcodes, broken handshakes and connections over
/// the per-IP cap leave a few lines each, not one line per packet.
#[tokio::test]
async fn a_client_cannot_flood_the_log() {
    if !zkserver_only() {
        return;
    }
    let Some(zk) = ZkServer::start(Opts::default().cfg("maxClientCnxns=5")) else {
        return;
    };
    const N: i32 = 2000;
    let (mut c, _) = RawConn::session(zk.port).await;
    // Pipelined so the flood takes milliseconds, as a looping client's does.
    for xid in 1..=N {
        c.send(xid, op::SASL, &Enc::new().buf(b"").bytes()).await;
        // A getData whose path is cut short: MARSHALLINGERROR, the session lives on.
        c.send(xid, op::GET_DATA, &[0, 0, 0, 9, b'/']).await;
    }
    for xid in 1..=N {
        assert_eq!(c.read_reply().await.unwrap().xid, xid);
        assert_eq!(c.read_reply().await.unwrap().err, -5);
    }
    for _ in 0..40 {
        // Unknown opcode (answered, then closed) and a broken first frame (closed).
        let (mut u, _) = RawConn::session(zk.port).await;
        u.send(1, 99, &[]).await;
        assert!(u.closed_within(Duration::from_secs(5)).await);
        let mut b = RawConn::open(zk.port).await;
        b.send_raw(&(-5i32).to_be_bytes()).await;
        assert!(b.closed_within(Duration::from_secs(5)).await);
    }
    // Over maxClientCnxns=5 from one address: every extra connection is refused.
    let mut held = Vec::new();
    for _ in 0..40 {
        held.push(tokio::net::TcpStream::connect(("127.0.0.1", zk.port)).await);
    }
    let log = wait_log(&zk, "the refused connections", |log| {
        log.matches("Too many connections").count() >= BURST
    })
    .await;
    drop(held);
    for needle in [
        "SASL token received",
        "malformed request",
        "unimplemented opcode",
        "closing connection before handshake",
        "Too many connections",
    ] {
        assert_limited(&log, needle);
    }
    assert!(
        log.len() < 16 * 1024,
        "{} bytes of log from one client:\n{log}",
        log.len()
    );
}
