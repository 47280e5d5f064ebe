//! ACLs: the interning cache (a node stores a small index, most nodes share one list)
//! and the permission check ZooKeeper's `checkACL` performs.

use std::collections::HashMap;
use std::sync::Arc;

use crate::proto::records::{Acl, Id};

/// Interned ACL lists with reference counts, so distinct lists that fall out of use are freed.
#[derive(Debug, Default, Clone)]
pub struct AclCache {
    lists: Vec<(Arc<[Acl]>, u64)>,
    index: HashMap<Vec<Acl>, u32>,
    free: Vec<u32>,
}

impl AclCache {
    /// Interns `acl`, adding one reference.
    pub fn intern(&mut self, acl: &[Acl]) -> u32 {
        if let Some(&i) = self.index.get(acl) {
            self.lists[i as usize].1 += 1;
            return i;
        }
        let entry: (Arc<[Acl]>, u64) = (acl.into(), 1);
        let i = match self.free.pop() {
            Some(i) => {
                self.lists[i as usize] = entry;
                i
            }
            None => {
                self.lists.push(entry);
                (self.lists.len() - 1) as u32
            }
        };
        self.index.insert(acl.to_vec(), i);
        i
    }

    /// Adds one reference to list `i`, already interned (bulk loads skip hashing the list).
    pub fn add_ref(&mut self, i: u32) {
        if let Some(entry) = self.lists.get_mut(i as usize) {
            entry.1 += 1;
        }
    }

    /// Drops one reference; the list is freed when none remain.
    pub fn release(&mut self, i: u32) {
        let Some(entry) = self.lists.get_mut(i as usize) else {
            return;
        };
        entry.1 = entry.1.saturating_sub(1);
        if entry.1 == 0 {
            let list = std::mem::replace(&mut entry.0, Arc::from(Vec::new()));
            self.index.remove(&*list);
            self.free.push(i);
        }
    }

    pub fn get(&self, i: u32) -> &[Acl] {
        self.lists.get(i as usize).map(|e| &*e.0).unwrap_or(&[])
    }

    /// A shared handle on list `i`, cheap to keep beyond the node (e.g. in a watch event).
    pub fn shared(&self, i: u32) -> Arc<[Acl]> {
        self.lists
            .get(i as usize)
            .map(|e| e.0.clone())
            .unwrap_or_else(|| Arc::from(Vec::new()))
    }

    /// Every list in use with its index (for snapshots).
    pub fn iter(&self) -> impl Iterator<Item = (u32, &[Acl])> {
        self.index.values().map(|&i| (i, self.get(i)))
    }

    /// How many nodes hold list `i` (0 for a free or unknown slot).
    pub fn refs(&self, i: u32) -> u64 {
        self.lists.get(i as usize).map_or(0, |e| e.1)
    }

    /// One past the highest index ever handed out (to size per-index tables).
    pub fn slots(&self) -> usize {
        self.lists.len()
    }

