//! The node table: every znode stored inline in fixed-size chunks under a `u32` id, an index
//! from path to id, and the parent → children links, which are ids too.
//!
//! Why this shape (issue 13, ≤ 300 B RSS per znode): a `HashMap<Box<str>, Box<Node>>` costs a
//! 24-byte slot, a path key allocation and a node allocation per znode, and a parent's
//! `HashSet<Box<str>>` another name allocation and 16-byte slot. Here the path (and data)
//! live once, in the node's own buffer; the index and each child table hold 8-byte `Slot`s
//! (node id, 32 bits of the path's or name's hash; `hashbrown::HashTable`), so a table grows
//! or sheds tombstones without reading any node; nodes sit in chunks of `CHUNK`, so growing
//! the table never copies more than one chunk (one `Vec` of nodes would copy them all).
//!
//! Owns: node storage, id allocation, the path index, child-table membership. Must not touch
//! stats, the digest or anything else a txn changes: `DataTree` does that.

use std::hash::BuildHasher;

use hashbrown::hash_table::Entry;
use hashbrown::HashTable;

use super::node::{widen, Children, Node, PathHasher, Slot};

/// Nodes per chunk (2^12 × 104 B = 416 KiB).
const CHUNK_BITS: u32 = 12;
const CHUNK: usize = 1 << CHUNK_BITS;
const SLOT_MASK: u32 = (1 << CHUNK_BITS) - 1;

/// Every node of a tree, by path and by id.
#[derive(Debug, Clone, Default)]
pub(super) struct Nodes {
    /// Slot `id & SLOT_MASK` of chunk `id >> CHUNK_BITS` holds node `id`; a free slot holds a
    /// vacant (default) node. Chunks hold at most `CHUNK` nodes and are only pushed to; a
    /// growing chunk may move (nothing keeps references across inserts), the table never
    /// copies more than one chunk.
    chunks: Vec<Vec<Node>>,
    /// Ids of vacant slots, reused before a chunk grows.
    free: Vec<u32>,
    /// Every node's id, hashed by path, with 32 bits of that hash: growing the index then
    /// rehashes from the slots alone, without reading a million nodes' paths (which made
    /// creates into a big tree slower than with the old `HashMap`).
    index: HashTable<Slot>,
    /// Keyed per process: client-chosen paths and names cannot be made to collide.
    hasher: PathHasher,
}

/// The node `id` names in `chunks` (free function so closures can borrow `chunks` alone).
fn slot(chunks: &[Vec<Node>], id: u32) -> Option<&Node> {
    chunks
        .get((id >> CHUNK_BITS) as usize)?
        .get((id & SLOT_MASK) as usize)
}

fn path_of(chunks: &[Vec<Node>], id: u32) -> &[u8] {
    slot(chunks, id).map_or(&[], Node::path_bytes)
}

fn name_of(chunks: &[Vec<Node>], id: u32) -> &[u8] {
    slot(chunks, id).map_or(&[], Node::name_bytes)
}

impl Nodes {
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Drops every node (the hash key stays).
    pub fn clear(&mut self) {
        self.chunks.clear();
        self.free.clear();
        self.index = HashTable::new();
    }

    /// Room for `additional` more nodes without rehashing the index.
    pub fn reserve(&mut self, additional: usize) {
        self.index.reserve(additional, |s| widen(s.hash));
        self.chunks.reserve(additional / CHUNK + 1);
    }

    /// The 32 bits of a path's or name's hash that slots keep.
    fn path_hash(&self, bytes: &[u8]) -> u32 {
        self.hasher.hash_one(bytes) as u32
    }

    pub fn node(&self, id: u32) -> Option<&Node> {
        slot(&self.chunks, id)
    }

    pub fn node_mut(&mut self, id: u32) -> Option<&mut Node> {
        self.chunks
            .get_mut((id >> CHUNK_BITS) as usize)?
            .get_mut((id & SLOT_MASK) as usize)
    }

    pub fn id_of(&self, path: &str) -> Option<u32> {
        self.find(path.as_bytes(), self.path_hash(path.as_bytes()))
    }

    /// The id stored under `path`, whose hash the caller already has.
    fn find(&self, path: &[u8], hash: u32) -> Option<u32> {
        let chunks = &self.chunks;
        self.index
            .find(widen(hash), |s| {
                s.hash == hash && path_of(chunks, s.id) == path
            })
            .map(|s| s.id)
    }

