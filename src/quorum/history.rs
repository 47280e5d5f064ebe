//! The leader's memory of recent committed txns (`ZKDatabase.committedLog`) and the choice of
//! how to bring a learner up to date (`LearnerHandler.syncFollower` and
//! `queueCommittedProposals`): an empty DIFF, a DIFF with the txns it lacks, a TRUNC of txns
//! the quorum never committed, or a full SNAP. Apache's rules, including its edge cases, so an
//! Apache learner sees what an Apache leader would send it.

use std::collections::VecDeque;

use bytes::Bytes;

use super::action::LogSource;
use super::wire::{PacketType, QuorumPacket};
use super::zxid::{epoch_of, is_epoch_start};

/// Default `zookeeper.commitLogCount`.
pub const DEFAULT_COMMIT_LOG_COUNT: usize = 500;

/// The last committed txns, oldest first.
#[derive(Debug, Clone)]
pub struct CommittedLog {
    entries: VecDeque<(i64, Bytes)>,
    capacity: usize,
}

impl CommittedLog {
    pub fn new(capacity: usize) -> CommittedLog {
        CommittedLog {
            entries: VecDeque::new(),
            capacity: capacity.max(DEFAULT_COMMIT_LOG_COUNT),
        }
    }

    /// Adds a committed txn (zxids increase); the oldest falls out past the capacity.
    pub fn push(&mut self, zxid: i64, txn: Bytes) {
        if self.entries.back().is_some_and(|(z, _)| *z >= zxid) {
            return;
        }
        if self.entries.len() >= self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back((zxid, txn));
    }

    /// TRUNC: forget txns above `zxid`.
    pub fn truncate_after(&mut self, zxid: i64) {
        while self.entries.back().is_some_and(|(z, _)| *z > zxid) {
            self.entries.pop_back();
        }
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn min_zxid(&self) -> Option<i64> {
        self.entries.front().map(|(z, _)| *z)
    }

    pub fn max_zxid(&self) -> Option<i64> {
        self.entries.back().map(|(z, _)| *z)
    }

    pub fn iter(&self) -> impl Iterator<Item = &(i64, Bytes)> {
        self.entries.iter()
    }
}

/// Whether `txns` follow `after` without a gap inside any epoch (a new epoch restarts at
/// counter 1): a log read for a DIFF must not skip txns.
pub fn contiguous(after: i64, txns: &[(i64, Bytes)]) -> bool {
    let mut prev = after;
    for (z, _) in txns {
        let next_in_epoch = epoch_of(*z) == epoch_of(prev) && *z == prev + 1;
        let opens_epoch = epoch_of(*z) > epoch_of(prev) && super::zxid::counter_of(*z) == 1;
        if !(next_in_epoch || opens_epoch) {
            return false;
        }
        prev = *z;
    }
    true
}

/// What to send a learner before NEWLEADER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncPlan {
    /// DIFF or TRUNC first, then PROPOSAL + COMMIT pairs (empty when `snap`).
    pub packets: Vec<QuorumPacket>,
    /// Send a SNAP of the whole database instead.
    pub snap: bool,
    /// The newest zxid the learner will hold after these packets: live proposals above it are
    /// queued next (`startForwarding`).
    pub queued_zxid: i64,
}

impl SyncPlan {
    pub fn kind(&self) -> &'static str {
        if self.snap {
            return "SNAP";
        }
        match self.packets.first().and_then(QuorumPacket::packet_type) {
            Some(PacketType::Trunc) => "TRUNC",
            _ => "DIFF",
        }
    }
}

/// Inputs of the choice.
pub struct SyncInput<'a> {
    /// The learner's last logged zxid (its ACKEPOCH zxid).
    pub peer_zxid: i64,
    pub committed: &'a CommittedLog,
    /// The leader's last applied (= last committed) zxid.
    pub last_processed: i64,
    /// The on-disk log, for learners older than `committed` (`None` = txn-log sync disabled).
    pub log: Option<&'a dyn LogSource>,
    /// `zookeeper.forceSnapshotSync`.
    pub force_snap: bool,
}

