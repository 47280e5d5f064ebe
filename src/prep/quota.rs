//! The quota check of a create or setData (Apache's `ZooKeeperServer.checkQuota`), made where
//! PrepRequestProcessor makes it: after the ACL (setData) or the ephemeral-parent (create)
//! check. Like Apache it reads the committed `zookeeper_limits`/`zookeeper_stats` nodes, not
//! the pending changes.
//!
//! A write that takes a quota root past a limit logs Apache's line (`Quota exceeded: /a
//! [current count=4, softCountLimit=3]`, rate-limited); past a hard limit with
//! `zookeeper.enforceQuota=true` it fails with QUOTAEXCEEDED and counts in
//! `quota_exceeded_error_per_namespace`. Apache only looks when enforcing; zkserver also logs
//! soft-limit (and unenforced hard-limit) overruns when not enforcing, so a soft limit is never
//! silent. Must not touch the tree or the pending changes.

use crate::proto::ErrorCode;
use crate::status::metrics::ServerMetrics;
use crate::tree::quota::top_namespace;
use crate::tree::DataTree;

/// Checks a write under `path` that adds `bytes_diff` data bytes and `count_diff` nodes.
pub(super) fn check(
    tree: &DataTree,
    path: &str,
    bytes_diff: i64,
    count_diff: i64,
    enforce: bool,
) -> Result<(), ErrorCode> {
    let Some(root) = tree.max_prefix_with_quota(path) else {
        return Ok(());
    };
    let Some((limits, stats)) = tree.quota_of(root) else {
        tracing::error!(root, "Missing limit or stat node for quota");
        return Ok(());
    };
    let checks = [
        (
            "count",
            "Count",
            count_diff,
            stats.count(),
            limits.count(),
            limits.count_hard_limit(),
        ),
        (
            "bytes",
            "Byte",
            bytes_diff,
            stats.bytes(),
            limits.bytes(),
            limits.byte_hard_limit(),
        ),
    ];
    for (what, kind, diff, current, soft, hard) in checks {
        if diff == 0 || (soft < 0 && hard < 0) {
            continue;
        }
        let is_hard = hard > -1;
        let limit = if is_hard { hard } else { soft };
        let new = current.saturating_add(diff);
        if new <= limit {
            continue;
        }
        let level = if is_hard { "hard" } else { "soft" };
        crate::warn_limited!(
            "Quota exceeded: {root} [current {what}={new}, {level}{kind}Limit={limit}]"
        );
        if is_hard && enforce {
            ServerMetrics::global().quota_exceeded(top_namespace(path));
            return Err(ErrorCode::QuotaExceeded);
        }
    }
    Ok(())
}
