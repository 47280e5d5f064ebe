//! One ZooKeeper session over TCP, pipelined: after the handshake a writer task drains a
//! command queue into one buffer and writes it with a single `write_all` (pinging when
//! idle), and a reader task splits frames and completes pending calls in xid order.
//! The client shares two cores with the servers it measures, so both tasks keep their
//! buffers and take the pending-queue lock once per batch, not per request.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use zkserver::proto::frame::decode_frame;
use zkserver::proto::jute::Jute;
use zkserver::proto::opcode::xid;
use zkserver::proto::records::ConnectResponse;

use crate::codec::{
    decode_event, decode_reply, encode, encode_connect, encode_ping, Event, Reply, Req,
};
use crate::Error;

/// Largest frame the client accepts. Far above ZooKeeper's 1 MiB so that W14 can see
/// (and report) replies that a stock client would refuse.
const MAX_FRAME: usize = 256 << 20;
/// Stop gathering queued requests into one write once the buffer is this large.
const WRITE_BATCH: usize = 256 << 10;

struct Cmd {
    req: Req,
    reply: Option<oneshot::Sender<Reply>>,
}

/// Calls written but not yet answered, oldest first; `closed` once the reader is gone.
#[derive(Default)]
struct Pending {
    queue: VecDeque<(i32, Option<oneshot::Sender<Reply>>)>,
    closed: bool,
}

/// A connected session. Dropping it drops the TCP connection without closeSession.
pub struct Client {
    tx: mpsc::UnboundedSender<Cmd>,
    /// Kept for diagnostics; W13 reports whether sessions were really distinct.
    pub session_id: i64,
    pub timeout_ms: i32,
    events: Option<mpsc::UnboundedReceiver<Event>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Client {
    /// Opens a session on `addr` asking for `timeout_ms`.
    pub async fn connect(addr: &str, timeout_ms: i32) -> Result<Client, Error> {
        let mut stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let mut buf = BytesMut::with_capacity(64);
        encode_connect(&mut buf, timeout_ms);
        stream.write_all(&buf).await?;
        buf.clear();
        let frame = loop {
            if let Some(f) = decode_frame(&mut buf, MAX_FRAME)? {
                break f;
            }
            if stream.read_buf(&mut buf).await? == 0 {
                return Err(format!("{addr}: closed during handshake").into());
            }
        };
        let resp = ConnectResponse::from_bytes(frame)?;
        if resp.session_id == 0 || resp.timeout <= 0 {
            return Err(format!("{addr}: session refused").into());
        }
        let (r, w) = stream.into_split();
        let pending = Arc::new(Mutex::new(Pending::default()));
        let (tx, rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let ping = Duration::from_millis((resp.timeout as u64 / 3).max(100));
        let tasks = vec![
            tokio::spawn(writer(w, rx, pending.clone(), ping)),
            tokio::spawn(reader(r, buf, pending, ev_tx)),
        ];
        Ok(Client {
            tx,
            session_id: resp.session_id,
            timeout_ms: resp.timeout,
            events: Some(ev_rx),
            tasks,
        })
    }

    /// Sends `req` and waits for its reply; an error means the connection is gone.
    pub async fn call(&self, req: Req) -> Result<Reply, Error> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Cmd {
                req,
                reply: Some(reply),
            })
            .map_err(|_| "connection closed")?;
        Ok(rx.await.map_err(|_| "connection lost")?)
    }

    /// Sends `req` without waiting for the reply (W1's async delete).
    pub fn send(&self, req: Req) {
        let _ = self.tx.send(Cmd { req, reply: None });
    }

    /// The watch notifications of this session (once).
    pub fn take_events(&mut self) -> Option<mpsc::UnboundedReceiver<Event>> {
        self.events.take()
    }

    /// Ends the session properly (closeSession) and then the connection.
    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.call(Req::Close)).await;
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Writer: waits for one command, gathers whatever else is queued, registers them as
/// pending and writes the batch at once. Sends a ping after `ping` of silence.
async fn writer(
    mut w: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Cmd>,
    pending: Arc<Mutex<Pending>>,
    ping: Duration,
) {
    let mut buf = BytesMut::with_capacity(64 << 10);
    let mut next_xid: i32 = 1;
    loop {
        let first = match tokio::time::timeout(ping, rx.recv()).await {
            Ok(Some(cmd)) => cmd,
            Ok(None) => return,
            Err(_) => {
                encode_ping(&mut buf);
                if w.write_all(&buf).await.is_err() {
                    return;
                }
                buf.clear();
                continue;
            }
        };
        {
            let Ok(mut p) = pending.lock() else { return };
            if p.closed {
                return;
            }
            let mut cmd = Some(first);
            while let Some(Cmd { req, reply }) = cmd.take() {
                encode(&mut buf, next_xid, &req);
                p.queue.push_back((next_xid, reply));
                next_xid = next_xid.wrapping_add(1).max(1);
                if buf.len() < WRITE_BATCH {
                    cmd = rx.try_recv().ok();
                }
            }
        }
        if w.write_all(&buf).await.is_err() {
            return;
        }
        buf.clear();
    }
}

/// Reader: splits frames, hands notifications to `events` and completes calls in order.
/// On any error it marks the session closed so that every waiting call fails.
async fn reader(
    mut r: OwnedReadHalf,
    mut buf: BytesMut,
    pending: Arc<Mutex<Pending>>,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut frames = Vec::with_capacity(64);
    'conn: loop {
        loop {
            match decode_frame(&mut buf, MAX_FRAME) {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(_) => break 'conn,
            }
        }
        if !frames.is_empty() {
            let Ok(mut p) = pending.lock() else { break };
            for f in frames.drain(..) {
                let Some((x, reply)) = decode_reply(f) else {
                    break 'conn;
                };
                match x {
                    xid::NOTIFICATION => {
                        if let Some(ev) = decode_event(reply.body) {
                            let _ = events.send(ev);
                        }
                    }
                    xid::PING | xid::AUTH | xid::SET_WATCHES => {}
                    _ => match p.queue.pop_front() {
                        Some((want, tx)) if want == x => {
                            if let Some(tx) = tx {
                                let _ = tx.send(reply);
                            }
                        }
                        _ => break 'conn,
                    },
                }
            }
        }
        if buf.capacity() - buf.len() < 16 << 10 {
            buf.reserve(64 << 10);
        }
        match r.read_buf(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    if let Ok(mut p) = pending.lock() {
        p.closed = true;
        p.queue.clear();
    }
}
