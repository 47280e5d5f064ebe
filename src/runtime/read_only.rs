//! Read-only mode (`-Dreadonlymode.enabled=true`), as Apache's `ReadOnlyZooKeeperServer`: a
//! member that has been LOOKING for max(2 s, tickTime) serves clients that said they can live
//! with a read-only server (`canBeReadOnly`, the handshake's last byte) from its own tree:
//! reads answer, writes and `sync` get NOTREADONLY (-119), new sessions are kept on the member
//! without txns (Apache 3.8 manages that only with `localSessionsEnabled=true`; without it its
//! read-only createSession fails with a bare NOTREADONLY reply header no client can parse).
//! Reconnects of global sessions and clients without `canBeReadOnly` are refused (the socket
//! is closed), as Apache does. When the member leaves LOOKING every read-only connection is
//! closed; the clients then look for a read-write server.
//!
//! Owns: when read-only service starts and stops, and what a read-only member answers. Must
//! not: write to the tree or propose anything.

use std::time::{Duration, Instant};

use super::core::{Core, Item};
use super::ConnId;
use crate::proto::records::ConnectRequest;
use crate::proto::request::Request;
use crate::proto::ErrorCode;
use crate::quorum::member::Mode;

/// Apache's lower bound on the grace period before a LOOKING member serves read-only.
const MIN_GRACE: Duration = Duration::from_secs(2);

impl Core {
    /// On every quorum tick: starts or stops read-only service as the peer state requires.
    pub(super) fn update_read_only(&mut self) {
        if !self.cfg.read_only_mode_enabled || self.ensemble.is_none() {
            return;
        }
        let looking = self.member.mode() == Mode::Looking && !self.member.is_serving();
        if !looking {
            self.looking_since = None;
            if self.read_only_serving {
                self.stop_read_only();
            }
            return;
        }
        let since = *self.looking_since.get_or_insert_with(Instant::now);
        let grace = MIN_GRACE.max(Duration::from_millis(u64::from(self.cfg.tick_time_ms)));
        if !self.read_only_serving && since.elapsed() >= grace {
            self.read_only_serving = true;
            tracing::info!(
                zxid = format_args!("0x{:x}", self.tree.last_zxid()),
                "Read-only server started"
            );
        }
    }

    fn stop_read_only(&mut self) {
        self.read_only_serving = false;
        tracing::info!("Read-only server stopped: closing its connections");
        self.close_all_clients();
    }

    /// Whether a handshake may go on while this member is not serving read-write (it is
    /// closed otherwise). Logs a refused read-write client as Apache does.
    pub(super) fn read_only_admits(&self, req: &ConnectRequest, addr: std::net::IpAddr) -> bool {
        if !self.read_only_serving {
            return false;
        }
        if req.read_only != Some(true) {
            crate::info_limited!(
                client = %addr,
                "Refusing session request for not-read-only client"
            );
            return false;
        }
        true
    }

    /// A reconnect to a global session: refused, as Apache refuses it (only the quorum may
    /// say whether a global session is still alive). The socket is closed.
    pub(super) fn read_only_reconnect(&mut self, session: i64) {
        let Some(c) = self.connecting.remove(&session) else {
            return;
        };
        if let Some(conn) = self.conns.get(&c.conn) {
            crate::info_limited!(
                client = %conn.addr,
                session = format_args!("{session:#x}"),
                "Refusing global session reconnection in RO mode"
            );
        }
        self.close_conn(c.conn);
        self.conns.remove(&c.conn);
    }

    /// What a read-only member does with a request it may not serve from its tree: writes and
    /// `sync` get NOTREADONLY; closeSession ends the connection (a global session lives on for
    /// the quorum to expire). True if the request was answered here.
    pub(super) fn read_only_answer(
        &mut self,
        session: i64,
        conn: ConnId,
        xid: i32,
        req: &Request,
        received: Instant,
    ) -> bool {
        if !self.read_only_serving {
            return false;
        }
        let (result, close) = match req {
            Request::CloseSession => {
                self.local_sessions.close(session);
                (Ok(crate::proto::response::Response::Empty), true)
            }
            Request::Sync(_) => (Err(ErrorCode::NotReadOnly), false),
            r if r.is_write() => (Err(ErrorCode::NotReadOnly), false),
            _ => return false,
        };
        let item = Item::Reply {
            conn,
            xid,
            result,
            close,
            received,
        };
        self.enqueue(session, item);
        true
    }
}
