//! W12 watch fan-out and W13 session storm: many sessions at once. Sessions connect
//! concurrently (bounded), because connect rate is itself one of the measured figures.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use zkserver::proto::opcode::EventType;
use zkserver::proto::ErrorCode;

use crate::client::Client;
use crate::codec::Req;
use crate::setup::{ensure_path, name24};
use crate::stats::{new_hist, summary};
use crate::Error;

/// Connects `n` sessions (at most `conc` handshakes at a time), each running `then`
/// once connected. Returns the clients in completion order and the elapsed seconds.
async fn connect_all<F, Fut>(
    servers: &[String],
    n: usize,
    timeout_ms: i32,
    conc: usize,
    then: F,
) -> (Vec<Client>, f64, usize)
where
    F: Fn(usize, Client) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = Option<Client>> + Send,
{
    let sem = Arc::new(Semaphore::new(conc.max(1)));
    let t0 = Instant::now();
    let mut set = JoinSet::new();
    for i in 0..n {
        let (sem, addr, then) = (
            sem.clone(),
            servers[i % servers.len()].clone(),
            then.clone(),
        );
        set.spawn(async move {
            let _permit = sem.acquire_owned().await.ok()?;
            let c = Client::connect(&addr, timeout_ms).await.ok()?;
            then(i, c).await
        });
    }
    let mut out = Vec::with_capacity(n);
    let mut failed = 0;
    while let Some(r) = set.join_next().await {
        match r {
            Ok(Some(c)) => out.push(c),
            _ => failed += 1,
        }
    }
    (out, t0.elapsed().as_secs_f64(), failed)
}

/// W12: `n` sessions each set an exists-watch on one node; one setData from another
/// session; reports when the last (and median) notification arrived.
pub async fn watch_fanout(
    servers: &[String],
    base: &str,
    n: usize,
    timeout_ms: i32,
    conc: usize,
) -> Result<Value, Error> {
    let node = format!("{base}/w");
    let admin = Client::connect(&servers[0], timeout_ms).await?;
    ensure_path(&admin, &node).await?;
    let watch_path = node.clone();
    let (mut clients, connect_s, failed) =
        connect_all(servers, n, timeout_ms, conc, move |_, c| {
            let path = watch_path.clone();
            async move {
                let r = c.call(Req::Exists { path, watch: true }).await.ok()?;
                (r.err == 0).then_some(c)
            }
        })
        .await;
    let mut waiters = JoinSet::new();
    for c in clients.iter_mut() {
        if let Some(mut rx) = c.take_events() {
            let want = node.clone();
            waiters.spawn(async move {
                let ev = tokio::time::timeout(Duration::from_secs(60), rx.recv())
                    .await
                    .ok()
                    .flatten()?;
                // NodeDataChanged on the watched node is the only right answer.
                (ev.event_type == EventType::NodeDataChanged as i32 && ev.path == want)
                    .then(Instant::now)
            });
        }
    }
    eprintln!(
        "[watch] {} watchers set in {connect_s:.2}s ({failed} failed); firing",
        clients.len()
    );
    let t0 = Instant::now();
    let set = admin
        .call(Req::SetData {
            path: node,
            data: Bytes::from_static(b"fire"),
        })
        .await?;
    let set_us = t0.elapsed().as_micros() as u64;
    let mut hist = new_hist();
    let mut missing = 0;
    while let Some(r) = waiters.join_next().await {
        match r {
            Ok(Some(at)) => hist.saturating_record(at.duration_since(t0).as_micros() as u64),
            _ => missing += 1,
        }
    }
    let closing = Instant::now();
    close_all(clients, conc).await;
    let close_s = closing.elapsed().as_secs_f64();
    admin.close().await;
    Ok(json!({
        "watchers": n,
        "watchers_set": n - failed,
        "connect_seconds": connect_s,
        "connects_per_s": (n - failed) as f64 / connect_s.max(1e-9),
        "set_err": set.err,
        "set_latency_us": set_us,
        "notified": hist.len(),
        "missing": missing,
        "last_notification_us": hist.max(),
        "notification": summary(&hist),
        "close_seconds": close_s,
    }))
}

/// Closes sessions properly, `conc` at a time.
async fn close_all(clients: Vec<Client>, conc: usize) {
    let sem = Arc::new(Semaphore::new(conc.max(1)));
    let mut set = JoinSet::new();
    for c in clients {
        let sem = sem.clone();
        set.spawn(async move {
            let _p = sem.acquire_owned().await;
            c.close().await
        });
    }
    while set.join_next().await.is_some() {}
}

/// W13: `n` sessions connect and each create an ephemeral under `base/storm`; then all
/// TCP connections drop without closeSession and an observer polls until the parent
/// has no children. Reports the connect rate and the time to expiry.
pub async fn session_storm(
    servers: &[String],
    base: &str,
    n: usize,
    timeout_ms: i32,
    conc: usize,
) -> Result<Value, Error> {
    let parent = format!("{base}/storm");
    let observer = Client::connect(&servers[0], 30_000).await?;
    ensure_path(&observer, &parent).await?;
    let p = parent.clone();
    let (clients, connect_s, failed) = connect_all(servers, n, timeout_ms, conc, move |i, c| {
        let path = format!("{p}/{}", name24("e", i));
        async move {
            let r = c
                .call(Req::Create {
                    path,
                    data: Bytes::new(),
                    flags: 1,
                })
                .await
                .ok()?;
            (r.err == 0 || r.err == ErrorCode::NodeExists.code()).then_some(c)
        }
    })
    .await;
    let negotiated = clients.first().map(|c| c.timeout_ms).unwrap_or(0);
    let distinct = clients
        .iter()
        .map(|c| c.session_id)
        .collect::<std::collections::HashSet<_>>()
        .len();
    let count = |r: Option<crate::codec::Reply>| r.and_then(|r| r.stat()).map(|s| s.num_children);
    let before = count(
        observer
            .call(Req::Exists {
                path: parent.clone(),
                watch: false,
            })
            .await
            .ok(),
    );
    eprintln!(
        "[storm] {} sessions with ephemerals in {connect_s:.2}s ({failed} failed); dropping",
        clients.len()
    );
    let t0 = Instant::now();
    drop(clients);
    let deadline = Duration::from_millis(negotiated.max(timeout_ms) as u64 * 4 + 30_000);
    let mut gone_s = None;
    let mut polls = 0u64;
    while t0.elapsed() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        polls += 1;
        let left = count(
            observer
                .call(Req::Exists {
                    path: parent.clone(),
                    watch: false,
                })
                .await
                .ok(),
        );
        if left == Some(0) {
            gone_s = Some(t0.elapsed().as_secs_f64());
            break;
        }
    }
    observer.close().await;
    Ok(json!({
        "sessions": n,
        "connected": n - failed,
        "connect_seconds": connect_s,
        "connects_per_s": (n - failed) as f64 / connect_s.max(1e-9),
        "ephemerals_before_drop": before,
        "distinct_session_ids": distinct,
        "negotiated_timeout_ms": negotiated,
        "expiry_seconds": gone_s,
        "polls": polls,
    }))
}
