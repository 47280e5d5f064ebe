//! A simulated member's host: the durable storage a crash keeps (epochs, snapshots, the fsynced
//! part of the log), the volatile rest, and a model state machine (the ordered list of applied
//! txns, standing in for the tree).

use std::collections::BTreeMap;

use bytes::{BufMut, Bytes, BytesMut};

use crate::quorum::action::LogSource;
use crate::quorum::learner::txn_zxid;
use crate::quorum::{Member, MemberInit, QuorumView, Sid, Timing};

/// What survives a crash.
#[derive(Debug, Clone, Default)]
pub struct Disk {
    pub accepted_epoch: i64,
    pub current_epoch: i64,
    /// zxid → applied txns as of that snapshot.
    pub snapshots: BTreeMap<i64, Vec<(i64, Bytes)>>,
    /// The log; entries past `durable` are lost by a crash.
    pub log: Vec<(i64, Bytes)>,
    pub durable: usize,
    /// The configuration activated last (`<zoo.cfg>.dynamic.<version>`, written at
    /// activation), with `reconfigEnabled`; `None` until the first activation.
    pub config: Option<QuorumView>,
    /// A proposed configuration newer than `config` (`<zoo.cfg>.dynamic.next`).
    pub last_seen: Option<QuorumView>,
}

impl Disk {
    pub fn last_logged(&self) -> i64 {
        self.log.last().map_or(0, |(z, _)| *z)
    }

    /// Recovery: newest snapshot plus the durable log after it.
    pub fn recover(&self) -> Vec<(i64, Bytes)> {
        let mut state: Vec<(i64, Bytes)> = self
            .snapshots
            .values()
            .next_back()
            .cloned()
            .unwrap_or_default();
        let base = state.last().map_or(0, |(z, _)| *z);
        let snap_zxid = self.snapshots.keys().next_back().copied().unwrap_or(0);
        let from = base.max(snap_zxid);
        state.extend(self.log.iter().filter(|(z, _)| *z > from).cloned());
        state
    }
}

impl LogSource for Disk {
    /// As the runtime's store: only from the newest snapshot on, without gaps.
    fn txns_between(&self, after: i64, upto: i64) -> Option<Vec<(i64, Bytes)>> {
        let newest = self.snapshots.keys().next_back().copied().unwrap_or(0);
        if after < newest || !self.log.iter().any(|(z, _)| *z == after) {
            return None;
        }
        let txns: Vec<(i64, Bytes)> = self
            .log
            .iter()
            .filter(|(z, _)| *z > after && *z <= upto)
            .cloned()
            .collect();
        crate::quorum::history::contiguous(after, &txns).then_some(txns)
    }
}

/// One simulated server.
pub struct SimNode {
    pub sid: Sid,
    pub up: bool,
    pub member: Member,
    pub disk: Disk,
    /// Applied txns in order (the model "tree").
    pub state: Vec<(i64, Bytes)>,
    /// Last applied zxid (may be an epoch's first zxid with no txn, on a leader).
    pub applied: i64,
    /// `digest(state)`, kept up to date.
    pub digest: u64,
    /// An fsync is running and will cover the log up to this index.
    pub fsync_upto: Option<usize>,
    /// Next id for quorum links this node accepts.
    pub next_link: u64,
    /// Bumped at each restart, so stale events for the old incarnation are dropped.
    pub incarnation: u64,
    /// A SNAP loaded in memory, not yet written.
    pub snap_base: Option<i64>,
}

/// A txn whose header carries `zxid` (what learners parse) and a unique body.
pub fn fake_txn(zxid: i64, id: u64) -> Bytes {
    let mut b = BytesMut::with_capacity(40);
    b.put_i64(0x100);
    b.put_i32(1);
    b.put_i64(zxid);
    b.put_i64(1_700_000_000_000);
    b.put_i32(5);
    b.put_u64(id);
    b.freeze()
}

/// The state as snapshot bytes: `(zxid, len, txn)*`.
pub fn encode_state(state: &[(i64, Bytes)]) -> Bytes {
    let mut b = BytesMut::new();
    for (z, t) in state {
        b.put_i64(*z);
        b.put_u32(t.len() as u32);
        b.put_slice(t);
    }
    b.freeze()
}

pub fn decode_state(mut body: &[u8]) -> Vec<(i64, Bytes)> {
    use bytes::Buf;
    let mut out = Vec::new();
    while body.remaining() >= 12 {
        let z = body.get_i64();
        let n = body.get_u32() as usize;
        let t = Bytes::copy_from_slice(&body[..n.min(body.len())]);
        body.advance(n.min(body.len()));
        out.push((z, t));
    }
    out
}

