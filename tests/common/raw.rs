//! Raw client connections for tests: 4-byte length framing, the ConnectRequest/ConnectResponse
//! handshake (with or without the trailing readOnly byte), RequestHeader/ReplyHeader, and
//! WatcherEvent notifications (xid -1) queued aside while waiting for a reply.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::jute::{Dec, Enc};

/// ConnectRequest fields; `read_only: None` omits the optional trailing byte.
#[derive(Clone, Debug)]
pub struct ConnectReq {
    pub protocol_version: i32,
    pub last_zxid_seen: i64,
    pub timeout_ms: i32,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    pub read_only: Option<bool>,
}

impl ConnectReq {
    /// A new session as the Java client asks for it (16 zero password bytes, readOnly=false).
    pub fn new_session(timeout_ms: i32) -> Self {
        ConnectReq {
            protocol_version: 0,
            last_zxid_seen: 0,
            timeout_ms,
            session_id: 0,
            passwd: vec![0; 16],
            read_only: Some(false),
        }
    }
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc::new()
            .int(self.protocol_version)
            .long(self.last_zxid_seen)
            .int(self.timeout_ms)
            .long(self.session_id)
            .buf(&self.passwd);
        if let Some(ro) = self.read_only {
            e = e.bool(ro);
        }
        e.bytes()
    }
}

/// A decoded ConnectResponse plus the raw frame payload it came from.
#[derive(Clone, Debug)]
pub struct ConnectResp {
    pub protocol_version: i32,
    pub timeout_ms: i32,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    pub read_only: Option<bool>,
    pub raw: Vec<u8>,
}

/// A reply: ReplyHeader fields and the body that followed it.
#[derive(Clone, Debug)]
pub struct Reply {
    pub xid: i32,
    pub zxid: i64,
    pub err: i32,
    pub body: Vec<u8>,
    pub raw: Vec<u8>,
}

/// A WatcherEvent notification (xid -1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: i32,
    pub state: i32,
    pub path: String,
    pub zxid: i64,
}

pub struct RawConn {
    pub stream: TcpStream,
    pub events: VecDeque<Event>,
    next_xid: i32,
}

const WAIT: Duration = Duration::from_secs(10);

impl RawConn {
    pub async fn open(port: u16) -> RawConn {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("tcp connect");
        stream.set_nodelay(true).expect("nodelay");
        RawConn {
            stream,
            events: VecDeque::new(),
            next_xid: 1,
        }
    }

    /// Opens a connection and establishes a new session (timeout 30 s).
    pub async fn session(port: u16) -> (RawConn, ConnectResp) {
        let mut c = RawConn::open(port).await;
        let resp = c
            .handshake(&ConnectReq::new_session(30000))
            .await
            .expect("handshake");
        (c, resp)
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    pub async fn send_frame(&mut self, payload: &[u8]) {
        let len = i32::try_from(payload.len()).expect("frame length");
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(payload);
        self.send_raw(&framed).await;
    }

    /// Next frame payload; `None` if the server closed the connection (EOF or reset).
    /// Panics if nothing arrives within `within`.
    pub async fn read_frame_within(&mut self, within: Duration) -> Option<Vec<u8>> {
        let read = async {
            let mut len = [0u8; 4];
            self.stream.read_exact(&mut len).await.ok()?;
            let len = usize::try_from(i32::from_be_bytes(len)).ok()?;
            let mut body = vec![0u8; len];
            self.stream.read_exact(&mut body).await.ok()?;
            Some(body)
        };
        timeout(within, read)
            .await
            .expect("timed out waiting for a frame")
    }

    pub async fn read_frame(&mut self) -> Option<Vec<u8>> {
        self.read_frame_within(WAIT).await
    }

    /// Sends a ConnectRequest; `None` if the server closed without answering.
    pub async fn handshake(&mut self, req: &ConnectReq) -> Option<ConnectResp> {
        self.send_frame(&req.encode()).await;
        let raw = self.read_frame().await?;
        let mut d = Dec::new(&raw);
        let protocol_version = d.int();
        let timeout_ms = d.int();
        let session_id = d.long();
        let passwd = d.buf().unwrap_or_default();
        let read_only = if d.is_empty() { None } else { Some(d.bool()) };
        assert!(d.is_empty(), "trailing bytes in ConnectResponse");
        Some(ConnectResp {
            protocol_version,
            timeout_ms,
            session_id,
            passwd,
            read_only,
            raw,
        })
    }

    /// Sends `RequestHeader{xid, op}` + body without waiting.
    pub async fn send(&mut self, xid: i32, op: i32, body: &[u8]) {
        let mut payload = Enc::new().int(xid).int(op).bytes();
        payload.extend_from_slice(body);
        self.send_frame(&payload).await;
    }

    /// Next non-notification reply (notifications are queued in `events`); `None` on close.
    pub async fn read_reply(&mut self) -> Option<Reply> {
        loop {
            let raw = self.read_frame().await?;
            let mut d = Dec::new(&raw);
            let (xid, zxid, err) = (d.int(), d.long(), d.int());
            if xid == -1 {
                let (kind, state, path) = (d.int(), d.int(), d.str());
                self.events.push_back(Event {
                    kind,
                    state,
                    path,
                    zxid,
                });
                continue;
            }
            let body = d.buf.to_vec();
            return Some(Reply {
                xid,
                zxid,
                err,
                body,
                raw,
            });
        }
    }

    /// Sends a request with the next xid and waits for its reply (panics on close or xid mismatch).
    pub async fn call(&mut self, op: i32, body: &[u8]) -> Reply {
        let xid = self.next_xid;
        self.next_xid += 1;
        self.send(xid, op, body).await;
        let reply = self
            .read_reply()
            .await
            .expect("connection closed before reply");
        assert_eq!(reply.xid, xid, "reply xid out of order: {reply:?}");
        reply
    }

    /// Waits up to `within` for a notification (queued ones first).
    pub async fn next_event(&mut self, within: Duration) -> Option<Event> {
        if let Some(e) = self.events.pop_front() {
            return Some(e);
        }
        let raw = timeout(within, async {
            let mut len = [0u8; 4];
            self.stream.read_exact(&mut len).await.ok()?;
            let mut body = vec![0u8; usize::try_from(i32::from_be_bytes(len)).ok()?];
            self.stream.read_exact(&mut body).await.ok()?;
            Some(body)
        })
        .await
        .ok()??;
        let mut d = Dec::new(&raw);
        let (xid, zxid, _err) = (d.int(), d.long(), d.int());
        assert_eq!(xid, -1, "expected a notification, got xid {xid}");
        let (kind, state, path) = (d.int(), d.int(), d.str());
        Some(Event {
            kind,
            state,
            path,
            zxid,
        })
    }

    /// True if the server closes the connection within `within` (reading and discarding data).
    pub async fn closed_within(&mut self, within: Duration) -> bool {
        let mut sink = [0u8; 4096];
        let wait = async {
            loop {
                match self.stream.read(&mut sink).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        };
        timeout(within, wait).await.is_ok()
    }
}