    /// Number of distinct lists in use.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

/// The identity that bypasses every ACL (from superDigest).
pub fn is_super(id: &Id) -> bool {
    id.scheme == "super"
}

/// ZooKeeper's checkACL: an empty list allows everything; super ids pass; otherwise some
/// entry must grant `perm` to `world:anyone` or to an id the session holds.
pub fn permits(acl: &[Acl], perm: i32, ids: &[Id]) -> bool {
    if acl.is_empty() || ids.iter().any(is_super) {
        return true;
    }
    acl.iter().any(|a| {
        a.perms & perm != 0
            && ((a.id.scheme == "world" && a.id.id == "anyone")
                || ids.iter().any(|held| matches_id(&a.id, held)))
    })
}

fn matches_id(want: &Id, held: &Id) -> bool {
    if want.scheme != held.scheme {
        return false;
    }
    match want.scheme.as_str() {
        "ip" => ip_matches(&want.id, &held.id),
        // SASLAuthenticationProvider.matches: the SASL user `super` matches every sasl entry.
        "sasl" => held.id == "super" || want.id == held.id,
        _ => want.id == held.id,
    }
}

/// `ip:a.b.c.d[/bits]` against a client address, IPv4 or IPv6.
pub fn ip_matches(pattern: &str, addr: &str) -> bool {
    let (net, bits) = match pattern.split_once('/') {
        Some((n, b)) => (n, b.parse::<u32>().ok()),
        None => (pattern, None),
    };
    let (Ok(net), Ok(addr)) = (
        net.parse::<std::net::IpAddr>(),
        addr.parse::<std::net::IpAddr>(),
    ) else {
        return false;
    };
    let (net, addr, width) = match (net, addr) {
        (std::net::IpAddr::V4(n), std::net::IpAddr::V4(a)) => {
            (u32::from(n) as u128, u32::from(a) as u128, 32)
        }
        (std::net::IpAddr::V6(n), std::net::IpAddr::V6(a)) => (u128::from(n), u128::from(a), 128),
        _ => return false,
    };
    let bits = bits.unwrap_or(width).min(width);
    if bits == 0 {
        return true;
    }
    let shift = width - bits;
    (net >> shift) == (addr >> shift)
}

/// Whether `ip:<id>` names an address or network ZooKeeper's IPAuthenticationProvider accepts.
pub fn valid_ip_pattern(id: &str) -> bool {
    let (net, bits) = match id.split_once('/') {
        Some((n, b)) => (n, Some(b)),
        None => (id, None),
    };
    let Ok(addr) = net.parse::<std::net::IpAddr>() else {
        return false;
    };
    let width = if addr.is_ipv4() { 32 } else { 128 };
    bits.is_none_or(|b| b.parse::<u32>().is_ok_and(|b| b <= width))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::opcode::perms;

    fn acl(perms: i32, scheme: &str, id: &str) -> Acl {
        Acl {
            perms,
            id: Id {
                scheme: scheme.into(),
                id: id.into(),
            },
        }
    }

    fn id(scheme: &str, id: &str) -> Id {
        Id {
            scheme: scheme.into(),
            id: id.into(),
        }
    }

    #[test]
    fn permission_checks() {
        let list = vec![
            acl(perms::READ, "world", "anyone"),
            acl(perms::ALL, "digest", "bob:x"),
        ];
        assert!(permits(&list, perms::READ, &[]));
        assert!(!permits(&list, perms::WRITE, &[id("ip", "127.0.0.1")]));
        assert!(permits(&list, perms::WRITE, &[id("digest", "bob:x")]));
        assert!(permits(&list, perms::ADMIN, &[id("super", "")]));
        assert!(permits(&[], perms::ADMIN, &[]));
        assert!(permits(
            &[acl(perms::ALL, "ip", "10.0.0.0/8")],
            perms::READ,
            &[id("ip", "10.1.2.3")]
        ));
        assert!(!permits(
            &[acl(perms::ALL, "ip", "10.0.0.0/8")],
            perms::READ,
            &[id("ip", "11.1.2.3")]
        ));
    }

    #[test]
    fn ip_patterns() {
        assert!(
            valid_ip_pattern("127.0.0.1")
                && valid_ip_pattern("10.0.0.0/8")
                && valid_ip_pattern("::1")
        );
        assert!(!valid_ip_pattern("10.0.0.0/33") && !valid_ip_pattern("host"));
        assert!(ip_matches("::1", "::1") && !ip_matches("::1", "127.0.0.1"));
    }

    #[test]
    fn cache_interns_and_frees() {
        let mut cache = AclCache::default();
        let a = cache.intern(&[acl(31, "world", "anyone")]);
        let b = cache.intern(&[acl(31, "world", "anyone")]);
        assert_eq!(a, b);
        let c = cache.intern(&[acl(1, "world", "anyone")]);
        assert_ne!(a, c);
        cache.release(c);
        assert_eq!(cache.len(), 1);
        assert_eq!(
            cache.intern(&[acl(2, "world", "anyone")]),
            c,
            "freed slot reused"
        );
    }
}
