//! The write path: the leader prepares every write — its own clients' and those learners
//! forward (`REQUEST` packets, with the client's session, cxid and auth ids) — into a txn and
//! proposes it; a failed write becomes an error txn, as in ZooKeeper, so every member answers
//! its own client when that txn commits. A learner forwards its clients' writes, session
//! creation and closing, and `sync`, and answers each once the leader's commit arrives.

use std::time::Instant;

use bytes::Bytes;

use super::core::{now_ms, Core, Item, SessionOwner};
use super::ConnId;
use crate::prep;
use crate::proto::jute::Jute;
use crate::proto::records::Id;
use crate::proto::request::Request;
use crate::proto::txn::{
    CreateSessionTxn, ErrorTxn, Txn, TxnBody, TxnDigest, TxnHeader, DIGEST_VERSION,
};
use crate::proto::{ErrorCode, OpCode};
use crate::quorum::wire::payload::ForwardedRequest;
use crate::quorum::{QuorumView, Sid};

impl Core {
    /// Leader: a write from one of its own clients.
    pub(super) fn lead_write(
        &mut self,
        session: i64,
        conn: ConnId,
        xid: i32,
        req: Request,
        received: Instant,
    ) {
        let ids = self
            .conns
            .get(&conn)
            .map(|c| c.ids.clone())
            .unwrap_or_default();
        let Some(zxid) = self.prepare_and_propose(session, xid, &req, &ids, SessionOwner::Local)
        else {
            self.enqueue(
                session,
                Item::Reply {
                    conn,
                    xid,
                    result: Err(ErrorCode::ConnectionLoss),
                    close: true,
                    received,
                },
            );
            return;
        };
        let item = Item::Write {
            conn,
            xid,
            op: req.op(),
            zxid: Some(zxid),
            received,
            done: None,
        };
        self.queues.entry(session).or_default().push_back(item);
    }

