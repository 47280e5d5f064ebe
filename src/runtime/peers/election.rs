//! The election port, as Apache's `QuorumCnxManager` runs it: one connection per peer pair,
//! and only one initiated by the LARGER sid survives (a smaller dialler announces itself and
//! hangs up; the receiver dials back). Each connection starts with the initial message
//! (`long -65536, long sid, int len, "host:port"`), then carries `int length`-framed
//! notifications. Only the latest notification per peer is kept while unsent (Apache's
//! capacity-1 queue), and a fresh connection re-sends the last one, so duplicates are normal.
//!
//! One manager task owns the table of connections; socket tasks report to it. Whatever is
//! dropped (an unreachable peer, bytes that are not the protocol) gets one log line naming
//! the peer: an unreachable peer once per outage, not once per election round.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::auth::{self, PeerAuth};
use super::stream::{PeerRead, PeerStream, PeerWrite, Transport};
use super::{resolve, PeerAddrs};
use crate::quorum::wire::election::{
    decode_election_frame, encode_election_frame, split_host_port, InitialMessage,
};
use crate::quorum::wire::Notification;
use crate::quorum::{Input, Sid};
use crate::runtime::{CoreMsg, CoreTx};

/// `zookeeper.cnxTimeout`: how long a dial may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Commands to the manager.
enum Cmd {
    Send {
        to: Sid,
        frame: Bytes,
    },
    /// A connection to keep for `sid` (accepted from a larger sid, or dialled to a smaller),
    /// with any bytes already read past the initial message.
    Install {
        sid: Sid,
        stream: PeerStream,
        leftover: BytesMut,
    },
    /// A smaller sid dialled us: dial it back at `addr` (from its initial message).
    DialBack {
        sid: Sid,
        addr: Option<String>,
    },
    /// A dial finished; `error` says why it failed (logged once per outage).
    DialDone {
        sid: Sid,
        error: Option<String>,
    },
    Closed {
        sid: Sid,
        conn: u64,
    },
}

/// The core's handle: send a notification to a peer.
#[derive(Clone)]
pub struct ElectionNet {
    tx: mpsc::UnboundedSender<Cmd>,
}

impl ElectionNet {
    pub fn send(&self, to: Sid, n: &Notification) {
        let mut frame = BytesMut::new();
        encode_election_frame(&mut frame, &n.encode());
        let _ = self.tx.send(Cmd::Send {
            to,
            frame: frame.freeze(),
        });
    }
}

#[derive(Default)]
struct Peer {
    conn: Option<(u64, mpsc::UnboundedSender<Bytes>)>,
    /// The latest notification not yet handed to a connection.
    pending: Option<Bytes>,
    /// Re-sent when a connection (re)starts with nothing pending (`lastMessageSent`).
    last: Option<Bytes>,
    dialing: bool,
    /// The election address a peer announced, used to dial it back.
    announced: Option<String>,
    /// Dials to this peer fail; the first failure was logged at WARN, the rest at DEBUG,
    /// until a connection works again (Apache warns at every retry, flooding the log).
    unreachable: bool,
}

struct Manager {
    me: Sid,
    announce: String,
    addrs: Arc<PeerAddrs>,
    core: CoreTx,
    tx: mpsc::UnboundedSender<Cmd>,
    peers: HashMap<Sid, Peer>,
    next_conn: u64,
}

/// Starts the election port: the listener and the manager.
pub fn start(
    me: Sid,
    listener: TcpListener,
    addrs: Arc<PeerAddrs>,
    core: CoreTx,
    handshake_timeout: Duration,
) -> ElectionNet {
    let (tx, rx) = mpsc::unbounded_channel();
    let transport = addrs.transport.clone();
    let manager = Manager {
        me,
        announce: addrs.announce(me),
        addrs: addrs.clone(),
        core,
        tx: tx.clone(),
        peers: HashMap::new(),
        next_conn: 1,
    };
    tokio::spawn(accept_loop(
        listener,
        me,
        addrs.clone(),
        tx.clone(),
        handshake_timeout,
        transport,
    ));
    tokio::spawn(manager.run(rx));
    ElectionNet { tx }
}

