//! Quotas as Apache ZooKeeper keeps them in the tree: a quota on `/a/b` is the node
//! `/zookeeper/quota/a/b/zookeeper_limits` (the limits, `StatsTrack` text) beside
//! `/zookeeper/quota/a/b/zookeeper_stats` (the subtree's node count and data bytes).
//!
//! The stats are tree state maintained without txns, exactly where Apache's `DataTree`
//! maintains them, so every member that applies the same txns holds the same stats:
//! - creating a `zookeeper_limits` node registers its path as a quota root (Apache's pTrie);
//!   deleting it unregisters it;
//! - creating a `zookeeper_stats` node replaces its data with the subtree's counts;
//! - every create/delete/setData under a quota root adjusts the stats of the deepest root
//!   (`updateQuotaStat`: data only, the stats node's stat is not touched);
//! - loading a snapshot recomputes every stats node from the tree (`setupQuota`).
//!
//! The stats nodes live under `/zookeeper/`, outside Apache's tree digest, so none of this
//! moves the digest. Like Apache, these data updates leave `approximate_data_size` alone.
//!
//! Owns: `StatsTrack` text and the quota-root set. Must not decide whether a write may
//! proceed (that is `prep`'s hard-limit check, made on the leader).

use std::collections::{BTreeMap, BTreeSet};

use super::{path, DataTree};

/// `Quotas.quotaZookeeper`.
pub const QUOTA_ROOT: &str = "/zookeeper/quota";
/// `Quotas.limitNode`.
pub const LIMIT_NODE: &str = "zookeeper_limits";
/// `Quotas.statNode`.
pub const STAT_NODE: &str = "zookeeper_stats";

/// `/zookeeper/quota<path>/zookeeper_limits`.
pub fn limit_path(quota_root: &str) -> String {
    format!("{QUOTA_ROOT}{quota_root}/{LIMIT_NODE}")
}

/// `/zookeeper/quota<path>/zookeeper_stats`.
pub fn stat_path(quota_root: &str) -> String {
    format!("{QUOTA_ROOT}{quota_root}/{STAT_NODE}")
}

/// Apache's `StatsTrack`: `key=value` pairs separated by `,` or `;`, written as
/// `count=N,bytes=M` followed, when other keys exist, by `=` and `;key=value` in key order.
/// A missing key reads as -1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsTrack {
    stats: BTreeMap<String, i64>,
}

impl StatsTrack {
    pub const COUNT: &'static str = "count";
    pub const BYTES: &'static str = "bytes";
    pub const COUNT_HARD_LIMIT: &'static str = "countHardLimit";
    pub const BYTE_HARD_LIMIT: &'static str = "byteHardLimit";

    /// Parses node data. Apache throws on a pair without `=` or a value that is not a number;
    /// here such a pair is skipped (the key reads as -1), so a client's garbage in a quota
    /// node can never stop a member from applying txns.
    pub fn parse(data: &[u8]) -> StatsTrack {
        let text = String::from_utf8_lossy(data);
        let mut stats = BTreeMap::new();
        for pair in text.split([',', ';']).filter(|p| !p.is_empty()) {
            // Java's split("=") drops trailing empty strings: "bytes=5=" is ["bytes", "5"].
            let mut parts = pair.split('=');
            let key = parts.next().unwrap_or_default();
            let Some(value) = parts.next() else { continue };
            let value = if value.is_empty() {
                Some(-1)
            } else {
                value.parse::<i64>().ok()
            };
            if let Some(v) = value {
                stats.insert(key.to_string(), v);
            }
        }
        StatsTrack { stats }
    }

    pub fn get(&self, key: &str) -> i64 {
        self.stats.get(key).copied().unwrap_or(-1)
    }

    pub fn set(&mut self, key: &str, value: i64) {
        self.stats.insert(key.to_string(), value);
    }

    pub fn count(&self) -> i64 {
        self.get(Self::COUNT)
    }

    pub fn bytes(&self) -> i64 {
        self.get(Self::BYTES)
    }

    pub fn count_hard_limit(&self) -> i64 {
        self.get(Self::COUNT_HARD_LIMIT)
    }

    pub fn byte_hard_limit(&self) -> i64 {
        self.get(Self::BYTE_HARD_LIMIT)
    }

