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
        let txn = match self.inflight.remove(&zxid) {
            Some(t) => t,
            None => match Txn::decode(bytes) {
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

    fn complete(&mut self, header: &TxnHeader, body: &TxnBody, result: Result<Outcome, ErrorCode>) {
        let session = header.client_id;
        match body {
            TxnBody::CloseSession(_) => {
                self.sessions.close(session);
                self.owners.remove(&session);
                self.touched.remove(&session);
                self.watches.remove_session(session);
                if let Some(conn) = self.owner.remove(&session) {
                    // Answer a client's own closeSession, then drop the socket.
                    if let Some(Item::Write {
                        conn: c,
                        xid,
                        received,
                        ..
                    }) = self.pop_write(session, header)
                    {
                        self.send_reply(c, xid, &Ok(Response::Empty), true, received);
                    }
                    self.close_conn(conn);
                }
                self.queues.remove(&session);
                return;
            }
            TxnBody::CreateSession(t) => {
                let _ = self.pop_write(session, header);
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
        let Some(Item::Write {
            conn,
            xid,
            op,
            received,
            ..
        }) = self.pop_write(session, header)
        else {
            return;
        };
        let moved = matches!(result, Err(ErrorCode::SessionMoved));
        let reply = result.map(|o| response_for(op, o, body));
        self.send_reply(conn, xid, &reply, moved, received);
        self.drain(session);
    }

    /// Takes the session's write for this txn off the front of its FIFO: matched by zxid when
    /// this member proposed it, by cxid when it was forwarded.
    fn pop_write(&mut self, session: i64, header: &TxnHeader) -> Option<Item> {
        let queue = self.queues.get_mut(&session)?;
        let matches = match queue.front() {
            Some(Item::Write { zxid: Some(z), .. }) => *z == header.zxid,
            Some(Item::Write {
                zxid: None, xid, ..
            }) => *xid == header.cxid,
            _ => false,
        };
        if matches {
            queue.pop_front()
        } else {
            None
        }
    }
}

/// The reply body for a write whose request had opcode `op`.
fn response_for(op: OpCode, outcome: Outcome, body: &TxnBody) -> Response {
    match outcome {
        Outcome::Created { path, stat } => match op {
            OpCode::Create => Response::Path(path),
            _ => Response::Create2(path, stat),
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
