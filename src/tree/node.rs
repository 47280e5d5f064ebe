//! One znode: path and data in one buffer, interned ACL, persisted stat, child ids.
//! Owns the node's own layout; must not look other nodes up (that is `table`'s job).

use hashbrown::HashTable;

/// Path and name hashing: foldhash with a per-process random seed (several times faster than
/// SipHash on short keys, still keyed, so client-chosen paths cannot be made to collide).
pub type PathHasher = foldhash::fast::RandomState;

use crate::proto::records::Stat;

/// `ephemeralOwner` of a container node.
pub const CONTAINER_OWNER: i64 = i64::MIN;
/// High byte marking a TTL node's `ephemeralOwner`; the low 56 bits hold the TTL (ms).
pub const TTL_MARK: i64 = 0xFF00_0000_0000_0000_u64 as i64;
/// Largest TTL ZooKeeper can encode.
pub const MAX_TTL: i64 = !(0xFF00_0000_0000_0000_u64 as i64 | 0x00FF_FF00_0000_0000);

/// StatPersisted: the stored part of a Stat (dataLength and numChildren are derived).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatPersisted {
    pub czxid: i64,
    pub mzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub ephemeral_owner: i64,
    pub pzxid: i64,
}

/// A slot of the path index or of a child table: a node id and the low 32 bits of the hash
/// of its path (index) or name (child table). With the hash at hand a table grows, or
/// rehashes away the tombstones create/delete churn leaves, without reading any node.
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot {
    pub id: u32,
    pub hash: u32,
}

/// The table hash of a stored 32-bit hash: hashbrown takes the bucket from the low bits and
/// its 7-bit tag from the top ones, so both halves carry the 32 bits.
pub(super) fn widen(h: u32) -> u64 {
    (u64::from(h) << 32) | u64::from(h)
}

/// A node's children, as ids into the tree's node table (`tree::table`), hashed by the child's
/// name: the name is stored once, in the child's own path. Most znodes are leaves, so the
/// table exists only while the node has children: 8 bytes per leaf instead of an empty
/// table's 32. Lookups, inserts and removals go through `table::Nodes`, which compares
/// names by reading the children.
#[derive(Debug, Clone, Default)]
#[allow(clippy::box_collection)] // the box is the point: 8 bytes in every leaf, not 32
pub struct Children(pub(super) Option<Box<HashTable<Slot>>>);

impl Children {
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |t| t.len())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The children's ids, in table order (what getChildren lists, as Apache lists its
    /// HashSet's order).
    pub(super) fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().flat_map(|t| t.iter().map(|s| s.id))
    }
}

/// Set in `Node::meta` when the node's data is null (-1 length), not empty.
const NULL_DATA: u32 = 1 << 31;

/// One znode. Its path and data share one allocation (`path ‖ data`): one malloc per node
/// instead of three (path key, child name, data), and the node itself lives inline in the
/// table's chunks (`tree::table`), so a znode costs this struct (104 bytes), that buffer and
/// an 8-byte `Slot` in the path index and in its parent's child table.
#[derive(Debug, Clone, Default)]
pub struct Node {
    pub stat: StatPersisted,
    pub acl: u32,
    /// `crc32(path ‖ data)`, the stat-independent part of the node's Apache digest
    /// (see `tree::digest`); 0 when the digest is off or the node is under `/zookeeper/`.
    pub digest_prefix: u32,
    /// What the node adds to the tree digest now (Apache caches it per node too), so a
    /// change subtracts it without hashing again.
    pub digest: u32,
    /// The path's length in `buf`, with `NULL_DATA` or'ed in.
    meta: u32,
    pub children: Children,
    /// The path's UTF-8 bytes, then the data. Empty only in a free table slot.
    buf: Box<[u8]>,
}

impl Node {
    /// A node at `path` holding a copy of `data` (`None`: null data).
    pub fn new(path: &str, data: Option<&[u8]>, acl: u32, stat: StatPersisted) -> Node {
        let mut node = Node {
            stat,
            acl,
            ..Default::default()
        };
        node.store(path.as_bytes(), data);
        node
    }

    /// Replaces `buf` with `path ‖ data`, allocated at its exact size.
    fn store(&mut self, path: &[u8], data: Option<&[u8]>) {
        let len = path.len() + data.map_or(0, <[u8]>::len);
        let mut buf = Vec::with_capacity(len);
        buf.extend_from_slice(path);
        buf.extend_from_slice(data.unwrap_or_default());
        // A path is bounded by the request size (jute.maxbuffer), far below 2^31.
        let path_len = (path.len() as u32) & !NULL_DATA;
        self.meta = path_len | if data.is_none() { NULL_DATA } else { 0 };
        self.buf = buf.into_boxed_slice();
    }

    fn path_len(&self) -> usize {
        (self.meta & !NULL_DATA) as usize
    }

