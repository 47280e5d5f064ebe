//! Startup and shutdown of a server: recover the database, bind every port (failing early
//! with the port named), start the log writer, the peer transport (ensemble) and the core,
//! then serve until SIGTERM/SIGINT, flush and write a final snapshot.

use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use super::core::Ensemble;
use super::peers::{self, PeerAddrs};
use super::persist::{write_snapshot, Snapshotter};
use super::{recover, Core, CoreMsg, Store};
use crate::config::{quorum_verifier_text, Config, PeerType};
use crate::quorum::history::CommittedLog;
use crate::quorum::zxid::epoch_of;
use crate::quorum::{Member, MemberInit, QuorumView, Timing};
use crate::status::ServerMetrics;
use crate::storage::{
    read_epoch, read_sync_base, EpochFile, GroupCommitter, Storage, StorageOptions,
};

/// Runs a server from `cfg` until a shutdown signal; the process exit code.
pub async fn serve(cfg: Arc<Config>) -> ExitCode {
    if !cfg.force_sync {
        tracing::warn!("forceSync=no: acknowledged writes can be lost on a crash");
    }
    ServerMetrics::global().set_fsync_warning_ms(fsync_warning_ms(&cfg));
    // Apache stops at startup too when the JAAS file it was pointed at cannot be used.
    let sasl_users = match crate::sasl::SaslUsers::load(&cfg) {
        Ok(u) => u,
        Err(msg) => {
            tracing::error!("{msg}");
            return ExitCode::FAILURE;
        }
    };
    match (&sasl_users, &cfg.auth.jaas_file) {
        (Some(u), _) => {
            tracing::info!(users = u.len(), section = %cfg.auth.jaas_section, "SASL DIGEST-MD5 enabled")
        }
        (None, Some(path)) => tracing::info!(
            "the JAAS file {} has no '{}' section: client SASL is off",
            path.display(),
            cfg.auth.jaas_section
        ),
        (None, None) => {}
    }
    // Apache stops too when quorum SASL cannot load its sections (`SaslQuorumAuthServer`).
    let quorum_sasl = match crate::sasl::quorum::QuorumSasl::load(&cfg) {
        Ok(q) => q.map(Arc::new),
        Err(msg) => {
            tracing::error!("{msg}");
            return ExitCode::FAILURE;
        }
    };
    match &quorum_sasl {
        Some(q) => tracing::info!(
            server_require = q.server_required,
            learner_require = q.learner_required,
            users = q.users.len(),
            "quorum SASL (DIGEST-MD5) enabled"
        ),
        None => {
            if cfg.is_distributed() {
                tracing::info!("QuorumPeer communication is not secured! (SASL auth disabled)");
            }
        }
    }
    let opts = StorageOptions {
        pre_alloc_size: cfg.pre_alloc_size_bytes,
        force_sync: cfg.force_sync,
        snap_retain_count: cfg.autopurge_snap_retain_count as usize,
    };
    let opened = match recover::open(&cfg, opts, cfg.quorum.commit_log_count) {
        Ok(o) => o,
        Err(e) => {
            tracing::error!("cannot load the database: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (client_tls, quorum_tls) = match tls_contexts(&cfg) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!("cannot set up TLS: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (moves_tx, moves_rx) = tokio::sync::watch::channel(None);
    let listeners = match crate::server::bind(&cfg).await {
        Ok(l) => l,
        Err((port, e)) => {
            tracing::error!(port, "cannot bind the client port {port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let ensemble_ports = if cfg.is_distributed() {
        match bind_peer_ports(&cfg).await {
            Ok(p) => Some(p),
            Err(msg) => {
                tracing::error!("{msg}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let (core_tx, core_rx) = mpsc::unbounded_channel();
    let Storage {
        log,
        snapshots,
        data_dir,
        log_dir,
        options,
    } = opened.storage;
    let log_segments = log.dir().to_path_buf();
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
    let sync_base = match read_sync_base(&data_dir) {
        Ok(z) => z,
        Err(e) => {
            tracing::error!("cannot read the last SNAP's zxid: {e}");
            return ExitCode::FAILURE;
        }
    };
    let store = Store {
        sync_base: sync_base.into(),
        log: committer.sender(),
        metrics: committer.metrics(),
        snapshots: snapshots.clone(),
        data_dir: data_dir.clone(),
        log_segments,
    };
    let mut tree = opened.tree;
    let core = match ensemble_ports {
        None => {
            let member = Member::standalone(cfg.server_id, tree.last_zxid());
            Core::new(cfg.clone(), tree, member, store, core_rx)
        }
        Some(ports) => {
            let epochs = match read_epochs(&cfg, tree.last_zxid()) {
                Ok(e) => e,
                Err(msg) => {
                    tracing::error!("{msg}");
                    return ExitCode::FAILURE;
                }
            };
            super::reconfig::backup_static_config(&cfg);
            let config_text = quorum_verifier_text(cfg.servers.values(), cfg.config_version);
            tree.init_config_node(
                config_text.as_bytes(),
                super::core::now_ms(),
                cfg.config_version,
            );
            let member = ensemble_member(&cfg, &tree, epochs, &config_text, opened.recent);
            let mut core = Core::new(cfg.clone(), tree, member, store, core_rx);
            core.ensemble = Some(start_peers(
                &cfg,
                ports,
                core_tx.clone(),
                config_text,
                (quorum_tls, quorum_sasl),
            ));
            core
        }
    }
    .with_snapshots(snapshotter)
    .with_sasl(sasl_users)
    .with_client_moves(moves_tx);
    let core_task = tokio::spawn(core.run());
    tracing::info!(
        port = cfg.client_port,
        secure_port = cfg.secure_client_port,
        version = %crate::admin::zk_version(),
        "listening for clients"
    );
    let servers = crate::server::serve(
        listeners,
        cfg.clone(),
        core_tx.clone(),
        client_tls,
        moves_rx,
    );
    let admin_tasks = crate::admin::start(&cfg, &super::status::handle(core_tx.clone())).await;
    spawn_autopurge(&cfg, data_dir, log_dir, options.snap_retain_count);
    tokio::select! {
        _ = shutdown_signal() => tracing::info!("shutting down"),
        r = core_task => {
            tracing::error!("core task ended unexpectedly: {r:?}");
            return ExitCode::FAILURE;
        }
    }
    for s in servers {
        s.abort();
    }
    for t in admin_tasks {
        t.abort();
    }
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

/// How often changed key/trust store files are looked for, when reloading is on.
const CERT_RELOAD_EVERY: Duration = Duration::from_secs(1);

/// The client and quorum TLS contexts the configuration asks for, with their reloaders.
/// A missing or unreadable store file is an error naming the key, its line and the path.
type TlsContexts = (
    Option<Arc<crate::tls::TlsContext>>,
    Option<Arc<crate::tls::TlsContext>>,
);

fn tls_contexts(cfg: &Config) -> Result<TlsContexts, crate::tls::TlsError> {
    use crate::tls::{Role, TlsContext};
    let client = if cfg.tls.client_tls_used(cfg.secure_client_port) {
        let ctx = TlsContext::new(&cfg.tls.client, Role::Client)?;
        if cfg.tls.client_cert_reload {
            ctx.spawn_reloader(CERT_RELOAD_EVERY);
        }
        Some(ctx)
    } else {
        None
    };
    let quorum = if cfg.is_distributed() && cfg.tls.quorum_tls_used() {
        let ctx = TlsContext::new(&cfg.tls.quorum, Role::Quorum)?;
        if cfg.tls.quorum_cert_reload {
            ctx.spawn_reloader(CERT_RELOAD_EVERY);
        }
        Some(ctx)
    } else {
        None
    };
    Ok((client, quorum))
}

/// The election and quorum listeners of this member's `server.N` line.
struct PeerPorts {
    election: TcpListener,
    quorum: TcpListener,
}

async fn bind_peer_ports(cfg: &Config) -> Result<PeerPorts, String> {
    let Some(me) = cfg.me() else {
        return Err(format!("myid {} has no server.{0} line", cfg.server_id));
    };
    let bind = |port: u16, what: &'static str| async move {
        let addr = peers::bind_addr(cfg, port)
            .map_err(|e| format!("cannot resolve the {what} address {}:{port}: {e}", me.host))?;
        TcpListener::bind(addr).await.map_err(|e| {
            format!(
                "cannot bind the {what} port {addr} (server.{}): {e}",
                cfg.server_id
            )
        })
    };
    let election = bind(me.election_port, "election").await?;
    let quorum = bind(me.quorum_port, "quorum").await?;
    Ok(PeerPorts { election, quorum })
}

/// `acceptedEpoch` / `currentEpoch` as Apache reads them: a missing file starts at the epoch
/// of the last zxid; accepted below current is a corrupt state.
fn read_epochs(cfg: &Config, last_zxid: i64) -> Result<(i64, i64), String> {
    let read = |which: EpochFile| {
        read_epoch(&cfg.data_dir, which)
            .map(|v| v.unwrap_or_else(|| epoch_of(last_zxid)))
            .map_err(|e| e.to_string())
    };
    let current = read(EpochFile::Current)?;
    let accepted = read(EpochFile::Accepted)?;
    if epoch_of(last_zxid) > current {
        return Err(format!(
            "The current epoch, {current}, is older than the last zxid, 0x{last_zxid:x} (currentEpoch in {})",
            cfg.data_dir.display()
        ));
    }
    if accepted < current {
        return Err(format!(
            "The accepted epoch, {accepted} is less than the current epoch, {current} (in {})",
            cfg.data_dir.display()
        ));
    }
    Ok((accepted, current))
}

fn ensemble_member(
    cfg: &Config,
    tree: &crate::tree::DataTree,
    (accepted_epoch, current_epoch): (i64, i64),
    config_text: &str,
    recent: Vec<(i64, Bytes)>,
) -> Member {
    let (voters, observers) = peers::members(cfg);
    let view = QuorumView::new(voters, observers, Bytes::from(config_text.to_string()))
        .with_version(cfg.config_version);
    let mut committed = CommittedLog::new(cfg.quorum.commit_log_count);
    for (z, t) in recent {
        committed.push(z, t);
    }
    let timing = Timing {
        tick_ms: u64::from(cfg.tick_time_ms),
        init_limit: u64::from(cfg.init_limit),
        sync_limit: u64::from(cfg.sync_limit),
        min_notification_ms: cfg.quorum.min_notification_ms,
        max_notification_ms: cfg.quorum.max_notification_ms,
        finalize_wait_ms: 200,
    };
    tracing::info!(
        myid = cfg.server_id,
        accepted_epoch,
        current_epoch,
        last_zxid = format_args!("0x{:x}", tree.last_zxid()),
        "starting as an ensemble member"
    );
    Member::new(MemberInit {
        me: cfg.server_id,
        observer: cfg.peer_type == PeerType::Observer,
        view,
        timing,
        last_zxid: tree.last_zxid(),
        accepted_epoch,
        current_epoch,
        committed,
        force_snap: cfg.quorum.force_snapshot_sync,
        reconfig_enabled: cfg.reconfig_enabled,
        last_seen: super::reconfig::read_last_seen(cfg),
    })
}

fn start_peers(
    cfg: &Config,
    ports: PeerPorts,
    core_tx: super::CoreTx,
    config_text: String,
    (tls, auth): (Option<Arc<crate::tls::TlsContext>>, peers::auth::PeerAuth),
) -> Ensemble {
    let mut addrs = PeerAddrs::from_config(cfg);
    addrs.transport = peers::stream::Transport::new(cfg, tls);
    addrs.auth = auth;
    let addrs = Arc::new(addrs);
    let handshake = Duration::from_millis(u64::from(cfg.tick_time_ms) * u64::from(cfg.sync_limit));
    let election = peers::election::start(
        cfg.server_id,
        ports.election,
        addrs.clone(),
        core_tx.clone(),
        handshake,
    );
    tokio::spawn(peers::links::accept_learners(
        ports.quorum,
        core_tx.clone(),
        Arc::new(AtomicU64::new(1)),
        cfg.quorum.max_packet,
        addrs.transport.clone(),
        addrs.auth.clone(),
    ));
    Ensemble {
        election,
        addrs,
        links: Default::default(),
        parked: Vec::new(),
        core_tx,
        config_text,
    }
}

fn spawn_autopurge(
    cfg: &Config,
    data_dir: std::path::PathBuf,
    log_dir: std::path::PathBuf,
    retain: usize,
) {
    if cfg.autopurge_purge_interval_hours == 0 {
        return;
    }
    let every = Duration::from_secs(u64::from(cfg.autopurge_purge_interval_hours) * 3600);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let (d, l) = (data_dir.clone(), log_dir.clone());
            match tokio::task::spawn_blocking(move || crate::storage::purge(&d, &l, retain)).await {
                Ok(Ok(report)) => tracing::info!("autopurge: {report:?}"),
                Ok(Err(e)) => tracing::warn!("autopurge failed: {e}"),
                Err(e) => tracing::warn!("autopurge task failed: {e}"),
            }
        }
    });
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

/// ZooKeeper's `zookeeper.fsync.warningthresholdms` (falling back to
/// `fsync.warningthresholdms`, default 1000 ms): fsyncs slower than this are logged.
fn fsync_warning_ms(cfg: &Config) -> u64 {
    [
        "zookeeper.fsync.warningthresholdms",
        "fsync.warningthresholdms",
    ]
    .iter()
    .find_map(|k| cfg.properties.get(*k).and_then(|v| v.trim().parse().ok()))
    .unwrap_or(1000)
}
