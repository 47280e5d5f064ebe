//! Quorum-port connections ("links"): the leader accepts learners, a learner dials its leader.
//! Each link has a writer task (everything queued goes out in one write per wake-up) and a
//! reader task that turns the byte stream into `QuorumPacket`s — and, on a learner, the
//! database body that follows a SNAP packet into one `Input::Snapshot`, found by scanning its
//! structure since it has no length prefix.
//!
//! A link's reader starts only once the core has adopted it, so no packet arrives for a link
//! the core does not know. Each link counts its packets ([`LinkStats`]) for the leader's
//! AdminServer `observers` view.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;

use super::auth::{self, PeerAuth};
use super::resolve;
use super::stream::{PeerRead, PeerStream, PeerWrite, Transport};
use crate::quorum::wire::{decode_packet, PacketType};
use crate::quorum::{Input, LinkId};
use crate::runtime::{CoreMsg, CoreTx};
use crate::tree::apache_snap::check_signature;
use crate::tree::snap_scan::{ScanStatus, SnapScanner};

/// What a leader reports about a learner's connection (Apache's
/// `LearnerHandler.getLearnerHandlerInfo`, the AdminServer's `observers`).
#[derive(Debug)]
pub struct LinkStats {
    /// The remote address as Java prints a socket address (`/127.0.0.1:40000`).
    pub remote: String,
    /// When the connection was made, epoch milliseconds.
    pub established_ms: i64,
    pub packets_received: AtomicU64,
    pub packets_sent: AtomicU64,
    /// REQUEST packets received (writes a learner forwards).
    pub requests: AtomicU64,
    /// Packets (and their encoded bytes) queued but not yet written.
    pub queued: AtomicI64,
    pub queued_bytes: AtomicI64,
    /// The zxid of the last packet queued with a positive zxid (-1 before any).
    pub last_zxid: AtomicI64,
}

impl LinkStats {
    fn new(remote: String) -> LinkStats {
        let established_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        LinkStats {
            remote,
            established_ms,
            packets_received: AtomicU64::new(0),
            packets_sent: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            queued: AtomicI64::new(0),
            queued_bytes: AtomicI64::new(0),
            last_zxid: AtomicI64::new(-1),
        }
    }
}

/// The core's end of a link.
#[derive(Debug)]
pub struct LinkHandle {
    tx: mpsc::UnboundedSender<Bytes>,
    reader: AbortHandle,
    start: Option<oneshot::Sender<()>>,
    stats: Arc<LinkStats>,
}

impl LinkHandle {
    /// Queues encoded bytes (one packet, or SNAP with its body) for the peer.
    pub fn send(&self, bytes: Bytes) {
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        self.stats
            .queued_bytes
            .fetch_add(bytes.len() as i64, Ordering::Relaxed);
        let _ = self.tx.send(bytes);
    }

    /// Queues a packet whose zxid is `zxid` (kept as `last_zxid` when positive, as Apache).
    pub fn send_packet(&self, zxid: i64, bytes: Bytes) {
        if zxid > 0 {
            self.stats.last_zxid.store(zxid, Ordering::Relaxed);
        }
        self.send(bytes);
    }

    pub fn stats(&self) -> &LinkStats {
        &self.stats
    }

    /// Lets the reader deliver packets (the core has adopted the link).
    pub fn start(&mut self) {
        if let Some(s) = self.start.take() {
            let _ = s.send(());
        }
    }
}

impl Drop for LinkHandle {
    fn drop(&mut self) {
        // Dropping the sender ends the writer, which shuts the socket down.
        self.reader.abort();
    }
}

/// How long a learner may take to finish a TLS handshake and quorum SASL on the quorum port.
const ACCEPT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts learners on the quorum port forever; each connection is offered to the core
/// (after its TLS handshake, with `sslQuorum`, and its SASL login, with `quorum.auth.*`).
pub async fn accept_learners(
    listener: TcpListener,
    core: CoreTx,
    next_link: Arc<AtomicU64>,
    max_packet: usize,
    transport: Transport,
    auth: PeerAuth,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("quorum port accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let link = next_link.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(%peer, link, "learner connection");
        let (core, transport, auth) = (core.clone(), transport.clone(), auth.clone());
        tokio::spawn(async move {
            let mut read = BytesMut::new();
            let work = async {
                let mut stream = transport
                    .accept(stream, peer)
                    .await
                    .map_err(|e| e.to_string())?;
                if let Some(a) = &auth {
                    let shown = peer.to_string();
                    auth::as_server(a, &mut stream, &mut read, &shown)
                        .await
                        .map_err(|e| {
                            format!("Server failed to authenticate quorum learner, closing connection: {e}")
                        })?;
                }
                Ok::<_, String>(stream)
            };
            let stream = match tokio::time::timeout(ACCEPT_HANDSHAKE_TIMEOUT, work).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::warn!(%peer, "dropping quorum port connection: {e}");
                    return;
                }
                Err(_) => {
                    tracing::warn!(%peer, "dropping quorum port connection: TLS handshake or SASL login timed out");
                    return;
                }
            };
            let handle = spawn_link(stream, read, link, core.clone(), false, max_packet);
            let _ = core.send(CoreMsg::LinkAccepted { link, handle });
        });
    }
}

/// How a learner reaches its leader.
#[derive(Clone)]
pub struct LeaderDial {
    pub transport: Transport,
    pub auth: PeerAuth,
    /// For the connection, the TLS handshake and the SASL login each (`tickTime * initLimit`).
    pub timeout: Duration,
    pub max_packet: usize,
}

