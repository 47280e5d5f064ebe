//! The tokio driver: one core task owns the tree, sessions, watches, pending changes and the
//! quorum `Member`, and serializes every decision; client connections, peer links and the txn
//! log talk to it through one channel. Everything that is not a decision (socket I/O,
//! decoding, fsync) runs elsewhere.
//!
//! Owns: message routing, carrying out the quorum core's actions in order (`quorum`),
//! per-session FIFO, applying committed txns, replies and watch events, forwarding writes to
//! the leader. Must not make protocol decisions (those live in `quorum`, `prep`, `tree`,
//! `session`).

mod auth;
pub mod boot;
mod commit;
mod core;
pub mod export;
mod forward;
mod local_sessions;
pub mod peers;
pub mod persist;
mod quorum;
mod read_only;
mod reconfig;
pub mod recover;
mod requests;
mod sasl;
mod sessions;
pub mod status;
pub mod store;

use std::net::IpAddr;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::proto::records::ConnectRequest;
use crate::proto::request::Request;
use crate::proto::ErrorCode;
pub use core::Core;
pub use store::Store;

/// Identifies one client TCP connection for its whole life.
pub type ConnId = u64;

/// What the core sends to a connection's writer.
#[derive(Debug)]
pub enum Outbound {
    /// A frame that answers no request: the ConnectResponse or a watch notification.
    Frame(Bytes),
    /// The answer to one request; once written it frees that request's
    /// `globalOutstandingLimit` permit. Tagged here rather than recognised by its xid,
    /// because a reply echoes whatever xid the client chose, -1 included.
    Reply(Bytes),
    /// Flush what was queued, then close the socket.
    Close,
}

pub type Outbox = mpsc::UnboundedSender<Outbound>;

/// Everything the core task reacts to.
#[derive(Debug)]
pub enum CoreMsg {
    Connect {
        conn: ConnId,
        addr: IpAddr,
        port: u16,
        req: ConnectRequest,
        out: Outbox,
        /// Ids the transport established before the handshake (x509 from a TLS client
        /// certificate), added after the connection's `ip` id as Apache adds them.
        auth: Vec<crate::proto::records::Id>,
    },
    Request {
        conn: ConnId,
        xid: i32,
        req: Request,
        /// The request record as the client sent it (after the header), forwarded verbatim
        /// to the leader when this member follows.
        body: Bytes,
    },
    /// A request that could not be decoded: answered with `code` in order, then maybe closed.
    Reject {
        conn: ConnId,
        xid: i32,
        code: ErrorCode,
        close: bool,
    },
    Disconnected {
        conn: ConnId,
    },
    /// Every txn up to `zxid` is durable.
    Durable {
        zxid: i64,
    },
    /// Election and quorum-port traffic for the quorum core.
    Quorum(crate::quorum::Input),
    /// A learner connected to our quorum port.
    LinkAccepted {
        link: crate::quorum::LinkId,
        handle: peers::links::LinkHandle,
    },
    /// Our connection to the leader is up.
    LinkConnected {
        link: crate::quorum::LinkId,
        handle: peers::links::LinkHandle,
    },
    /// A four-letter word, AdminServer command or metrics scrape wants status.
    Status(crate::status::StatusQuery),
    /// Close every connection and hand back the tree (for the final snapshot).
    Shutdown {
        done: oneshot::Sender<crate::tree::DataTree>,
    },
}

pub type CoreTx = mpsc::UnboundedSender<CoreMsg>;
