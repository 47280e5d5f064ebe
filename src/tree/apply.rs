//! Applying committed txns. Every txn here was validated by `prep` (or replayed from the
//! log), so application cannot fail; a txn that does not fit the tree (only possible with a
//! corrupt history) yields an error outcome and a log line, never a panic.
//!
//! Apache's `DataTree.processTxn` is reproduced where it changes stats or the digest, even in
//! the odd cases only a replay over a fuzzy snapshot reaches, because every replica must end
//! with the same tree digest: a delete of a missing child still raises the parent's pzxid; a
//! create (type 1, not 15/19/21) that hits NodeExists still sets the parent's cversion/pzxid
//! from the txn; a multi holding any error sub-txn applies none of its sub-txns; closeSession
//! deletes the txn's path list, then any other ephemeral the tree still has for the session.

use std::sync::Arc;

use bytes::Bytes;

use super::node::{next_version, StatPersisted};
use super::{path, DataTree};
use crate::proto::opcode::EventType;
use crate::proto::records::{Acl, Stat};
use crate::proto::txn::{Txn, TxnBody};
use crate::proto::{ErrorCode, OpCode};

/// The result a txn produces for the client that asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created {
        path: String,
        stat: Stat,
    },
    Deleted,
    /// setData / setACL: the node's new stat.
    Updated(Stat),
    Checked,
    Multi(Vec<Result<Outcome, ErrorCode>>),
    SessionCreated,
    SessionClosed,
}

/// A change that may fire watches; `acl` is the node's ACL, for READ filtering.
#[derive(Debug, Clone)]
pub struct Change {
    pub path: String,
    pub event: EventType,
    pub acl: Arc<[Acl]>,
}

/// What applying one txn did.
#[derive(Debug, Clone)]
pub struct Applied {
    pub result: Result<Outcome, ErrorCode>,
    pub changes: Vec<Change>,
}

impl DataTree {
    /// Applies a committed txn. Its zxid becomes the tree's last zxid, and the tree digest
    /// after it is recorded (for `hash` and snapshot trailers).
    pub fn apply(&mut self, txn: &Txn) -> Applied {
        let mut changes = Vec::new();
        let h = &txn.header;
        let result = self.apply_body(
            h.txn_type,
            &txn.body,
            h.client_id,
            h.zxid,
            h.time,
            &mut changes,
        );
        if let Err(e) = &result {
            if !matches!(txn.body, TxnBody::Error(_) | TxnBody::Multi(_)) {
                tracing::warn!(zxid = format_args!("{:#x}", h.zxid), error = %e, "txn did not apply");
            }
        }
        self.last_zxid = self.last_zxid.max(h.zxid);
        self.digest.record(h.zxid);
        Applied { result, changes }
    }

    /// Applies one txn body; `txn_type` is the header's (or the multi entry's) type, which
    /// tells create (1) from create2 (15) for the NodeExists fix-up.
    fn apply_body(
        &mut self,
        txn_type: i32,
        body: &TxnBody,
        session: i64,
        zxid: i64,
        time: i64,
        changes: &mut Vec<Change>,
    ) -> Result<Outcome, ErrorCode> {
        match body {
            TxnBody::CreateSession(t) => {
                self.sessions.insert(session, t.timeout);
                Ok(Outcome::SessionCreated)
            }
            TxnBody::CloseSession(t) => {
                self.close_session(session, &t.paths_to_delete, zxid, changes);
                Ok(Outcome::SessionClosed)
            }
            TxnBody::Create(t) => {
                let owner = if t.ephemeral { session } else { 0 };
                let created = self.create(
                    &t.path,
                    &t.data,
                    &t.acl,
                    owner,
                    t.parent_cversion,
                    zxid,
                    time,
                    changes,
                );
                if created == Err(ErrorCode::NodeExists) && txn_type == OpCode::Create.code() {
                    // Apache: a replayed create whose node survived in a fuzzy snapshot
                    // still moves the parent's cversion/pzxid forward.
                    let parent = path::split(&t.path).map_or("/", |(p, _)| p);
                    self.set_cversion_pzxid(parent, t.parent_cversion, zxid)?;
                }
                created
            }
            TxnBody::CreateContainer(t) => self.create(
                &t.path,
                &t.data,
                &t.acl,
                super::node::CONTAINER_OWNER,
                t.parent_cversion,
                zxid,
                time,
                changes,
            ),
            TxnBody::CreateTtl(t) => {
                let owner = super::node::TTL_MARK | (t.ttl & !super::node::TTL_MARK);
                self.create(
                    &t.path,
                    &t.data,
                    &t.acl,
                    owner,
                    t.parent_cversion,
                    zxid,
                    time,
                    changes,
                )
            }
            TxnBody::Delete(t) => self
                .delete(&t.path, zxid, changes)
                .map(|_| Outcome::Deleted),
            TxnBody::SetData(t) => self.set_data(&t.path, &t.data, t.version, zxid, time, changes),
            TxnBody::SetAcl(t) => self.set_acl(&t.path, &t.acl, t.version),
            TxnBody::Check(_) => Ok(Outcome::Checked),
            TxnBody::Error(e) => Err(ErrorCode::from_i32(e.err).unwrap_or(ErrorCode::SystemError)),
            TxnBody::Multi(ops) => {
                // Apache: if any entry is an error, every other entry is applied as an error
                // too (OK before the first error, RUNTIMEINCONSISTENCY after it).
                let failed = ops.iter().any(|(op, _)| *op == OpCode::Error);
                let mut post_failed = false;
                let mut results = Vec::with_capacity(ops.len());
                for (op, sub) in ops {
                    if *op == OpCode::Error {
                        post_failed = true;
                    } else if failed {
                        results.push(Err(if post_failed {
                            ErrorCode::RuntimeInconsistency
                        } else {
                            ErrorCode::Ok
                        }));
                        continue;
                    }
                    results.push(self.apply_body(op.code(), sub, session, zxid, time, changes));
                }
                Ok(Outcome::Multi(results))
            }
        }
    }