impl Manager {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Cmd>) {
        while let Some(cmd) = rx.recv().await {
            match cmd {
                Cmd::Send { to, frame } => self.send(to, frame),
                Cmd::Install {
                    sid,
                    stream,
                    leftover,
                } => self.install(sid, stream, leftover),
                Cmd::DialBack { sid, addr } => {
                    let p = self.peers.entry(sid).or_default();
                    if addr.is_some() {
                        p.announced = addr;
                    }
                    // Finish whatever connection we had: the larger sid's dial replaces it.
                    p.conn = None;
                    self.dial(sid);
                }
                Cmd::DialDone { sid, error } => {
                    let p = self.peers.entry(sid).or_default();
                    p.dialing = false;
                    if error.is_some() && p.conn.is_none() {
                        self.report(Input::PeerDown { sid });
                    }
                    // A notification queued while the dial failed waits for the next send
                    // or election timeout, as in Apache (connectAll on timeout).
                    if let Some(e) = error {
                        let target = self.target(sid).map_or_else(
                            || "an unknown address".to_string(),
                            |(h, port)| format!("{h}:{port}"),
                        );
                        let p = self.peers.entry(sid).or_default();
                        if p.unreachable {
                            tracing::debug!(
                                sid,
                                "Cannot open channel to {sid} at election address {target}: {e}"
                            );
                        } else {
                            p.unreachable = true;
                            tracing::warn!(sid, "Cannot open channel to {sid} at election address {target}: {e} (retrying; logged once until it answers)");
                        }
                    }
                }
                Cmd::Closed { sid, conn } => {
                    tracing::debug!(sid, conn, "election connection closed");
                    if let Some(p) = self.peers.get_mut(&sid) {
                        if p.conn.as_ref().is_some_and(|(c, _)| *c == conn) {
                            p.conn = None;
                            self.report(Input::PeerDown { sid });
                        }
                    }
                }
            }
        }
    }

    fn report(&self, input: Input) {
        let _ = self.core.send(CoreMsg::Quorum(input));
    }

    fn send(&mut self, to: Sid, frame: Bytes) {
        let p = self.peers.entry(to).or_default();
        tracing::debug!(
            to,
            connected = p.conn.is_some(),
            dialing = p.dialing,
            "election send"
        );
        p.last = Some(frame.clone());
        match &p.conn {
            Some((_, tx)) if tx.send(frame.clone()).is_ok() => {}
            _ => {
                p.conn = None;
                p.pending = Some(frame);
                self.dial(to);
            }
        }
    }

    /// Where to dial `sid`: its `server.N` line, else the address it announced.
    fn target(&self, sid: Sid) -> Option<(String, u16)> {
        let announced = self.peers.get(&sid).and_then(|p| p.announced.as_ref());
        match (announced, self.addrs.election(sid)) {
            (_, Some(known)) => Some(known),
            (Some(a), None) => split_host_port(a).map(|(h, port)| (h.to_string(), port)),
            (None, None) => None,
        }
    }

    fn dial(&mut self, sid: Sid) {
        let target = self.target(sid);
        let p = self.peers.entry(sid).or_default();
        if p.dialing || p.conn.is_some() {
            return;
        }
        let Some((host, port)) = target else {
            return;
        };
        p.dialing = true;
        let (me, announce, tx) = (self.me, self.announce.clone(), self.tx.clone());
        let transport = self.addrs.transport.clone();
        let auth = self.addrs.auth.clone();
        tokio::spawn(async move {
            let error = match dial(&transport, &auth, &host, port, me, &announce).await {
                Ok((stream, leftover)) if sid < me => {
                    let _ = tx.send(Cmd::Install {
                        sid,
                        stream,
                        leftover,
                    });
                    None
                }
                // To a larger sid we only announce ourselves; it dials back.
                Ok(_) => None,
                Err(e) => Some(e.to_string()),
            };
            let _ = tx.send(Cmd::DialDone { sid, error });
        });
    }

    fn install(&mut self, sid: Sid, stream: PeerStream, leftover: BytesMut) {
        tracing::debug!(sid, "election connection up");
        let conn = self.next_conn;
        self.next_conn += 1;
        let peer = stream
            .peer_addr()
            .map_or_else(|_| "?".to_string(), |a| a.to_string());
        let (rd, wr) = stream.into_split();
        let (tx, rx) = mpsc::unbounded_channel();
        let p = self.peers.entry(sid).or_default();
        if std::mem::take(&mut p.unreachable) {
            tracing::info!(sid, %peer, "election channel to {sid} is up again");
        }
        if let Some(frame) = p.pending.take().or_else(|| p.last.clone()) {
            let _ = tx.send(frame);
        }
        p.conn = Some((conn, tx));
        self.report(Input::PeerUp { sid });
        tokio::spawn(write_loop(wr, rx));
        let (core, manager) = (self.core.clone(), self.tx.clone());
        tokio::spawn(read_loop(rd, leftover, sid, peer, conn, core, manager));
    }
}

