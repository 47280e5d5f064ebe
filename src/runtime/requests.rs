//! Client requests: writes are prepared and submitted, reads answered from the tree in
//! per-session FIFO order (a read waits for the same session's earlier writes).

use std::time::Instant;

use super::core::{now_ms, Core, Item};
use super::{auth, ConnId};
use crate::prep;
use crate::proto::opcode::{xid, EventType};
use crate::proto::request::Request;
use crate::proto::response::{notification_frame, Response};
use crate::proto::txn::{Txn, TxnHeader};
use crate::proto::ErrorCode;
use crate::tree::read::Reader;

impl Core {
    pub(super) fn request(&mut self, conn: ConnId, xid: i32, req: Request) {
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
        if !negotiation && self.sessions.touch(session, now_ms()).is_err() {
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
            Request::Sasl(_) => {
                // Without a SASL provider Apache 3.8 answers err 0 with a null token (zxid 0,
                // the request's xid) and leaves the connection open: the Java client fails
                // its login on the null token; kazoo sends another empty token until the
                // session expires (these packets do not refresh it, see above).
                crate::warn_limited!(
                    "SASL token received but no SASL provider is configured; \
                     answering with an empty token"
                );
                let result = Ok(Response::Sasl(None));
                self.enqueue(
                    session,
                    Item::Auth {
                        conn,
                        xid,
                        result,
                        close: false,
                        received,
                    },
                );
            }
            Request::CloseSession => self.close_session(session, Some((conn, xid, received))),
            ref r if r.is_write() => self.write(session, conn, xid, req, received),
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

    fn write(&mut self, session: i64, conn: ConnId, xid: i32, req: Request, received: Instant) {
        let zxid = self.next_zxid;
        // Borrow the fields apart so the session's ids are not copied on every write.
        let Core {
            conns,
            tree,
            pending,
            cfg,
            ..
        } = self;
        let ids = conns.get(&conn).map_or(&[][..], |c| &c.ids[..]);
        let ctx = prep::Context {
            session,
            ids,
            skip_acl: cfg.skip_acl,
            extended_types: cfg.extended_types_enabled,
            reconfig_enabled: cfg.reconfig_enabled,
        };
        let prepared = prep::prepare(tree, pending, &ctx, &req, zxid);
        match prepared {
            // A failed multi changes nothing: answer it in order without logging it.
            Ok(p) if prep::multi::failed(&p) => {
                let result = Ok(Response::Multi(super::commit::multi_error_results(&p.body)));
                self.enqueue(
                    session,
                    Item::Reply {
                        conn,
                        xid,
                        result,
                        close: false,
                        received,
                    },
                );
            }
            Ok(p) => {
                self.take_zxid();
                let header = TxnHeader {
                    client_id: session,
                    cxid: xid,
                    zxid,
                    time: now_ms(),
                    txn_type: p.txn_type.code(),
                };
                let item = Item::Write {
                    conn,
                    xid,
                    op: req.op(),
                    zxid,
                    received,
                };
                self.submit_write(
                    session,
                    item,
                    Txn {
                        header,
                        body: p.body,
                    },
                    None,
                );
            }
            Err(e) => self.enqueue(
                session,
                Item::Reply {
                    conn,
                    xid,
                    result: Err(e),
                    close: false,
                    received,
                },
            ),
        }
    }

    /// Adds an item to the session's FIFO and answers whatever is no longer blocked.
    pub(super) fn enqueue(&mut self, session: i64, item: Item) {
        self.queues.entry(session).or_default().push_back(item);
        self.drain(session);
    }

    /// Answers queued reads and known replies up to the first write still in flight.
    pub(super) fn drain(&mut self, session: i64) {
        loop {
            let Some(queue) = self.queues.get_mut(&session) else {
                return;
            };
            let Some(front) = queue.front() else {
                self.queues.remove(&session);
                return;
            };
            if matches!(front, Item::Write { .. }) {
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
