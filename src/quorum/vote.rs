//! Votes and their order (`Vote`, `FastLeaderElection.totalOrderPredicate`, `Vote.equals`).

use super::ServerState;

/// A vote for `leader` as a server knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vote {
    pub leader: i64,
    pub zxid: i64,
    pub election_epoch: i64,
    pub peer_epoch: i64,
}

impl Vote {
    /// Whether `(leader, zxid, peer_epoch)` beats `cur`: higher epoch, then higher zxid, then
    /// higher id. (QuorumMaj gives every id weight 1, so no weight test applies.)
    pub fn beats(leader: i64, zxid: i64, peer_epoch: i64, cur: &Vote) -> bool {
        (peer_epoch, zxid, leader) > (cur.peer_epoch, cur.zxid, cur.leader)
    }
}

/// A vote received in a notification, with what `Vote.equals` needs to compare it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaggedVote {
    pub vote: Vote,
    pub state: ServerState,
    /// Notification format version (0 for legacy senders).
    pub version: i32,
}

impl TaggedVote {
    /// `Vote.equals`: if either side is LOOKING every field counts; otherwise the leader id,
    /// and the peer epoch too unless exactly one side is a legacy (version 0) vote.
    pub fn same(&self, other: &TaggedVote) -> bool {
        let (a, b) = (&self.vote, &other.vote);
        if self.state == ServerState::Looking || other.state == ServerState::Looking {
            return a == b;
        }
        if (self.version > 0) != (other.version > 0) {
            return a.leader == b.leader;
        }
        a.leader == b.leader && a.peer_epoch == b.peer_epoch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(leader: i64, zxid: i64, peer_epoch: i64) -> Vote {
        Vote {
            leader,
            zxid,
            election_epoch: 1,
            peer_epoch,
        }
    }

    #[test]
    fn order_is_epoch_then_zxid_then_id() {
        let cur = v(2, 10, 1);
        assert!(Vote::beats(1, 0, 2, &cur));
        assert!(Vote::beats(1, 11, 1, &cur));
        assert!(Vote::beats(3, 10, 1, &cur));
        assert!(!Vote::beats(2, 10, 1, &cur));
        assert!(!Vote::beats(1, 10, 1, &cur));
        assert!(!Vote::beats(9, 9, 1, &cur));
    }

    #[test]
    fn equality_depends_on_state_and_version() {
        let looking = TaggedVote {
            vote: v(2, 10, 1),
            state: ServerState::Looking,
            version: 2,
        };
        let mut following = TaggedVote {
            vote: Vote {
                zxid: 99,
                election_epoch: 7,
                ..looking.vote
            },
            state: ServerState::Following,
            version: 2,
        };
        assert!(!looking.same(&following));
        let leading = TaggedVote {
            state: ServerState::Leading,
            ..following
        };
        assert!(following.same(&leading));
        following.vote.peer_epoch = 5;
        assert!(!following.same(&leading));
        following.version = 0;
        assert!(following.same(&leading));
    }
}