    /// Leader: a request a learner forwarded.
    pub(super) fn forwarded(&mut self, sid: Sid, request: ForwardedRequest, auth: Vec<Id>) {
        let ForwardedRequest {
            session,
            cxid,
            op,
            body,
        } = request;
        match OpCode::from_i32(op) {
            Some(OpCode::CreateSession) => {
                let timeout = i32::from_bytes(body).unwrap_or(0);
                let now = now_ms();
                if self.sessions.create(session, timeout, now).is_err() {
                    tracing::warn!(
                        session = format_args!("{session:#x}"),
                        "createSession for an existing session"
                    );
                }
                self.owners.insert(session, SessionOwner::Learner(sid));
                let txn = self.txn(
                    session,
                    cxid,
                    OpCode::CreateSession,
                    TxnBody::CreateSession(CreateSessionTxn { timeout }),
                );
                self.propose_txn(txn);
            }
            Some(OpCode::CloseSession) => self.close_session(session, cxid, None),
            _ => {
                let req = match Request::decode(op, body) {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!(sid, op, "forwarded request does not decode: {e:?}");
                        let code = ErrorCode::MarshallingError;
                        let txn = self.error_txn(session, cxid, code);
                        self.propose_txn(txn);
                        return;
                    }
                };
                let _ = self.prepare_and_propose(
                    session,
                    cxid,
                    &req,
                    &auth,
                    SessionOwner::Learner(sid),
                );
            }
        }
    }

    /// Checks the session, prepares the write against the tree and pending changes, and
    /// proposes the txn (an error txn if the write fails). `None` if this member cannot
    /// propose (not an established leader).
    fn prepare_and_propose(
        &mut self,
        session: i64,
        cxid: i32,
        req: &Request,
        ids: &[Id],
        from: SessionOwner,
    ) -> Option<i64> {
        let zxid = self.member.next_zxid()?;
        if self.sessions.get(session).is_some() {
            self.owners.entry(session).or_insert(from);
        }
        let check = match self.sessions.get(session) {
            None if self.local_session_may_write(session) => Ok(()),
            None => Err(ErrorCode::SessionExpired),
            Some(s) if s.closing => Err(ErrorCode::SessionExpired),
            Some(_) if self.owners.get(&session).is_some_and(|o| *o != from) => {
                Err(ErrorCode::SessionMoved)
            }
            Some(_) => Ok(()),
        };
        let txn = match check {
            Err(code) => self.error_txn(session, cxid, code),
            Ok(()) if self.reconfig_applies(req) => {
                let Request::Reconfig(r) = req else {
                    return None;
                };
                match self.prepare_reconfig(r, ids, zxid) {
                    Ok((body, view)) => {
                        let txn = self.txn(session, cxid, OpCode::Reconfig, TxnBody::SetData(body));
                        return Some(self.propose_txn_with(txn, Some(view)));
                    }
                    Err(code) => self.error_txn(session, cxid, code),
                }
            }
            Ok(()) => {
                let ctx = prep::Context {
                    session,
                    ids,
                    skip_acl: self.cfg.skip_acl,
                    extended_types: self.cfg.extended_types_enabled,
                    reconfig_enabled: self.cfg.reconfig_enabled,
                    enforce_quota: self.cfg.enforce_quota,
                    sasl_acl: self.cfg.auth.sasl_provider,
                };
                match prep::prepare(&self.tree, &mut self.pending, &ctx, req, zxid) {
                    Ok(p) => self.txn(session, cxid, p.txn_type, p.body),
                    Err(code) => self.error_txn(session, cxid, code),
                }
            }
        };
        Some(self.propose_txn(txn))
    }

    /// A txn at the next zxid for `session`'s request `cxid`.
    pub(super) fn txn(&self, session: i64, cxid: i32, op: OpCode, body: TxnBody) -> Txn {
        Txn {
            header: TxnHeader {
                client_id: session,
                cxid,
                zxid: self.member.next_zxid().unwrap_or(0),
                time: now_ms(),
                txn_type: op.code(),
            },
            body,
        }
    }

    fn error_txn(&self, session: i64, cxid: i32, code: ErrorCode) -> Txn {
        self.txn(
            session,
            cxid,
            OpCode::Error,
            TxnBody::Error(ErrorTxn { err: code.code() }),
        )
    }

    /// A `reconfig` the leader of an ensemble with `reconfigEnabled` prepares itself (a
    /// standalone server or `reconfigEnabled=false` answers through `prep`, as Apache does).
    fn reconfig_applies(&self, req: &Request) -> bool {
        matches!(req, Request::Reconfig(_)) && self.cfg.reconfig_enabled && self.ensemble.is_some()
    }

    /// Proposes a prepared txn; returns its zxid.
    pub(super) fn propose_txn(&mut self, txn: Txn) -> i64 {
        self.propose_txn_with(txn, None)
    }

    /// Proposes a prepared txn, a reconfig when `next` is the configuration it installs.
    pub(super) fn propose_txn_with(&mut self, txn: Txn, next: Option<QuorumView>) -> i64 {
        let zxid = txn.header.zxid;
        // As an Apache leader: each proposal carries the tree digest expected after it.
        let digest = self.tree.digest_enabled().then(|| TxnDigest {
            version: DIGEST_VERSION,
            tree_digest: self.digest_preview.push(&self.tree, &txn),
        });
        let bytes = match &digest {
            Some(d) => txn.encode_with_digest(d),
            None => txn.encode(),
        };
        self.proposal_sizes.add(bytes.len());
        self.inflight.insert(zxid, (txn, digest));
        let now = self.quorum_now();
        let actions = match next {
            Some(view) => self
                .member
                .propose_reconfig(now, zxid, bytes, view, &self.store),
            None => self.member.propose(now, zxid, bytes, &self.store),
        };
        if !actions
            .iter()
            .any(|a| matches!(a, crate::quorum::Action::Append { .. }))
        {
            // Not proposed (the role is changing): the txn will never be applied.
            self.inflight.remove(&zxid);
            self.digest_preview = Default::default();
        }
        self.execute(actions);
        zxid
    }

    /// Learner: a client write, answered when the leader's txn for it commits.
    pub(super) fn forward_write(
        &mut self,
        session: i64,
        conn: ConnId,
        xid: i32,
        req: &Request,
        body: Bytes,
        received: Instant,
    ) {
        let item = Item::Write {
            conn,
            xid,
            op: req.op(),
            zxid: None,
            received,
            done: None,
        };
        self.queues.entry(session).or_default().push_back(item);
        self.forward(session, xid, req.op().code(), body, conn);
    }

    /// Learner: sends a REQUEST to the leader with the connection's identities.
    pub(super) fn forward(&mut self, session: i64, cxid: i32, op: i32, body: Bytes, conn: ConnId) {
        let auth = self
            .conns
            .get(&conn)
            .map(|c| c.ids.clone())
            .unwrap_or_default();
        let request = ForwardedRequest {
            session,
            cxid,
            op,
            body,
        };
        let now = self.quorum_now();
        let actions = self.member.forward(now, &request, auth);
        self.execute(actions);
    }

    /// Learner: the leader answered the oldest forwarded `sync`.
    pub(super) fn sync_done(&mut self) {
        match self.pending_syncs.pop_front() {
            Some(session) => self.mark_sync_ready(session),
            None => tracing::warn!("Not expecting a sync."),
        }
    }
}
