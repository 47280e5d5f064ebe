//! W14: one parent grown to many children (24-byte names). At each step, getChildren
//! latency and reply size; then a bisection for the exact child count whose reply no
//! longer fits ZooKeeper's 1 MiB packet limit (or that the server refuses), so that the
//! limit can be compared between implementations.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use serde_json::{json, Value};
use zkserver::proto::frame::DEFAULT_MAX_BUFFER;
use zkserver::proto::ErrorCode;

use crate::client::Client;
use crate::codec::Req;
use crate::setup::{bulk, ensure_path, name24, MakeReq};
use crate::stats::{new_hist, summary};
use crate::Error;

/// What one getChildren probe saw.
struct Probe {
    /// Server error code; ConnectionLoss if the server dropped the connection.
    err: i32,
    frame_len: usize,
    children: usize,
}

impl Probe {
    /// A 3.8 Java client refuses frames of `jute.maxbuffer` (0xfffff) bytes or more.
    fn fits(&self) -> bool {
        self.err == 0 && self.frame_len < DEFAULT_MAX_BUFFER
    }
}

struct Grower {
    servers: Vec<String>,
    parent: String,
    count: usize,
}

impl Grower {
    fn child(parent: &str, i: usize) -> String {
        format!("{parent}/{}", name24("c", i))
    }

    /// Adds or removes the highest-numbered children until there are `target`.
    async fn set_count(&mut self, target: usize) -> Result<(), Error> {
        let (parent, from) = (self.parent.clone(), self.count);
        if target > from {
            let make: MakeReq = Arc::new(move |i| Req::Create {
                path: Self::child(&parent, from + i),
                data: Bytes::new(),
                flags: 0,
            });
            bulk(
                &self.servers,
                target - from,
                make,
                2,
                256,
                &[ErrorCode::NodeExists.code()],
                "grow",
            )
            .await?;
        } else if target < from {
            let make: MakeReq = Arc::new(move |i| Req::Delete {
                path: Self::child(&parent, target + i),
            });
            bulk(
                &self.servers,
                from - target,
                make,
                2,
                256,
                &[ErrorCode::NoNode.code()],
                "shrink",
            )
            .await?;
        }
        self.count = target;
        Ok(())
    }

    /// One getChildren on a fresh connection if the old one was dropped.
    async fn probe(&self, c: &mut Client) -> Result<(Probe, u64), Error> {
        let t0 = Instant::now();
        let reply = c
            .call(Req::GetChildren {
                path: self.parent.clone(),
                watch: false,
            })
            .await;
        let us = t0.elapsed().as_micros() as u64;
        Ok(match reply {
            Ok(r) => (
                Probe {
                    err: r.err,
                    frame_len: r.frame_len,
                    children: r.child_count().unwrap_or(0),
                },
                us,
            ),
            Err(_) => {
                *c = Client::connect(&self.servers[0], 30_000).await?;
                (
                    Probe {
                        err: ErrorCode::ConnectionLoss.code(),
                        frame_len: 0,
                        children: 0,
                    },
                    us,
                )
            }
        })
    }
}

/// Grows `base/big` by `step` up to `max` children, probing `samples` times per step.
pub async fn big_children(
    servers: &[String],
    base: &str,
    max: usize,
    step: usize,
    samples: usize,
) -> Result<Value, Error> {
    let parent = format!("{base}/big");
    let mut c = Client::connect(&servers[0], 30_000).await?;
    ensure_path(&c, &parent).await?;
    let mut g = Grower {
        servers: servers.to_vec(),
        parent,
        count: 0,
    };
    let mut points = Vec::new();
    let (mut last_fit, mut first_over) = (0usize, None);
    while g.count < max {
        let target = (g.count + step.max(1)).min(max);
        g.set_count(target).await?;
        let mut hist = new_hist();
        let mut probe = None;
        for _ in 0..samples.max(1) {
            let (p, us) = g.probe(&mut c).await?;
            hist.saturating_record(us);
            probe = Some(p);
        }
        let Some(p) = probe else { break };
        eprintln!(
            "[big] {target} children: p50 {} us, reply {} B, err {}",
            hist.value_at_quantile(0.5),
            p.frame_len,
            p.err
        );
        points.push(json!({ "children": target, "latency": summary(&hist), "reply_bytes": p.frame_len, "err": p.err, "listed": p.children }));
        if p.fits() {
            last_fit = target;
        } else if first_over.is_none() {
            first_over = Some(target);
        }
    }
    let mut limit = None;
    if let Some(mut hi) = first_over {
        let mut lo = last_fit;
        let mut at_limit = None;
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            g.set_count(mid).await?;
            let (p, _) = g.probe(&mut c).await?;
            if p.fits() {
                lo = mid;
            } else {
                hi = mid;
                at_limit = Some(json!({ "err": p.err, "reply_bytes": p.frame_len }));
            }
        }
        limit = Some(json!({ "first_refused_count": hi, "last_ok_count": lo, "probe": at_limit }));
    }
    g.set_count(0).await?;
    c.close().await;
    Ok(json!({ "points": points, "packet_limit": limit, "max_buffer": DEFAULT_MAX_BUFFER }))
}
