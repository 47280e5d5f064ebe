//! Session life: handshakes (new and reconnecting), disconnects, expiry, and the
//! container/TTL sweep that the server itself issues.

use std::net::IpAddr;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::core::{now_ms, Conn, Core, Item};
use super::{ConnId, Outbound, Outbox};
use crate::prep;
use crate::proto::frame::write_frame;
use crate::proto::jute::Jute;
use crate::proto::opcode::OpCode;
use crate::proto::records::{ConnectRequest, ConnectResponse, Id};
use crate::proto::request::Request;
use crate::proto::txn::{CreateSessionTxn, Txn, TxnBody, TxnHeader};
use crate::session::negotiate_timeout;

impl Core {
    pub(super) fn connect(
        &mut self,
        conn: ConnId,
        addr: IpAddr,
        port: u16,
        req: ConnectRequest,
        out: Outbox,
    ) {
        self.stats.packets_received += 1;
        let ids = vec![Id {
            scheme: "ip".into(),
            id: addr.to_string(),
        }];
        let mut c = Conn {
            out,
            addr,
            port,
            session: None,
            ids,
            stats: Default::default(),
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
        let now = now_ms();
        if req.session_id != 0 {
            let valid = self
                .sessions
                .validate(req.session_id, &req.passwd)
                .map(|s| s.password);
            match valid {
                Ok(password) => {
                    let id = req.session_id;
                    let _ = self.sessions.set_timeout(id, timeout, now);
                    if let Some(old) = self.owner.insert(id, conn) {
                        self.detach(old);
                        self.close_conn(old);
                    }
                    c.session = Some(id);
                    self.conns.insert(conn, c);
                    tracing::debug!(session = format_args!("{id:#x}"), client = %addr, "session reconnected");
                    self.send_connect_response(
                        conn,
                        timeout,
                        id,
                        Bytes::copy_from_slice(&password),
                        req.read_only,
                    );
                }
                Err(e) => {
                    crate::info_limited!(client = %addr, error = %e, "refusing reconnect");
                    // Apache also drops the session's live connection on a bad password.
                    if matches!(e, crate::session::SessionError::BadPassword(_)) {
                        if let Some(&live) = self.owner.get(&req.session_id) {
                            self.detach(live);
                            self.close_conn(live);
                        }
                    }
                    self.conns.insert(conn, c);
                    self.send_connect_response(
                        conn,
                        0,
                        0,
                        Bytes::from_static(&[0; 16]),
                        req.read_only,
                    );
                    self.close_conn(conn);
                }
            }
            return;
        }
        let id = self.session_ids.next_id();
        if self.sessions.create(id, timeout, now).is_err() {
            tracing::error!(
                session = format_args!("{id:#x}"),
                "session id collision; refusing connection"
            );
            let _ = c.out.send(Outbound::Close);
            return;
        }
        c.session = Some(id);
        self.conns.insert(conn, c);
        self.owner.insert(id, conn);
        let zxid = self.take_zxid();
        let header = TxnHeader {
            client_id: id,
            cxid: 0,
            zxid,
            time: now,
            txn_type: OpCode::CreateSession.code(),
        };
        let txn = Txn {
            header,
            body: TxnBody::CreateSession(CreateSessionTxn { timeout }),
        };
        let received = Instant::now();
        let item = Item::Write {
            conn,
            xid: 0,
            op: OpCode::CreateSession,
            zxid,
            received,
        };
        self.submit_write(id, item, txn, Some((conn, req.read_only)));
    }

    pub(super) fn send_connect_response(
        &mut self,
        conn: ConnId,
        timeout: i32,
        session: i64,
        passwd: Bytes,
        read_only: Option<bool>,
    ) {
        let resp = ConnectResponse {
            protocol_version: 0,
            timeout,
            session_id: session,
            passwd,
            read_only,
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

    /// Issues closeSession txns for sessions whose deadline passed.
    pub(super) fn expire_sessions(&mut self) {
        for id in self.sessions.take_expired(now_ms()) {
            crate::info_limited!(session = format_args!("{id:#x}"), "expiring session");
            self.close_session(id, None);
        }
    }

    /// Prepares and submits a closeSession for `session` (expiry or client request).
    pub(super) fn close_session(&mut self, session: i64, reply: Option<(ConnId, i32, Instant)>) {
        let _ = self.sessions.set_closing(session);
        let zxid = self.take_zxid();
        let ctx = prep::Context {
            session,
            ids: &[],
            skip_acl: true,
            extended_types: self.cfg.extended_types_enabled,
            reconfig_enabled: self.cfg.reconfig_enabled,
        };
        let prepared = prep::prepare(
            &self.tree,
            &mut self.pending,
            &ctx,
            &Request::CloseSession,
            zxid,
        );
        let Ok(p) = prepared else { return };
        let header = TxnHeader {
            client_id: session,
            cxid: 0,
            zxid,
            time: now_ms(),
            txn_type: p.txn_type.code(),
        };
        let txn = Txn {
            header,
            body: p.body,
        };
        match reply {
            Some((conn, xid, received)) => {
                let item = Item::Write {
                    conn,
                    xid,
                    op: OpCode::CloseSession,
                    zxid,
                    received,
                };
                self.submit_write(session, item, txn, None);
            }
            None => self.submit(txn, None),
        }
    }

    /// Deletes empty containers and expired TTL nodes through the normal write path,
    /// at most `container.maxPerMinute` per sweep.
    pub(super) fn sweep_containers(&mut self) {
        let limit = self.cfg.container_max_per_minute.max(1) as usize;
        for path in self
            .tree
            .expired_containers(now_ms())
            .into_iter()
            .take(limit)
        {
            let zxid = self.next_zxid;
            let Ok(p) = prep::prepare_delete_container(&self.tree, &mut self.pending, &path, zxid)
            else {
                continue;
            };
            self.take_zxid();
            tracing::debug!(path, "deleting empty container / expired TTL node");
            let header = TxnHeader {
                client_id: 0,
                cxid: 0,
                zxid,
                time: now_ms(),
                txn_type: p.txn_type.code(),
            };
            self.submit(
                Txn {
                    header,
                    body: p.body,
                },
                None,
            );
        }
    }
}
