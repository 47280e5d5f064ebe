//! The in-memory znode tree (ZooKeeper's DataTree + the session table of its ZKDatabase).
//!
//! Owns: znodes, stats, the ACL cache, ephemerals per session, container/TTL sets, the
//! sessions that committed createSession txns, Apache's tree digest (kept incrementally on
//! every mutation, see `digest`), and `apply(txn)`, which cannot fail.
//! Must not read the clock, do I/O or send anything: time and zxid come inside the txn.

pub mod acl;
pub mod apache_snap;
mod apply;
mod compare;
pub mod digest;
pub mod digest_preview;
pub mod node;
pub mod path;
pub mod quota;
pub mod read;
pub mod snap_scan;
pub mod snapshot;
mod table;
pub mod watch;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use crate::proto::opcode::perms;
use crate::proto::records::{Acl, Id, Stat};
pub use apply::{Applied, Change, Outcome};
use node::{Node, StatPersisted};

/// The tree and the session table it shares a snapshot with.
#[derive(Debug, Clone)]
pub struct DataTree {
    /// Nodes by path and id, with their child links (see `table` for the memory layout).
    nodes: table::Nodes,
    acls: acl::AclCache,
    ephemerals: HashMap<i64, BTreeSet<String>>,
    containers: HashSet<String>,
    ttls: HashSet<String>,
    sessions: HashMap<i64, i32>,
    last_zxid: i64,
    data_size: u64,
    digest: digest::TreeDigest,
    /// Paths with a quota (`zookeeper_limits` node): Apache's pTrie, see `quota`.
    quota_roots: BTreeSet<String>,
    /// Set once a delete removed a node that still had children (Apache's `deleteNode` does
    /// that on a replay over a fuzzy snapshot): those nodes stay in `nodes` (and the digest)
    /// but are no longer reachable from `/`, so a snapshot, which walks from `/`, must count
    /// the nodes it reaches instead of taking `nodes.len()`.
    orphans: bool,
}

/// What `insert_raw` found.
#[must_use]
struct Inserted {
    /// The new node's id in `nodes`.
    id: u32,
    linked: bool,
    replaced: bool,
}

impl Default for DataTree {
    fn default() -> Self {
        Self::new()
    }
}

