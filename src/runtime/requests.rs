//! Client requests: writes are prepared and proposed by the leader (forwarded to it by a
//! learner); reads are answered from the local tree in per-session FIFO order (a read waits
//! for the same session's earlier writes); `sync` waits for what was proposed before it.

use std::time::Instant;

use bytes::Bytes;

use super::core::{now_ms, Core, Item};
use super::{auth, ConnId};
use crate::proto::opcode::{xid, EventType};
use crate::proto::request::Request;
use crate::proto::response::{notification_frame, Response};
use crate::proto::ErrorCode;
use crate::tree::read::Reader;

impl Core {
    pub(super) fn request(&mut self, conn: ConnId, xid: i32, req: Request, body: Bytes) {
        let received = Instant::now();
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.stats.received(xid, req.op());
        self.stats.packets_received += 1;
        let Some(session) = c.session else { return };
        if self.owner.get(&session) != Some(&conn) {
            return;
        }
        // Auth and SASL packets are not session activity: Apache answers them before the
        // request pipeline that checks and refreshes the session. A client that only
        // negotiates (kazoo looping on SASL against a server without SASL) therefore sees its
        // session expire and its connection dropped, as on Apache, instead of looping for ever.
        let negotiation = matches!(req, Request::Auth(_) | Request::Sasl(_));
        if !negotiation && !self.auth_enforced(session, conn, xid, received) {
            return;
        }
        if !negotiation && !self.touch(session) {
            // Closing or gone: ZooKeeper answers SESSIONEXPIRED and drops the connection.
            self.enqueue(
                session,
                Item::Reply {
                    conn,
                    xid,
                    result: Err(ErrorCode::SessionExpired),
                    close: true,
                    received,
                },
            );
            return;
        }
        if self.read_only_answer(session, conn, xid, &req, received) {
            return;
        }
        match req {
            Request::Auth(packet) => {
                // The identity counts from now on; the reply waits its turn so it never
                // overtakes the handshake answer of a session still being created.
                let sd = self.cfg.super_digest.as_deref();
                let (result, close) = match auth::authenticate(&packet.scheme, &packet.auth, sd) {
                    Some(ids) => {
                        if let Some(c) = self.conns.get_mut(&conn) {
                            for id in ids {
                                if !c.ids.contains(&id) {
                                    c.ids.push(id);
                                }
                            }
                        }
                        (Ok(Response::Empty), false)
                    }
                    None => {
                        crate::warn_limited!(
                            scheme = packet.scheme,
                            "no authentication provider for scheme"
                        );
                        self.stats.auth_failed += 1;
                        (Err(ErrorCode::AuthFailed), true)
                    }
                };
                // The reply echoes the request's xid (the Java client uses -4, others their own).
                self.enqueue(
                    session,
                    Item::Auth {
                        conn,
                        xid,
                        result,
                        close,
                        received,
                    },
                );
            }
            Request::Sasl(r) => self.sasl(session, conn, xid, r.token, received),
            Request::Sync(r) => self.sync(session, conn, xid, r.path, body, received),
            Request::CloseSession if self.is_local_session(session) => {
                self.close_local_session(session, conn, xid, received)
            }
            Request::CloseSession => {
                if self.is_leader() {
                    self.close_session(session, xid, Some((conn, xid, received)));
                } else {
                    self.forward_write(session, conn, xid, &req, body, received);
                }
            }
            ref r if r.is_write() => {
                if !self.before_local_write(session, conn, xid, r, received) {
                    return;
                }
                if self.is_leader() {
                    self.lead_write(session, conn, xid, req, received);
                } else {
                    self.forward_write(session, conn, xid, &req, body, received);
                }
            }
            _ => self.enqueue(
                session,
                Item::Read {
                    conn,
                    xid,
                    req,
                    received,
                },
            ),
        }
    }

    /// Notes activity on a session: the leader pushes its expiry out, a learner remembers to
    /// report it at the next PING. False if the leader knows it as closing or gone.
    pub(super) fn touch(&mut self, session: i64) -> bool {
        if let Some(alive) = self.touch_local(session) {
            return alive;
        }
        if self.is_leader() {
            return self.sessions.touch(session, now_ms()).is_ok();
        }
        let timeout = self.tree.sessions().get(&session).copied().unwrap_or(0);
        self.touched.insert(session, timeout);
        true
    }

    pub(super) fn reject(&mut self, conn: ConnId, xid: i32, code: ErrorCode, close: bool) {
        let received = Instant::now();
        let session = self.conns.get(&conn).and_then(|c| c.session);
        match session {
            Some(s) => self.enqueue(
                s,
                Item::Reply {
                    conn,
                    xid,
                    result: Err(code),
                    close,
                    received,
                },
            ),
            None => self.send_reply(conn, xid, &Err(code), close, received),
        }
    }

    /// `sync`: the leader answers once a quorum has confirmed it still leads and everything
    /// proposed before it is applied; a learner asks the leader, which answers in order.
    fn sync(
        &mut self,
        session: i64,
        conn: ConnId,
        xid: i32,
        path: String,
        body: Bytes,
        received: Instant,
    ) {
        let item = Item::Sync {
            conn,
            xid,
            path,
            ready: false,
            received,
        };
        self.queues.entry(session).or_default().push_back(item);
        if self.is_leader() {
            let until = self.member.last_proposed().unwrap_or(0);
            let token = self.next_sync_token;
            self.next_sync_token += 1;
            self.sync_confirming.insert(token, (session, until));
            let actions = self.member.sync(self.quorum_now(), token);
            self.execute(actions);
        } else {
            self.pending_syncs.push_back(session);
            self.forward(session, xid, crate::proto::OpCode::Sync.code(), body, conn);
        }
    }

