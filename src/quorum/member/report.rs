//! What a member reports about itself (for `srvr`, `mntr`, the AdminServer and the client
//! listener); read-only.

use super::*;

impl Member {
    pub fn mode(&self) -> Mode {
        if self.standalone {
            return Mode::Standalone;
        }
        match &self.role {
            Role::Looking => Mode::Looking,
            Role::Leading(_) => Mode::Leading,
            Role::Learning(l) if l.is_observer() => Mode::Observing,
            Role::Learning(_) => Mode::Following,
        }
    }

    /// Whether clients may be served.
    pub fn is_serving(&self) -> bool {
        self.serving
    }

    pub fn me(&self) -> Sid {
        self.me
    }

    pub fn view(&self) -> &QuorumView {
        &self.view
    }

    /// The leader this member follows or is.
    pub fn leader(&self) -> Option<Sid> {
        match &self.role {
            Role::Looking => None,
            Role::Leading(_) => Some(self.me),
            Role::Learning(l) => Some(l.leader()),
        }
    }

    /// ZooKeeper's `ZabState`: ELECTION, DISCOVERY, SYNCHRONIZATION or BROADCAST.
    pub fn zab_state(&self) -> &'static str {
        match &self.role {
            Role::Looking => "ELECTION",
            Role::Leading(l) => l.phase().zab_state(),
            Role::Learning(l) => l.phase().zab_state(),
        }
    }

    pub fn election(&self) -> &Election {
        &self.election
    }

    pub fn epochs(&self) -> (i64, i64) {
        (self.accepted_epoch, self.current_epoch)
    }

    pub fn last_zxid(&self) -> i64 {
        self.last_zxid
    }

    pub fn last_applied(&self) -> i64 {
        self.last_applied
    }

    /// Leader: the last zxid proposed (local `sync`s wait for it to be applied).
    pub fn last_proposed(&self) -> Option<i64> {
        match &self.role {
            Role::Leading(l) => Some(l.last_proposed()),
            _ => None,
        }
    }

    /// Leader: its learners and whether each is synced.
    pub fn learners(&self) -> Vec<LearnerStatus> {
        match &self.role {
            Role::Leading(l) => l.learners(),
            _ => Vec::new(),
        }
    }

    /// Leader: learner `sync`s not yet answered.
    pub fn pending_syncs(&self) -> usize {
        match &self.role {
            Role::Leading(l) => l.pending_sync_count(),
            _ => 0,
        }
    }

    /// The zxid a new proposal gets, while this member leads an established quorum.
    pub fn next_zxid(&self) -> Option<i64> {
        match &self.role {
            Role::Leading(l) if self.serving => match l.next_zxid() {
                Ok(next) => next,
                // The epoch's counter is exhausted: hand out its last zxid anyway, as Apache's
                // prep does, so that `propose` abdicates and a new epoch starts (ZOOKEEPER-1277);
                // refusing it would leave a leader that can never write again.
                Err(_) => Some(l.last_proposed() + 1),
            },
            _ => None,
        }
    }
}
