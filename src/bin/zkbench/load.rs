//! The throughput/latency load: N sessions × K workers, each worker a closed loop (one
//! request in flight) or, with `--rate`, an open loop on a fixed schedule whose latency
//! counts from the scheduled send time (no coordinated omission). Covers W1–W6 and W11.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;
use zkserver::proto::ErrorCode;

use crate::client::Client;
use crate::codec::Req;
use crate::procfs::CpuWindow;
use crate::setup::{bulk, connect_many, ensure_path, name24, MakeReq};
use crate::stats::{spawn_progress, OpKind, Recorder};
use crate::Error;

/// Parents that creates are spread over (W3: "under 64 parents").
const CREATE_PARENTS: usize = 64;

/// What one load run does.
#[derive(Debug, Clone)]
pub struct LoadCfg {
    pub sessions: usize,
    pub inflight: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub data_size: usize,
    pub keys: usize,
    /// Total ops/s across all workers (open loop); None = closed loop.
    pub rate: Option<f64>,
    pub mix: Vec<(OpKind, u32)>,
    pub base: String,
    pub timeout_ms: i32,
    pub pids: Vec<String>,
}

/// Parses "get=90,set=10".
pub fn parse_mix(s: &str) -> Result<Vec<(OpKind, u32)>, Error> {
    let mut out = Vec::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let (k, w) = part.split_once('=').unwrap_or((part, "1"));
        let kind = OpKind::parse(k.trim()).ok_or_else(|| format!("unknown op {k:?} in --mix"))?;
        out.push((kind, w.trim().parse()?));
    }
    if out.iter().map(|(_, w)| w).sum::<u32>() == 0 {
        return Err("--mix has no weight".into());
    }
    Ok(out)
}