    /// Apache's `killSession`: the txn's paths first, then whatever the tree still lists for
    /// the session (older writers send an empty list). Missing nodes are skipped.
    fn close_session(
        &mut self,
        session: i64,
        listed: &[String],
        zxid: i64,
        changes: &mut Vec<Change>,
    ) {
        let mut local = self.ephemerals.remove(&session).unwrap_or_default();
        for p in listed {
            let _ = self.delete(p, zxid, changes);
            local.remove(p);
        }
        if !listed.is_empty() && !local.is_empty() {
            tracing::warn!(
                session = format_args!("{session:#x}"),
                zxid = format_args!("{zxid:#x}"),
                extra = local.len(),
                "closeSession: ephemerals not listed in the txn, deleting them too"
            );
        }
        for p in local.iter().rev() {
            let _ = self.delete(p, zxid, changes);
        }
        self.sessions.remove(&session);
    }

    #[allow(clippy::too_many_arguments)]
    fn create(
        &mut self,
        path: &str,
        data: &Option<Bytes>,
        acl: &[Acl],
        owner: i64,
        parent_cversion: i32,
        zxid: i64,
        time: i64,
        changes: &mut Vec<Change>,
    ) -> Result<Outcome, ErrorCode> {
        // Apache's prep refuses such paths, so only a corrupt log or a hostile leader sends
        // one; refused here so that every tree this server holds loads again from its own
        // snapshot (which checks paths) — a restart must never fail on what it wrote.
        if path::validate(path).is_err() {
            return Err(ErrorCode::BadArguments);
        }
        let (parent_path, name) = path::split(path).ok_or(ErrorCode::BadArguments)?;
        let parent_id = self.nodes.id_of(parent_path).ok_or(ErrorCode::NoNode)?;
        let nodes = &self.nodes;
        if nodes
            .node(parent_id)
            .is_some_and(|p| nodes.has_child(p, name))
        {
            return Err(ErrorCode::NodeExists);
        }
        let parent = self.nodes.node_mut(parent_id).ok_or(ErrorCode::NoNode)?;
        // The txn carries the parent's new cversion; a replay onto a newer parent (fuzzy
        // state) must not move it backwards.
        let new_cversion = if parent_cversion == -1 {
            parent.stat.cversion.wrapping_add(1)
        } else {
            parent_cversion
        };
        if new_cversion > parent.stat.cversion {
            parent.stat.cversion = new_cversion;
            parent.stat.pzxid = zxid;
        }
        self.digest.refresh(parent);
        let parent_acl = parent.acl;
        let acl_index = self.acls.intern(acl);
        let stat = StatPersisted {
            czxid: zxid,
            mzxid: zxid,
            ctime: time,
            mtime: time,
            version: 0,
            cversion: 0,
            aversion: 0,
            ephemeral_owner: owner,
            pzxid: zxid,
        };
        let inserted = self.insert_raw(path, data.as_deref(), acl_index, stat);
        let node_acl = self.acls.shared(acl_index);
        changes.push(Change {
            path: path.to_string(),
            event: EventType::NodeCreated,
            acl: node_acl,
        });
        changes.push(Change {
            path: parent_path.to_string(),
            event: EventType::NodeChildrenChanged,
            acl: self.acls.shared(parent_acl),
        });
        // The reply's stat is taken before the quota bookkeeping, as Apache copies it.
        let stat = self
            .nodes
            .node(inserted.id)
            .map(|n| n.stat())
            .unwrap_or_default();
        self.quota_created(path, data.as_ref().map_or(0, Bytes::len));
        Ok(Outcome::Created {
            path: path.to_string(),
            stat,
        })
    }

