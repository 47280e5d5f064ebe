//! TLS on a client listener: tell TLS from plaintext by the first byte (a TLS connection
//! starts with a handshake record, type 22), complete the handshake, take the client
//! certificate's subject as the connection's `x509` id (Apache's
//! `X509AuthenticationProvider`, plus the `super` id for
//! `zookeeper.X509AuthenticationProvider.superUser`), then serve the connection like any other.
//!
//! A plaintext client on the secure port, a failed handshake or a refused certificate is
//! dropped with one log line; nothing reaches the core. Handshakes in progress, failed ones
//! and plaintext connections are counted in `status::TlsStats` (Apache's Netty metrics), and
//! `zookeeper.netty.server.outstandingHandshake.limit` caps the handshakes in progress.
//!
//! Must not: interpret ZooKeeper frames (that is `connection`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;

use super::connection;
use super::throttle::ConnShare;
use crate::config::Config;
use crate::proto::records::Id;
use crate::runtime::{ConnId, CoreTx};
use crate::status::TlsStats;
use crate::tls::{x509, TlsContext};

/// The first byte of every TLS connection: a handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Netty's `SslHandler` default handshake timeout, which Apache's secure port runs with.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Apache's throttle of TLS handshakes in progress (off when not positive).
const HANDSHAKE_LIMIT_KEY: &str = "zookeeper.netty.server.outstandingHandshake.limit";

fn handshake_limit(cfg: &Config) -> i64 {
    cfg.properties
        .get(HANDSHAKE_LIMIT_KEY)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(-1)
}

/// Waits for the connection's first byte without consuming it; `None` on EOF, error or
/// timeout.
async fn first_byte(stream: &TcpStream, wait: Duration) -> Option<u8> {
    let mut b = [0u8; 1];
    match tokio::time::timeout(wait, stream.peek(&mut b)).await {
        Ok(Ok(1)) => Some(b[0]),
        _ => None,
    }
}

/// Serves a connection on a TLS-capable listener; `unified` lets plaintext through too.
#[allow(clippy::too_many_arguments)]
pub async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    id: ConnId,
    cfg: Arc<Config>,
    core: CoreTx,
    share: ConnShare,
    tls: Arc<TlsContext>,
    unified: bool,
) {
    let stats = TlsStats::global();
    // Counted from accept to the end of the handshake (`outstanding_tls_handshake`).
    let Some(handshake) = stats.start_handshake(handshake_limit(&cfg)) else {
        crate::warn_limited!(
            client = %peer,
            "too many TLS handshakes in progress ({HANDSHAKE_LIMIT_KEY}); closing the connection"
        );
        return;
    };
    let wait = if unified {
        Duration::from_millis(tls.settings().handshake_detection_timeout_ms)
    } else {
        HANDSHAKE_TIMEOUT
    };
    match first_byte(&stream, wait).await {
        // Closed (or silent) before a byte: a failed handshake on the secure port (Netty
        // fails its handshake then), just over on a unified port.
        None if unified => return,
        None => return handshake.failed(),
        Some(TLS_HANDSHAKE_RECORD) => {}
        Some(_) if unified => {
            handshake.finish();
            stats.plaintext_connection(peer.ip());
            let (rd, wr) = stream.into_split();
            connection::run(rd, wr, peer, id, cfg, core, share, Vec::new()).await;
            return;
        }
        Some(b) => {
            crate::warn_limited!(
                client = %peer,
                "not an SSL/TLS record (first byte 0x{b:02x}): dropping a plaintext client on the secure client port"
            );
            return handshake.failed();
        }
    }
    let accepted =
        tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.client_acceptor().accept(stream)).await;
    let stream = match accepted {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            crate::warn_limited!(client = %peer, "Unsuccessful TLS handshake: {e}");
            return handshake.failed();
        }
        Err(_) => {
            crate::warn_limited!(client = %peer, "Unsuccessful TLS handshake: timed out after {HANDSHAKE_TIMEOUT:?}");
            return handshake.failed();
        }
    };
    handshake.finish();
    let auth = {
        let (_, conn) = stream.get_ref();
        match conn.peer_certificates().and_then(|c| c.first()) {
            None => Vec::new(),
            Some(cert) => match x509::subject_rfc2253(cert.as_ref()) {
                Ok(subject) => x509_ids(subject, cfg.tls.x509_super_user.as_deref()),
                Err(e) => {
                    crate::warn_limited!(client = %peer, "cannot read the client certificate's subject: {e}; closing");
                    return;
                }
            },
        }
    };
    let (rd, wr) = tokio::io::split(stream);
    connection::run(rd, wr, peer, id, cfg, core, share, auth).await;
}

/// `X509AuthenticationProvider.handleAuthentication`: the `super` id first when the subject
/// is the configured super user, then `x509:<subject>`.
fn x509_ids(subject: String, super_user: Option<&str>) -> Vec<Id> {
    let mut ids = Vec::with_capacity(2);
    if super_user == Some(subject.as_str()) {
        crate::info_limited!("Authenticated Id '{subject}' as super user");
        ids.push(Id {
            scheme: "super".into(),
            id: subject.clone(),
        });
    }
    tracing::debug!("Authenticated Id '{subject}' for Scheme 'x509'");
    ids.push(Id {
        scheme: "x509".into(),
        id: subject,
    });
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn super_user_gets_both_ids() {
        let ids = x509_ids("CN=admin".into(), Some("CN=admin"));
        let got: Vec<(&str, &str)> = ids
            .iter()
            .map(|i| (i.scheme.as_str(), i.id.as_str()))
            .collect();
        assert_eq!(got, [("super", "CN=admin"), ("x509", "CN=admin")]);
        assert_eq!(x509_ids("CN=bob".into(), Some("CN=admin")).len(), 1);
    }
}
