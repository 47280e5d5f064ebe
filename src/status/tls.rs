//! TLS facts about client connections, under the names Apache's Netty listener reports them
//! (`ZooKeeperServer.registerMetrics`, `NettyServerCnxnFactory`, `ServerStats`):
//!
//! - `outstanding_tls_handshake`: connections accepted on a TLS-capable client listener (the
//!   secure port, or the client port with `client.portUnification`) whose TLS handshake has
//!   not finished, failed, or turned out to be plaintext yet. Apache counts these only with
//!   `zookeeper.netty.server.outstandingHandshake.limit` > 0 and only on the `clientPort`
//!   listener (its gauge reads that factory alone), so it reports 0 otherwise; zkserver counts
//!   every listener always.
//! - `non_mtls_remote_conn_count` / `non_mtls_local_conn_count`: client connections served
//!   without TLS since startup, from another host / from loopback (cumulative, as Apache's,
//!   and not reset by `srst`). Apache's NIO listener does not count them (0); its Netty
//!   listener does, which is what Apache must run for TLS.
//! - Failed handshakes, which Apache adds to `auth_failed_count` (and to the
//!   `unsuccessful_handshake` counter, kept in `metrics`).
//!
//! One process-wide registry, like `metrics`, so listeners record without the core.
//! Owns: those counts. Must not render or read other state.

use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::OnceLock;

use super::metrics::ServerMetrics;

/// The registry.
#[derive(Debug, Default)]
pub struct TlsStats {
    outstanding: AtomicI64,
    non_mtls_remote: AtomicU64,
    non_mtls_local: AtomicU64,
    failed_handshakes: AtomicU64,
}

/// The copy a status snapshot carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TlsSnapshot {
    pub outstanding_handshakes: i64,
    pub non_mtls_remote: u64,
    pub non_mtls_local: u64,
    /// Added to `auth_failed_count`, as Apache's `CertificateVerifier` does.
    pub failed_handshakes: u64,
}

/// One handshake in progress; it stops counting when finished or dropped (the connection
/// closed or the task ended), so no path can leak a count.
#[derive(Debug)]
pub struct Handshake<'a> {
    stats: &'a TlsStats,
    done: bool,
}

impl Handshake<'_> {
    /// The handshake ended (whatever the outcome, or the peer turned out to be plaintext).
    pub fn finish(mut self) {
        self.end();
    }

    /// The handshake failed: also counted as `unsuccessful_handshake` and an auth failure.
    pub fn failed(mut self) {
        self.stats.failed_handshakes.fetch_add(1, Ordering::Relaxed);
        ServerMetrics::global().unsuccessful_handshake.inc();
        self.end();
    }

    fn end(&mut self) {
        if !std::mem::replace(&mut self.done, true) {
            self.stats.outstanding.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Drop for Handshake<'_> {
    fn drop(&mut self) {
        self.end();
    }
}

impl TlsStats {
    pub fn global() -> &'static TlsStats {
        static GLOBAL: OnceLock<TlsStats> = OnceLock::new();
        GLOBAL.get_or_init(TlsStats::default)
    }

    /// A connection on a TLS-capable listener starts its handshake. With `limit` > 0
    /// (`zookeeper.netty.server.outstandingHandshake.limit`) a handshake past it is refused
    /// (`None`; counted as `tls_handshake_exceeded`), as Apache's throttle does.
    pub fn start_handshake(&self, limit: i64) -> Option<Handshake<'_>> {
        let now = self.outstanding.fetch_add(1, Ordering::Relaxed) + 1;
        if limit > 0 && now > limit {
            self.outstanding.fetch_sub(1, Ordering::Relaxed);
            ServerMetrics::global().tls_handshake_exceeded.inc();
            return None;
        }
        Some(Handshake {
            stats: self,
            done: false,
        })
    }

    /// A client connection is served without TLS.
    pub fn plaintext_connection(&self, peer: IpAddr) {
        let counter = if peer.is_loopback() {
            &self.non_mtls_local
        } else {
            &self.non_mtls_remote
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> TlsSnapshot {
        TlsSnapshot {
            outstanding_handshakes: self.outstanding.load(Ordering::Relaxed),
            non_mtls_remote: self.non_mtls_remote.load(Ordering::Relaxed),
            non_mtls_local: self.non_mtls_local.load(Ordering::Relaxed),
            failed_handshakes: self.failed_handshakes.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn handshakes_count_until_finished_failed_or_dropped_and_the_limit_refuses() {
        let s = TlsStats::default();
        let a = s.start_handshake(0).unwrap();
        let b = s.start_handshake(0).unwrap();
        let c = s.start_handshake(0).unwrap();
        assert_eq!(s.snapshot().outstanding_handshakes, 3);
        a.finish();
        b.failed();
        drop(c);
        let snap = s.snapshot();
        assert_eq!(
            (snap.outstanding_handshakes, snap.failed_handshakes),
            (0, 1)
        );

        let exceeded = ServerMetrics::global().tls_handshake_exceeded.get();
        let first = s.start_handshake(1).unwrap();
        assert!(s.start_handshake(1).is_none());
        assert!(ServerMetrics::global().tls_handshake_exceeded.get() > exceeded);
        assert_eq!(s.snapshot().outstanding_handshakes, 1);
        drop(first);
        assert!(s.start_handshake(1).is_some());
    }

    #[test]
    fn plaintext_connections_are_local_or_remote() {
        let s = TlsStats::default();
        s.plaintext_connection(IpAddr::from([127, 0, 0, 1]));
        s.plaintext_connection("::1".parse().unwrap());
        s.plaintext_connection(IpAddr::from([10, 0, 0, 7]));
        let snap = s.snapshot();
        assert_eq!((snap.non_mtls_local, snap.non_mtls_remote), (2, 1));
    }
}