/// Dials the leader for `link` (and logs in, with `quorum.auth.learnerRequireSasl`); the
/// core hears `LinkConnected` or `LinkClosed`.
pub fn connect_leader(link: LinkId, host: String, port: u16, core: CoreTx, dial: LeaderDial) {
    tokio::spawn(async move {
        let mut read = BytesMut::new();
        let connected = async {
            let addr = resolve(&host, port).await.map_err(|e| e.to_string())?;
            let mut stream = dial
                .transport
                .dial(addr, dial.timeout)
                .await
                .map_err(|e| e.to_string())?;
            let shown = format!("{host}:{port}");
            auth::as_learner(&dial.auth, &mut stream, &mut read, &shown, dial.timeout).await?;
            Ok::<_, String>(stream)
        }
        .await;
        match connected {
            Ok(stream) => {
                let handle = spawn_link(stream, read, link, core.clone(), true, dial.max_packet);
                let _ = core.send(CoreMsg::LinkConnected { link, handle });
            }
            Err(e) => {
                tracing::warn!(%host, port, "Failed to connect to leader: {e}");
                let _ = core.send(CoreMsg::Quorum(Input::LinkClosed { link }));
            }
        }
    });
}

/// `read`: bytes already read from the connection (past a SASL exchange).
fn spawn_link(
    stream: PeerStream,
    read: BytesMut,
    link: LinkId,
    core: CoreTx,
    learner_side: bool,
    max_packet: usize,
) -> LinkHandle {
    let peer = stream
        .peer_addr()
        .map_or_else(|_| "?".to_string(), |a| a.to_string());
    let stats = Arc::new(LinkStats::new(format!("/{peer}")));
    let (rd, wr) = stream.into_split();
    let (tx, rx) = mpsc::unbounded_channel();
    let (start_tx, start_rx) = oneshot::channel();
    tokio::spawn(write_loop(wr, rx, stats.clone()));
    let reader_stats = stats.clone();
    let reader = tokio::spawn(async move {
        if start_rx.await.is_err() {
            return;
        }
        let rd = (rd, &*reader_stats);
        if let Err(e) = read_loop(rd, read, link, &core, learner_side, max_packet).await {
            tracing::warn!(link, %peer, "quorum link closed: {e}");
        }
        let _ = core.send(CoreMsg::Quorum(Input::LinkClosed { link }));
    })
    .abort_handle();
    LinkHandle {
        tx,
        reader,
        start: Some(start_tx),
        stats,
    }
}

/// Coalesces everything queued into one write.
async fn write_loop(
    mut wr: PeerWrite,
    mut rx: mpsc::UnboundedReceiver<Bytes>,
    stats: Arc<LinkStats>,
) {
    let mut batch = BytesMut::with_capacity(64 * 1024);
    while let Some(first) = rx.recv().await {
        batch.extend_from_slice(&first);
        let mut items = 1;
        while let Ok(more) = rx.try_recv() {
            batch.extend_from_slice(&more);
            items += 1;
            if batch.len() > 4 << 20 {
                break;
            }
        }
        if wr.write_all(&batch).await.is_err() {
            break;
        }
        stats.queued.fetch_sub(items, Ordering::Relaxed);
        stats
            .queued_bytes
            .fetch_sub(batch.len() as i64, Ordering::Relaxed);
        stats
            .packets_sent
            .fetch_add(items as u64, Ordering::Relaxed);
        batch.clear();
    }
    let _ = wr.shutdown().await;
}

async fn fill(rd: &mut PeerRead, buf: &mut BytesMut) -> Result<(), String> {
    match rd.read_buf(buf).await {
        Ok(0) => Err("closed by peer".into()),
        Ok(_) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

async fn read_loop(
    (mut rd, stats): (PeerRead, &LinkStats),
    mut buf: BytesMut,
    link: LinkId,
    core: &CoreTx,
    learner_side: bool,
    max_packet: usize,
) -> Result<(), String> {
    buf.reserve(64 * 1024);
    loop {
        while let Some(packet) = decode_packet(&mut buf, max_packet).map_err(|e| e.to_string())? {
            stats.packets_received.fetch_add(1, Ordering::Relaxed);
            if packet.packet_type() == Some(PacketType::Request) {
                stats.requests.fetch_add(1, Ordering::Relaxed);
            }
            let input = if learner_side && packet.packet_type() == Some(PacketType::Snap) {
                let body = read_snap_body(&mut rd, &mut buf, max_packet).await?;
                Input::Snapshot {
                    link,
                    zxid: packet.zxid,
                    body,
                }
            } else {
                Input::Packet { link, packet }
            };
            if core.send(CoreMsg::Quorum(input)).is_err() {
                return Ok(());
            }
        }
        fill(&mut rd, &mut buf).await?;
    }
}

/// Reads Apache's database serialization that follows SNAP, then its "BenWasHere".
async fn read_snap_body(
    rd: &mut PeerRead,
    buf: &mut BytesMut,
    max_len: usize,
) -> Result<Bytes, String> {
    let mut scanner = SnapScanner::new(max_len);
    let mut fed = 0;
    let len = loop {
        match scanner
            .feed(&buf[fed..])
            .map_err(|e| format!("bad SNAP body: {e}"))?
        {
            ScanStatus::Complete { len } => break len as usize,
            ScanStatus::NeedMore => {
                fed = buf.len();
                fill(rd, buf).await?;
            }
        }
    };
    let body = buf.split_to(len).freeze();
    loop {
        match check_signature(buf) {
            Ok(Some(n)) => {
                buf.advance(n);
                return Ok(body);
            }
            Ok(None) => fill(rd, buf).await?,
            Err(e) => return Err(e.to_string()),
        }
    }
}