/// Digest of a state: equal histories give equal digests (FNV-1a, so it extends per txn).
pub fn digest(state: &[(i64, Bytes)]) -> u64 {
    state
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, (z, t)| extend_digest(h, *z, t))
}

fn extend_digest(mut h: u64, zxid: i64, txn: &[u8]) -> u64 {
    for b in zxid.to_be_bytes().iter().chain(txn.iter()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// How a member is configured besides its disk: the ensemble's timing and `reconfigEnabled`.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    pub timing: Timing,
    pub reconfig: bool,
}

impl SimNode {
    pub fn new(sid: Sid, view: &QuorumView, observer: bool, setup: Setup) -> SimNode {
        let disk = Disk::default();
        SimNode {
            sid,
            up: true,
            member: Self::member(sid, (view, observer), setup, &disk, &[]),
            disk,
            state: Vec::new(),
            applied: 0,
            digest: digest(&[]),
            fsync_upto: None,
            next_link: 1,
            incarnation: 0,
            snap_base: None,
        }
    }

    fn member(
        sid: Sid,
        (view, observer): (&QuorumView, bool),
        setup: Setup,
        disk: &Disk,
        state: &[(i64, Bytes)],
    ) -> Member {
        let mut committed = crate::quorum::history::CommittedLog::new(0);
        for (z, t) in state {
            committed.push(*z, t.clone());
        }
        Member::new(MemberInit {
            me: sid,
            observer,
            view: view.clone(),
            timing: setup.timing,
            last_zxid: state.last().map_or(0, |(z, _)| *z),
            accepted_epoch: disk.accepted_epoch,
            current_epoch: disk.current_epoch,
            committed,
            force_snap: false,
            reconfig_enabled: setup.reconfig,
            last_seen: disk.last_seen.clone(),
        })
    }

    /// Power loss: the unsynced log tail is gone.
    pub fn crash(&mut self) {
        self.up = false;
        self.disk.log.truncate(self.disk.durable);
        self.fsync_upto = None;
        self.incarnation += 1;
    }

    /// Restart from disk: the configuration it activated last, else `initial` (zoo.cfg).
    pub fn restart(&mut self, initial: &QuorumView, setup: Setup) {
        let view = self.disk.config.clone().unwrap_or_else(|| initial.clone());
        let observer = view.is_observer(self.sid);
        self.up = true;
        self.snap_base = None;
        self.state = self.disk.recover();
        self.applied = self.state.last().map_or(0, |(z, _)| *z);
        self.digest = digest(&self.state);
        self.member = Self::member(self.sid, (&view, observer), setup, &self.disk, &self.state);
        self.next_link = 1;
    }

    /// Applies a committed txn; returns false if it is out of order (an invariant breach).
    pub fn apply(&mut self, zxid: i64, txn: Bytes) -> bool {
        if zxid <= self.applied {
            return false;
        }
        if txn_zxid(&txn) != Some(zxid) {
            return false;
        }
        self.applied = zxid;
        self.digest = extend_digest(self.digest, zxid, &txn);
        self.state.push((zxid, txn));
        true
    }

    /// Makes the whole log durable at once (synchronous flush).
    pub fn flush(&mut self) {
        self.disk.durable = self.disk.log.len();
    }

    /// TRUNC: drop the log and snapshots above `zxid` and rebuild the state from disk.
    pub fn truncate(&mut self, zxid: i64) {
        self.snap_base = None;
        self.flush();
        self.disk.log.retain(|(z, _)| *z <= zxid);
        self.disk.durable = self.disk.log.len();
        self.disk.snapshots.retain(|z, _| *z <= zxid);
        self.state = self.disk.recover();
        self.state.retain(|(z, _)| *z <= zxid);
        self.applied = zxid;
        self.digest = digest(&self.state);
    }

    /// SNAP: the state is the leader's, in memory only until `take_snapshot`.
    pub fn load(&mut self, zxid: i64, state: Vec<(i64, Bytes)>) {
        self.state = state;
        self.applied = zxid;
        self.digest = digest(&self.state);
        self.snap_base = Some(zxid);
    }

    /// NEWLEADER after a SNAP (or TRUNC): logged txns above the SNAP are dropped, then the
    /// state becomes a durable snapshot.
    pub fn take_snapshot(&mut self) {
        if let Some(z) = self.snap_base.take() {
            self.flush();
            self.disk.log.retain(|(x, _)| *x <= z);
            self.disk.durable = self.disk.log.len();
        }
        self.disk.snapshots.insert(self.applied, self.state.clone());
    }
}