/// `syncFollower`.
pub fn plan_sync(input: &SyncInput) -> SyncPlan {
    let peer = input.peer_zxid;
    let mut q = Queue {
        peer,
        need_op: true,
        packets: Vec::new(),
    };
    let (min, max) = match (input.committed.min_zxid(), input.committed.max_zxid()) {
        (Some(a), Some(b)) => (a, b),
        _ => (input.last_processed, input.last_processed),
    };
    let mut current = peer;
    let mut need_snap = true;
    if input.force_snap {
        tracing::warn!("Forcing snapshot sync - should not see this in production");
    } else if input.last_processed == peer {
        q.op(PacketType::Diff, peer);
        need_snap = false;
    } else if peer > max && !is_epoch_start(peer) {
        q.op(PacketType::Trunc, max);
        current = max;
        need_snap = false;
    } else if (min..=max).contains(&peer) {
        let entries = input.committed.iter().map(|(z, t)| (*z, t.clone()));
        current = q.queue(entries, peer, None, max);
        need_snap = false;
    } else if peer < min {
        if let Some(disk) = input.log.and_then(|l| l.txns_between(peer, min)) {
            // Apache's log iterator starts AT the peer's zxid, which makes the first entry a
            // DIFF marker; that entry itself is never queued, so its bytes do not matter.
            let from_peer = std::iter::once((peer, Bytes::new())).chain(disk);
            current = q.queue(from_peer, peer, Some(min), max);
            if current < min {
                tracing::info!(
                    log_end = format_args!("0x{current:x}"),
                    committed_start = format_args!("0x{min:x}"),
                    "Detected gap between end of txnlog and start of committedLog"
                );
                q.packets.clear();
                q.need_op = true;
                current = peer;
            } else {
                let entries = input.committed.iter().map(|(z, t)| (*z, t.clone()));
                current = q.queue(entries, current, None, max);
                need_snap = false;
            }
        }
    }
    if q.need_op && !need_snap {
        tracing::error!("Unhandled sync scenario; falling back to a snapshot");
        need_snap = true;
    }
    if need_snap {
        return SyncPlan {
            packets: Vec::new(),
            snap: true,
            queued_zxid: input.last_processed,
        };
    }
    SyncPlan {
        packets: q.packets,
        snap: false,
        queued_zxid: current,
    }
}

struct Queue {
    peer: i64,
    need_op: bool,
    packets: Vec<QuorumPacket>,
}

impl Queue {
    fn op(&mut self, kind: PacketType, zxid: i64) {
        self.packets.push(QuorumPacket::new(kind, zxid, None));
        self.need_op = false;
    }

    /// `queueCommittedProposals`: decide DIFF or TRUNC at the first txn at or above the peer's
    /// zxid, then queue every newer txn as PROPOSAL + COMMIT. Returns the last queued zxid.
    fn queue(
        &mut self,
        txns: impl Iterator<Item = (i64, Bytes)>,
        peer_last: i64,
        max_zxid: Option<i64>,
        last_committed: i64,
    ) -> i64 {
        let new_epoch_peer = is_epoch_start(self.peer);
        let mut queued = peer_last;
        let mut prev = -1;
        for (zxid, txn) in txns {
            if max_zxid.is_some_and(|m| zxid > m) {
                break;
            }
            if zxid < peer_last {
                prev = zxid;
                continue;
            }
            if self.need_op {
                if zxid == peer_last {
                    self.op(PacketType::Diff, last_committed);
                    continue;
                }
                if new_epoch_peer {
                    self.op(PacketType::Diff, last_committed);
                } else if zxid > peer_last {
                    if epoch_of(zxid) != epoch_of(peer_last) {
                        tracing::warn!(
                            "Cannot send TRUNC to peer: peer zxid is from a different epoch"
                        );
                        return queued;
                    }
                    self.op(PacketType::Trunc, prev);
                }
            }
            if zxid <= queued {
                continue;
            }
            self.packets
                .push(QuorumPacket::new(PacketType::Proposal, zxid, Some(txn)));
            self.packets
                .push(QuorumPacket::new(PacketType::Commit, zxid, None));
            queued = zxid;
        }
        if self.need_op && new_epoch_peer {
            self.op(PacketType::Diff, last_committed);
        }
        queued
    }
}

#[cfg(test)]
mod tests;
