//! Apache ZooKeeper's tree digest (`DigestCalculator`, DIGEST_VERSION 2, and the AdHash sum of
//! `NodeHashMapImpl`), kept incrementally so `DataTree::digest()` is O(1), plus the digest log
//! the `hash` four-letter word prints (`DataTree.logZxidDigest`).
//!
//! Per node: CRC32 (IEEE, = `java.util.zip.CRC32`) over the path bytes (the root is `""`),
//! the data bytes (nothing when null), then a 60-byte block `czxid, mzxid, pzxid, ctime,
//! mtime, version, cversion, aversion, ephemeralOwner` — pzxid third, unlike StatPersisted.
//! Nodes under `/zookeeper/` count 0 (`/zookeeper` itself counts). Tree digest: the wrapping
//! 64-bit sum of every node's digest (the unsigned 32-bit CRC as a long).
//!
//! CRC32 can be continued from a finished value, so each node keeps `crc(path ‖ data)` (its
//! "prefix") and a stat change costs one 60-byte CRC — parent updates on create/delete never
//! rehash the parent's data (Apache rehashes it).
//!
//! Owns: the per-node formula, the running sum, the log of (zxid, digest). Must not know how
//! txns are applied: `DataTree` calls `add`/`remove`/`replace` around each mutation.

use std::collections::VecDeque;

use super::node::{Node, StatPersisted};
use super::DataTree;
use crate::proto::txn::TxnDigest;

/// The digest version Apache 3.6–3.9 computes and sends in `TxnDigest`/`ZxidDigest`.
pub use crate::proto::txn::DIGEST_VERSION;
/// A (zxid, digest) pair is logged when `zxid % 128 == 0` (`DIGEST_LOG_INTERVAL`).
pub const LOG_INTERVAL: i64 = 128;
/// At most this many pairs are kept, oldest dropped first (`DIGEST_LOG_LIMIT`).
pub const LOG_LIMIT: usize = 1024;
/// Paths under this prefix are not digested (Apache's `ZOOKEEPER_NODE_SUBTREE`).
const EXCLUDED_SUBTREE: &str = "/zookeeper/";

/// Whether a node at `path` contributes to the tree digest.
pub fn is_digested(path: &str) -> bool {
    !path.starts_with(EXCLUDED_SUBTREE)
}

/// `crc32(path ‖ data)`: the part of a node's digest only setData changes. The root's path
/// is hashed as `""`, whichever alias (`/` or `""`) names it.
pub fn prefix(path: &str, data: Option<&[u8]>) -> u32 {
    let mut h = crc32fast::Hasher::new();
    if path != "/" {
        h.update(path.as_bytes());
    }
    if let Some(d) = data {
        h.update(d);
    }
    h.finalize()
}

/// Continues a node's prefix over its 60-byte stat block: the node digest.
pub fn finish(prefix: u32, s: &StatPersisted) -> u32 {
    let mut block = [0u8; 60];
    let longs = [s.czxid, s.mzxid, s.pzxid, s.ctime, s.mtime];
    for (i, v) in longs.iter().enumerate() {
        block[i * 8..i * 8 + 8].copy_from_slice(&v.to_be_bytes());
    }
    for (i, v) in [s.version, s.cversion, s.aversion].iter().enumerate() {
        block[40 + i * 4..44 + i * 4].copy_from_slice(&v.to_be_bytes());
    }
    block[52..60].copy_from_slice(&s.ephemeral_owner.to_be_bytes());
    let mut h = crc32fast::Hasher::new_with_initial(prefix);
    h.update(&block);
    h.finalize()
}

/// Apache's `DigestCalculator.calculateDigest(path, data, stat)` for a digested path (0 for
/// paths under `/zookeeper/`).
pub fn node_digest(path: &str, data: Option<&[u8]>, stat: &StatPersisted) -> u32 {
    if is_digested(path) {
        finish(prefix(path, data), stat)
    } else {
        0
    }
}