    /// Apache's `deleteNode`: the parent's pzxid is raised (never lowered) before the child
    /// is looked up, so even a delete of a missing child moves it.
    pub(super) fn delete(
        &mut self,
        path: &str,
        zxid: i64,
        changes: &mut Vec<Change>,
    ) -> Result<(), ErrorCode> {
        // As for create: only a corrupt log or a hostile leader sends such a path, and one
        // like `//e` would unlink `/e` from `/` (its last slash names `/` as the parent) while
        // `/e` stays, unreachable, so the next snapshot could not be loaded.
        if path::validate(path).is_err() {
            return Err(ErrorCode::BadArguments);
        }
        let (parent_path, name) = path::split(path).ok_or(ErrorCode::BadArguments)?;
        let parent_id = self.nodes.id_of(parent_path).ok_or(ErrorCode::NoNode)?;
        self.nodes.unlink(parent_id, name);
        let parent = self.nodes.node_mut(parent_id).ok_or(ErrorCode::NoNode)?;
        parent.stat.pzxid = parent.stat.pzxid.max(zxid);
        self.digest.refresh(parent);
        let parent_acl = parent.acl;
        let node = self.nodes.remove(path).ok_or(ErrorCode::NoNode)?;
        self.orphans |= !node.children.is_empty();
        self.digest.remove(&node);
        self.data_size = self
            .data_size
            .saturating_sub((path.len() + node.data_len()) as u64);
        match super::node::owner_kind(node.stat.ephemeral_owner) {
            super::node::OwnerKind::Ephemeral(s) => {
                if let Some(set) = self.ephemerals.get_mut(&s) {
                    set.remove(path);
                    if set.is_empty() {
                        self.ephemerals.remove(&s);
                    }
                }
            }
            super::node::OwnerKind::Container => {
                self.containers.remove(path);
            }
            super::node::OwnerKind::Ttl(_) => {
                self.ttls.remove(path);
            }
            super::node::OwnerKind::Persistent => {}
        }
        self.quota_deleted(path, node.data_len());
        let node_acl = self.acls.shared(node.acl);
        self.acls.release(node.acl);
        changes.push(Change {
            path: path.to_string(),
            event: EventType::NodeDeleted,
            acl: node_acl,
        });
        changes.push(Change {
            path: parent_path.to_string(),
            event: EventType::NodeChildrenChanged,
            acl: self.acls.shared(parent_acl),
        });
        Ok(())
    }

    /// Apache's `setCversionPzxid`: raises a node's cversion (and sets its pzxid) if
    /// `cversion` (-1 = current + 1) is higher.
    fn set_cversion_pzxid(
        &mut self,
        path: &str,
        cversion: i32,
        zxid: i64,
    ) -> Result<(), ErrorCode> {
        let node = self.nodes.get_mut(path).ok_or(ErrorCode::NoNode)?;
        let cversion = if cversion == -1 {
            node.stat.cversion.wrapping_add(1)
        } else {
            cversion
        };
        if cversion > node.stat.cversion {
            node.stat.cversion = cversion;
            node.stat.pzxid = zxid;
            self.digest.refresh(node);
        }
        Ok(())
    }

    fn set_data(
        &mut self,
        path: &str,
        data: &Option<Bytes>,
        version: i32,
        zxid: i64,
        time: i64,
        changes: &mut Vec<Change>,
    ) -> Result<Outcome, ErrorCode> {
        let node = self.nodes.get_mut(path).ok_or(ErrorCode::NoNode)?;
        let (old_len, new_len) = (node.data_len(), data.as_ref().map_or(0, Bytes::len));
        self.data_size = (self.data_size + new_len as u64).saturating_sub(old_len as u64);
        node.set_data(data.as_deref());
        node.digest_prefix = self.digest.prefix_for(path, data.as_deref());
        node.stat.version = version;
        node.stat.mzxid = zxid;
        node.stat.mtime = time;
        self.digest.refresh(node);
        let stat = node.stat();
        let acl = self.acls.shared(node.acl);
        self.quota_data_changed(path, old_len, new_len);
        changes.push(Change {
            path: path.to_string(),
            event: EventType::NodeDataChanged,
            acl,
        });
        Ok(Outcome::Updated(stat))
    }

    fn set_acl(&mut self, path: &str, acl: &[Acl], version: i32) -> Result<Outcome, ErrorCode> {
        let new_index = self.acls.intern(acl);
        let Some(node) = self.nodes.get_mut(path) else {
            self.acls.release(new_index);
            return Err(ErrorCode::NoNode);
        };
        let old = std::mem::replace(&mut node.acl, new_index);
        node.stat.aversion = version;
        self.digest.refresh(node);
        let stat = node.stat();
        self.acls.release(old);
        Ok(Outcome::Updated(stat))
    }

    /// Paths of every node under `prefix` owned by `session` (getEphemerals).
    pub fn ephemerals_under(&self, session: i64, prefix: &str) -> Vec<String> {
        let all = prefix.is_empty() || prefix == "/";
        self.ephemerals_of(session)
            .filter(|p| all || p.starts_with(prefix))
            .cloned()
            .collect()
    }

    /// The version a setData/setACL/check would see (for tests and tools).
    pub fn next_data_version(&self, path: &str) -> Option<i32> {
        self.nodes.get(path).map(|n| next_version(n.stat.version))
    }
}
