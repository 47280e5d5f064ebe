//! The core task: state, the main loop and the small helpers every handler shares.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;

use super::sink::TxnSink;
use super::status::ServerStats;
use super::{ConnId, CoreMsg, Outbound, Outbox};
use crate::config::Config;
use crate::prep::PendingChanges;
use crate::proto::opcode::OpCode;
use crate::proto::records::Id;
use crate::proto::request::Request;
use crate::proto::response::{write_reply, Response};
use crate::proto::txn::Txn;
use crate::proto::ErrorCode;
use crate::session::{SessionIdGenerator, SessionTable};
use crate::tree::watch::WatchManager;
use crate::tree::DataTree;

pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// One client connection as the core knows it.
pub(super) struct Conn {
    pub out: Outbox,
    pub addr: IpAddr,
    pub port: u16,
    pub session: Option<i64>,
    /// Authenticated identities: `ip:<addr>` plus whatever auth packets added.
    pub ids: Vec<Id>,
    pub stats: super::status::ConnStats,
}

/// An entry of a session's FIFO: replies leave in this order.
pub(super) enum Item {
    /// A txn in flight; answered when it is applied.
    Write {
        conn: ConnId,
        xid: i32,
        op: OpCode,
        zxid: i64,
        received: Instant,
    },
    /// A read waiting for the session's earlier writes.
    Read {
        conn: ConnId,
        xid: i32,
        req: Request,
        received: Instant,
    },
    /// An auth or sasl answer (ReplyHeader zxid 0, as ZooKeeper sends).
    Auth {
        conn: ConnId,
        xid: i32,
        result: Result<Response, ErrorCode>,
        close: bool,
        received: Instant,
    },
    /// An answer already known (e.g. a failed write), waiting for its turn.
    Reply {
        conn: ConnId,
        xid: i32,
        result: Result<Response, ErrorCode>,
        close: bool,
        received: Instant,
    },
}

/// A txn between prepare and apply.
pub(super) struct InFlight {
    pub txn: Txn,
    /// The connection whose handshake waits for this createSession.
    pub connect: Option<(ConnId, Option<bool>)>,
}

pub struct Core {
    pub(super) cfg: Arc<Config>,
    pub(super) tree: DataTree,
    pub(super) watches: WatchManager,
    pub(super) pending: PendingChanges,
    pub(super) sessions: SessionTable,
    pub(super) session_ids: SessionIdGenerator,
    pub(super) conns: HashMap<ConnId, Conn>,
    /// The connection currently serving each session.
    pub(super) owner: HashMap<i64, ConnId>,
    pub(super) queues: HashMap<i64, VecDeque<Item>>,
    pub(super) inflight: VecDeque<InFlight>,
    pub(super) next_zxid: i64,
    pub(super) sink: Box<dyn TxnSink>,
    pub(super) stats: ServerStats,
    pub(super) started: Instant,
    pub(super) rx: mpsc::UnboundedReceiver<CoreMsg>,
    pub(super) serving: bool,
    pub(super) snapshots: Option<super::persist::Snapshotter>,
}

impl Core {
    /// A core over a recovered tree. Sessions found in the tree restart their expiry clock.
    pub fn new(
        cfg: Arc<Config>,
        tree: DataTree,
        sink: Box<dyn TxnSink>,
        rx: mpsc::UnboundedReceiver<CoreMsg>,
    ) -> Core {
        let now = now_ms();
        let mut sessions = SessionTable::new(i64::from(cfg.tick_time_ms));
        for (&id, &timeout) in tree.sessions() {
            let _ = sessions.create(id, timeout, now);
        }
        let next_zxid = tree.last_zxid() + 1;
        Core {
            session_ids: SessionIdGenerator::new(cfg.server_id, now),
            cfg,
            tree,
            watches: WatchManager::default(),
            pending: PendingChanges::default(),
            sessions,
            conns: HashMap::new(),
            owner: HashMap::new(),
            queues: HashMap::new(),
            inflight: VecDeque::new(),
            next_zxid,
            sink,
            stats: ServerStats::default(),
            started: Instant::now(),
            rx,
            serving: true,
            snapshots: None,
        }
    }

    /// Snapshots every snapCount txns through `snapshotter`.
    pub fn with_snapshots(mut self, snapshotter: super::persist::Snapshotter) -> Core {
        self.snapshots = Some(snapshotter);
        self
    }

