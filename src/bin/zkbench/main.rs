//! zkbench: a lean pipelined load generator for any ZooKeeper-protocol server, used to
//! measure zkserver against Apache ZooKeeper with the same client. Workloads W1–W14 of
//! `shared/PERFORMANCE.md`; one JSON object per run on stdout (or `--json FILE`), a
//! human summary and a progress line per second on stderr.

mod bigchildren;
mod cli;
mod client;
mod codec;
mod fanout;
mod load;
mod procfs;
mod setup;
mod stats;

use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use serde_json::{json, Value};

use crate::cli::{Args, Workload};

/// Errors end a run with a message; nothing here needs to be matched on.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() {
    let args = Args::parse();
    let rt = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    };
    let result = rt
        .map_err(Error::from)
        .and_then(|rt| rt.block_on(run(&args)));
    match result {
        Ok(out) => {
            let line = out.to_string();
            match &args.json {
                Some(path) => {
                    let appended = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .and_then(|mut f| {
                            std::io::Write::write_all(&mut f, format!("{line}\n").as_bytes())
                        });
                    if let Err(e) = appended {
                        eprintln!("zkbench: cannot write {path}: {e}");
                        std::process::exit(1);
                    }
                }
                None => println!("{line}"),
            }
            cli::print_table(&out);
        }
        Err(e) => {
            eprintln!("zkbench: {e}");
            std::process::exit(1);
        }
    }
}

/// Runs the chosen workload and wraps its result with the run's metadata.
async fn run(args: &Args) -> Result<Value, Error> {
    let servers: Vec<String> = args
        .servers
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if servers.is_empty() {
        return Err("--servers is empty".into());
    }
    let run_name = args
        .run
        .clone()
        .unwrap_or_else(|| format!("{}-{}", args.workload.short(), std::process::id()));
    let base = format!("/zkbench/{run_name}");
    let w = &args.workload;
    let (config, result) = match w {
        Workload::MemLoad => {
            let data = Bytes::from(vec![b'x'; args.data_size]);
            let sessions = args.sessions.unwrap_or(8);
            let inflight = args.inflight.unwrap_or(128);
            let r = setup::load_tree(
                &servers,
                &format!("{base}/m"),
                args.parents,
                args.children,
                data,
                sessions,
                inflight,
            )
            .await?;
            (
                json!({ "parents": args.parents, "children": args.children, "sessions": sessions, "inflight": inflight }),
                r,
            )
        }
        Workload::WatchFanout => {
            let r =
                fanout::watch_fanout(&servers, &base, args.watchers, args.timeout_ms, args.conc)
                    .await?;
            (json!({ "watchers": args.watchers, "conc": args.conc }), r)
        }
        Workload::SessionStorm => {
            let n = args.sessions.unwrap_or(1000);
            let r = fanout::session_storm(&servers, &base, n, args.timeout_ms, args.conc).await?;
            (
                json!({ "sessions": n, "timeout_ms": args.timeout_ms, "conc": args.conc }),
                r,
            )
        }
        Workload::BigChildren => {
            let r = bigchildren::big_children(
                &servers,
                &base,
                args.max_children,
                args.step,
                args.samples,
            )
            .await?;
            (
                json!({ "max_children": args.max_children, "step": args.step }),
                r,
            )
        }
        _ => {
            let cfg = cli::load_cfg(args, &base)?;
            let config = json!({
                "sessions": cfg.sessions, "inflight": cfg.inflight, "warmup_s": cfg.warmup.as_secs_f64(),
                "duration_s": cfg.duration.as_secs_f64(), "data_size": cfg.data_size, "keys": cfg.keys,
                "rate": cfg.rate, "mix": cfg.mix.iter().map(|(k, w)| format!("{}={w}", k.name())).collect::<Vec<_>>(),
            });
            (config, load::run(&servers, &cfg).await?)
        }
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    Ok(json!({
        "workload": w.short(),
        "name": w.name(),
        "label": args.label,
        "servers": servers,
        "run": run_name,
        "threads": args.threads,
        "unix_time": now.as_secs(),
        "config": config,
        "result": result,
    }))
}