    /// The text Apache writes (`StatsTrack.toString`).
    pub fn render(&self) -> String {
        let mut out = format!("count={},bytes={}", self.count(), self.bytes());
        let rest: Vec<_> = self
            .stats
            .iter()
            .filter(|(k, _)| *k != Self::COUNT && *k != Self::BYTES)
            .collect();
        if !rest.is_empty() {
            out.push('=');
            for (k, v) in rest {
                out.push_str(&format!(";{k}={v}"));
            }
        }
        out
    }
}

/// `PathUtils.getTopNamespace`: the first component of an absolute path (the namespace
/// quota metrics are keyed by).
pub fn top_namespace(path: &str) -> &str {
    path.trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
}

/// The path a quota node under `/zookeeper/quota` stands for (`Quotas.trimQuotaPath`).
fn trim_quota_path(quota_path: &str) -> &str {
    quota_path.get(QUOTA_ROOT.len()..).unwrap_or_default()
}

impl DataTree {
    /// The deepest quota root at or above `path` (`getMaxPrefixWithQuota`): matched by whole
    /// path components; never `/`.
    pub fn max_prefix_with_quota(&self, path: &str) -> Option<&str> {
        if self.quota_roots.is_empty() {
            return None;
        }
        let mut candidate = path;
        loop {
            if candidate == "/" || candidate.is_empty() {
                return None;
            }
            if let Some(root) = self.quota_roots.get(candidate) {
                return Some(root.as_str());
            }
            candidate = path::split(candidate)?.0;
        }
    }

    /// The quota roots (paths with a `zookeeper_limits` node), for metrics and tests.
    pub fn quota_roots(&self) -> &BTreeSet<String> {
        &self.quota_roots
    }

    /// After a node was created: register quota roots, fill a new stats node, and count the
    /// node in its quota (Apache's `createNode` tail).
    pub(super) fn quota_created(&mut self, path: &str, data_len: usize) {
        if let Some((parent, name)) = path::split(path) {
            if parent.starts_with(QUOTA_ROOT) {
                let root = trim_quota_path(parent).to_string();
                if name == LIMIT_NODE {
                    self.quota_roots.insert(root.clone());
                }
                if name == STAT_NODE {
                    self.update_quota_for_path(&root);
                }
            }
        }
        if let Some(root) = self.max_prefix_with_quota(path).map(str::to_string) {
            self.update_quota_stat(&root, data_len as i64, 1);
        }
    }

    /// After a node was deleted (Apache's `deleteNode` tail).
    pub(super) fn quota_deleted(&mut self, path: &str, data_len: usize) {
        if let Some((parent, name)) = path::split(path) {
            if parent.starts_with("/zookeeper") && name == LIMIT_NODE {
                self.quota_roots.remove(trim_quota_path(parent));
            }
        }
        if let Some(root) = self.max_prefix_with_quota(path).map(str::to_string) {
            self.update_quota_stat(&root, -(data_len as i64), -1);
        }
    }

    /// After a node's data changed from `old_len` to `new_len` bytes.
    pub(super) fn quota_data_changed(&mut self, path: &str, old_len: usize, new_len: usize) {
        if let Some(root) = self.max_prefix_with_quota(path).map(str::to_string) {
            self.update_quota_stat(&root, new_len as i64 - old_len as i64, 0);
        }
    }

    /// `updateQuotaStat`: adds to the count and bytes in the root's stats node (data only).
    fn update_quota_stat(&mut self, root: &str, bytes_diff: i64, count_diff: i64) {
        let stat_path = stat_path(root);
        let Some(node) = self.nodes.get_mut(stat_path.as_str()) else {
            tracing::error!(path = stat_path, "Missing node for stat");
            return;
        };
        let mut stats = StatsTrack::parse(node.data().unwrap_or_default());
        stats.set(StatsTrack::COUNT, stats.count().wrapping_add(count_diff));
        stats.set(StatsTrack::BYTES, stats.bytes().wrapping_add(bytes_diff));
        node.set_data(Some(stats.render().as_bytes()));
    }

