//! Setup and teardown with deep pipelines: parent paths, the key space of the read/set
//! workloads, W9's million-node loader and bulk deletes. Every bulk phase reports its
//! own rate, since loading is itself a write-throughput measurement.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{json, Value};
use zkserver::proto::ErrorCode;

use crate::client::Client;
use crate::codec::Req;
use crate::Error;

/// Builds the request for index `i` of a bulk phase.
pub type MakeReq = Arc<dyn Fn(usize) -> Req + Send + Sync>;

/// Creates `path` and its missing ancestors (existing nodes are fine).
pub async fn ensure_path(c: &Client, path: &str) -> Result<(), Error> {
    let cuts = path.match_indices('/').map(|(i, _)| i).filter(|&i| i > 0);
    for i in cuts.chain(std::iter::once(path.len())) {
        let part = &path[..i];
        let r = c
            .call(Req::Create {
                path: part.to_string(),
                data: Bytes::new(),
                flags: 0,
            })
            .await?;
        if r.err != 0 && r.err != ErrorCode::NodeExists.code() {
            return Err(format!("create {part}: error {}", r.err).into());
        }
    }
    Ok(())
}

/// Connects `n` sessions spread round-robin over `servers`.
pub async fn connect_many(
    servers: &[String],
    n: usize,
    timeout_ms: i32,
) -> Result<Vec<Arc<Client>>, Error> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(Arc::new(
            Client::connect(&servers[i % servers.len()], timeout_ms).await?,
        ));
    }
    Ok(out)
}

/// Issues `count` requests made by `make` over `sessions` × `inflight` pipelines.
/// `ok_errs` are error codes that count as success (NodeExists on re-runs, NoNode on
/// deletes). Returns {ops, errors, seconds, rate}.
pub async fn bulk(
    servers: &[String],
    count: usize,
    make: MakeReq,
    sessions: usize,
    inflight: usize,
    ok_errs: &[i32],
    label: &str,
) -> Result<Value, Error> {
    let clients = connect_many(servers, sessions, 30_000).await?;
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let errs = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for c in &clients {
        for _ in 0..inflight {
            let (c, next, done, errs, make) = (
                c.clone(),
                next.clone(),
                done.clone(),
                errs.clone(),
                make.clone(),
            );
            let ok_errs = ok_errs.to_vec();
            tasks.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return;
                    }
                    match c.call(make(i)).await {
                        Ok(r) if r.err == 0 || ok_errs.contains(&r.err) => {}
                        Ok(_) => {
                            errs.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => {
                            errs.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
    }
    let progress = {
        let (done, label) = (done.clone(), label.to_string());
        tokio::spawn(async move {
            let mut last = 0;
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let d = done.load(Ordering::Relaxed);
                eprintln!(
                    "[{label} {:>4}s] {d:>9}/{count}  {:>7} ops/s",
                    t0.elapsed().as_secs(),
                    d - last
                );
                last = d;
            }
        })
    };
    for t in tasks {
        let _ = t.await;
    }
    progress.abort();
    let secs = t0.elapsed().as_secs_f64();
    for c in clients {
        if let Ok(c) = Arc::try_unwrap(c) {
            c.close().await;
        }
    }
    let n = done.load(Ordering::Relaxed);
    Ok(json!({
        "ops": n,
        "errors": errs.load(Ordering::Relaxed),
        "seconds": secs,
        "rate": n as f64 / secs.max(1e-9),
    }))
}

/// A name of exactly 24 bytes for index `i`, the fleet-average znode name length.
pub fn name24(prefix: &str, i: usize) -> String {
    let width = 24usize.saturating_sub(prefix.len());
    format!("{prefix}{i:0width$}")
}

/// W9: `parents` × `children` nodes of `data` under `base`, created with deep pipelines.
pub async fn load_tree(
    servers: &[String],
    base: &str,
    parents: usize,
    children: usize,
    data: Bytes,
    sessions: usize,
    inflight: usize,
) -> Result<Value, Error> {
    let admin = Client::connect(&servers[0], 30_000).await?;
    ensure_path(&admin, base).await?;
    admin.close().await;
    let b = base.to_string();
    let mk_parent: MakeReq = Arc::new(move |i| Req::Create {
        path: format!("{b}/{}", name24("p", i)),
        data: Bytes::new(),
        flags: 0,
    });
    let exists = [ErrorCode::NodeExists.code()];
    let p = bulk(
        servers, parents, mk_parent, sessions, inflight, &exists, "parents",
    )
    .await?;
    let b = base.to_string();
    let mk_child: MakeReq = Arc::new(move |i| Req::Create {
        path: format!(
            "{b}/{}/{}",
            name24("p", i % parents),
            name24("c", i / parents)
        ),
        data: data.clone(),
        flags: 0,
    });
    let c = bulk(
        servers,
        parents * children,
        mk_child,
        sessions,
        inflight,
        &exists,
        "load",
    )
    .await?;
    if c["errors"].as_u64().unwrap_or(0) > 0 {
        eprintln!("[load] {} creates failed", c["errors"]);
    }
    Ok(json!({ "parents": p, "children": c, "znodes": parents * children + parents }))
}