    /// Runs until shutdown. Expiry is checked every half tick, the container sweep on its
    /// own interval.
    pub async fn run(mut self) {
        let tick = Duration::from_millis(u64::from(self.cfg.tick_time_ms / 2).max(10));
        let mut expiry = tokio::time::interval(tick);
        let sweep_every = Duration::from_millis(self.cfg.container_check_interval_ms.max(100));
        let mut sweep = tokio::time::interval(sweep_every);
        loop {
            tokio::select! {
                msg = self.rx.recv() => {
                    let Some(msg) = msg else { return };
                    if let CoreMsg::Shutdown { done } = msg {
                        self.shutdown();
                        let _ = done.send(std::mem::take(&mut self.tree));
                        return;
                    }
                    self.handle(msg);
                }
                _ = expiry.tick() => self.expire_sessions(),
                _ = sweep.tick() => self.sweep_containers(),
            }
        }
    }

    fn handle(&mut self, msg: CoreMsg) {
        match msg {
            CoreMsg::Connect {
                conn,
                addr,
                port,
                req,
                out,
            } => self.connect(conn, addr, port, req, out),
            CoreMsg::Request { conn, xid, req } => self.request(conn, xid, req),
            CoreMsg::Reject {
                conn,
                xid,
                code,
                close,
            } => self.reject(conn, xid, code, close),
            CoreMsg::Disconnected { conn } => self.disconnected(conn),
            CoreMsg::Durable { zxid } => self.durable(zxid),
            CoreMsg::FourLetter { cmd, reply } => {
                let _ = reply.send(self.four_letter(&cmd));
            }
            CoreMsg::Shutdown { .. } => {}
        }
    }

    fn shutdown(&mut self) {
        self.serving = false;
        for conn in self.conns.values() {
            let _ = conn.out.send(Outbound::Close);
        }
    }

    /// Hands a prepared txn to the log; it is applied once durable.
    pub(super) fn submit(&mut self, txn: Txn, connect: Option<(ConnId, Option<bool>)>) {
        self.sink.append(txn.header.zxid, txn.encode());
        self.inflight.push_back(InFlight { txn, connect });
    }

    /// Queues the session's answer to `txn` behind its earlier items, then logs the txn.
    pub(super) fn submit_write(
        &mut self,
        session: i64,
        item: Item,
        txn: Txn,
        connect: Option<(ConnId, Option<bool>)>,
    ) {
        self.queues.entry(session).or_default().push_back(item);
        self.submit(txn, connect);
    }

    pub(super) fn take_zxid(&mut self) -> i64 {
        let z = self.next_zxid;
        self.next_zxid += 1;
        z
    }

    /// Encodes and sends one reply on `conn`, closing it afterwards if asked.
    pub(super) fn send_reply(
        &mut self,
        conn: ConnId,
        xid: i32,
        result: &Result<Response, ErrorCode>,
        close: bool,
        received: Instant,
    ) {
        // ZooKeeper answers an unknown opcode with zxid -1 (UnimplementedRequestProcessor).
        let zxid = match result {
            Err(ErrorCode::Unimplemented) if close => -1,
            _ => self.tree.last_zxid(),
        };
        self.send_reply_at(conn, xid, zxid, result, close, received);
    }

    /// Like `send_reply`, with the ReplyHeader zxid given (auth replies carry 0).
    pub(super) fn send_reply_at(
        &mut self,
        conn: ConnId,
        xid: i32,
        zxid: i64,
        result: &Result<Response, ErrorCode>,
        close: bool,
        received: Instant,
    ) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let mut out = BytesMut::with_capacity(64);
        write_reply(&mut out, xid, zxid, result);
        let latency = received.elapsed();
        c.stats.sent(xid, zxid, latency, out.len());
        self.stats.sent(latency, out.len());
        let _ = c.out.send(Outbound::Reply(out.freeze()));
        if close {
            let _ = c.out.send(Outbound::Close);
        }
    }

    pub(super) fn send_frame(&mut self, conn: ConnId, frame: Bytes) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.stats.packets_sent += 1;
            self.stats.packets_sent += 1;
            let _ = c.out.send(Outbound::Frame(frame));
        }
    }

    pub(super) fn close_conn(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.get(&conn) {
            let _ = c.out.send(Outbound::Close);
        }
    }
}
