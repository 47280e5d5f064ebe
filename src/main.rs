//! `zkserver`: run a ZooKeeper-compatible server from a zoo.cfg, or an operator tool.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use zkserver::config::Config;
use zkserver::logging::LogFormat;
use zkserver::runtime::recover;

/// jemalloc rather than glibc's malloc: the write path allocates many small, short-lived
/// objects from several threads, where glibc spent a fifth of the server's CPU walking its
/// bins (`unlink_chunk`, `malloc_consolidate`). mimalloc was as fast but kept 15 % more RSS.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
    /// Prints every txn of a log segment (zkserver's or Apache's): zxid, time, session, type,
    /// path, size.
    LogDump { file: PathBuf },
    /// Checks a snapshot file (zkserver's or Apache's) and prints its summary; `--nodes` lists
    /// every znode.
    SnapshotDump {
        file: PathBuf,
        #[arg(long)]
        nodes: bool,
    },
    /// Cuts a damaged log segment (zkserver's or Apache's) at a record boundary, keeping a
    /// backup.
    RepairLog {
        file: PathBuf,
        #[arg(long)]
        offset: u64,
    },
    /// Writes the database of a stopped server as an Apache ZooKeeper snapshot in
    /// `<outDir>/version-2/` (with epoch files and myid), to roll a member back to Apache: start
    /// Apache with dataDir (and dataLogDir) = outDir.
    ExportApache {
        data_dir: PathBuf,
        out_dir: PathBuf,
        /// Where the txn log is, when not in dataDir (zoo.cfg's dataLogDir).
        #[arg(long)]
        data_log_dir: Option<PathBuf>,
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
        (
            Some(Command::ExportApache {
                data_dir,
                out_dir,
                data_log_dir,
            }),
            _,
        ) => tool(|| {
            let log_dir = data_log_dir.unwrap_or_else(|| data_dir.clone());
            let r = zkserver::runtime::export::export_apache(&data_dir, &log_dir, &out_dir)?;
            println!(
                "wrote {} (zxid 0x{:x}, {} znodes, {} sessions, digest {})",
                r.snapshot.display(),
                r.zxid,
                r.nodes,
                r.sessions,
                r.digest
            );
            println!(
                "currentEpoch {} acceptedEpoch {}{}",
                r.current_epoch,
                r.accepted_epoch,
                if r.myid_copied { ", myid copied" } else { "" }
            );
            println!(
                "start Apache ZooKeeper with dataDir={0} (and dataLogDir={0} or an empty one)",
                out_dir.display()
            );
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
    runtime.block_on(zkserver::runtime::boot::serve(cfg))
}
