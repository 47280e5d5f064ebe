//! The core task: state, the main loop and the small helpers every handler shares.
//!
//! One task owns the tree, the sessions, the watches, the pending-change overlay and the
//! quorum `Member`, so every decision is serialized without locks. A standalone server is a
//! member that leads a quorum of one: writes take the same propose → log → commit → apply path
//! as in an ensemble.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;

use super::peers::election::ElectionNet;
use super::peers::links::LinkHandle;
use super::peers::PeerAddrs;
use super::status::ServerStats;
use super::store::Store;
use super::{ConnId, CoreMsg, CoreTx, Outbound, Outbox};
use crate::config::Config;
use crate::prep::PendingChanges;
use crate::proto::opcode::OpCode;
use crate::proto::records::Id;
use crate::proto::request::Request;
use crate::proto::response::{write_reply, Response};
use crate::proto::txn::{Txn, TxnDigest};
use crate::proto::ErrorCode;
use crate::quorum::{Input, LinkId, Member, Sid};
use crate::session::{SessionIdGenerator, SessionTable};
use crate::tree::digest_preview::DigestPreview;
use crate::tree::watch::WatchManager;
use crate::tree::DataTree;

/// Wall-clock ms: txn times, session expiry.
pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// How often the quorum core's timers are checked.
const QUORUM_TICK: Duration = Duration::from_millis(10);

/// One client connection as the core knows it.
pub(super) struct Conn {
    pub out: Outbox,
    pub addr: IpAddr,
    pub port: u16,
    pub session: Option<i64>,
    /// Authenticated identities: `ip:<addr>` plus whatever auth packets added.
    pub ids: Vec<Id>,
    pub stats: super::status::ConnStats,
    /// The connection's SASL exchange, once a SASL token arrived (JAAS configured).
    pub sasl: Option<crate::sasl::DigestMd5Server>,
}

/// An entry of a session's FIFO: replies leave in this order.
pub(super) enum Item {
    /// A write in flight; answered when its txn is applied. `zxid` is known when this member
    /// proposed it; a forwarded write is matched by its cxid (`xid`). `done` holds the answer
    /// (and whether to close after it) once committed, until its turn comes.
    Write {
        conn: ConnId,
        xid: i32,
        op: OpCode,
        zxid: Option<i64>,
        received: Instant,
        done: Option<(Result<Response, ErrorCode>, bool)>,
    },
    /// A read waiting for the session's earlier writes.
    Read {
        conn: ConnId,
        xid: i32,
        req: Request,
        received: Instant,
    },
    /// A `sync`: answered once everything proposed before it is applied (`ready`).
    Sync {
        conn: ConnId,
        xid: i32,
        path: String,
        ready: bool,
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
    /// A reply already encoded (a failed SASL step: an error header followed by a body,
    /// which `Reply` cannot express), waiting for its turn.
    Encoded {
        conn: ConnId,
        xid: i32,
        frame: Bytes,
        close: bool,
        received: Instant,
    },
    /// An answer already known, waiting for its turn.
    Reply {
        conn: ConnId,
        xid: i32,
        result: Result<Response, ErrorCode>,
        close: bool,
        received: Instant,
    },
}

/// Who may issue requests for a global session (the leader's `SessionTracker` owner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SessionOwner {
    Local,
    Learner(Sid),
}

/// A client connection waiting for its handshake answer.
pub(super) struct Connecting {
    pub conn: ConnId,
    pub read_only: Option<bool>,
    /// Reconnect: the negotiated timeout to answer with once the leader revalidates.
    pub timeout: i32,
}

/// The ensemble side of the core: peers and links (absent on a standalone server).
pub(super) struct Ensemble {
    pub election: ElectionNet,
    pub addrs: Arc<PeerAddrs>,
    pub links: HashMap<LinkId, LinkHandle>,
    /// Learner connections accepted while not (yet) leading.
    pub parked: Vec<(LinkId, LinkHandle, u64)>,
    pub core_tx: CoreTx,
    /// The QuorumVerifier text written into `/zookeeper/config`.
    pub config_text: String,
}

