//! Turning write requests into txns (ZooKeeper's PrepRequestProcessor): path, ACL and
//! version checks in ZooKeeper's order against the tree plus pending changes, sequential
//! names, multi atomicity. A failed check is the error the client gets.
//!
//! Owns: request → txn. Must not mutate the tree; only the pending-change overlay.

pub mod acl;
pub mod changes;
pub mod multi;
mod ops;
mod quota;
pub mod reconfig;
pub mod x500;

use crate::proto::records::Id;
use crate::proto::request::Request;
use crate::proto::txn::{CloseSessionTxn, TxnBody};
use crate::proto::{ErrorCode, OpCode};
use crate::tree::DataTree;
pub use changes::PendingChanges;

/// Who is asking, and the server settings that change the checks.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub session: i64,
    pub ids: &'a [Id],
    pub skip_acl: bool,
    pub extended_types: bool,
    pub reconfig_enabled: bool,
    /// `zookeeper.enforceQuota`: a write past a hard quota limit fails with QUOTAEXCEEDED.
    pub enforce_quota: bool,
    /// `sasl` is a known ACL scheme (SASLAuthenticationProvider registered).
    pub sasl_acl: bool,
}

/// A prepared txn: its type (the TxnHeader type) and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub txn_type: OpCode,
    pub body: TxnBody,
}

/// Prepares the txn for a write request that will carry `zxid`, recording its effect in
/// `pending`. On error nothing is recorded.
pub fn prepare(
    tree: &DataTree,
    pending: &mut PendingChanges,
    ctx: &Context,
    req: &Request,
    zxid: i64,
) -> Result<Prepared, ErrorCode> {
    let mut p = ops::Prep {
        tree,
        pending,
        ctx,
        zxid,
        mark: None,
    };
    match req {
        Request::Multi(ops) => Ok(multi::prepare(&mut p, ops)),
        Request::CloseSession => Ok(close_session(&mut p)),
        Request::Reconfig(_) => {
            // Standalone: reconfig is refused as ZooKeeper does.
            Err(if ctx.reconfig_enabled {
                ErrorCode::Unimplemented
            } else {
                ErrorCode::ReconfigDisabled
            })
        }
        _ => p.single(req),
    }
}

fn close_session(p: &mut ops::Prep) -> Prepared {
    let paths: Vec<String> = p.tree.ephemerals_of(p.ctx.session).cloned().collect();
    for path in &paths {
        p.mark_deleted(path);
    }
    Prepared {
        txn_type: OpCode::CloseSession,
        body: TxnBody::CloseSession(CloseSessionTxn {
            paths_to_delete: paths,
        }),
    }
}

/// The txn a server-issued deleteContainer would produce, if the node is still an empty
/// container or expired TTL node (checked again against pending changes).
pub fn prepare_delete_container(
    tree: &DataTree,
    pending: &mut PendingChanges,
    path: &str,
    zxid: i64,
) -> Result<Prepared, ErrorCode> {
    let ctx = Context {
        session: 0,
        ids: &[],
        skip_acl: true,
        extended_types: true,
        reconfig_enabled: false,
        enforce_quota: false,
        sasl_acl: false,
    };
    let mut p = ops::Prep {
        tree,
        pending,
        ctx: &ctx,
        zxid,
        mark: None,
    };
    p.delete_container(path)
}

#[cfg(test)]
mod tests;
