//! Applying durable txns in zxid order: update the tree, retire pending changes, fire
//! watches, then answer the session that asked (persist before reply).

use bytes::Bytes;

use super::core::{Core, Item};
use crate::proto::opcode::OpCode;
use crate::proto::response::{MultiResult, Response};
use crate::proto::txn::{TxnBody, TxnHeader};
use crate::proto::ErrorCode;
use crate::session::session_password;
use crate::tree::Outcome;

impl Core {
    /// Every txn up to `zxid` is durable: apply them.
    pub(super) fn durable(&mut self, zxid: i64) {
        let mut count = 0;
        while self
            .inflight
            .front()
            .is_some_and(|f| f.txn.header.zxid <= zxid)
        {
            let Some(f) = self.inflight.pop_front() else {
                break;
            };
            let applied = self.tree.apply(&f.txn);
            self.pending.applied(f.txn.header.zxid);
            for change in &applied.changes {
                self.fire(&change.path, change.event, &change.acl);
            }
            self.complete(&f.txn.header, &f.txn.body, applied.result, f.connect);
            count += 1;
        }
        if let Some(s) = self.snapshots.as_mut() {
            s.applied(count, &self.tree);
        }
    }

    fn complete(
        &mut self,
        header: &TxnHeader,
        body: &TxnBody,
        result: Result<Outcome, ErrorCode>,
        connect: Option<(super::ConnId, Option<bool>)>,
    ) {
        let session = header.client_id;
        if let TxnBody::CloseSession(_) = body {
            self.sessions.close(session);
            self.watches.remove_session(session);
            if let Some(conn) = self.owner.remove(&session) {
                // Answer a client's own closeSession, then drop the socket.
                if let Some(Item::Write {
                    conn: c,
                    xid,
                    received,
                    ..
                }) = self.pop_write(session, header.zxid)
                {
                    self.stats.next_reply_is_update();
                    self.send_reply(c, xid, &Ok(Response::Empty), true, received);
                }
                self.close_conn(conn);
            }
            self.queues.remove(&session);
            return;
        }
        let Some(item) = self.pop_write(session, header.zxid) else {
            return;
        };
        let Item::Write {
            conn,
            xid,
            op,
            received,
            ..
        } = item
        else {
            return;
        };
        if let Some((conn, read_only)) = connect {
            if self.owner.get(&session) == Some(&conn) {
                let (timeout, password) = match self.sessions.get(session) {
                    Some(s) => (s.timeout_ms, s.password),
                    None => (0, session_password(session)),
                };
                self.send_connect_response(
                    conn,
                    timeout,
                    session,
                    Bytes::copy_from_slice(&password),
                    read_only,
                );
            }
        } else {
            let reply = result.map(|o| response_for(op, o, body));
            self.stats.next_reply_is_update();
            self.send_reply(conn, xid, &reply, false, received);
        }
        self.drain(session);
    }

    /// Takes the session's write for `zxid` off the front of its FIFO.
    fn pop_write(&mut self, session: i64, zxid: i64) -> Option<Item> {
        let queue = self.queues.get_mut(&session)?;
        match queue.front() {
            Some(Item::Write { zxid: z, .. }) if *z == zxid => queue.pop_front(),
            _ => None,
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

/// The per-op results of a multi that failed in prep (all entries are error txns).
pub(super) fn multi_error_results(body: &TxnBody) -> Vec<MultiResult> {
    let TxnBody::Multi(entries) = body else {
        return Vec::new();
    };
    entries
        .iter()
        .map(|(_, b)| match b {
            TxnBody::Error(e) => {
                MultiResult::Error(ErrorCode::from_i32(e.err).unwrap_or(ErrorCode::SystemError))
            }
            _ => MultiResult::Error(ErrorCode::SystemError),
        })
        .collect()
}
