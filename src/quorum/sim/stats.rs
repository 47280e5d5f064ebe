//! What a simulated run exercised (faults, sync modes, reconfigs), so tests can insist that
//! the faults did something.

/// What a run exercised, so tests can insist the faults did something.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub diffs: u64,
    pub truncs: u64,
    pub snaps: u64,
    pub crashes: u64,
    pub partitions: u64,
    /// Logged txns applied when leaving a role (never committed while that role ran).
    pub applied_on_leave: u64,
    /// Leaders that stopped serving.
    pub abdications: u64,
    pub pauses: u64,
    /// Reconfigs the leader proposed.
    pub reconfigs_proposed: u64,
    /// Reconfigs not proposed: one in progress, or no synced quorum of the new members.
    pub reconfigs_refused: u64,
    /// Reconfig versions activated (by any member).
    pub reconfigs_activated: u64,
    /// Reconfig versions put in force by a leader of a later epoch than their proposal's.
    pub reconfigs_resumed: u64,
    /// Faults aimed at the leader right after it proposed a reconfig.
    pub reconfig_faults: u64,
}

impl Stats {
    /// Adds another run's counts.
    pub fn add(&mut self, s: &Stats) {
        self.diffs += s.diffs;
        self.truncs += s.truncs;
        self.snaps += s.snaps;
        self.crashes += s.crashes;
        self.partitions += s.partitions;
        self.applied_on_leave += s.applied_on_leave;
        self.abdications += s.abdications;
        self.pauses += s.pauses;
        self.reconfigs_proposed += s.reconfigs_proposed;
        self.reconfigs_refused += s.reconfigs_refused;
        self.reconfigs_activated += s.reconfigs_activated;
        self.reconfigs_resumed += s.reconfigs_resumed;
        self.reconfig_faults += s.reconfig_faults;
    }
}
