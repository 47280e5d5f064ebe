//! What the quorum core is fed ([`Input`]) and what it asks its host to do ([`Action`]).
//!
//! The host carries actions out **in order**. All are synchronous from the core's point of view
//! except `Append`, whose durability comes back later as `Input::Persisted`; `PersistEpoch`,
//! `TakeSnapshot`, `TruncateLog`, `LoadSnapshot` and `ApplyLogged` have happened (durably) by the
//! time the host feeds the next input.

use bytes::Bytes;

use super::wire::payload::ForwardedRequest;
use super::wire::{Notification, QuorumPacket};
use super::{ServerState, Sid};
use crate::proto::records::Id;

/// One quorum-port connection, named by the host (leader side) or by the core (a learner's
/// link to its leader, see `Action::ConnectToLeader`).
pub type LinkId = u64;

/// An event for the quorum core. Time comes with every call (`now` in ms, any epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Time passed; timers fire.
    Tick,
    /// An election notification arrived on the election port.
    Notification { from: Sid, n: Notification },
    /// Leader: a learner connected to the quorum port.
    LearnerConnected { link: LinkId },
    /// Learner: the connection asked for by `ConnectToLeader` is up.
    LeaderConnected { link: LinkId },
    /// A quorum packet arrived on `link`.
    Packet { link: LinkId, packet: QuorumPacket },
    /// Learner: a SNAP packet and the database body after it (the transport has checked the
    /// "BenWasHere" signature and delivers both at once).
    Snapshot {
        link: LinkId,
        zxid: i64,
        body: Bytes,
    },
    /// `link` closed (EOF, error, or the host gave up connecting).
    LinkClosed { link: LinkId },
    /// Every appended txn up to `zxid` is durable.
    Persisted { zxid: i64 },
    /// The election port reached `sid` (a connection is up).
    PeerUp { sid: Sid },
    /// The election port lost `sid` (refused, reset or closed): it cannot send a vote now.
    PeerDown { sid: Sid },
}

/// Something the host must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    // --- election port ---
    /// Send a notification (the transport keeps only the latest per peer, as Apache does).
    Notify {
        to: Sid,
        n: Notification,
    },

    // --- quorum port ---
    Send {
        link: LinkId,
        packet: QuorumPacket,
    },
    /// Leader: write SNAP(zxid = last applied) + the database body + "BenWasHere" on `link`,
    /// ahead of anything sent after this action.
    SendSnapshot {
        link: LinkId,
    },
    /// Close a quorum link.
    Close {
        link: LinkId,
        reason: String,
    },
    /// Learner: dial `leader`'s quorum port; report `LeaderConnected{link}` or `LinkClosed{link}`.
    ConnectToLeader {
        link: LinkId,
        leader: Sid,
    },

    // --- storage ---
    /// Write `acceptedEpoch` (tmp + fsync + rename) before going on.
    PersistAcceptedEpoch(i64),
    /// Write `currentEpoch` likewise.
    PersistCurrentEpoch(i64),
    /// Append a txn to the log; `Input::Persisted` reports it durable.
    Append {
        zxid: i64,
        txn: Bytes,
    },
    /// TRUNC: drop every logged txn above `zxid` (and snapshots above it), and rebuild the state
    /// from disk so that the last applied zxid is `zxid`.
    TruncateLog {
        zxid: i64,
    },
    /// SNAP: replace the state by `body` (Apache's database serialization) at `zxid`; the log
    /// restarts empty after it.
    LoadSnapshot {
        zxid: i64,
        body: Bytes,
    },
    /// Make the current state durable as a snapshot (after SNAP or TRUNC, before NEWLEADER's ACK).
    TakeSnapshot,

    // --- the replicated state ---
    /// A committed txn: apply it (in zxid order), fire watches, answer its client.
    Apply {
        zxid: i64,
        txn: Bytes,
    },
    /// Leaving a role: make every appended txn durable, then apply those not yet applied (in
    /// order), as ZooKeeper does by reloading its database from disk.
    ApplyLogged {
        txns: Vec<(i64, Bytes)>,
    },

    // --- sessions and client requests ---
    /// Leader: sessions a learner reported active in a PING reply.
    TouchSessions(Vec<(i64, i32)>),
    /// Leader: a learner asks whether `session` may reconnect; answer with
    /// `Member::revalidated`.
    Revalidate {
        link: LinkId,
        sid: Sid,
        session: i64,
        timeout_ms: i32,
    },
    /// Learner: the leader's answer to a REVALIDATE.
    Revalidated {
        session: i64,
        valid: bool,
    },
    /// Leader: a client write (or createSession/closeSession/sync) forwarded by a learner.
    Forwarded {
        link: LinkId,
        sid: Sid,
        request: ForwardedRequest,
        auth: Vec<Id>,
    },
    /// Learner: the leader answered a forwarded `sync`; answer the oldest waiting client sync.
    SyncDone,
    /// Leader: a quorum confirmed this member still leads after the local `sync` named by
    /// `token` arrived (`Member::sync`); it may be answered once what was proposed before it
    /// is applied.
    SyncConfirmed {
        token: u64,
    },
    /// Learner: answer the leader's PING with the sessions touched since the last one.
    PingReply {
        link: LinkId,
        zxid: i64,
    },

    // --- configuration ---
    /// A new configuration is in force (`QuorumPeer.processReconfig`, `reconfigEnabled`
    /// only): write `<zoo.cfg>.dynamic.<version>`, point zoo.cfg at it, refresh
    /// `/zookeeper/config` and the peer addresses. The core already uses it.
    ActivateConfig {
        view: super::view::QuorumView,
    },
    /// The newest configuration proposed but not yet in force (`setLastSeenQuorumVerifier`,
    /// `reconfigEnabled` only): kept as `<zoo.cfg>.dynamic.next` so that whoever leads next,
    /// even after a restart, resumes it; a view not newer than the one in force clears it.
    LastSeenConfig {
        view: super::view::QuorumView,
    },

    // --- role ---
    /// The member changed state (LOOKING → LEADING …); `leader` once known.
    StateChanged {
        state: ServerState,
        leader: Option<Sid>,
    },
    /// The member may serve clients now (leader established, or learner got UPTODATE).
    StartServing,
    /// The member stopped serving: close client connections (they will reconnect elsewhere).
    StopServing {
        reason: String,
    },
}

/// Read access to the on-disk txn log for syncing a learner that is older than the leader's
/// in-memory history (Apache's txnlog-based DIFF).
pub trait LogSource {
    /// Every logged txn with `after < zxid <= upto`, in order, if the log holds the txn `after`
    /// itself (as Apache's `getProposalsFromTxnLog` requires); `None` otherwise.
    fn txns_between(&self, after: i64, upto: i64) -> Option<Vec<(i64, Bytes)>>;
}

/// No on-disk log (standalone tests, or when txn-log sync is disabled).
pub struct NoLog;

impl LogSource for NoLog {
    fn txns_between(&self, _after: i64, _upto: i64) -> Option<Vec<(i64, Bytes)>> {
        None
    }
}