    /// `updateQuotaForPath`: the stats node of `root` = `count=<nodes>,bytes=<data bytes>` of
    /// the subtree at `root` (the root included), other keys dropped, as Apache writes it.
    fn update_quota_for_path(&mut self, root: &str) {
        let (mut count, mut bytes) = (0i64, 0i64);
        let mut stack = vec![root.to_string()];
        while let Some(p) = stack.pop() {
            let Some(node) = self.nodes.get(p.as_str()) else {
                continue;
            };
            count += 1;
            bytes += node.data_len() as i64;
            stack.extend(self.child_nodes(node).map(|c| c.path().to_string()));
        }
        let mut stats = StatsTrack::default();
        stats.set(StatsTrack::BYTES, bytes);
        stats.set(StatsTrack::COUNT, count);
        let stat_path = stat_path(root);
        match self.nodes.get_mut(stat_path.as_str()) {
            Some(node) => node.set_data(Some(stats.render().as_bytes())),
            None => tracing::warn!(path = stat_path, "Missing quota stat node"),
        }
    }

    /// `setupQuota`, after a snapshot is loaded: every leaf `zookeeper_limits` node under
    /// `/zookeeper/quota` makes its path a quota root and its stats are recomputed.
    pub(super) fn setup_quota(&mut self) {
        self.quota_roots.clear();
        let mut roots = Vec::new();
        let mut stack = vec![QUOTA_ROOT.to_string()];
        while let Some(p) = stack.pop() {
            let Some(node) = self.nodes.get(p.as_str()) else {
                continue;
            };
            if node.children.is_empty() {
                if let Some(quota_path) = p.strip_suffix(&format!("/{LIMIT_NODE}")) {
                    roots.push(trim_quota_path(quota_path).to_string());
                }
                continue;
            }
            stack.extend(self.child_nodes(node).map(|c| c.path().to_string()));
        }
        for root in roots {
            self.update_quota_for_path(&root);
            self.quota_roots.insert(root);
        }
    }

    /// Apache's `QuotaMetricsUtils`: per top-level namespace, the sum of the limits (hard
    /// limit if set, else soft) of its leaf `zookeeper_limits` nodes and of the usage in its
    /// leaf `zookeeper_stats` nodes, as `[count limit, bytes limit, count usage, bytes usage]`
    /// (`None` where the namespace has no such node).
    pub fn quota_metrics(&self) -> BTreeMap<String, [Option<i64>; 4]> {
        let mut out: BTreeMap<String, [Option<i64>; 4]> = BTreeMap::new();
        let mut stack = vec![QUOTA_ROOT.to_string()];
        while let Some(p) = stack.pop() {
            let Some(node) = self.nodes.get(p.as_str()) else {
                continue;
            };
            if !node.children.is_empty() {
                stack.extend(self.child_nodes(node).map(|c| c.path().to_string()));
                continue;
            }
            let is_limit = p.ends_with(&format!("/{LIMIT_NODE}"));
            if !is_limit && !p.ends_with(&format!("/{STAT_NODE}")) {
                continue;
            }
            let Some(data) = node.data() else {
                continue;
            };
            let ns = top_namespace(trim_quota_path(&p)).to_string();
            let s = StatsTrack::parse(data);
            let pick = |hard: i64, soft: i64| if hard > -1 { hard } else { soft };
            let values = if is_limit {
                [
                    (0, pick(s.count_hard_limit(), s.count())),
                    (1, pick(s.byte_hard_limit(), s.bytes())),
                ]
            } else {
                [(2, s.count()), (3, s.bytes())]
            };
            let entry = out.entry(ns).or_default();
            for (i, v) in values {
                entry[i] = Some(entry[i].unwrap_or(0) + v);
            }
        }
        out
    }

    /// Limits and current stats of a quota root, read from the tree (what Apache's
    /// `checkQuota` reads: the committed nodes, not pending changes).
    pub fn quota_of(&self, root: &str) -> Option<(StatsTrack, StatsTrack)> {
        let limits = self.nodes.get(limit_path(root).as_str())?;
        let stats = self.nodes.get(stat_path(root).as_str())?;
        Some((
            StatsTrack::parse(limits.data().unwrap_or_default()),
            StatsTrack::parse(stats.data().unwrap_or_default()),
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
