//! The client listener: accepts TCP connections (with ZooKeeper's per-IP and total caps),
//! answers four-letter words, and runs one task per connection that turns frames into
//! core messages and core output into bytes on the socket.
//!
//! Owns: sockets, framing, handshake decoding, 4lw sniffing. Must not touch the tree.

mod connection;
pub use connection::four_letter_word;
mod limits;
mod throttle;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::config::Config;
use crate::runtime::CoreTx;
use limits::ConnectionLimits;

/// Binds the client port. Separate from `serve` so startup fails early and loudly.
pub async fn bind(cfg: &Config) -> std::io::Result<TcpListener> {
    let ip = cfg
        .client_port_address
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    TcpListener::bind(SocketAddr::new(ip, cfg.client_port)).await
}

/// Accepts connections until the listener fails.
pub async fn serve(listener: TcpListener, cfg: Arc<Config>, core: CoreTx) {
    let limits = Arc::new(ConnectionLimits::new(cfg.max_client_cnxns, cfg.max_cnxns));
    let throttle = throttle::Throttle::new(cfg.global_outstanding_limit);
    let next_id = AtomicU64::new(1);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(permit) = limits.admit(peer.ip()) else {
            crate::status::ServerMetrics::global()
                .connection_rejected
                .inc();
            tracing::warn!(
                "Too many connections from {} - max is {}",
                peer.ip(),
                cfg.max_client_cnxns
            );
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let id = next_id.fetch_add(1, Ordering::Relaxed);
        let (cfg, core, share) = (cfg.clone(), core.clone(), throttle.share());
        tokio::spawn(async move {
            connection::run(stream, peer, id, cfg, core, share).await;
            drop(permit);
        });
    }
}
