//! Local sessions (`localSessionsEnabled`, `localSessionsUpgradingEnabled`), as Apache's
//! `LocalSessionTracker`, `LearnerSessionTracker`/`LeaderSessionTracker` and
//! `QuorumZooKeeperServer.checkUpgradeSession` define them, for ensemble members (a
//! standalone server, like Apache's `ZooKeeperServerMain`, keeps every session global).
//!
//! A local session is created, touched, expired and closed by the member its client is
//! connected to, without any txn: no createSession/closeSession is logged or proposed and the
//! leader never hears of it. Its writes are prepared by the leader like any other (the leader
//! accepts a session it does not track when its id carries another member's sid, as
//! `LeaderSessionTracker.checkSession` does). A local session that creates an ephemeral node
//! (create/create2, or a multi with one) is first upgraded to a global session — a
//! createSession txn with the same id and timeout, proposed (or forwarded) before the create —
//! when `localSessionsUpgradingEnabled`; otherwise that write fails with
//! EPHEMERALONLOCALSESSION (-120), answered by the member itself.
//!
//! A local session survives only on its member: reconnecting to another member finds no
//! such session (SESSIONEXPIRED), as in Apache. Must not touch global sessions.

use std::time::Instant;

use bytes::Bytes;

use super::core::{now_ms, Core, Item, SessionOwner};
use super::ConnId;
use crate::proto::jute::Jute;
use crate::proto::opcode::CreateMode;
use crate::proto::request::{MultiOp, Request};
use crate::proto::response::Response;
use crate::proto::txn::{CreateSessionTxn, TxnBody};
use crate::proto::{ErrorCode, OpCode};
use crate::session::session_password;

/// Whether a write creates an ephemeral node (the requests Apache upgrades a session for).
fn creates_ephemeral(req: &Request) -> bool {
    let ephemeral = |flags: i32| CreateMode::from_flags(flags).is_some_and(|m| m.is_ephemeral());
    match req {
        Request::Create(OpCode::Create | OpCode::Create2, r) => ephemeral(r.flags),
        Request::Multi(ops) => ops.iter().any(|op| match op {
            MultiOp::Create(OpCode::Create | OpCode::Create2, r) => ephemeral(r.flags),
            _ => false,
        }),
        _ => false,
    }
}

impl Core {
    /// New sessions are local on this member.
    pub(super) fn local_sessions_on(&self) -> bool {
        self.cfg.local_sessions_enabled && self.ensemble.is_some()
    }

    pub(super) fn is_local_session(&self, session: i64) -> bool {
        self.local_sessions.get(session).is_some()
    }

    /// Leader: a session it does not track globally may still write if it is one of its own
    /// local sessions or, with local sessions on, a session another member created locally.
    pub(super) fn local_session_may_write(&self, session: i64) -> bool {
        self.is_local_session(session)
            || (self.cfg.local_sessions_enabled
                && (session as u64 >> 56) != self.cfg.server_id & 0xff)
    }

    /// A new client session, answered at once without a txn.
    pub(super) fn create_local_session(
        &mut self,
        id: i64,
        conn: ConnId,
        timeout: i32,
        read_only: Option<bool>,
    ) {
        if self.local_sessions.create(id, timeout, now_ms()).is_err() {
            tracing::error!(
                session = format_args!("{id:#x}"),
                "session id collision; refusing connection"
            );
            self.close_conn(conn);
            return;
        }
        tracing::debug!(session = format_args!("{id:#x}"), "local session created");
        let password = Bytes::copy_from_slice(&session_password(id));
        self.send_connect_response(conn, timeout, id, password, read_only);
    }

    /// Touches a local session; `None` if `session` is not local here.
    pub(super) fn touch_local(&mut self, session: i64) -> Option<bool> {
        if !self.is_local_session(session) {
            return None;
        }
        Some(self.local_sessions.touch(session, now_ms()).is_ok())
    }

    /// A reconnect to a local session of this member: checked here, never by the leader.
    /// False if `session` is not local here.
    pub(super) fn revalidate_local(&mut self, session: i64, timeout: i32) -> bool {
        if !self.is_local_session(session) {
            return false;
        }
        let now = now_ms();
        let valid = self.local_sessions.touch(session, now).is_ok();
        if valid {
            let _ = self.local_sessions.set_timeout(session, timeout, now);
        }
        self.revalidated(session, valid);
        true
    }

    /// Before a write of a local session: upgrades it if the write creates an ephemeral.
    /// False if the write was answered here instead (EPHEMERALONLOCALSESSION).
    pub(super) fn before_local_write(
        &mut self,
        session: i64,
        conn: ConnId,
        xid: i32,
        req: &Request,
        received: Instant,
    ) -> bool {
        if !self.is_local_session(session) || !creates_ephemeral(req) {
            return true;
        }
        if !self.cfg.local_sessions_upgrading_enabled {
            crate::warn_limited!(
                session = format_args!("{session:#x}"),
                "Error creating upgrade request: ephemeral node on a local session \
                 (localSessionsUpgradingEnabled=false)"
            );
            let result = Err(ErrorCode::EphemeralOnLocalSession);
            let item = Item::Reply {
                conn,
                xid,
                result,
                close: false,
                received,
            };
            self.enqueue(session, item);
            return false;
        }
        let Some(local) = self.local_sessions.close(session) else {
            return true;
        };
        let timeout = local.timeout_ms;
        tracing::info!(session = format_args!("{session:#x}"), "Upgrading session");
        if self.is_leader() {
            if self.sessions.create(session, timeout, now_ms()).is_err() {
                tracing::warn!(
                    session = format_args!("{session:#x}"),
                    "upgrade of a session already global"
                );
            }
            self.owners.insert(session, SessionOwner::Local);
            let body = TxnBody::CreateSession(CreateSessionTxn { timeout });
            let txn = self.txn(session, 0, OpCode::CreateSession, body);
            self.propose_txn(txn);
        } else {
            let body = timeout.to_bytes();
            self.forward(session, 0, OpCode::CreateSession.code(), body, conn);
        }
        true
    }

    /// The client closes its local session: no txn; answered in its turn, then the
    /// connection is closed.
    pub(super) fn close_local_session(
        &mut self,
        session: i64,
        conn: ConnId,
        xid: i32,
        received: Instant,
    ) {
        self.local_sessions.close(session);
        self.watches.remove_session(session);
        let item = Item::Reply {
            conn,
            xid,
            result: Ok(Response::Empty),
            close: true,
            received,
        };
        self.enqueue(session, item);
        self.owner.remove(&session);
    }

    /// Expires this member's local sessions whose clients went quiet (on every member).
    pub(super) fn expire_local_sessions(&mut self) {
        for id in self.local_sessions.take_expired(now_ms()) {
            crate::info_limited!(session = format_args!("{id:#x}"), "expiring local session");
            self.local_sessions.close(id);
            self.watches.remove_session(id);
            self.queues.remove(&id);
            if let Some(conn) = self.owner.remove(&id) {
                self.close_conn(conn);
            }
        }
    }

    /// `local_sessions` in mntr.
    pub(super) fn local_session_count(&self) -> usize {
        self.local_sessions.len()
    }
}
