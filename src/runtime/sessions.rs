//! Session life: handshakes (new and reconnecting), disconnects, expiry, and the
//! container/TTL sweep that the server itself issues.
//!
//! A new session is a createSession txn: the leader proposes it, a learner mints the id (its
//! sid in the high byte) and forwards it. A reconnecting client is checked locally (id and
//! password) and, on a learner, revalidated by the leader, which also makes this member the
//! session's owner. Only the leader expires sessions and sweeps containers.

use std::net::IpAddr;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::core::{now_ms, Conn, Connecting, Core, Item, SessionOwner};
use super::{ConnId, Outbound, Outbox};
use crate::prep;
use crate::proto::frame::write_frame;
use crate::proto::jute::Jute;
use crate::proto::opcode::OpCode;
use crate::proto::records::{ConnectRequest, ConnectResponse, Id};
use crate::proto::request::Request;
use crate::proto::txn::{CreateSessionTxn, TxnBody};
use crate::session::{negotiate_timeout, session_password};

impl Core {
    pub(super) fn connect(
        &mut self,
        conn: ConnId,
        addr: IpAddr,
        port: u16,
        req: ConnectRequest,
        out: Outbox,
        auth: Vec<Id>,
    ) {
        self.stats.packets_received += 1;
        if !self.member.is_serving() && !self.read_only_admits(&req, addr) {
            // ZooKeeper closes the socket: "ZooKeeperServer not running".
            tracing::debug!(client = %addr, "refusing connection: not serving (no quorum)");
            let _ = out.send(Outbound::Close);
            return;
        }
        let mut ids = vec![Id {
            scheme: "ip".into(),
            id: addr.to_string(),
        }];
        ids.extend(auth);
        let mut c = Conn {
            out,
            addr,
            port,
            session: None,
            ids,
            stats: Default::default(),
            sasl: None,
        };
        c.stats.packets_received += 1;
        if req.last_zxid_seen > self.tree.last_zxid() {
            // The client has seen a newer state than ours: it must try another server.
            crate::info_limited!(
                client = %addr,
                client_zxid = format_args!("{:#x}", req.last_zxid_seen),
                our_zxid = format_args!("{:#x}", self.tree.last_zxid()),
                "refusing connection: client has seen a newer zxid"
            );
            let _ = c.out.send(Outbound::Close);
            return;
        }
        let timeout = negotiate_timeout(
            req.timeout,
            self.cfg.min_session_timeout_ms as i32,
            self.cfg.max_session_timeout_ms as i32,
        );
        if req.session_id != 0 {
            self.conns.insert(conn, c);
            self.reconnect(conn, &req, timeout);
            return;
        }
        let id = self.session_ids.next_id();
        c.session = Some(id);
        self.conns.insert(conn, c);
        self.owner.insert(id, conn);
        if self.local_sessions_on() || self.read_only_serving {
            self.create_local_session(id, conn, timeout, req.read_only);
            return;
        }
        self.connecting.insert(
            id,
            Connecting {
                conn,
                read_only: req.read_only,
                timeout,
            },
        );
        let item = Item::Write {
            conn,
            xid: 0,
            op: OpCode::CreateSession,
            zxid: None,
            received: Instant::now(),
            done: None,
        };
        self.queues.entry(id).or_default().push_back(item);
        if self.is_leader() {
            if self.sessions.create(id, timeout, now_ms()).is_err() {
                tracing::error!(
                    session = format_args!("{id:#x}"),
                    "session id collision; refusing connection"
                );
                self.close_conn(conn);
                return;
            }
            self.owners.insert(id, SessionOwner::Local);
            let txn = self.txn(
                id,
                0,
                OpCode::CreateSession,
                TxnBody::CreateSession(CreateSessionTxn { timeout }),
            );
            self.propose_txn(txn);
        } else {
            let body = timeout.to_bytes();
            self.forward(id, 0, OpCode::CreateSession.code(), body, conn);
        }
    }

    /// A client comes back with its session id and password.
    fn reconnect(&mut self, conn: ConnId, req: &ConnectRequest, timeout: i32) {
        let id = req.session_id;
        let known = self.tree.sessions().contains_key(&id) || self.is_local_session(id);
        let password_ok = req.passwd.as_ref() == session_password(id);
        if !known || !password_ok {
            tracing::info!(
                session = format_args!("{id:#x}"),
                known,
                password_ok,
                "refusing reconnect"
            );
            if known && !password_ok {
                // Apache also drops the session's live connection on a bad password.
                if let Some(&live) = self.owner.get(&id) {
                    self.detach(live);
                    self.close_conn(live);
                }
            }
            self.refuse(conn, req.read_only);
            return;
        }
        self.connecting.insert(
            id,
            Connecting {
                conn,
                read_only: req.read_only,
                timeout,
            },
        );
        if self.revalidate_local(id, timeout) {
            return;
        }
        if self.read_only_serving {
            self.read_only_reconnect(id);
            return;
        }
        if self.is_leader() {
            let valid = self.sessions.touch(id, now_ms()).is_ok();
            if valid {
                let _ = self.sessions.set_timeout(id, timeout, now_ms());
                self.owners.insert(id, SessionOwner::Local);
            }
            self.revalidated(id, valid);
        } else {
            let now = self.quorum_now();
            let actions = self.member.revalidate(now, id, timeout);
            self.execute(actions);
        }
    }

