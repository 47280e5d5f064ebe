//! One znode: data, interned ACL, persisted stat and child names.

use std::collections::HashSet;

use bytes::Bytes;

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

/// A node's child names. Most znodes are leaves, so the set exists only while the node has
/// children: 8 bytes per leaf instead of an empty set's 40.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(clippy::box_collection)] // the box is the point: 8 bytes in every leaf, not 40
pub struct Children(Option<Box<HashSet<Box<str>, PathHasher>>>);

impl Children {
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |s| s.len())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.as_ref().is_some_and(|s| s.contains(name))
    }

    /// `false` if the name was already there.
    pub fn insert(&mut self, name: Box<str>) -> bool {
        self.0.get_or_insert_with(Box::default).insert(name)
    }

    /// `false` if the name was not there; the set goes with its last name.
    pub fn remove(&mut self, name: &str) -> bool {
        let Some(set) = self.0.as_mut() else {
            return false;
        };
        let removed = set.remove(name);
        if set.is_empty() {
            self.0 = None;
        }
        removed
    }

    pub fn iter(&self) -> impl Iterator<Item = &Box<str>> {
        self.0.iter().flat_map(|s| s.iter())
    }
}

#[derive(Debug, Clone, Default)]
pub struct Node {
    /// `None` when the node was written with null data (-1 length), which reads back as null.
    pub data: Option<Bytes>,
    pub acl: u32,
    pub stat: StatPersisted,
    pub children: Children,
    /// `crc32(path ‖ data)`, the stat-independent part of the node's Apache digest
    /// (see `tree::digest`); 0 when the digest is off or the node is under `/zookeeper/`.
    pub digest_prefix: u32,
    /// What the node adds to the tree digest now (Apache caches it per node too), so a
    /// change subtracts it without hashing again.
    pub digest: u32,
}

impl Node {
    pub fn data_len(&self) -> usize {
        self.data.as_ref().map_or(0, Bytes::len)
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
    fn a_child_set_exists_only_while_there_are_children() {
        let mut c = Children::default();
        assert!(c.is_empty() && !c.contains("a"));
        assert_eq!(c.len(), 0);
        assert!(c.insert("a".into()) && !c.insert("a".into()) && c.insert("b".into()));
        assert_eq!((c.len(), c.contains("b")), (2, true));
        let mut names: Vec<&str> = c.iter().map(|n| &**n).collect();
        names.sort_unstable();
        assert_eq!(names, ["a", "b"]);
        assert!(c.remove("a") && !c.remove("a") && c.remove("b"));
        assert_eq!(c, Children::default(), "the set went with the last name");
        assert!(!c.remove("b"));
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
