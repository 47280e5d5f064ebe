//! Whether two trees hold the same database, field by field, naming the first difference:
//! for tests that check a tree survives a format round trip or matches another
//! implementation's, and for tools comparing replicas.
//!
//! Owns: the comparison. Must not mutate either tree.

use super::DataTree;

impl DataTree {
    /// `None` when both trees have the same sessions, nodes (data, ACL list, stat, children),
    /// ephemeral/container/TTL sets and digest; otherwise the first difference found.
    /// ACL cache indices are ignored: only the lists they stand for count.
    pub fn content_diff(&self, other: &DataTree) -> Option<String> {
        let mut a: Vec<_> = self.sessions.iter().collect();
        let mut b: Vec<_> = other.sessions.iter().collect();
        a.sort_unstable();
        b.sort_unstable();
        if a != b {
            return Some(format!("sessions differ: {a:?} vs {b:?}"));
        }
        if self.nodes.len() != other.nodes.len() {
            return Some(format!(
                "node counts differ: {} vs {}",
                self.nodes.len(),
                other.nodes.len()
            ));
        }
        let mut paths: Vec<&str> = self.nodes.iter().map(|n| n.path()).collect();
        paths.sort_unstable();
        for p in paths {
            let (Some(x), Some(y)) = (self.nodes.get(p), other.nodes.get(p)) else {
                return Some(format!("{p} is missing from the second tree"));
            };
            if x.data() != y.data() {
                return Some(format!("{p}: data {:?} vs {:?}", x.data(), y.data()));
            }
            if x.stat != y.stat {
                return Some(format!("{p}: stat {:?} vs {:?}", x.stat, y.stat));
            }
            if self.acl(x) != other.acl(y) {
                return Some(format!("{p}: acl {:?} vs {:?}", self.acl(x), other.acl(y)));
            }
            let names = |t: &'_ DataTree, n| {
                let mut v: Vec<String> = t.child_nodes(n).map(|c| c.name().to_string()).collect();
                v.sort_unstable();
                v
            };
            let (cx, cy) = (names(self, x), names(other, y));
            if cx != cy {
                return Some(format!("{p}: children {cx:?} vs {cy:?}"));
            }
        }
        if self.ephemerals != other.ephemerals {
            return Some(format!(
                "ephemerals differ: {:?} vs {:?}",
                self.ephemerals, other.ephemerals
            ));
        }
        if self.containers != other.containers || self.ttls != other.ttls {
            return Some("container or TTL sets differ".to_string());
        }
        if self.digest() != other.digest() {
            return Some(format!(
                "digests differ: {} vs {}",
                self.digest(),
                other.digest()
            ));
        }
        None
    }
}
