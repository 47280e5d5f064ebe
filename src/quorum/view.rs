//! Who votes and what a quorum is: ZooKeeper's `QuorumMaj` over the static `server.N` list,
//! plus the member list text peers exchange (`QuorumVerifier.toString()`).

use std::collections::BTreeSet;

use bytes::Bytes;

use super::Sid;

/// The ensemble as this member sees it. Built by the runtime from zoo.cfg; immutable while
/// reconfig is off (the only mode supported), so its version stays 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumView {
    voters: BTreeSet<Sid>,
    observers: BTreeSet<Sid>,
    /// UTF-8 `server.N=host:q:e:type[;client]` lines and `version=<hex>`, sent in
    /// notifications and NEWLEADER.
    config: Bytes,
    version: i64,
}

impl QuorumView {
    pub fn new(
        voters: impl IntoIterator<Item = Sid>,
        observers: impl IntoIterator<Item = Sid>,
        config: Bytes,
    ) -> QuorumView {
        QuorumView {
            voters: voters.into_iter().collect(),
            observers: observers.into_iter().collect(),
            config,
            version: 0,
        }
    }

    /// A standalone server: itself, the only voter.
    pub fn single(me: Sid) -> QuorumView {
        QuorumView::new([me], [], Bytes::new())
    }

    pub fn is_voter(&self, sid: Sid) -> bool {
        self.voters.contains(&sid)
    }

    /// `validVoter` on a raw notification id (negative ids are never voters).
    pub fn is_voter_id(&self, id: i64) -> bool {
        u64::try_from(id).is_ok_and(|s| self.is_voter(s))
    }

    pub fn is_observer(&self, sid: Sid) -> bool {
        self.observers.contains(&sid)
    }

    pub fn is_member(&self, sid: Sid) -> bool {
        self.is_voter(sid) || self.is_observer(sid)
    }

    pub fn voters(&self) -> impl Iterator<Item = Sid> + '_ {
        self.voters.iter().copied()
    }

    pub fn voter_count(&self) -> usize {
        self.voters.len()
    }

    /// Smallest number of voters that form a quorum (majority).
    pub fn quorum_size(&self) -> usize {
        self.voters.len() / 2 + 1
    }

    /// Whether the voters among `sids` are a majority of all voters.
    pub fn is_quorum<'a>(&self, sids: impl IntoIterator<Item = &'a Sid>) -> bool {
        let votes = sids.into_iter().filter(|s| self.voters.contains(s)).count();
        votes > self.voters.len() / 2
    }

    pub fn config(&self) -> &Bytes {
        &self.config
    }

    pub fn version(&self) -> i64 {
        self.version
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_counts_voters_only() {
        let v = QuorumView::new([1, 2, 3], [4], Bytes::new());
        assert!(!v.is_quorum(&[1]));
        assert!(!v.is_quorum(&[1, 4]));
        assert!(v.is_quorum(&[1, 2]));
        assert_eq!(v.quorum_size(), 2);
        let five = QuorumView::new([1, 2, 3, 4, 5], [], Bytes::new());
        assert!(!five.is_quorum(&[1, 2]));
        assert!(five.is_quorum(&[1, 2, 5]));
        assert!(QuorumView::single(7).is_quorum(&[7]));
        assert!(!v.is_voter_id(-1) && v.is_voter_id(2) && !v.is_voter_id(4));
    }
}
