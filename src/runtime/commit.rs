//! Applying committed txns in zxid order: update the tree, retire pending changes, fire
//! watches, then answer the session that asked if it is connected here (a write is answered
//! only after a quorum has it; on the leader, also after the leader's own prep).

use bytes::Bytes;

use super::core::{Core, Item};
use crate::proto::opcode::OpCode;
use crate::proto::response::{MultiResult, Response};
use crate::proto::txn::{Txn, TxnBody, TxnHeader};
use crate::proto::ErrorCode;
use crate::session::session_password;
use crate::tree::Outcome;

impl Core {
    /// A txn the quorum committed: apply it and answer.
    pub(super) fn apply_committed(&mut self, zxid: i64, bytes: Bytes) {
        let (txn, digest) = match self.inflight.remove(&zxid) {
            Some(proposed) => proposed,
            None => match Txn::decode_with_digest(bytes) {
                Ok(t) => t,
                Err(e) => {
                    // A committed txn we cannot apply would make this member diverge.
                    tracing::error!(
                        zxid = format_args!("0x{zxid:x}"),
                        "committed txn does not decode: {e}; exiting"
                    );
                    std::process::exit(2);
                }
            },
        };
        let applied = self.tree.apply(&txn);
        self.digest_preview.applied(zxid);
        if let Some(d) = digest {
            self.check_digest(zxid, &d);
        }
        self.pending.applied(zxid);
        for change in &applied.changes {
            self.fire(&change.path, change.event, &change.acl);
        }
        self.complete(&txn.header, &txn.body, applied.result);
        if let Some(s) = self.snapshots.as_mut() {
            s.applied(1, &self.tree);
        }
        self.release_syncs(self.tree.last_zxid());
    }

    /// Compares the leader's expected tree digest with ours after applying (Apache 3.8:
    /// a mismatch is counted and logged, never fatal).
    fn check_digest(&mut self, zxid: i64, d: &crate::proto::txn::TxnDigest) {
        if !self.tree.digest_enabled()
            || d.version != crate::tree::digest::DIGEST_VERSION
            || zxid <= self.digest_fuzzy_through
        {
            return;
        }
        let ours = self.tree.digest();
        if ours == d.tree_digest {
            return;
        }
        self.stats.digest_mismatches += 1;
        if self.stats.digest_mismatches == 1 {
            tracing::error!(
                zxid = format_args!("0x{zxid:x}"),
                expected = d.tree_digest,
                actual = ours,
                "First digest mismatch"
            );
        } else if self.stats.digest_mismatches.is_power_of_two() {
            tracing::warn!(
                count = self.stats.digest_mismatches,
                "Digests are not matching"
            );
        }
    }

    fn complete(&mut self, header: &TxnHeader, body: &TxnBody, result: Result<Outcome, ErrorCode>) {
        let session = header.client_id;
        match body {
            TxnBody::CloseSession(_) => {
                self.sessions.close(session);
                self.owners.remove(&session);
                self.touched.remove(&session);
                self.watches.remove_session(session);
                // Answer a client's own closeSession (in its turn), then drop the socket.
                self.resolve_write(session, header, Ok(Response::Empty), true);
                self.drain(session);
                if let Some(conn) = self.owner.remove(&session) {
                    self.close_conn(conn);
                }
                self.queues.remove(&session);
                return;
            }
            TxnBody::CreateSession(t) => {
                if let Some(q) = self.queues.get_mut(&session) {
                    q.retain(|i| {
                        !matches!(
                            i,
                            Item::Write {
                                op: OpCode::CreateSession,
                                ..
                            }
                        )
                    });
                }
                if let Some(c) = self.connecting.remove(&session) {
                    if self.owner.get(&session) == Some(&c.conn) {
                        let password = Bytes::copy_from_slice(&session_password(session));
                        self.send_connect_response(
                            c.conn,
                            t.timeout,
                            session,
                            password,
                            c.read_only,
                        );
                    }
                }
                self.drain(session);
                return;
            }
            _ => {}
        }
        let op = self.write_op(session, header);
        let Some(op) = op else { return };
        // SESSIONMOVED: the client talks to another member now; drop this connection.
        let moved = matches!(result, Err(ErrorCode::SessionMoved));
        let reply = result.map(|o| response_for(op, o, body));
        self.resolve_write(session, header, reply, moved);
        self.drain(session);
    }

    /// The opcode of the session's write waiting for this txn, if it is queued here.
    fn write_op(&self, session: i64, header: &TxnHeader) -> Option<OpCode> {
        self.queues
            .get(&session)?
            .iter()
            .find_map(|item| match item {
                Item::Write { op, done: None, .. } if writes_txn(item, header) => Some(*op),
                _ => None,
            })
    }

    /// Stores the answer in the session's write for this txn; it leaves in FIFO order.
    fn resolve_write(
        &mut self,
        session: i64,
        header: &TxnHeader,
        reply: Result<Response, ErrorCode>,
        close: bool,
    ) {
        let Some(queue) = self.queues.get_mut(&session) else {
            return;
        };
        if let Some(Item::Write { done, .. }) = queue
            .iter_mut()
            .find(|item| matches!(item, Item::Write { done: None, .. }) && writes_txn(item, header))
        {
            *done = Some((reply, close));
        }
    }
}

/// Whether `item` is the write `header`'s txn answers: matched by zxid when this member
/// proposed it, by cxid when it was forwarded.
fn writes_txn(item: &Item, header: &TxnHeader) -> bool {
    match item {
        Item::Write { zxid: Some(z), .. } => *z == header.zxid,
        Item::Write {
            zxid: None, xid, ..
        } => *xid == header.cxid,
        _ => false,
    }
}

/// The reply body for a write whose request had opcode `op`.
fn response_for(op: OpCode, outcome: Outcome, body: &TxnBody) -> Response {
    match outcome {
        Outcome::Created { path, stat } => match op {
            OpCode::Create => Response::Path(path),
            _ => Response::Create2(path, stat),
        },
        // reconfig answers GetDataResponse(new config, stat), as FinalRequestProcessor does.
        Outcome::Updated(stat) if op == OpCode::Reconfig => match body {
            TxnBody::SetData(t) => Response::Data(t.data.clone(), stat),
            _ => Response::Stat(stat),
        },
        Outcome::Updated(stat) => Response::Stat(stat),
        Outcome::Multi(results) => {
            let ops: Vec<OpCode> = match body {
                TxnBody::Multi(entries) => entries.iter().map(|(op, _)| *op).collect(),
                _ => Vec::new(),
            };
            Response::Multi(
                results
                    .into_iter()
                    .enumerate()
                    .map(|(i, r)| multi_result(ops.get(i).copied().unwrap_or(OpCode::Error), r))
                    .collect(),
            )
        }
        Outcome::Deleted | Outcome::Checked | Outcome::SessionCreated | Outcome::SessionClosed => {
            Response::Empty
        }
    }
}

fn multi_result(op: OpCode, r: Result<Outcome, ErrorCode>) -> MultiResult {
    match r {
        Err(e) => MultiResult::Error(e),
        // Apache 3.8 answers create2 inside a multi like create (path only); containers
        // and TTL nodes carry their stat.
        Ok(Outcome::Created { path, stat }) => match op {
            OpCode::Create | OpCode::Create2 => MultiResult::Create(path),
            _ => MultiResult::Create2(path, stat),
        },
        Ok(Outcome::Deleted) => MultiResult::Delete,
        Ok(Outcome::Updated(stat)) => MultiResult::SetData(stat),
        Ok(_) => MultiResult::Check,
    }
}
