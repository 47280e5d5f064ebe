//! The tree digest a txn *will* produce, computed before it is applied — what an Apache
//! leader puts in a proposal's `TxnDigest` (`PrepRequestProcessor.precalculateDigest`).
//! `DataTree::digest_after(txn)` answers it for a tree with nothing outstanding.
//!
//! A [`DigestPreview`] is an overlay for the leader's outstanding txns (pushed, not yet applied
//! to the tree). Per touched node it keeps only what the digest needs — the digest prefix
//! (`crc32(path ‖ data)`) and the stat — plus parent→child links and per-session ephemeral-set
//! changes, because `apply` follows Apache's child sets and ephemeral lists, not just the node
//! table, in the replay-only corner cases. `push` replays a txn on the overlay with exactly
//! `apply`'s rules and returns the digest after it; the tree may apply pushed txns meanwhile,
//! provided the caller reports each with `applied(zxid)` before the next `push`. Correct only
//! if the tree applies exactly the pushed txns, in order; a property test checks it against
//! `apply` on random histories, with the tree lagging 0–5 txns behind.
//!
//! Owns: the overlay. Must not mutate the tree.

use std::collections::{BTreeSet, HashMap, VecDeque};

use super::digest::{finish, is_digested, prefix};
use super::node::{owner_kind, OwnerKind, StatPersisted, CONTAINER_OWNER, TTL_MARK};
use super::{path, DataTree};
use crate::proto::opcode::OpCode;
use crate::proto::txn::{Txn, TxnBody};

/// What the digest needs of a node.
#[derive(Debug, Clone, Copy)]
struct Shadow {
    prefix: u32,
    stat: StatPersisted,
    /// (zxid, seq) of the outstanding txn that created this node: until the tree applies it,
    /// the node's children are only those linked after it (a re-created parent does not
    /// inherit the old one's links).
    born: Option<(i64, u64)>,
}

/// Whether a node is in its parent's child set: Apache's NodeExists test is that set, not
/// the node table, which differ once a delete has orphaned a subtree (replays only).
#[derive(Debug, Clone, Copy)]
struct Link {
    zxid: i64,
    seq: u64,
    linked: bool,
}

#[derive(Debug, Clone)]
struct Entry {
    zxid: i64,
    /// `None`: deleted by an outstanding txn.
    node: Option<Shadow>,
}

/// A change outstanding txns make to a session's ephemeral set (which closeSession deletes,
/// even a path whose node has since been replaced by another session's — as Apache does).
#[derive(Debug, Clone)]
enum EphEvent {
    Add(String),
    Remove(String),
    Clear,
}

/// Digests of outstanding txns, ahead of the tree.
#[derive(Debug, Default, Clone)]
pub struct DigestPreview {
    overlay: HashMap<String, Entry, super::node::PathHasher>,
    order: VecDeque<(i64, String)>,
    links: HashMap<String, Link, super::node::PathHasher>,
    link_order: VecDeque<(i64, String)>,
    /// Orders changes inside one zxid (the entries of a multi).
    seq: u64,
    /// The highest zxid the tree is known to have applied.
    applied_through: Option<i64>,
    /// (zxid, session, change) of outstanding txns, in order.
    eph_events: VecDeque<(i64, i64, EphEvent)>,
    /// Zxid and digest after the last pushed txn, while it is still outstanding.
    ahead: Option<(i64, i64)>,
}

impl DataTree {
    /// The digest this tree will have after applying `txn` (nothing outstanding).
    pub fn digest_after(&self, txn: &Txn) -> i64 {
        DigestPreview::default().push(self, txn)
    }
}

impl DigestPreview {
    /// The digest after every pushed txn (the tree's own once it has applied them all).
    pub fn digest(&self, tree: &DataTree) -> i64 {
        self.ahead.map_or(tree.digest(), |(_, d)| d)
    }

    /// Replays `txn` on the overlay; returns the tree digest expected after it.
    pub fn push(&mut self, tree: &DataTree, txn: &Txn) -> i64 {
        if !tree.digest_enabled() {
            return 0;
        }
        let mut view = View {
            tree,
            preview: self,
            zxid: txn.header.zxid,
            digest: 0,
        };
        view.digest = view.preview.digest(tree);
        let h = &txn.header;
        view.body(h.txn_type, &txn.body, h.client_id, h.time);
        let digest = view.digest;
        self.ahead = Some((h.zxid, digest));
        digest
    }

