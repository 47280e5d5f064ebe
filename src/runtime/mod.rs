//! The tokio driver of a standalone server: one core task owns the tree, sessions, watches
//! and pending changes, and serializes every decision; connections and the txn log talk to it
//! through one channel. Everything that is not a decision (socket I/O, decoding, fsync) runs
//! elsewhere.
//!
//! Owns: message routing, zxid assignment, per-session FIFO, applying durable txns, replies
//! and watch events. Must not make protocol decisions (those live in `prep`, `tree`, `session`).

mod auth;
mod commit;
mod core;
pub mod persist;
pub mod recover;
mod requests;
mod sessions;
pub mod sink;
pub mod status;

use std::net::IpAddr;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::proto::records::ConnectRequest;
use crate::proto::request::Request;
use crate::proto::ErrorCode;
pub use core::Core;

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
    },
    Request {
        conn: ConnId,
        xid: i32,
        req: Request,
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
    FourLetter {
        cmd: String,
        reply: oneshot::Sender<String>,
    },
    /// Close every connection and hand back the tree (for the final snapshot).
    Shutdown {
        done: oneshot::Sender<crate::tree::DataTree>,
    },
}

pub type CoreTx = mpsc::UnboundedSender<CoreMsg>;