    /// The node's full path.
    pub fn path(&self) -> &str {
        // `buf` starts with the bytes of a `&str` (see `store`), cut at its end, so this is
        // always valid UTF-8; the empty fallback is never taken.
        std::str::from_utf8(self.path_bytes()).unwrap_or_default()
    }

    pub(super) fn path_bytes(&self) -> &[u8] {
        self.buf.get(..self.path_len()).unwrap_or_default()
    }

    /// The last segment of the path (empty for `/`): the name the parent lists.
    pub(super) fn name_bytes(&self) -> &[u8] {
        let p = self.path_bytes();
        match p.iter().rposition(|&b| b == b'/') {
            Some(i) => p.get(i + 1..).unwrap_or_default(),
            None => p,
        }
    }

    /// The name this node has in its parent's child list.
    pub fn name(&self) -> &str {
        std::str::from_utf8(self.name_bytes()).unwrap_or_default()
    }

    /// `None` when the node was written with null data (-1 length), which reads back as null.
    pub fn data(&self) -> Option<&[u8]> {
        if self.meta & NULL_DATA != 0 {
            None
        } else {
            self.buf.get(self.path_len()..)
        }
    }

    /// Replaces the data (copied: the caller's bytes are often a slice of a whole frame).
    pub fn set_data(&mut self, data: Option<&[u8]>) {
        let path = std::mem::take(&mut self.buf);
        let path_len = self.path_len();
        self.store(path.get(..path_len).unwrap_or_default(), data);
    }

    /// Whether this is a free table slot (every node has a non-empty path).
    pub(super) fn is_vacant(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn data_len(&self) -> usize {
        self.buf.len() - self.path_len()
    }

    /// The Stat clients see. Like ZooKeeper's `DataNode.copyStat`: the stored cversion counts
    /// creates, the reported one counts child changes (creates + deletes = 2×creates −
    /// children still present); containers and TTL nodes report ephemeralOwner 0.
    pub fn stat(&self) -> Stat {
        let s = &self.stat;
        let num_children = self.children.len() as i32;
        let ephemeral_owner = match owner_kind(s.ephemeral_owner) {
            OwnerKind::Ephemeral(id) => id,
            _ => 0,
        };
        Stat {
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            cversion: s.cversion.wrapping_mul(2).wrapping_sub(num_children),
            aversion: s.aversion,
            ephemeral_owner,
            data_length: self.data_len() as i32,
            num_children,
            pzxid: s.pzxid,
        }
    }
}

/// What kind of node an `ephemeralOwner` value denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerKind {
    Persistent,
    Ephemeral(i64),
    Container,
    Ttl(i64),
}

pub fn owner_kind(owner: i64) -> OwnerKind {
    if owner == 0 {
        OwnerKind::Persistent
    } else if owner == CONTAINER_OWNER {
        OwnerKind::Container
    } else if owner & TTL_MARK == TTL_MARK {
        OwnerKind::Ttl(owner & !TTL_MARK)
    } else {
        OwnerKind::Ephemeral(owner)
    }
}

/// The version after `v`: ZooKeeper skips -1 on overflow (it means "any version").
pub fn next_version(v: i32) -> i32 {
    match v.wrapping_add(1) {
        -1 => 0,
        n => n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_and_data_share_one_buffer() {
        let n = Node::new("/a/bc", Some(b"xyz"), 3, StatPersisted::default());
        assert_eq!(
            (n.path(), n.name(), n.data(), n.data_len()),
            ("/a/bc", "bc", Some(&b"xyz"[..]), 3)
        );
        assert_eq!(n.acl, 3);
        let mut n = n;
        n.set_data(None);
        assert_eq!((n.path(), n.data(), n.data_len()), ("/a/bc", None, 0));
        n.set_data(Some(b""));
        assert_eq!(
            (n.path(), n.data(), n.data_len()),
            ("/a/bc", Some(&b""[..]), 0)
        );
        let root = Node::new("/", None, 0, StatPersisted::default());
        assert_eq!((root.path(), root.name(), root.data()), ("/", "", None));
        assert!(!root.is_vacant() && Node::default().is_vacant());
        assert!(Node::default().children.is_empty());
    }

    #[test]
    fn a_node_is_104_bytes() {
        // The layout the memory budget (≤ 300 B per znode) is built on; see `table`.
        assert_eq!(std::mem::size_of::<Node>(), 104);
    }

    #[test]
    fn owner_kinds() {
        assert_eq!(owner_kind(0), OwnerKind::Persistent);
        assert_eq!(owner_kind(CONTAINER_OWNER), OwnerKind::Container);
        assert_eq!(owner_kind(TTL_MARK | 5000), OwnerKind::Ttl(5000));
        assert_eq!(
            owner_kind(0x0100_0000_0000_0001),
            OwnerKind::Ephemeral(0x0100_0000_0000_0001)
        );
        assert_eq!(next_version(i32::MAX), i32::MIN);
        assert_eq!(next_version(-2), 0);
        const { assert!(MAX_TTL > 0 && MAX_TTL & TTL_MARK == 0) };
    }
}