/// Connects, announces this member and (with `quorum.auth.learnerRequireSasl`) logs in, as
/// Apache's `startConnection` does whichever side keeps the connection. Returns the stream
/// and any bytes the peer sent after the SASL exchange.
async fn dial(
    transport: &Transport,
    auth: &PeerAuth,
    host: &str,
    port: u16,
    me: Sid,
    announce: &str,
) -> Result<(PeerStream, BytesMut), String> {
    let addr = resolve(host, port).await.map_err(|e| e.to_string())?;
    let mut stream = transport
        .dial(addr, CONNECT_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    // One write: Apache reads the address with a single read() call.
    stream
        .write_all(&InitialMessage::encode_v1(me as i64, announce))
        .await
        .map_err(|e| e.to_string())?;
    let mut leftover = BytesMut::new();
    let shown = format!("{host}:{port}");
    auth::as_learner(auth, &mut stream, &mut leftover, &shown, CONNECT_TIMEOUT).await?;
    Ok((stream, leftover))
}

async fn accept_loop(
    listener: TcpListener,
    me: Sid,
    addrs: Arc<PeerAddrs>,
    tx: mpsc::UnboundedSender<Cmd>,
    timeout: Duration,
    transport: Transport,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("election port accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (tx, addrs) = (tx.clone(), addrs.clone());
        let transport = transport.clone();
        tokio::spawn(async move {
            let work = async {
                let stream = transport
                    .accept(stream, peer)
                    .await
                    .map_err(|e| e.to_string())?;
                handshake(stream, peer, me, &addrs, &tx).await
            };
            match tokio::time::timeout(timeout, work).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(%peer, "dropping election connection: {e}"),
                Err(_) => {
                    tracing::warn!(%peer, "dropping election connection: no initial message in time")
                }
            }
        });
    }
}

/// Reads a dialler's initial message and applies the "larger sid keeps it" rule.
async fn handshake(
    mut stream: PeerStream,
    peer: std::net::SocketAddr,
    me: Sid,
    addrs: &PeerAddrs,
    tx: &mpsc::UnboundedSender<Cmd>,
) -> Result<(), String> {
    let mut buf = BytesMut::with_capacity(256);
    let (msg, used) = loop {
        if let Some(done) = InitialMessage::parse(&buf).map_err(|e| e.to_string())? {
            break done;
        }
        let n = stream.read_buf(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed before the initial message".into());
        }
    };
    // Notifications may follow the initial message in the same read.
    let mut leftover = buf.split_off(used);
    // Apache authenticates the dialler before looking at its sid (`handleConnection`).
    if let Some(a) = &addrs.auth {
        auth::as_server(a, &mut stream, &mut leftover, &peer.to_string())
            .await
            .map_err(|e| format!("server {}: {e}", msg.sid))?;
    }
    let Ok(sid) = Sid::try_from(msg.sid) else {
        return Err(format!("negative sid {}", msg.sid));
    };
    if sid == me {
        tracing::warn!(sid, %peer, "election connection from a server with my own id");
        return Ok(());
    }
    if addrs.election(sid).is_none() {
        // Apache accepts any sid (it cannot count the votes of one it does not know); say so,
        // since it is a misconfigured peer — or bytes that are not ZooKeeper's at all.
        tracing::warn!(
            sid,
            %peer,
            "election connection from server id {sid}, which is not in the server list"
        );
    }
    if sid < me {
        // Only the larger sid keeps a connection: hang up and dial it back.
        drop(stream);
        let addr = msg.addrs.into_iter().find(|a| {
            split_host_port(a).is_some_and(|(h, _)| h != "0.0.0.0" && h != "::" && h != "[::]")
        });
        let _ = tx.send(Cmd::DialBack { sid, addr });
        return Ok(());
    }
    let _ = tx.send(Cmd::Install {
        sid,
        stream,
        leftover,
    });
    Ok(())
}

/// Writes notifications, keeping only the newest of those waiting.
async fn write_loop(mut wr: PeerWrite, mut rx: mpsc::UnboundedReceiver<Bytes>) {
    while let Some(mut frame) = rx.recv().await {
        while let Ok(newer) = rx.try_recv() {
            frame = newer;
        }
        if wr.write_all(&frame).await.is_err() {
            break;
        }
    }
    let _ = wr.shutdown().await;
}

async fn read_loop(
    mut rd: PeerRead,
    mut buf: BytesMut,
    sid: Sid,
    peer: String,
    conn: u64,
    core: CoreTx,
    manager: mpsc::UnboundedSender<Cmd>,
) {
    'outer: loop {
        loop {
            match decode_election_frame(&mut buf) {
                Ok(Some(payload)) => match Notification::decode(&payload) {
                    Ok(n) => {
                        if core
                            .send(CoreMsg::Quorum(Input::Notification { from: sid, n }))
                            .is_err()
                        {
                            break 'outer;
                        }
                    }
                    Err(e) => tracing::warn!(
                        sid,
                        %peer,
                        "Skipping the processing of a malformed notification: {e}"
                    ),
                },
                Ok(None) => break,
                Err(len) => {
                    tracing::warn!(
                        sid,
                        %peer,
                        len,
                        "election frame length out of range (1..=524288); closing the connection"
                    );
                    break 'outer;
                }
            }
        }
        match rd.read_buf(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    let _ = manager.send(Cmd::Closed { sid, conn });
}
