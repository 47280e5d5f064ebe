//! `zkserver`: run a ZooKeeper-compatible server from a zoo.cfg, or an operator tool.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tokio::sync::{mpsc, oneshot};

use zkserver::config::Config;
use zkserver::logging::LogFormat;
use zkserver::runtime::persist::{write_snapshot, DurableLog, Snapshotter};
use zkserver::runtime::recover;
use zkserver::runtime::{Core, CoreMsg};
use zkserver::storage::{GroupCommitter, Storage, StorageOptions};

#[derive(Parser)]
#[command(
    name = "zkserver",
    version = concat!(env!("CARGO_PKG_VERSION"), " (ZooKeeper 3.9 compatible)"),
    about = "A ZooKeeper-compatible coordination server",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    /// Path to zoo.cfg (Java-properties syntax, ZooKeeper's keys).
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the server (same as giving the config path alone).
    Run { config: PathBuf },
    /// Prints every txn of a log segment: zxid, time, session, type, path, size.
    LogDump { file: PathBuf },
    /// Checks a snapshot file and prints its summary; `--nodes` lists every znode.
    SnapshotDump {
        file: PathBuf,
        #[arg(long)]
        nodes: bool,
    },
    /// Cuts a damaged log segment at a record boundary, keeping a backup.
    RepairLog {
        file: PathBuf,
        #[arg(long)]
        offset: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match LogFormat::from_env() {
        Ok(format) => zkserver::logging::init(format),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    }
    match (cli.command, cli.config) {
        (Some(Command::Run { config }), _) | (None, Some(config)) => run_server(&config),
        (Some(Command::LogDump { file }), _) => tool(|| {
            let summary = zkserver::storage::log_dump(&file, &mut std::io::stdout().lock())?;
            Ok(summary.bad.is_none())
        }),
        (Some(Command::SnapshotDump { file, nodes }), _) => {
            tool(|| recover::dump_snapshot(&file, nodes))
        }
        (Some(Command::RepairLog { file, offset }), _) => tool(|| {
            let report = zkserver::storage::repair_log(&file, offset)?;
            println!(
                "cut {} at offset {offset}; backup at {}",
                file.display(),
                report.backup.display()
            );
            for p in report.moved_aside {
                println!("moved later segment aside: {}", p.display());
            }
            Ok(true)
        }),
        (None, None) => {
            eprintln!("usage: zkserver <zoo.cfg>   (see zkserver --help)");
            ExitCode::from(2)
        }
    }
}

fn tool(f: impl FnOnce() -> Result<bool, Box<dyn std::error::Error>>) -> ExitCode {
    match f() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_server(path: &Path) -> ExitCode {
    let flags = std::env::var("SERVER_JVMFLAGS").unwrap_or_default();
    let cfg = match Config::load(path, &flags) {
        Ok(cfg) => Arc::new(cfg),
        Err(e) => {
            eprintln!("Invalid config, exiting abnormally: {e}");
            return ExitCode::from(2);
        }
    };
    for w in &cfg.warnings {
        tracing::warn!("{w}");
    }
    if cfg.is_distributed() {
        eprintln!(
            "{}: server.N lines describe an ensemble; this zkserver version runs standalone only",
            path.display()
        );
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(cfg))
}

async fn serve(cfg: Arc<Config>) -> ExitCode {
    if !cfg.force_sync {
        tracing::warn!("forceSync=no: acknowledged writes can be lost on a crash");
    }
    let opts = StorageOptions {
        pre_alloc_size: cfg.pre_alloc_size_bytes,
        force_sync: cfg.force_sync,
        snap_retain_count: cfg.autopurge_snap_retain_count as usize,
    };
    let (storage, tree) = match recover::open(&cfg, opts) {
        Ok(opened) => opened,
        Err(e) => {
            tracing::error!("cannot load the database: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match zkserver::server::bind(&cfg).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(port = cfg.client_port, "cannot bind the client port: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (core_tx, core_rx) = mpsc::unbounded_channel();
    let Storage {
        log,
        snapshots,
        data_dir,
        log_dir,
        options,
    } = storage;
    let durable_tx = core_tx.clone();
    let committer = match GroupCommitter::spawn(Box::new(log), move |zxid| {
        let _ = durable_tx.send(CoreMsg::Durable { zxid });
    }) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("cannot start the log writer: {e}");
            return ExitCode::FAILURE;
        }
    };
    let snapshots = Arc::new(snapshots);
    let snapshotter = Snapshotter::new(
        snapshots.clone(),
        committer.sender(),
        cfg.snap_count,
        options.snap_retain_count,
    );
    let sink = Box::new(DurableLog {
        sender: committer.sender(),
        metrics: committer.metrics(),
    });
    let core = Core::new(cfg.clone(), tree, sink, core_rx).with_snapshots(snapshotter);
    let core_task = tokio::spawn(core.run());
    tracing::info!(port = cfg.client_port, version = %zkserver::admin::zk_version(), "serving clients");
    let server = tokio::spawn(zkserver::server::serve(
        listener,
        cfg.clone(),
        core_tx.clone(),
    ));
    if cfg.autopurge_purge_interval_hours > 0 {
        let every = Duration::from_secs(u64::from(cfg.autopurge_purge_interval_hours) * 3600);
        let retain = options.snap_retain_count;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let (d, l) = (data_dir.clone(), log_dir.clone());
                match tokio::task::spawn_blocking(move || zkserver::storage::purge(&d, &l, retain))
                    .await
                {
                    Ok(Ok(report)) => tracing::info!("autopurge: {report:?}"),
                    Ok(Err(e)) => tracing::warn!("autopurge failed: {e}"),
                    Err(e) => tracing::warn!("autopurge task failed: {e}"),
                }
            }
        });
    }
    tokio::select! {
        _ = shutdown_signal() => tracing::info!("shutting down"),
        r = core_task => {
            tracing::error!("core task ended unexpectedly: {r:?}");
            return ExitCode::FAILURE;
        }
    }
    server.abort();
    let (done_tx, done_rx) = oneshot::channel();
    let tree = match core_tx.send(CoreMsg::Shutdown { done: done_tx }) {
        Ok(()) => done_rx.await.ok(),
        Err(_) => None,
    };
    // Every submitted txn is flushed; then a snapshot of the applied tree shortens the
    // next start (txns after it are replayed from the log).
    if let Err(e) = committer.shutdown() {
        tracing::error!("flushing the txn log failed: {e}");
        return ExitCode::FAILURE;
    }
    if let Some(tree) = tree {
        write_snapshot(&snapshots, &tree);
    }
    ExitCode::SUCCESS
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
