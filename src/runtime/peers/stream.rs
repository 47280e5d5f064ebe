//! The byte stream between two members: plain TCP, or TLS with `sslQuorum=true` (Apache's
//! `QuorumX509Util` settings, `ssl.quorum.*`). Election and quorum connections use the same
//! rules as Apache's `UnifiedServerSocket`: a listener takes TLS only with `sslQuorum`, plain
//! and TLS with `portUnification=true` (it looks at the first byte), plain otherwise; a
//! member dials TLS exactly when `sslQuorum` is on.
//!
//! Owns: connecting, accepting and the TLS handshake. Must not: frame or interpret anything.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf, ReadHalf, WriteHalf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::TlsStream;

use crate::config::Config;
use crate::tls::TlsContext;

/// The first byte of a TLS connection (a handshake record).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// How members reach each other.
#[derive(Debug, Clone, Default)]
pub struct Transport {
    tls: Option<Arc<TlsContext>>,
    /// `sslQuorum`: dial TLS, accept TLS.
    ssl_quorum: bool,
    /// `portUnification`: accept plaintext too.
    unification: bool,
}

impl Transport {
    /// `tls` must be present when `sslQuorum` or `portUnification` is on (boot builds it).
    pub fn new(cfg: &Config, tls: Option<Arc<TlsContext>>) -> Transport {
        Transport {
            ssl_quorum: cfg.tls.ssl_quorum && tls.is_some(),
            unification: cfg.tls.quorum_port_unification && tls.is_some(),
            tls,
        }
    }

    fn err(msg: String) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, msg)
    }

    /// Connects to a member; with `sslQuorum`, completes the TLS handshake (this member shows
    /// its certificate and checks the peer's) within `timeout` as well.
    pub async fn dial(&self, addr: SocketAddr, timeout: Duration) -> io::Result<PeerStream> {
        let work = async {
            let tcp = TcpStream::connect(addr).await?;
            let _ = tcp.set_nodelay(true);
            match (&self.tls, self.ssl_quorum) {
                (Some(tls), true) => {
                    let (connector, name) = tls
                        .peer_connector(addr.ip())
                        .map_err(|e| Self::err(e.to_string()))?;
                    let s = connector.connect(name, tcp).await.map_err(|e| {
                        io::Error::new(e.kind(), format!("TLS handshake with {addr} failed: {e}"))
                    })?;
                    Ok(PeerStream::Tls(Box::new(TlsStream::Client(s))))
                }
                _ => Ok(PeerStream::Plain(tcp)),
            }
        };
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))?
    }

    /// Accepts a member's connection: TLS, plaintext, or either (by its first byte), as the
    /// settings say. Refusals are errors naming why; the caller logs them.
    pub async fn accept(&self, tcp: TcpStream, peer: SocketAddr) -> io::Result<PeerStream> {
        let _ = tcp.set_nodelay(true);
        let Some(tls) = self
            .tls
            .as_ref()
            .filter(|_| self.ssl_quorum || self.unification)
        else {
            return Ok(PeerStream::Plain(tcp));
        };
        let detect = Duration::from_millis(tls.settings().handshake_detection_timeout_ms);
        let mut first = [0u8; 1];
        let n = tokio::time::timeout(detect, tcp.peek(&mut first))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no data to detect TLS"))??;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed before sending anything",
            ));
        }
        if first[0] != TLS_HANDSHAKE_RECORD {
            if self.unification {
                return Ok(PeerStream::Plain(tcp));
            }
            return Err(Self::err(format!(
                "not an SSL/TLS record (first byte 0x{:02x}): a plaintext peer on a port that requires TLS (sslQuorum=true)",
                first[0]
            )));
        }
        let acceptor = tls
            .peer_acceptor(peer.ip())
            .map_err(|e| Self::err(e.to_string()))?;
        let s = acceptor.accept(tcp).await.map_err(|e| {
            io::Error::new(e.kind(), format!("TLS handshake from {peer} failed: {e}"))
        })?;
        Ok(PeerStream::Tls(Box::new(TlsStream::Server(s))))
    }
}

/// A connection to another member.
#[derive(Debug)]
pub enum PeerStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl PeerStream {
    /// The remote address, for log lines.
    pub fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        match self {
            PeerStream::Plain(s) => s.peer_addr(),
            PeerStream::Tls(s) => s.get_ref().0.peer_addr(),
        }
    }

    /// Reader and writer halves for separate tasks (plain TCP splits without a lock).
    pub fn into_split(self) -> (PeerRead, PeerWrite) {
        match self {
            PeerStream::Plain(s) => {
                let (r, w) = s.into_split();
                (PeerRead::Plain(r), PeerWrite::Plain(w))
            }
            PeerStream::Tls(s) => {
                let (r, w) = tokio::io::split(*s);
                (PeerRead::Tls(r), PeerWrite::Tls(w))
            }
        }
    }
}

/// The reading half of a [`PeerStream`].
#[derive(Debug)]
pub enum PeerRead {
    Plain(OwnedReadHalf),
    Tls(ReadHalf<TlsStream<TcpStream>>),
}

/// The writing half of a [`PeerStream`].
#[derive(Debug)]
pub enum PeerWrite {
    Plain(OwnedWriteHalf),
    Tls(WriteHalf<TlsStream<TcpStream>>),
}

macro_rules! delegate_read {
    ($t:ty, $($v:ident),+) => {
        impl AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    $(Self::$v(s) => Pin::new(s).poll_read(cx, buf),)+
                }
            }
        }
    };
}

macro_rules! delegate_write {
    ($t:ty, $($v:ident),+) => {
        impl AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                match self.get_mut() {
                    $(Self::$v(s) => Pin::new(s).poll_write(cx, buf),)+
                }
            }
            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    $(Self::$v(s) => Pin::new(s).poll_flush(cx),)+
                }
            }
            fn poll_shutdown(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
            ) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    $(Self::$v(s) => Pin::new(s).poll_shutdown(cx),)+
                }
            }
        }
    };
}

delegate_read!(PeerStream, Plain, Tls);
delegate_write!(PeerStream, Plain, Tls);
delegate_read!(PeerRead, Plain, Tls);
delegate_write!(PeerWrite, Plain, Tls);
