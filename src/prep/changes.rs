//! Pending changes: how the tree will look once every prepared-but-unapplied txn is
//! applied (ZooKeeper's `outstandingChanges`). Writes are validated against this view so
//! they can be prepared while earlier txns are still being made durable.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crate::proto::records::Acl;
use crate::tree::node::StatPersisted;
use crate::tree::DataTree;

/// What prep needs to know about a node.
#[derive(Debug, Clone)]
pub struct NodeView {
    pub stat: StatPersisted,
    pub child_count: i32,
    pub acl: Arc<[Acl]>,
    /// Data length: setData's quota check needs the size being replaced.
    pub data_len: usize,
}

#[derive(Debug, Clone)]
struct Record {
    zxid: i64,
    /// `None`: deleted by a pending txn.
    node: Option<NodeView>,
}

/// The overlay of pending txns on top of the tree.
#[derive(Debug, Default)]
pub struct PendingChanges {
    records: HashMap<String, Record, crate::tree::node::PathHasher>,
    order: VecDeque<(i64, String)>,
}

/// A point to roll back to when a multi fails half way.
pub struct Mark {
    order_len: usize,
    saved: Vec<(String, Option<Record>)>,
}

impl PendingChanges {
    /// The node at `path` as pending txns will leave it.
    pub fn get(&self, tree: &DataTree, path: &str) -> Option<NodeView> {
        if let Some(r) = self.records.get(path) {
            return r.node.clone();
        }
        let node = tree.get(path)?;
        Some(NodeView {
            stat: node.stat,
            child_count: node.children.len() as i32,
            acl: tree.shared_acl(node),
            data_len: node.data_len(),
        })
    }

    /// Records that txn `zxid` leaves `path` as `node` (`None` = deleted).
    pub fn put(&mut self, zxid: i64, path: &str, node: Option<NodeView>, mark: Option<&mut Mark>) {
        if let Some(mark) = mark {
            mark.saved
                .push((path.to_string(), self.records.get(path).cloned()));
        }
        self.records.insert(path.to_string(), Record { zxid, node });
        self.order.push_back((zxid, path.to_string()));
    }

    pub fn mark(&self) -> Mark {
        Mark {
            order_len: self.order.len(),
            saved: Vec::new(),
        }
    }

    /// Undoes every `put` made since `mark`.
    pub fn rollback(&mut self, mark: Mark) {
        self.order.truncate(mark.order_len);
        for (path, prev) in mark.saved.into_iter().rev() {
            match prev {
                Some(r) => self.records.insert(path, r),
                None => self.records.remove(&path),
            };
        }
    }

    /// Txn `zxid` is now in the tree: its records are no longer needed.
    pub fn applied(&mut self, zxid: i64) {
        while let Some((z, _)) = self.order.front() {
            if *z > zxid {
                break;
            }
            if let Some((z, path)) = self.order.pop_front() {
                if self.records.get(&path).is_some_and(|r| r.zxid == z) {
                    self.records.remove(&path);
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}