fn open_acl() -> Vec<Acl> {
    vec![Acl {
        perms: perms::ALL,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

fn read_acl() -> Vec<Acl> {
    vec![Acl {
        perms: perms::READ,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

impl DataTree {
    /// A fresh tree: `/`, `/zookeeper`, `/zookeeper/quota`, `/zookeeper/config`, stats all zero,
    /// with Apache's digest on (`zookeeper.digest.enabled` defaults to true).
    pub fn new() -> Self {
        Self::with_digest(true)
    }

    /// A fresh tree that keeps the digest or not (`zookeeper.digest.enabled`).
    pub fn with_digest(enabled: bool) -> Self {
        let mut tree = DataTree {
            nodes: table::Nodes::default(),
            acls: acl::AclCache::default(),
            ephemerals: HashMap::new(),
            containers: HashSet::new(),
            ttls: HashSet::new(),
            sessions: HashMap::new(),
            last_zxid: 0,
            data_size: 0,
            digest: digest::TreeDigest::new(enabled),
            quota_roots: BTreeSet::new(),
            orphans: false,
        };
        let open = tree.acls.intern(&open_acl());
        let _ = tree.insert_raw("/", Some(&[]), open, StatPersisted::default());
        for path in ["/zookeeper", "/zookeeper/quota"] {
            let acl = tree.acls.intern(&open_acl());
            let _ = tree.insert_raw(path, Some(&[]), acl, StatPersisted::default());
        }
        let read = tree.acls.intern(&read_acl());
        // ZooKeeper creates the config node with aversion -1.
        let stat = StatPersisted {
            aversion: -1,
            ..Default::default()
        };
        let _ = tree.insert_raw("/zookeeper/config", Some(&[]), read, stat);
        tree
    }

    /// Inserts a node and links it under its parent without touching the parent's stat.
    /// Returns whether the parent was there to link it under (always, for `/`) and whether a
    /// node of that path was replaced, which a snapshot load refuses.
    fn insert_raw(
        &mut self,
        path: &str,
        data: Option<&[u8]>,
        acl: u32,
        stat: StatPersisted,
    ) -> Inserted {
        let mut node = Node::new(path, data, acl, stat);
        node.digest_prefix = self.digest.prefix_for(path, data);
        self.insert_node(node)
    }

    /// `insert_raw` with the node already built and its digest prefix already computed (the
    /// snapshot loader does both on its parsing thread).
    fn insert_node(&mut self, mut node: Node) -> Inserted {
        let parent = path::split(node.path()).map(|(p, _)| self.nodes.id_of(p));
        self.data_size += (node.path().len() + node.data_len()) as u64;
        self.track_kind(node.path(), node.stat.ephemeral_owner);
        self.digest.insert(&mut node);
        let (id, old) = self.nodes.insert(node);
        let replaced = match old {
            Some(old) => {
                // A create over a node orphaned by its parent's delete (replays only): Apache's
                // `nodes.put` replaces it too.
                self.digest.remove(&old);
                true
            }
            None => false,
        };
        let linked = match parent {
            None => true,
            Some(None) => false,
            Some(Some(parent)) => {
                let _ = self.nodes.link(parent, id);
                true
            }
        };
        Inserted {
            id,
            linked,
            replaced,
        }
    }

    /// Apache's tree digest: O(1), maintained on every mutation (0 when disabled).
    pub fn digest(&self) -> i64 {
        self.digest.value()
    }

    pub fn digest_enabled(&self) -> bool {
        self.digest.enabled()
    }

    /// The recorded (zxid, digest) pairs and the last one, for the `hash` four-letter word.
    pub fn digest_log(&self) -> &digest::TreeDigest {
        &self.digest
    }

    /// Turns the digest on or off (`zookeeper.digest.enabled`), e.g. after loading a snapshot;
    /// turning it on hashes every node once. The digest log starts over.
    pub fn set_digest_enabled(&mut self, enabled: bool) {
        if enabled == self.digest.enabled() {
            return;
        }
        let mut d = digest::TreeDigest::new(enabled);
        for node in self.nodes.iter_mut() {
            node.digest_prefix = d.prefix_for(node.path(), node.data());
            d.insert(node);
        }
        self.digest = d;
    }

    /// Writes the ensemble's member list into `/zookeeper/config` without a txn, as every
    /// Apache member does at startup and after a SNAP (`ZKDatabase.initConfigInZKDatabase`):
    /// data = the QuorumVerifier text, version -1, mzxid = the config version (0 for a static
    /// configuration), mtime = `time_ms`. The node is outside the digest.
    pub fn init_config_node(&mut self, text: &[u8], time_ms: i64, version: i64) {
        let Some(node) = self.nodes.get_mut("/zookeeper/config") else {
            return;
        };
        let old = node.data_len() as u64;
        self.data_size = self.data_size - old.min(self.data_size) + text.len() as u64;
        node.set_data(Some(text));
        node.stat.version = -1;
        node.stat.mzxid = version;
        node.stat.mtime = time_ms;
    }

    /// Sets the zxid the tree is at, e.g. after a SNAP from a leader (the body has none).
    pub fn set_last_zxid(&mut self, zxid: i64) {
        self.last_zxid = zxid;
    }

    fn track_kind(&mut self, path: &str, owner: i64) {
        match node::owner_kind(owner) {
            node::OwnerKind::Persistent => {}
            node::OwnerKind::Ephemeral(s) => {
                self.ephemerals
                    .entry(s)
                    .or_default()
                    .insert(path.to_string());
            }
            node::OwnerKind::Container => {
                self.containers.insert(path.to_string());
            }
            node::OwnerKind::Ttl(_) => {
                self.ttls.insert(path.to_string());
            }
        }
    }

    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// Every node with its path, in no particular order (tools and tests).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes.iter().map(|n| (n.path(), n))
    }

    /// The children of `node`, in getChildren's order.
    pub fn child_nodes<'a>(&'a self, node: &'a Node) -> impl Iterator<Item = &'a Node> + 'a {
        self.nodes.children(node)
    }

    /// Whether `parent` lists a child called `name`.
    pub fn has_child(&self, parent: &Node, name: &str) -> bool {
        self.nodes.has_child(parent, name)
    }

    pub fn stat(&self, path: &str) -> Option<Stat> {
        self.nodes.get(path).map(|n| n.stat())
    }

    pub fn acl(&self, node: &Node) -> &[Acl] {
        self.acls.get(node.acl)
    }

    pub fn shared_acl(&self, node: &Node) -> Arc<[Acl]> {
        self.acls.shared(node.acl)
    }

    pub fn children(&self, path: &str) -> Option<Vec<String>> {
        self.nodes
            .get(path)
            .map(|n| self.child_nodes(n).map(|c| c.name().to_string()).collect())
    }

    /// Every descendant of `path` (getAllChildrenNumber).
    pub fn descendant_count(&self, path: &str) -> Option<i32> {
        let mut count = 0i32;
        self.walk_from(path, |_, _| count = count.saturating_add(1))?;
        Some(count.saturating_sub(1))
    }

    /// Visits `from` and every node reachable from it through child links, each parent
    /// before its children; `None` if `from` does not exist. No allocation per node: paths
    /// are stored in the nodes and the stack holds references, so walking a million-znode
    /// tree for a snapshot costs lookups by id, not mallocs or hashing.
    pub fn walk_from<'a>(
        &'a self,
        from: &str,
        mut visit: impl FnMut(&'a str, &'a Node),
    ) -> Option<()> {
        let mut stack = vec![self.nodes.get(from)?];
        while let Some(node) = stack.pop() {
            visit(node.path(), node);
            stack.extend(self.child_nodes(node));
        }
        Some(())
    }

    pub fn ephemerals_of(&self, session: i64) -> impl Iterator<Item = &String> {
        self.ephemerals.get(&session).into_iter().flatten()
    }

    pub fn ephemeral_count(&self) -> usize {
        self.ephemerals.values().map(BTreeSet::len).sum()
    }

    pub fn sessions(&self) -> &HashMap<i64, i32> {
        &self.sessions
    }

    pub fn last_zxid(&self) -> i64 {
        self.last_zxid
    }

    /// The newest zxid stamped on any node (created, changed, or a child list changed): a
    /// fuzzy snapshot holds the effects of txns up to at least this one.
    pub fn newest_stamped_zxid(&self) -> i64 {
        self.nodes
            .iter()
            .map(|n| n.stat.czxid.max(n.stat.mzxid).max(n.stat.pzxid))
            .max()
            .unwrap_or(0)
    }

    /// Node count as ZooKeeper reports it: its root is stored twice ("" and "/").
    pub fn node_count(&self) -> usize {
        self.nodes.len() + 1
    }

    /// `zk_approximate_data_size`: path and data bytes of every node.
    pub fn approximate_data_size(&self) -> u64 {
        self.data_size
    }

    pub fn acl_list_count(&self) -> usize {
        self.acls.len()
    }

    /// Containers that had children and have none now, and TTL nodes without children
    /// whose TTL ran out: the candidates for a deleteContainer sweep at `now_ms`.
    pub fn expired_containers(&self, now_ms: i64) -> Vec<String> {
        let mut out = Vec::new();
        for p in &self.containers {
            if let Some(n) = self.nodes.get(p.as_str()) {
                if n.children.is_empty() && n.stat.cversion > 0 {
                    out.push(p.clone());
                }
            }
        }
        for p in &self.ttls {
            if let Some(n) = self.nodes.get(p.as_str()) {
                if let node::OwnerKind::Ttl(ttl) = node::owner_kind(n.stat.ephemeral_owner) {
                    if n.children.is_empty() && now_ms - n.stat.mtime > ttl {
                        out.push(p.clone());
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