    /// The tree has applied every txn up to `zxid`: forget what it now knows.
    pub fn applied(&mut self, zxid: i64) {
        if self.ahead.is_some_and(|(z, _)| z <= zxid) {
            *self = DigestPreview::default();
            return;
        }
        self.applied_through = Some(self.applied_through.map_or(zxid, |z| z.max(zxid)));
        while self.order.front().is_some_and(|(z, _)| *z <= zxid) {
            if let Some((z, path)) = self.order.pop_front() {
                if self.overlay.get(&path).is_some_and(|e| e.zxid == z) {
                    self.overlay.remove(&path);
                }
            }
        }
        while self.eph_events.front().is_some_and(|(z, _, _)| *z <= zxid) {
            self.eph_events.pop_front();
        }
        while self.link_order.front().is_some_and(|(z, _)| *z <= zxid) {
            if let Some((z, path)) = self.link_order.pop_front() {
                if self.links.get(&path).is_some_and(|l| l.zxid == z) {
                    self.links.remove(&path);
                }
            }
        }
    }
}

/// One txn being replayed: the tree, the overlay and the running digest.
struct View<'a> {
    tree: &'a DataTree,
    preview: &'a mut DigestPreview,
    zxid: i64,
    digest: i64,
}

impl View<'_> {
    fn node(&self, path: &str) -> Option<Shadow> {
        match self.preview.overlay.get(path) {
            Some(e) => e.node,
            None => self.tree.get(path).map(|n| Shadow {
                prefix: n.digest_prefix,
                stat: n.stat,
                born: None,
            }),
        }
    }

    /// Whether `path` is in its parent's child set.
    fn linked(&self, path: &str) -> bool {
        let Some((parent_path, name)) = path::split(path) else {
            return false;
        };
        let Some(parent) = self.node(parent_path) else {
            return false;
        };
        // Once the tree has applied the parent's creation, its child set is the truth.
        let applied = self.preview.applied_through;
        let born = parent.born.filter(|(z, _)| applied.is_none_or(|a| *z > a));
        if let Some(l) = self.preview.links.get(path) {
            if born.is_none_or(|(_, seq)| l.seq > seq) {
                return l.linked;
            }
        }
        born.is_none()
            && self
                .tree
                .get(parent_path)
                .is_some_and(|n| self.tree.has_child(n, name))
    }

    fn set_link(&mut self, path: &str, linked: bool) {
        self.preview.seq += 1;
        let link = Link {
            zxid: self.zxid,
            seq: self.preview.seq,
            linked,
        };
        self.preview.links.insert(path.to_string(), link);
        self.preview
            .link_order
            .push_back((self.zxid, path.to_string()));
    }

    fn of(path: &str, s: &Shadow) -> i64 {
        if is_digested(path) {
            i64::from(finish(s.prefix, &s.stat))
        } else {
            0
        }
    }

    /// Replaces the node at `path` (None = deleted), keeping the running digest.
    fn put(&mut self, path: &str, old: Option<Shadow>, new: Option<Shadow>) {
        let before = old.map_or(0, |s| Self::of(path, &s));
        let after = new.map_or(0, |s| Self::of(path, &s));
        self.digest = self.digest.wrapping_sub(before).wrapping_add(after);
        self.preview.overlay.insert(
            path.to_string(),
            Entry {
                zxid: self.zxid,
                node: new,
            },
        );
        self.preview.order.push_back((self.zxid, path.to_string()));
    }

    fn body(&mut self, txn_type: i32, body: &TxnBody, session: i64, time: i64) {
        match body {
            TxnBody::CreateSession(_) | TxnBody::Check(_) | TxnBody::Error(_) => {}
            TxnBody::CloseSession(t) => self.close_session(session, &t.paths_to_delete),
            TxnBody::Create(t) => {
                let owner = if t.ephemeral { session } else { 0 };
                let data = t.data.as_deref();
                let exists = self.create(&t.path, data, owner, t.parent_cversion, time);
                if exists && txn_type == OpCode::Create.code() {
                    let parent = path::split(&t.path).map_or("/", |(p, _)| p);
                    self.set_cversion_pzxid(parent, t.parent_cversion);
                }
            }
            TxnBody::CreateContainer(t) => {
                let data = t.data.as_deref();
                self.create(&t.path, data, CONTAINER_OWNER, t.parent_cversion, time);
            }
            TxnBody::CreateTtl(t) => {
                let owner = TTL_MARK | (t.ttl & !TTL_MARK);
                self.create(&t.path, t.data.as_deref(), owner, t.parent_cversion, time);
            }
            TxnBody::Delete(t) => self.delete(&t.path),
            TxnBody::SetData(t) => {
                if let Some(old) = self.node(&t.path) {
                    let mut new = old;
                    new.prefix = if is_digested(&t.path) {
                        prefix(&t.path, t.data.as_deref())
                    } else {
                        0
                    };
                    new.stat.version = t.version;
                    new.stat.mzxid = self.zxid;
                    new.stat.mtime = time;
                    self.put(&t.path, Some(old), Some(new));
                }
            }
            TxnBody::SetAcl(t) => {
                if let Some(old) = self.node(&t.path) {
                    let mut new = old;
                    new.stat.aversion = t.version;
                    self.put(&t.path, Some(old), Some(new));
                }
            }
            TxnBody::Multi(ops) => {
                // As `apply`: one error entry and no entry applies.
                if ops.iter().any(|(op, _)| *op == OpCode::Error) {
                    return;
                }
                for (op, sub) in ops {
                    self.body(op.code(), sub, session, time);
                }
            }
        }
    }

    /// Returns true when the node already existed (NodeExists).
    fn create(
        &mut self,
        path: &str,
        data: Option<&[u8]>,
        owner: i64,
        parent_cversion: i32,
        time: i64,
    ) -> bool {
        // As `apply`: a path the tree cannot hold creates nothing.
        if path::validate(path).is_err() {
            return false;
        }
        let Some((parent_path, _)) = path::split(path) else {
            return false;
        };
        let Some(parent) = self.node(parent_path) else {
            return false;
        };
        if self.linked(path) {
            return true;
        }
        let mut new_parent = parent;
        let cversion = if parent_cversion == -1 {
            parent.stat.cversion.wrapping_add(1)
        } else {
            parent_cversion
        };
        if cversion > parent.stat.cversion {
            new_parent.stat.cversion = cversion;
            new_parent.stat.pzxid = self.zxid;
        }
        self.put(parent_path, Some(parent), Some(new_parent));
        self.preview.seq += 1;
        let node = Shadow {
            born: Some((self.zxid, self.preview.seq)),
            prefix: if is_digested(path) {
                prefix(path, data)
            } else {
                0
            },
            stat: StatPersisted {
                czxid: self.zxid,
                mzxid: self.zxid,
                ctime: time,
                mtime: time,
                version: 0,
                cversion: 0,
                aversion: 0,
                ephemeral_owner: owner,
                pzxid: self.zxid,
            },
        };
        // An orphan left at `path` by an earlier delete of its parent is replaced.
        let orphan = self.node(path);
        self.put(path, orphan, Some(node));
        self.set_link(path, true);
        if let OwnerKind::Ephemeral(s) = owner_kind(owner) {
            self.eph_event(s, EphEvent::Add(path.to_string()));
        }
        false
    }

    fn delete(&mut self, path: &str) {
        // The tree refuses such a path (see `DataTree::delete`), so it changes nothing.
        if path::validate(path).is_err() {
            return;
        }
        let Some((parent_path, _)) = path::split(path) else {
            return;
        };
        let Some(parent) = self.node(parent_path) else {
            return;
        };
        let mut new_parent = parent;
        new_parent.stat.pzxid = parent.stat.pzxid.max(self.zxid);
        self.put(parent_path, Some(parent), Some(new_parent));
        self.set_link(path, false);
        if let Some(old) = self.node(path) {
            self.put(path, Some(old), None);
            if let OwnerKind::Ephemeral(s) = owner_kind(old.stat.ephemeral_owner) {
                self.eph_event(s, EphEvent::Remove(path.to_string()));
            }
        }
    }

    fn eph_event(&mut self, session: i64, event: EphEvent) {
        self.preview
            .eph_events
            .push_back((self.zxid, session, event));
    }

    fn set_cversion_pzxid(&mut self, path: &str, cversion: i32) {
        let Some(old) = self.node(path) else {
            return;
        };
        let cversion = if cversion == -1 {
            old.stat.cversion.wrapping_add(1)
        } else {
            cversion
        };
        if cversion > old.stat.cversion {
            let mut new = old;
            new.stat.cversion = cversion;
            new.stat.pzxid = self.zxid;
            self.put(path, Some(old), Some(new));
        }
    }

    /// The session's ephemeral set as the tree will hold it when this txn applies: the
    /// tree's, changed by the outstanding txns it has not applied yet.
    fn ephemerals_of(&self, session: i64) -> BTreeSet<String> {
        let mut set: BTreeSet<String> = self.tree.ephemerals_of(session).cloned().collect();
        for (_, s, event) in &self.preview.eph_events {
            if *s != session {
                continue;
            }
            match event {
                EphEvent::Add(p) => {
                    set.insert(p.clone());
                }
                EphEvent::Remove(p) => {
                    set.remove(p);
                }
                EphEvent::Clear => set.clear(),
            }
        }
        set
    }

    fn close_session(&mut self, session: i64, listed: &[String]) {
        let mut local = self.ephemerals_of(session);
        self.eph_event(session, EphEvent::Clear);
        for p in listed {
            self.delete(p);
            local.remove(p);
        }
        // Same order as `apply` (children before parents; Apache's is HashSet order, which
        // only matters for ephemerals with children, which prep never allows).
        for p in local.iter().rev() {
            self.delete(p);
        }
    }
}

#[cfg(test)]
#[path = "digest_preview_tests.rs"]
mod tests;