    /// Leader: a quorum confirmed the leadership after this `sync` arrived; it is answered once
    /// what was proposed before it is applied.
    pub(super) fn sync_confirmed(&mut self, token: u64) {
        let Some((session, until)) = self.sync_confirming.remove(&token) else {
            return;
        };
        if until <= self.tree.last_zxid() {
            self.mark_sync_ready(session);
        } else {
            self.sync_waiters.entry(until).or_default().push(session);
        }
    }

    /// The oldest unanswered `sync` of `session` may be answered (in its turn).
    pub(super) fn mark_sync_ready(&mut self, session: i64) {
        if let Some(q) = self.queues.get_mut(&session) {
            for item in q.iter_mut() {
                if let Item::Sync { ready, .. } = item {
                    if !*ready {
                        *ready = true;
                        break;
                    }
                }
            }
        }
        self.drain(session);
    }

    /// Leader: syncs waiting for zxids now applied.
    pub(super) fn release_syncs(&mut self, applied: i64) {
        while let Some(entry) = self.sync_waiters.first_entry() {
            if *entry.key() > applied {
                break;
            }
            for session in entry.remove() {
                self.mark_sync_ready(session);
            }
        }
    }

    /// Adds an item to the session's FIFO and answers whatever is no longer blocked.
    pub(super) fn enqueue(&mut self, session: i64, item: Item) {
        self.queues.entry(session).or_default().push_back(item);
        self.drain(session);
    }

    /// Answers queued reads and known replies up to the first write (or sync) still waiting.
    pub(super) fn drain(&mut self, session: i64) {
        loop {
            let Some(queue) = self.queues.get_mut(&session) else {
                return;
            };
            let Some(front) = queue.front() else {
                self.queues.remove(&session);
                return;
            };
            if matches!(
                front,
                Item::Write { done: None, .. } | Item::Sync { ready: false, .. }
            ) {
                return;
            }
            let Some(item) = queue.pop_front() else {
                return;
            };
            match item {
                Item::Read {
                    conn,
                    xid,
                    req,
                    received,
                } => self.read(session, conn, xid, req, received),
                Item::Sync {
                    conn,
                    xid,
                    path,
                    received,
                    ..
                } => self.send_reply(conn, xid, &Ok(Response::Path(path)), false, received),
                // Auth replies carry zxid 0, as ZooKeeper's do.
                Item::Auth {
                    conn,
                    xid,
                    result,
                    close,
                    received,
                } => self.send_reply_at(conn, xid, 0, &result, close, received),
                Item::Reply {
                    conn,
                    xid,
                    result,
                    close,
                    received,
                } => self.send_reply(conn, xid, &result, close, received),
                Item::Encoded {
                    conn,
                    xid,
                    frame,
                    close,
                    received,
                } => self.send_encoded(conn, xid, frame, close, received),
                Item::Write {
                    conn,
                    xid,
                    received,
                    done: Some((result, close)),
                    ..
                } => {
                    // A request with a txn (failed writes are error txns): updatelatency.
                    self.stats.next_reply_is_update();
                    self.send_reply(conn, xid, &result, close, received)
                }
                Item::Write { .. } => {}
            }
        }
    }

    fn read(&mut self, session: i64, conn: ConnId, xid: i32, req: Request, received: Instant) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let who = Reader {
            session,
            ids: &c.ids,
            skip_acl: self.cfg.skip_acl,
        };
        match &req {
            // Apache 3.8 answers every ping with xid -2 whatever xid the ping carried (checked
            // on the wire); every other reply echoes the request's xid.
            Request::Ping => {
                self.send_reply(conn, xid::PING, &Ok(Response::Empty), false, received)
            }
            Request::SetWatches(w) => {
                let missed = self.tree.set_watches(&mut self.watches, session, w);
                for (event, path) in missed {
                    self.send_frame(conn, notification_frame(-1, event as i32, &path));
                }
                // The Java client sends -8, go-zookeeper an ordinary positive xid: echo it.
                self.send_reply(conn, xid, &Ok(Response::Empty), false, received);
            }
            _ => {
                let result = self.tree.read(&mut self.watches, &who, &req);
                let close = matches!(result, Err(ErrorCode::Unimplemented));
                self.send_reply(conn, xid, &result, close, received);
            }
        }
    }

    /// Sends a watch event to every session that asked for it and may READ the node.
    pub(super) fn fire(
        &mut self,
        path: &str,
        event: EventType,
        acl: &[crate::proto::records::Acl],
    ) {
        let sessions = self.watches.trigger(path, event);
        if sessions.is_empty() {
            return;
        }
        // Apache 3.8 puts -1 in a notification's zxid; clients take the zxid from replies.
        let frame = notification_frame(-1, event as i32, path);
        for s in sessions {
            let Some(&conn) = self.owner.get(&s) else {
                continue;
            };
            let allowed = self.conns.get(&conn).is_some_and(|c| {
                self.cfg.skip_acl
                    || crate::tree::acl::permits(acl, crate::proto::opcode::perms::READ, &c.ids)
            });
            if allowed {
                self.send_frame(conn, frame.clone());
            }
        }
    }
}