    /// The answer to a reconnect: attach the connection to its session, or refuse it.
    pub(super) fn revalidated(&mut self, session: i64, valid: bool) {
        let Some(c) = self.connecting.remove(&session) else {
            return;
        };
        if !self.conns.contains_key(&c.conn) {
            return;
        }
        if !valid {
            tracing::info!(
                session = format_args!("{session:#x}"),
                "refusing reconnect: session expired"
            );
            self.refuse(c.conn, c.read_only);
            return;
        }
        if let Some(old) = self.owner.insert(session, c.conn) {
            if old != c.conn {
                self.detach(old);
                self.close_conn(old);
            }
        }
        if let Some(conn) = self.conns.get_mut(&c.conn) {
            conn.session = Some(session);
        }
        if !self.is_leader() && !self.is_local_session(session) {
            self.touched.insert(session, c.timeout);
        }
        tracing::debug!(
            session = format_args!("{session:#x}"),
            "session reconnected"
        );
        let password = Bytes::copy_from_slice(&session_password(session));
        self.send_connect_response(c.conn, c.timeout, session, password, c.read_only);
    }

    /// ConnectResponse(timeOut 0, id 0, zero password), then close: the client's session
    /// has expired.
    fn refuse(&mut self, conn: ConnId, read_only: Option<bool>) {
        self.send_connect_response(conn, 0, 0, Bytes::from_static(&[0; 16]), read_only);
        self.close_conn(conn);
    }

    pub(super) fn send_connect_response(
        &mut self,
        conn: ConnId,
        timeout: i32,
        session: i64,
        passwd: Bytes,
        read_only: Option<bool>,
    ) {
        // The flag says what this server is (Apache: a ReadOnlyZooKeeperServer or not),
        // written only when the client sent one.
        let resp = ConnectResponse {
            protocol_version: 0,
            timeout,
            session_id: session,
            passwd,
            read_only: read_only.map(|_| self.read_only_serving),
        };
        let mut out = BytesMut::with_capacity(48);
        write_frame(&mut out, |o| resp.write(o));
        self.send_frame(conn, out.freeze());
    }

    /// A socket closed: the session lives on until it expires, but watches are per
    /// connection (the client re-registers them with SetWatches when it reconnects).
    pub(super) fn disconnected(&mut self, conn: ConnId) {
        self.detach(conn);
        self.conns.remove(&conn);
    }

    fn detach(&mut self, conn: ConnId) {
        let Some(session) = self.conns.get(&conn).and_then(|c| c.session) else {
            return;
        };
        if self.owner.get(&session) == Some(&conn) {
            self.owner.remove(&session);
            self.watches.remove_session(session);
        }
    }

    /// Leader: issues closeSession txns for sessions whose deadline passed.
    /// The earliest expiry bucket this member acts on (wall-clock ms): its local sessions',
    /// and the global sessions' while it leads.
    pub(super) fn next_session_expiry(&self) -> Option<i64> {
        let local = self.local_sessions.next_expiration_ms();
        let global = self
            .is_leader()
            .then(|| self.sessions.next_expiration_ms())
            .flatten();
        match (local, global) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub(super) fn expire_sessions(&mut self) {
        self.expire_local_sessions();
        if !self.is_leader() {
            return;
        }
        for id in self.sessions.take_expired(now_ms()) {
            crate::info_limited!(session = format_args!("{id:#x}"), "expiring session");
            self.close_session(id, 0, None);
        }
    }

    /// Leader: prepares and proposes a closeSession for `session` (expiry, a client's own
    /// request, or one forwarded by a learner with its `cxid`).
    pub(super) fn close_session(
        &mut self,
        session: i64,
        cxid: i32,
        reply: Option<(ConnId, i32, Instant)>,
    ) {
        let Some(zxid) = self.member.next_zxid() else {
            return;
        };
        let _ = self.sessions.set_closing(session);
        let cxid = reply.map_or(cxid, |(_, xid, _)| xid);
        let ctx = prep::Context {
            session,
            ids: &[],
            skip_acl: true,
            extended_types: self.cfg.extended_types_enabled,
            reconfig_enabled: self.cfg.reconfig_enabled,
            enforce_quota: false,
            sasl_acl: false,
        };
        let prepared = prep::prepare(
            &self.tree,
            &mut self.pending,
            &ctx,
            &Request::CloseSession,
            zxid,
        );
        let Ok(p) = prepared else { return };
        let txn = self.txn(session, cxid, p.txn_type, p.body);
        if let Some((conn, xid, received)) = reply {
            let item = Item::Write {
                conn,
                xid,
                op: OpCode::CloseSession,
                zxid: Some(zxid),
                received,
                done: None,
            };
            self.queues.entry(session).or_default().push_back(item);
        }
        self.propose_txn(txn);
    }

    /// Leader: deletes empty containers and expired TTL nodes through the normal write path,
    /// at most `container.maxPerMinute` per sweep.
    pub(super) fn sweep_containers(&mut self) {
        if !self.is_leader() {
            return;
        }
        let limit = self.cfg.container_max_per_minute.max(1) as usize;
        for path in self
            .tree
            .expired_containers(now_ms())
            .into_iter()
            .take(limit)
        {
            let Some(zxid) = self.member.next_zxid() else {
                return;
            };
            let Ok(p) = prep::prepare_delete_container(&self.tree, &mut self.pending, &path, zxid)
            else {
                continue;
            };
            tracing::debug!(path, "deleting empty container / expired TTL node");
            let txn = self.txn(0, 0, p.txn_type, p.body);
            self.propose_txn(txn);
        }
    }
}