/// xorshift64*: cheap and good enough to pick keys and ops.
fn next_rand(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

struct Worker {
    client: Arc<Client>,
    rec: Arc<Recorder>,
    stop: Arc<AtomicBool>,
    keys: Arc<Vec<String>>,
    mix: Arc<Vec<(OpKind, u32)>>,
    data: Bytes,
    parent: String,
    prefix: String,
    counter: u64,
    rng: u64,
    created: VecDeque<String>,
    period: Option<Duration>,
}

impl Worker {
    fn pick(&mut self) -> OpKind {
        let total: u32 = self.mix.iter().map(|(_, w)| w).sum();
        let mut x = (next_rand(&mut self.rng) % total as u64) as u32;
        for (k, w) in self.mix.iter() {
            if x < *w {
                return *k;
            }
            x -= w;
        }
        self.mix[0].0
    }

    fn fresh_path(&mut self) -> String {
        self.counter += 1;
        format!(
            "{}/{}",
            self.parent,
            name24(&self.prefix, self.counter as usize)
        )
    }

    fn key(&mut self) -> String {
        let i = (next_rand(&mut self.rng) % self.keys.len().max(1) as u64) as usize;
        self.keys.get(i).cloned().unwrap_or_default()
    }

    /// The request for `kind`; a delete with nothing of ours to delete becomes a create.
    fn build(&mut self, kind: OpKind) -> (OpKind, Req) {
        let data = self.data.clone();
        match kind {
            OpKind::Create | OpKind::CreateDel => {
                let path = self.fresh_path();
                (
                    kind,
                    Req::Create {
                        path,
                        data,
                        flags: 0,
                    },
                )
            }
            OpKind::Delete => match self.created.pop_front() {
                Some(path) => (kind, Req::Delete { path }),
                None => self.build(OpKind::Create),
            },
            OpKind::Set => (
                kind,
                Req::SetData {
                    path: self.key(),
                    data,
                },
            ),
            OpKind::Get => (
                kind,
                Req::GetData {
                    path: self.key(),
                    watch: false,
                },
            ),
            OpKind::Exists => (
                kind,
                Req::Exists {
                    path: self.key(),
                    watch: false,
                },
            ),
            OpKind::Children => (
                kind,
                Req::GetChildren {
                    path: self.key(),
                    watch: false,
                },
            ),
            OpKind::Multi => {
                let path = self.fresh_path();
                let ops = vec![
                    Req::Create {
                        path: path.clone(),
                        data,
                        flags: 0,
                    },
                    Req::Delete { path },
                ];
                (kind, Req::Multi(ops))
            }
        }
    }

    async fn run(mut self) {
        let wants_delete = self.mix.iter().any(|(k, _)| *k == OpKind::Delete);
        let mut next = Instant::now();
        if let Some(p) = self.period {
            next += p.mul_f64((next_rand(&mut self.rng) % 1000) as f64 / 1000.0);
        }
        while !self.stop.load(Ordering::Relaxed) {
            let sched = match self.period {
                Some(p) => {
                    tokio::time::sleep_until(next.into()).await;
                    let s = next;
                    next += p;
                    s
                }
                None => Instant::now(),
            };
            let picked = self.pick();
            let (kind, req) = self.build(picked);
            let path = match &req {
                Req::Create { path, .. } => Some(path.clone()),
                _ => None,
            };
            let reply = self.client.call(req).await;
            let lat = sched.elapsed().as_micros() as u64;
            let Ok(reply) = reply else {
                self.rec.record(kind, lat, ErrorCode::ConnectionLoss.code());
                return;
            };
            self.rec.record(kind, lat, reply.err);
            if let (0, Some(path)) = (reply.err, path) {
                if kind == OpKind::CreateDel {
                    self.client.send(Req::Delete { path });
                } else if wants_delete {
                    self.created.push_back(path);
                }
            }
        }
    }
}

/// Creates the key space (`keys` nodes of `data` under `base/k`), reusing it if present.
async fn make_keys(
    servers: &[String],
    base: &str,
    keys: usize,
    data: Bytes,
) -> Result<Vec<String>, Error> {
    let paths: Vec<String> = (0..keys)
        .map(|i| format!("{base}/k/{}", name24("key-", i)))
        .collect();
    let shared = Arc::new(paths.clone());
    let make: MakeReq = Arc::new(move |i| Req::Create {
        path: shared[i].clone(),
        data: data.clone(),
        flags: 0,
    });
    bulk(
        servers,
        keys,
        make,
        4,
        128,
        &[ErrorCode::NodeExists.code()],
        "keys",
    )
    .await?;
    Ok(paths)
}

/// Runs one load and returns its JSON result (without the run metadata).
pub async fn run(servers: &[String], cfg: &LoadCfg) -> Result<Value, Error> {
    let data = Bytes::from(vec![b'x'; cfg.data_size]);
    let uses = |ks: &[OpKind]| cfg.mix.iter().any(|(k, _)| ks.contains(k));
    let admin = Client::connect(&servers[0], cfg.timeout_ms).await?;
    ensure_path(&admin, &format!("{}/k", cfg.base)).await?;
    let writes_new = uses(&[
        OpKind::Create,
        OpKind::CreateDel,
        OpKind::Delete,
        OpKind::Multi,
    ]);
    if writes_new {
        for p in 0..CREATE_PARENTS {
            ensure_path(&admin, &format!("{}/c/p{p:02}", cfg.base)).await?;
        }
    }
    let keys = if uses(&[OpKind::Get, OpKind::Set, OpKind::Exists, OpKind::Children]) {
        make_keys(servers, &cfg.base, cfg.keys, data.clone()).await?
    } else {
        Vec::new()
    };
    admin.close().await;

    let clients = connect_many(servers, cfg.sessions, cfg.timeout_ms).await?;
    let rec = Recorder::new();
    let stop = Arc::new(AtomicBool::new(false));
    let (keys, mix) = (Arc::new(keys), Arc::new(cfg.mix.clone()));
    let workers = cfg.sessions * cfg.inflight;
    let period = cfg
        .rate
        .map(|r| Duration::from_secs_f64(workers as f64 / r.max(1e-3)));
    let stamp = std::process::id() as u64 ^ (Instant::now().elapsed().subsec_nanos() as u64);
    let mut tasks = Vec::with_capacity(workers);
    for (s, client) in clients.iter().enumerate() {
        for k in 0..cfg.inflight {
            let w = Worker {
                client: client.clone(),
                rec: rec.clone(),
                stop: stop.clone(),
                keys: keys.clone(),
                mix: mix.clone(),
                data: data.clone(),
                parent: format!("{}/c/p{:02}", cfg.base, s % CREATE_PARENTS),
                prefix: format!("s{s}w{k}x"),
                counter: 0,
                rng: (stamp ^ ((s * 1000 + k) as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1,
                created: VecDeque::new(),
                period,
            };
            tasks.push(tokio::spawn(w.run()));
        }
    }
    spawn_progress(rec.clone(), "load".into(), stop.clone());
    tokio::time::sleep(cfg.warmup).await;
    rec.start_measuring();
    let cpu = CpuWindow::start(&cfg.pids);
    tokio::time::sleep(cfg.duration).await;
    rec.stop_measuring();
    let mut out = rec.result();
    let ops = out["ops"].as_u64().unwrap_or(0);
    out["resources"] = cpu.finish(ops);
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
    }
    for c in clients {
        if let Ok(c) = Arc::try_unwrap(c) {
            c.close().await;
        }
    }
    Ok(out)
}