pub struct Core {
    pub(super) cfg: Arc<Config>,
    pub(super) tree: DataTree,
    pub(super) watches: WatchManager,
    pub(super) pending: PendingChanges,
    pub(super) member: Member,
    pub(super) ensemble: Option<Ensemble>,
    pub(super) store: Store,
    /// Leader: global sessions and their expiry (followers report activity).
    pub(super) sessions: SessionTable,
    /// This member's local sessions (`runtime::local_sessions`).
    pub(super) local_sessions: SessionTable,
    pub(super) owners: HashMap<i64, SessionOwner>,
    pub(super) session_ids: SessionIdGenerator,
    pub(super) conns: HashMap<ConnId, Conn>,
    /// The connection currently serving each session.
    pub(super) owner: HashMap<i64, ConnId>,
    pub(super) queues: HashMap<i64, VecDeque<Item>>,
    /// Txns this member proposed, decoded, with the digest it promised, until applied.
    pub(super) inflight: BTreeMap<i64, (Txn, Option<TxnDigest>)>,
    /// Leader: the tree digest after each proposed txn, ahead of the tree (the `TxnDigest`
    /// Apache followers check every proposal against).
    pub(super) digest_preview: DigestPreview,
    /// Txns up to this zxid replay over a SNAP that may already hold them (Apache's leader
    /// serializes it while committing on): their digests are not compared.
    pub(super) digest_fuzzy_through: i64,
    /// Handshakes waiting for a createSession commit or a revalidation.
    pub(super) connecting: HashMap<i64, Connecting>,
    /// Learner: sessions with a forwarded `sync`, oldest first.
    pub(super) pending_syncs: VecDeque<i64>,
    /// Leader: `sync`s waiting for a zxid to be applied.
    pub(super) sync_waiters: BTreeMap<i64, Vec<i64>>,
    /// Leader: `sync`s waiting for a quorum to confirm the leadership, by token: the session
    /// and what was proposed when the `sync` arrived.
    pub(super) sync_confirming: HashMap<u64, (i64, i64)>,
    pub(super) next_sync_token: u64,
    /// Learner: sessions active since the last PING (reported to the leader).
    pub(super) touched: HashMap<i64, i32>,
    pub(super) stats: ServerStats,
    pub(super) started: Instant,
    pub(super) rx: mpsc::UnboundedReceiver<CoreMsg>,
    pub(super) snapshots: Option<super::persist::Snapshotter>,
    /// Origin of the quorum core's monotonic clock.
    pub(super) clock: Instant,
    /// The zxid of a SNAP loaded in memory and not yet written as a snapshot.
    pub(super) snap_base: Option<i64>,
    /// When this member's current leadership was established (`zk_leader_uptime`).
    pub(super) leader_since: Option<Instant>,
    /// Serving read-only clients while LOOKING (`runtime::read_only`).
    pub(super) read_only_serving: bool,
    /// When this member last started LOOKING (read-only mode's grace period).
    pub(super) looking_since: Option<Instant>,
    /// Sizes of the proposals this leader sent (`Proposal sizes last/min/max`).
    pub(super) proposal_sizes: crate::status::stats::BufferStats,
    /// The JAAS `Server` users when SASL is configured (`runtime::sasl`).
    pub(super) sasl_users: Option<Arc<crate::sasl::SaslUsers>>,
    /// Moves the `clientPort` listener when a reconfig changes this member's client address.
    pub(super) client_moves: Option<tokio::sync::watch::Sender<Option<std::net::SocketAddr>>>,
}

impl Core {
    /// A core over a recovered tree, driven by `member` (standalone or ensemble).
    pub fn new(
        cfg: Arc<Config>,
        tree: DataTree,
        member: Member,
        store: Store,
        rx: mpsc::UnboundedReceiver<CoreMsg>,
    ) -> Core {
        let now = now_ms();
        let mut core = Core {
            session_ids: SessionIdGenerator::new(cfg.server_id, now),
            sessions: SessionTable::new(i64::from(cfg.tick_time_ms)),
            local_sessions: SessionTable::new(i64::from(cfg.tick_time_ms)),
            cfg,
            tree,
            watches: WatchManager::default(),
            pending: PendingChanges::default(),
            member,
            ensemble: None,
            store,
            owners: HashMap::new(),
            conns: HashMap::new(),
            owner: HashMap::new(),
            queues: HashMap::new(),
            inflight: BTreeMap::new(),
            digest_preview: DigestPreview::default(),
            digest_fuzzy_through: 0,
            connecting: HashMap::new(),
            pending_syncs: VecDeque::new(),
            sync_waiters: BTreeMap::new(),
            sync_confirming: HashMap::new(),
            next_sync_token: 0,
            touched: HashMap::new(),
            stats: ServerStats::default(),
            started: Instant::now(),
            rx,
            snapshots: None,
            clock: Instant::now(),
            snap_base: None,
            leader_since: None,
            read_only_serving: false,
            looking_since: None,
            proposal_sizes: Default::default(),
            sasl_users: None,
            client_moves: None,
        };
        if core.member.is_serving() {
            core.reset_session_tracker();
        }
        core
    }

    /// Snapshots every snapCount txns through `snapshotter`.
    pub fn with_snapshots(mut self, snapshotter: super::persist::Snapshotter) -> Core {
        self.snapshots = Some(snapshotter);
        self
    }