/// One recorded tree digest (`ZxidDigest` in Apache's jute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZxidDigest {
    pub zxid: i64,
    pub digest_version: i32,
    pub digest: i64,
}

/// The running tree digest and its log. Disabled (`zookeeper.digest.enabled=false`) it stays 0
/// and costs nothing per txn, as in Apache.
#[derive(Debug, Clone)]
pub struct TreeDigest {
    enabled: bool,
    sum: i64,
    log: VecDeque<ZxidDigest>,
    last: Option<ZxidDigest>,
}

impl TreeDigest {
    pub fn new(enabled: bool) -> Self {
        TreeDigest {
            enabled,
            sum: 0,
            log: VecDeque::new(),
            last: None,
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The current tree digest (0 when disabled).
    pub fn value(&self) -> i64 {
        self.sum
    }

    /// The prefix to store in a node written at `path` with `data` (0 when not digested).
    pub(super) fn prefix_for(&self, path: &str, data: Option<&[u8]>) -> u32 {
        if self.enabled && is_digested(path) {
            prefix(path, data)
        } else {
            0
        }
    }

    /// The digest `node` contributes with its current data and stat.
    pub(super) fn of(&self, node: &Node) -> u32 {
        if self.enabled && is_digested(node.path()) {
            finish(node.digest_prefix, &node.stat)
        } else {
            0
        }
    }

    /// A node entered the tree: caches its digest and adds it.
    pub(super) fn insert(&mut self, node: &mut Node) {
        node.digest = self.of(node);
        self.sum = self.sum.wrapping_add(i64::from(node.digest));
    }

    /// A node left the tree: subtracts its cached digest.
    pub(super) fn remove(&mut self, node: &Node) {
        self.sum = self.sum.wrapping_sub(i64::from(node.digest));
    }

    /// A node's data or stat changed (Apache's preChange + postChange): swaps its cached
    /// digest for the new one.
    pub(super) fn refresh(&mut self, node: &mut Node) {
        let after = self.of(node);
        self.sum = self
            .sum
            .wrapping_sub(i64::from(node.digest))
            .wrapping_add(i64::from(after));
        node.digest = after;
    }

    /// Restarts the sum (the caller re-adds every node) and the log; keeps on/off.
    pub(super) fn reset(&mut self) {
        *self = TreeDigest::new(self.enabled);
    }

    /// After a top-level txn: `zxid`'s digest becomes the last one, and is logged every
    /// 128th zxid (Java's `%`, so negative multiples count too).
    pub(super) fn record(&mut self, zxid: i64) {
        let entry = ZxidDigest {
            zxid,
            digest_version: DIGEST_VERSION,
            digest: self.sum,
        };
        self.last = Some(entry);
        if zxid % LOG_INTERVAL == 0 {
            self.log.push_back(entry);
            if self.log.len() > LOG_LIMIT {
                self.log.pop_front();
            }
        }
    }

    /// The logged pairs, oldest first (what `hash` prints, one line each).
    pub fn log(&self) -> impl ExactSizeIterator<Item = &ZxidDigest> {
        self.log.iter()
    }

    /// The digest after the last applied txn (`lastProcessedZxidDigest`), if any was applied.
    pub fn last(&self) -> Option<ZxidDigest> {
        self.last
    }
}

/// What comparing a proposal's `TxnDigest` with the tree after applying its txn found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestCheck {
    /// Nothing to compare: no digest sent, the digest is off here, or another version.
    Skipped,
    Match,
    Mismatch {
        expected: i64,
        actual: i64,
    },
}

impl DataTree {
    /// Apache's `DataTree.compareDigest` without its side effects: call it right after
    /// applying the txn that carried `sent`. On a mismatch Apache 3.8 bumps
    /// `digest_mismatches_count`, logs "Digests are not matching" (rate-limited) and the first
    /// one at ERROR, and carries on — no exit, no resync; callers should do the same.
    pub fn check_digest(&self, sent: Option<&TxnDigest>) -> DigestCheck {
        match sent {
            Some(d) if self.digest.enabled() && d.version == DIGEST_VERSION => {
                if d.tree_digest == self.digest() {
                    DigestCheck::Match
                } else {
                    DigestCheck::Mismatch {
                        expected: d.tree_digest,
                        actual: self.digest(),
                    }
                }
            }
            _ => DigestCheck::Skipped,
        }
    }
}

/// The `hash` four-letter word's body: one `<zxid hex>: <digest>` line per logged pair.
pub fn format_hash_lines(log: impl Iterator<Item = ZxidDigest>) -> String {
    let mut out = String::new();
    for d in log {
        out.push_str(&format!("{:x}: {}\n", d.zxid, d.digest));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verified_node_digests() {
        // QUORUM.md §7.2: crc32(60 zero bytes) and crc32("/zookeeper" + 60 zero bytes).
        let zero = StatPersisted::default();
        assert_eq!(node_digest("/", Some(b""), &zero), 68_323_592);
        assert_eq!(node_digest("", None, &zero), 68_323_592);
        assert_eq!(node_digest("/zookeeper", Some(b""), &zero), 1_303_661_912);
        assert_eq!(node_digest("/zookeeper/quota", None, &zero), 0);
        assert!(is_digested("/zookeeper") && is_digested("/zookeeperx"));
    }

    #[test]
    fn prefix_continuation_equals_one_pass_crc() {
        let stat = StatPersisted {
            czxid: 0x1_0000_0001,
            mzxid: 2,
            ctime: 1000,
            mtime: 1001,
            version: 3,
            cversion: -4,
            aversion: 5,
            ephemeral_owner: i64::MIN,
            pzxid: 0x7fff_ffff_ffff_ffff,
        };
        let mut one = Vec::new();
        one.extend_from_slice(b"/a/b");
        one.extend_from_slice(b"data");
        for v in [stat.czxid, stat.mzxid, stat.pzxid, stat.ctime, stat.mtime] {
            one.extend_from_slice(&v.to_be_bytes());
        }
        for v in [stat.version, stat.cversion, stat.aversion] {
            one.extend_from_slice(&v.to_be_bytes());
        }
        one.extend_from_slice(&stat.ephemeral_owner.to_be_bytes());
        assert_eq!(one.len(), 4 + 4 + 60);
        assert_eq!(
            node_digest("/a/b", Some(b"data"), &stat),
            crc32fast::hash(&one)
        );
    }

    #[test]
    fn check_digest_follows_compare_digest() {
        let tree = DataTree::new();
        let sent = |version, tree_digest| TxnDigest {
            version,
            tree_digest,
        };
        assert_eq!(
            tree.check_digest(Some(&sent(2, 1_371_985_504))),
            DigestCheck::Match
        );
        assert_eq!(
            tree.check_digest(Some(&sent(2, 5))),
            DigestCheck::Mismatch {
                expected: 5,
                actual: 1_371_985_504
            }
        );
        assert_eq!(tree.check_digest(Some(&sent(1, 5))), DigestCheck::Skipped);
        assert_eq!(tree.check_digest(None), DigestCheck::Skipped);
        let off = DataTree::with_digest(false);
        assert_eq!(off.check_digest(Some(&sent(2, 5))), DigestCheck::Skipped);
    }

    #[test]
    fn log_keeps_every_128th_zxid_up_to_the_limit() {
        let mut d = TreeDigest::new(true);
        d.sum = 7;
        for z in 1..=(LOG_INTERVAL * (LOG_LIMIT as i64 + 5)) {
            d.record(z);
        }
        assert_eq!(d.log().len(), LOG_LIMIT);
        assert_eq!(d.log().next().map(|e| e.zxid), Some(6 * LOG_INTERVAL));
        assert_eq!(
            d.last().map(|e| (e.zxid, e.digest)),
            Some((LOG_INTERVAL * (LOG_LIMIT as i64 + 5), 7))
        );
        let text = format_hash_lines(d.log().copied().take(1));
        assert_eq!(text, "300: 7\n");
    }
}
