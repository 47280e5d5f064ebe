//! One client connection: 4lw or handshake, then a reader loop (frames → core messages)
//! and a writer task (core output → socket, batched into one write per wake-up).
//!
//! Generic over the two halves of the stream, so a plaintext socket (`TcpStream::into_split`,
//! no lock) and a TLS stream (`tokio::io::split`) run the same code, monomorphised: no dynamic
//! dispatch and no extra copy on the plaintext path.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use crate::status::ServerMetrics;

use super::throttle::{ConnShare, ReleaseOnDrop};
use crate::config::{Config, ALL_FOUR_LETTER_WORDS};
use crate::proto::frame::{decode_frame, peek_len};
use crate::proto::jute::{Jute, Reader};
use crate::proto::records::{ConnectRequest, Id, RequestHeader};
use crate::proto::request::{Request, RequestError};
use crate::proto::ErrorCode;
use crate::runtime::{ConnId, CoreMsg, CoreTx, Outbound};

/// The four-letter word a connection opens with, if any: ZooKeeper reads the first four bytes
/// as a frame length and takes them for a command when they spell one (no frame can be that
/// long: every command's length is above 1.6 GB). `None` until four bytes have arrived.
pub fn four_letter_word(first: &[u8]) -> Option<&'static str> {
    let bytes = peek_len(first)?.to_be_bytes();
    ALL_FOUR_LETTER_WORDS
        .iter()
        .copied()
        .find(|w| w.as_bytes() == bytes)
}

/// Serves one connection until either side closes it. `auth` are the ids the transport
/// already established (the x509 subject of a TLS client certificate).
#[allow(clippy::too_many_arguments)]
pub async fn run<R, W>(
    mut rd: R,
    wr: W,
    peer: SocketAddr,
    id: ConnId,
    cfg: Arc<Config>,
    core: CoreTx,
    share: ConnShare,
    auth: Vec<Id>,
) where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let _release = ReleaseOnDrop(share.clone());
    let mut buf = BytesMut::with_capacity(4096);
    while buf.len() < 4 {
        match rd.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
    let first_read = buf.len();
    if let Some(cmd) = four_letter_word(&buf) {
        four_letter(cmd, wr, &cfg, &core).await;
        return;
    }
    let max = cfg.jute_max_buffer;
    let handshake = loop {
        match decode_frame(&mut buf, max) {
            Ok(Some(frame)) => break frame,
            Ok(None) => match rd.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => ServerMetrics::global().bytes_received_count.add(n as u64),
            },
            Err(e) => {
                crate::warn_limited!(client = %peer, "closing connection before handshake: {e}");
                return;
            }
        }
    };
    // The bytes before the handshake (the first read) are counted here, once we know this
    // is a client session and not a four-letter word.
    ServerMetrics::global()
        .bytes_received_count
        .add(first_read as u64);
    ServerMetrics::global().connection_request_count.inc();
    let req = match ConnectRequest::from_bytes(handshake) {
        Ok(r) => r,
        Err(e) => {
            crate::warn_limited!(client = %peer, "malformed ConnectRequest, closing: {e}");
            return;
        }
    };
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let (closed_tx, mut closed_rx) = oneshot::channel();
    tokio::spawn(write_loop(wr, out_rx, closed_tx, share.clone()));
    let connect = CoreMsg::Connect {
        conn: id,
        addr: peer.ip(),
        port: peer.port(),
        req,
        out: out_tx,
        auth,
    };
    if core.send(connect).is_err() {
        return;
    }
    loop {
        // Hand every complete frame to the core before reading more.
        loop {
            match decode_frame(&mut buf, max) {
                Ok(Some(frame)) => {
                    share.acquire().await;
                    if !dispatch(frame, id, peer, &core) {
                        let _ = core.send(CoreMsg::Disconnected { conn: id });
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    crate::warn_limited!(client = %peer, "closing connection: {e}");
                    let _ = core.send(CoreMsg::Disconnected { conn: id });
                    return;
                }
            }
        }
        tokio::select! {
            read = rd.read_buf(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => ServerMetrics::global().bytes_received_count.add(n as u64),
            },
            _ = &mut closed_rx => break,
        }
    }
    let _ = core.send(CoreMsg::Disconnected { conn: id });
}

/// Decodes one request frame and forwards it; false if the connection must end now.
fn dispatch(frame: Bytes, id: ConnId, peer: SocketAddr, core: &CoreTx) -> bool {
    let mut r = Reader::new(frame);
    let Ok(header) = RequestHeader::read(&mut r) else {
        crate::warn_limited!(client = %peer, "request shorter than its header; closing");
        return false;
    };
    let body = r.rest();
    let msg = match Request::decode(header.op, body.clone()) {
        Ok(req) => CoreMsg::Request {
            conn: id,
            xid: header.xid,
            req,
            body,
        },
        Err(RequestError::Unimplemented(op)) => {
            crate::warn_limited!(client = %peer, op, "unimplemented opcode; answering UNIMPLEMENTED and closing");
            CoreMsg::Reject {
                conn: id,
                xid: header.xid,
                code: ErrorCode::Unimplemented,
                close: true,
            }
        }
        Err(RequestError::Malformed(e)) => {
            crate::warn_limited!(client = %peer, op = header.op, "malformed request: {e}");
            CoreMsg::Reject {
                conn: id,
                xid: header.xid,
                code: ErrorCode::MarshallingError,
                close: false,
            }
        }
    };
    core.send(msg).is_ok()
}

/// Writes queued frames, coalescing whatever is ready into one syscall.
async fn write_loop<W: AsyncWrite + Unpin>(
    mut wr: W,
    mut rx: mpsc::UnboundedReceiver<Outbound>,
    closed: oneshot::Sender<()>,
    share: ConnShare,
) {
    let mut batch = BytesMut::with_capacity(64 * 1024);
    'outer: while let Some(first) = rx.recv().await {
        let mut close = false;
        let mut next = Some(first);
        while let Some(msg) = next {
            match msg {
                Outbound::Frame(b) => batch.extend_from_slice(&b),
                Outbound::Reply(b) => {
                    share.release();
                    batch.extend_from_slice(&b)
                }
                Outbound::Close => {
                    close = true;
                    break;
                }
            }
            next = rx.try_recv().ok();
        }
        if !batch.is_empty() {
            if wr.write_all(&batch).await.is_err() {
                break 'outer;
            }
            batch.clear();
        }
        if close {
            break;
        }
    }
    let _ = wr.shutdown().await;
    let _ = closed.send(());
}

/// Runs a four-letter word and writes its raw output, then closes (as ZooKeeper does).
async fn four_letter<W: AsyncWrite + Unpin>(cmd: &str, mut wr: W, cfg: &Config, core: &CoreTx) {
    let text = if !cfg.four_letter_words.allows(cmd) {
        format!("{cmd} is not executed because it is not in the whitelist.\n")
    } else {
        match crate::admin::fourlw::run(cmd, &crate::runtime::status::handle(core.clone())).await {
            Some(text) => text,
            None => return,
        }
    };
    let _ = wr.write_all(text.as_bytes()).await;
    let _ = wr.shutdown().await;
}