    /// Where to send this member's new client address after a reconfig (`server::serve`).
    pub fn with_client_moves(
        mut self,
        moves: tokio::sync::watch::Sender<Option<std::net::SocketAddr>>,
    ) -> Core {
        self.client_moves = Some(moves);
        self
    }

    /// Serves SASL logins for the users of a JAAS `Server` section.
    pub fn with_sasl(mut self, users: Option<crate::sasl::SaslUsers>) -> Core {
        self.sasl_users = users.map(Arc::new);
        self
    }

    /// Runs until shutdown. Session expiry is checked every half tick, the container sweep on
    /// its own interval, the quorum core's timers every 10 ms.
    pub async fn run(mut self) {
        let tick = Duration::from_millis(u64::from(self.cfg.tick_time_ms / 2).max(10));
        let mut expiry = tokio::time::interval(tick);
        let sweep_every = Duration::from_millis(self.cfg.container_check_interval_ms.max(100));
        // Apache's ContainerManager first runs one interval after startup, not at once.
        let mut sweep =
            tokio::time::interval_at(tokio::time::Instant::now() + sweep_every, sweep_every);
        let mut quorum_tick = tokio::time::interval(QUORUM_TICK);
        quorum_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        if self.ensemble.is_some() {
            let now = self.quorum_now();
            let actions = self.member.start(now);
            self.execute(actions);
        }
        // Sessions expire at their bucket's boundary, as Apache's SessionTracker sleeps until
        // it; the half-tick interval above stays as a safety net (e.g. a wall-clock step).
        let next_expiry = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(next_expiry);
        let mut armed_for: Option<i64> = None;
        loop {
            let due = self.next_session_expiry();
            if due != armed_for {
                armed_for = due;
                if let Some(at) = due {
                    let wait = u64::try_from(at.saturating_sub(now_ms())).unwrap_or(0);
                    next_expiry
                        .as_mut()
                        .reset(tokio::time::Instant::now() + Duration::from_millis(wait));
                }
            }
            tokio::select! {
                _ = &mut next_expiry, if armed_for.is_some() => {
                    armed_for = None;
                    self.expire_sessions();
                }
                msg = self.rx.recv() => {
                    let Some(msg) = msg else { return };
                    if let CoreMsg::Shutdown { done } = msg {
                        self.shutdown();
                        let _ = done.send(std::mem::take(&mut self.tree));
                        return;
                    }
                    self.handle(msg);
                }
                _ = quorum_tick.tick(), if self.ensemble.is_some() => {
                    self.quorum_input(Input::Tick);
                    self.update_read_only();
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
                auth,
            } => self.connect(conn, addr, port, req, out, auth),
            CoreMsg::Request {
                conn,
                xid,
                req,
                body,
            } => self.request(conn, xid, req, body),
            CoreMsg::Reject {
                conn,
                xid,
                code,
                close,
            } => self.reject(conn, xid, code, close),
            CoreMsg::Disconnected { conn } => self.disconnected(conn),
            CoreMsg::Durable { zxid } => self.quorum_input(Input::Persisted { zxid }),
            CoreMsg::Quorum(input) => self.quorum_input(input),
            CoreMsg::LinkAccepted { link, handle } => self.link_accepted(link, handle),
            CoreMsg::LinkConnected { link, handle } => self.link_connected(link, handle),
            CoreMsg::Status(q) => self.status(q),
            CoreMsg::Shutdown { .. } => {}
        }
    }

    fn shutdown(&mut self) {
        for conn in self.conns.values() {
            let _ = conn.out.send(Outbound::Close);
        }
        if let Some(e) = self.ensemble.as_mut() {
            e.links.clear();
            e.parked.clear();
        }
    }

    /// Milliseconds on the quorum core's monotonic clock.
    pub(super) fn quorum_now(&self) -> u64 {
        self.clock.elapsed().as_millis() as u64
    }

    /// Whether this member leads (or stands alone) and is serving: it prepares writes itself.
    pub(super) fn is_leader(&self) -> bool {
        matches!(
            self.member.mode(),
            crate::quorum::Mode::Leading | crate::quorum::Mode::Standalone
        ) && self.member.is_serving()
    }

    /// Starts tracking every global session in the tree afresh (a new leader). Owners are
    /// unknown until a member revalidates the session or sends its first request (Apache's
    /// `SessionTrackerImpl.checkSession` claims an ownerless session for the requester).
    pub(super) fn reset_session_tracker(&mut self) {
        let now = now_ms();
        self.sessions = SessionTable::new(i64::from(self.cfg.tick_time_ms));
        self.owners.clear();
        for (&id, &timeout) in self.tree.sessions() {
            let _ = self.sessions.create(id, timeout, now);
        }
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
