//! `zkserver`: run a ZooKeeper-compatible server from a zoo.cfg, or an operator tool.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tokio::sync::{mpsc, oneshot};

use zkserver::config::Config;
use zkserver::runtime::{Core, CoreMsg};

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ZKSERVER_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = match (cli.command, cli.config) {
        (Some(Command::Run { config }), _) | (None, Some(config)) => config,
        (None, None) => {
            eprintln!("usage: zkserver <zoo.cfg>   (see zkserver --help)");
            return ExitCode::from(2);
        }
    };
    run_server(&config)
}

fn run_server(path: &std::path::Path) -> ExitCode {
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
            "{}: server.N lines describe an ensemble; zkserver runs standalone only in this version",
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
    let listener = match zkserver::server::bind(&cfg).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(port = cfg.client_port, "cannot bind the client port: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (core_tx, core_rx) = mpsc::unbounded_channel();
    let sink = Box::new(zkserver::runtime::sink::Volatile {
        core: core_tx.clone(),
    });
    let core = Core::new(cfg.clone(), zkserver::tree::DataTree::new(), sink, core_rx);
    let core_task = tokio::spawn(core.run());
    tracing::info!(port = cfg.client_port, version = %zkserver::admin::zk_version(), "serving clients");
    let server = tokio::spawn(zkserver::server::serve(
        listener,
        cfg.clone(),
        core_tx.clone(),
    ));
    tokio::select! {
        _ = shutdown_signal() => tracing::info!("shutting down"),
        r = core_task => {
            tracing::error!("core task ended unexpectedly: {r:?}");
            return ExitCode::FAILURE;
        }
    }
    server.abort();
    let (done_tx, done_rx) = oneshot::channel();
    if core_tx.send(CoreMsg::Shutdown { done: done_tx }).is_ok() {
        let _ = done_rx.await;
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