    pub fn get(&self, path: &str) -> Option<&Node> {
        self.node(self.id_of(path)?)
    }

    pub fn get_mut(&mut self, path: &str) -> Option<&mut Node> {
        let id = self.id_of(path)?;
        self.node_mut(id)
    }

    pub fn contains_key(&self, path: &str) -> bool {
        self.id_of(path).is_some()
    }

    /// Every node, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Node> {
        self.chunks.iter().flatten().filter(|n| !n.is_vacant())
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Node> {
        self.chunks.iter_mut().flatten().filter(|n| !n.is_vacant())
    }

    /// Stores `node` under its path: its id, and the node it replaced (which keeps its id, so
    /// a parent's link to that path stays right).
    pub fn insert(&mut self, node: Node) -> (u32, Option<Node>) {
        let hash = self.path_hash(node.path_bytes());
        if let Some(id) = self.find(node.path_bytes(), hash) {
            if let Some(old) = self.node_mut(id) {
                return (id, Some(std::mem::replace(old, node)));
            }
        }
        let id = self.alloc(node);
        self.index
            .insert_unique(widen(hash), Slot { id, hash }, |s| widen(s.hash));
        (id, None)
    }

    /// Puts `node` in a free slot, or at the end of the last chunk.
    fn alloc(&mut self, node: Node) -> u32 {
        if let Some(id) = self.free.pop() {
            if let Some(slot) = self.node_mut(id) {
                *slot = node;
                return id;
            }
        }
        if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
            // The first chunk grows as it fills (a small tree, e.g. one parsed from a short
            // input, must not allocate a whole chunk); later ones are allocated whole, so a
            // big tree never copies a chunk.
            let first = self.chunks.is_empty();
            self.chunks
                .push(Vec::with_capacity(if first { 0 } else { CHUNK }));
        }
        let c = self.chunks.len() - 1;
        let chunk = &mut self.chunks[c];
        if chunk.len() == chunk.capacity() {
            // Doubling, but never past `CHUNK` (a cloned chunk's capacity is its length).
            let want = (chunk.capacity() * 2).clamp(4, CHUNK);
            chunk.reserve_exact(want - chunk.len());
        }
        chunk.push(node);
        // 2^32 nodes would need half a terabyte of node structs alone.
        ((c << CHUNK_BITS) | (chunk.len() - 1)) as u32
    }

    /// Takes the node at `path` out, with its id; the slot is reused by a later insert.
    pub fn remove(&mut self, path: &str) -> Option<Node> {
        let h = self.path_hash(path.as_bytes());
        let chunks = &self.chunks;
        let entry = self
            .index
            .find_entry(widen(h), |s| {
                s.hash == h && path_of(chunks, s.id) == path.as_bytes()
            })
            .ok()?;
        let (Slot { id, .. }, _) = entry.remove();
        let node = std::mem::take(self.node_mut(id)?);
        self.free.push(id);
        Some(node)
    }

    /// Whether `parent` lists a child called `name`.
    pub fn has_child(&self, parent: &Node, name: &str) -> bool {
        let Some(table) = parent.children.0.as_deref() else {
            return false;
        };
        let h = self.path_hash(name.as_bytes());
        let chunks = &self.chunks;
        table
            .find(widen(h), |s| {
                s.hash == h && name_of(chunks, s.id) == name.as_bytes()
            })
            .is_some()
    }

    /// Lists node `child` under node `parent` by the child's name; `false` if a child of that
    /// name was listed already (the entry then names `child`).
    pub fn link(&mut self, parent: u32, child: u32) -> bool {
        let Some(h) = self.node(child).map(|c| self.path_hash(c.name_bytes())) else {
            return false;
        };
        let Some(p) = self.node_mut(parent) else {
            return false;
        };
        let mut table = std::mem::take(&mut p.children).0.unwrap_or_default();
        let chunks = &self.chunks;
        let name = name_of(chunks, child);
        let added = match table.entry(
            widen(h),
            |s| s.hash == h && name_of(chunks, s.id) == name,
            |s| widen(s.hash),
        ) {
            Entry::Occupied(mut e) => {
                e.get_mut().id = child;
                false
            }
            Entry::Vacant(e) => {
                e.insert(Slot { id: child, hash: h });
                true
            }
        };
        if let Some(p) = self.node_mut(parent) {
            p.children = Children(Some(table));
        }
        added
    }

    /// Drops the child called `name` from node `parent`'s list; `false` if it was not there.
    /// The table goes with its last child.
    pub fn unlink(&mut self, parent: u32, name: &str) -> bool {
        let h = self.path_hash(name.as_bytes());
        let Some(p) = self.node_mut(parent) else {
            return false;
        };
        let Some(mut table) = std::mem::take(&mut p.children).0 else {
            return false;
        };
        let chunks = &self.chunks;
        let removed = match table.find_entry(widen(h), |s| {
            s.hash == h && name_of(chunks, s.id) == name.as_bytes()
        }) {
            Ok(e) => {
                e.remove();
                true
            }
            Err(_) => false,
        };
        if !table.is_empty() {
            if let Some(p) = self.node_mut(parent) {
                p.children = Children(Some(table));
            }
        }
        removed
    }

    /// The children of `parent`.
    ///
    /// In id order, not the child table's hash order: ids follow creation, so siblings sit side
    /// by side in the chunks and their buffers were allocated together, and walking them in
    /// that order lets the CPU prefetch. In hash order each child cost two cache misses (node,
    /// then buffer): a 50k-child getChildren took 9–11 ms instead of 2.3–2.9 ms before the
    /// compact table. ZooKeeper promises no order of children.
    pub fn children<'a>(&'a self, parent: &'a Node) -> impl Iterator<Item = &'a Node> + 'a {
        let mut ids: Vec<u32> = parent.children.ids().collect();
        ids.sort_unstable();
        ids.into_iter().filter_map(move |id| self.node(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::node::StatPersisted;

    fn node(path: &str) -> Node {
        Node::new(path, Some(path.as_bytes()), 0, StatPersisted::default())
    }

    fn names(t: &Nodes, path: &str) -> Vec<String> {
        let p = t.get(path).expect("parent");
        let mut v: Vec<String> = t.children(p).map(|c| c.name().to_string()).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn insert_find_link_unlink_remove() {
        let mut t = Nodes::default();
        let (root, old) = t.insert(node("/"));
        assert!(old.is_none());
        let (a, _) = t.insert(node("/a"));
        let (b, _) = t.insert(node("/b"));
        assert!(t.link(root, a) && t.link(root, b) && !t.link(root, a));
        assert_eq!(names(&t, "/"), ["a", "b"]);
        assert_eq!(t.get("/a").map(Node::path), Some("/a"));
        assert_eq!(t.get("/a").and_then(Node::data), Some(&b"/a"[..]));
        assert!(t.get("/c").is_none() && t.len() == 3);
        let r = t.get("/").expect("root");
        assert!(t.has_child(r, "a") && !t.has_child(r, "c"));
        assert!(t.unlink(root, "a") && !t.unlink(root, "a"));
        assert_eq!(
            t.remove("/a").map(|n| n.path().to_string()),
            Some("/a".into())
        );
        assert!(t.remove("/a").is_none() && !t.contains_key("/a"));
        // The freed slot is reused.
        let (c, _) = t.insert(node("/c"));
        assert_eq!(c, a);
        assert!(t.unlink(root, "b"));
        assert!(
            t.get("/").expect("root").children.is_empty(),
            "table went with the last child"
        );
    }

    #[test]
    fn a_replaced_node_keeps_its_id() {
        let mut t = Nodes::default();
        let (id, _) = t.insert(node("/x"));
        let (again, old) = t.insert(Node::new("/x", None, 7, StatPersisted::default()));
        assert_eq!((again, old.map(|n| n.acl)), (id, Some(0)));
        assert_eq!((t.len(), t.get("/x").map(|n| n.acl)), (1, Some(7)));
    }

    #[test]
    fn many_nodes_across_chunks_and_rehashes() {
        let mut t = Nodes::default();
        let (root, _) = t.insert(node("/"));
        let n = 3 * CHUNK + 5;
        for i in 0..n {
            let (id, _) = t.insert(node(&format!("/n{i}")));
            assert!(t.link(root, id));
        }
        assert_eq!(t.len(), n + 1);
        for i in (0..n).step_by(2) {
            assert!(t.unlink(root, &format!("n{i}")));
            assert!(t.remove(&format!("/n{i}")).is_some());
        }
        for i in 0..n {
            let p = format!("/n{i}");
            assert_eq!(
                t.get(&p).map(Node::path),
                (i % 2 == 1).then_some(p.as_str())
            );
        }
        assert_eq!(t.get("/").map(|r| r.children.len()), Some(n / 2));
        assert_eq!(t.iter().count(), n / 2 + 1);
    }
}
