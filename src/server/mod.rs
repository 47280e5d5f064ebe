//! The client listeners: `clientPort` (plaintext, or plaintext and TLS with
//! `client.portUnification`) and `secureClientPort` (TLS only). Each accepts TCP connections
//! (with ZooKeeper's per-IP and total caps), answers four-letter words, and runs one task per
//! connection that turns frames into core messages and core output into bytes on the socket.
//! A reconfig that gives this member another client address moves the `clientPort` listener.
//!
//! Owns: sockets, TLS accept, framing, handshake decoding, 4lw sniffing. Must not touch the tree.

mod connection;
pub use connection::four_letter_word;
mod limits;
mod secure;
mod throttle;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::runtime::CoreTx;
use crate::tls::TlsContext;
use limits::ConnectionLimits;

/// The bound client listeners; either may be absent (Apache allows a TLS-only server).
pub struct Listeners {
    pub plain: Option<TcpListener>,
    pub secure: Option<TcpListener>,
}

/// What a listener does with a new connection.
#[derive(Clone)]
enum Kind {
    Plain,
    /// `clientPort` with `client.portUnification`: TLS if the first byte says so.
    Unified(Arc<TlsContext>),
    /// `secureClientPort`: TLS only; anything else is dropped with a log line.
    Secure(Arc<TlsContext>),
}

/// Binds the client ports. Separate from `serve` so startup fails early and loudly; the
/// error names the port that could not be bound.
pub async fn bind(cfg: &Config) -> Result<Listeners, (u16, std::io::Error)> {
    let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    let plain = match cfg.client_port {
        0 => None,
        port => {
            let ip = cfg.client_port_address.unwrap_or(any);
            Some(
                TcpListener::bind(SocketAddr::new(ip, port))
                    .await
                    .map_err(|e| (port, e))?,
            )
        }
    };
    let secure = match cfg.secure_client_port {
        None => None,
        Some(port) => {
            let ip = cfg.secure_client_port_address.unwrap_or(any);
            Some(
                TcpListener::bind(SocketAddr::new(ip, port))
                    .await
                    .map_err(|e| (port, e))?,
            )
        }
    };
    Ok(Listeners { plain, secure })
}

/// State shared by every listener.
struct Shared {
    cfg: Arc<Config>,
    core: CoreTx,
    throttle: Arc<throttle::Throttle>,
    next_id: AtomicU64,
}

/// Where the `clientPort` listener should be: a reconfig that gives this member another
/// client address moves it there (`cnxnFactory.reconfigure`); connections already open stay.
pub type ClientAddress = tokio::sync::watch::Receiver<Option<SocketAddr>>;

/// Starts accepting on every bound listener. `tls` is required when a secure port or port
/// unification is configured (boot builds it first, so a bad store stops startup).
pub fn serve(
    listeners: Listeners,
    cfg: Arc<Config>,
    core: CoreTx,
    tls: Option<Arc<TlsContext>>,
    moves: ClientAddress,
) -> Vec<JoinHandle<()>> {
    let shared = Arc::new(Shared {
        throttle: throttle::Throttle::new(cfg.global_outstanding_limit),
        cfg: cfg.clone(),
        core,
        next_id: AtomicU64::new(1),
    });
    let mut tasks = Vec::new();
    if let Some(l) = listeners.plain {
        let kind = match (&tls, cfg.tls.client_port_unification) {
            (Some(t), true) => Kind::Unified(t.clone()),
            _ => Kind::Plain,
        };
        tasks.push(tokio::spawn(accept_loop(
            l,
            kind,
            shared.clone(),
            Some(moves),
        )));
    }
    if let (Some(l), Some(t)) = (listeners.secure, &tls) {
        tasks.push(tokio::spawn(accept_loop(
            l,
            Kind::Secure(t.clone()),
            shared.clone(),
            None,
        )));
    }
    tasks
}

/// Accepts connections until the listener fails. Each listener has its own connection caps,
/// as each of Apache's connection factories does.
async fn accept_loop(
    mut listener: TcpListener,
    kind: Kind,
    shared: Arc<Shared>,
    mut moves: Option<ClientAddress>,
) {
    let cfg = &shared.cfg;
    let limits = Arc::new(ConnectionLimits::new(cfg.max_client_cnxns, cfg.max_cnxns));
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            Some(to) = next_move(&mut moves) => {
                move_listener(&mut listener, to).await;
                continue;
            }
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                crate::warn_limited!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(permit) = limits.admit(peer.ip()) else {
            crate::status::ServerMetrics::global()
                .connection_rejected
                .inc();
            crate::warn_limited!(
                "Too many connections from {} - max is {}",
                peer.ip(),
                cfg.max_client_cnxns
            );
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        let (cfg, core, share) = (cfg.clone(), shared.core.clone(), shared.throttle.share());
        let kind = kind.clone();
        tokio::spawn(async move {
            match kind {
                Kind::Plain => {
                    crate::status::TlsStats::global().plaintext_connection(peer.ip());
                    let (rd, wr) = stream.into_split();
                    connection::run(rd, wr, peer, id, cfg, core, share, Vec::new()).await;
                }
                Kind::Unified(tls) => {
                    secure::serve(stream, peer, id, cfg, core, share, tls, true).await;
                }
                Kind::Secure(tls) => {
                    secure::serve(stream, peer, id, cfg, core, share, tls, false).await;
                }
            }
            drop(permit);
        });
    }
}

/// The next address the listener must move to; pending forever without a move channel (or
/// once its sender is gone).
async fn next_move(moves: &mut Option<ClientAddress>) -> Option<SocketAddr> {
    let Some(rx) = moves.as_mut() else {
        return std::future::pending().await;
    };
    loop {
        if rx.changed().await.is_err() {
            *moves = None;
            return std::future::pending().await;
        }
        if let Some(to) = *rx.borrow_and_update() {
            return Some(to);
        }
    }
}

/// Binds `to` and accepts there from now on; if it cannot be bound the old address stays.
/// The same port on another address (e.g. `0.0.0.0` → `127.0.0.1`) can only be bound once the
/// old listener is closed, so that one is closed first and bound again on failure.
async fn move_listener(listener: &mut TcpListener, to: SocketAddr) {
    let Ok(from) = listener.local_addr() else {
        return;
    };
    if from == to {
        return;
    }
    if from.port() == to.port() {
        let placeholder = match TcpListener::bind(SocketAddr::new(from.ip(), 0)).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(%to, "cannot move the client port: {e}");
                return;
            }
        };
        drop(std::mem::replace(listener, placeholder));
    }
    match TcpListener::bind(to).await {
        Ok(l) => {
            tracing::info!(%from, %to, "client port moved by a reconfiguration");
            *listener = l;
        }
        Err(e) => {
            tracing::error!(%to, "cannot move the client port there: {e}; staying on {from}");
            if from.port() == to.port() {
                match TcpListener::bind(from).await {
                    Ok(l) => *listener = l,
                    Err(e) => {
                        tracing::error!(%from, "cannot listen on the old client port again: {e}")
                    }
                }
            }
        }
    }
}
