//! What an ensemble of the tests is made of: member counts, timing, extra zoo.cfg lines and
//! environment, the implementation of each member, the first leader, per-member uids.

use super::Impl;

/// What to start.
#[derive(Clone, Debug)]
pub struct EnsembleOpts {
    pub voters: usize,
    pub observers: usize,
    pub tick_ms: u32,
    pub init_limit: u32,
    pub sync_limit: u32,
    /// Extra zoo.cfg lines for every member; a key given here replaces the harness default.
    pub cfg: Vec<String>,
    /// Extra environment for every member process.
    pub env: Vec<(String, String)>,
    /// Override of `ZK_IMPL` for this ensemble.
    pub imp: Option<Impl>,
    /// Per-member implementations (member 1 first) for a mixed ensemble; overrides `imp`.
    pub mix: Option<Vec<Impl>>,
    /// The member `start_ready` makes the first leader (see `led_by`).
    pub first_leader: Option<u64>,
    /// When set (root only), member `id` runs as uid and gid `base + id` and owns its
    /// directory, so packet filters can tell members apart by socket owner (`netfault`).
    pub uid_base: Option<u32>,
}

impl EnsembleOpts {
    pub fn new(voters: usize, observers: usize) -> Self {
        EnsembleOpts {
            voters,
            observers,
            tick_ms: 300,
            init_limit: 10,
            sync_limit: 5,
            cfg: Vec::new(),
            env: Vec::new(),
            imp: None,
            mix: None,
            first_leader: None,
            uid_base: None,
        }
    }
    /// `start_ready` starts voter `id` with just enough lower-numbered voters for a quorum,
    /// so that it wins the first election (equal zxids: the highest id wins) however slowly
    /// the other processes start, then the rest.
    pub fn led_by(mut self, id: u64) -> Self {
        self.first_leader = Some(id);
        self
    }
    /// A mixed ensemble: member `i + 1` runs `impls[i]` (one entry per member).
    pub fn mixed(mut self, impls: &[Impl]) -> Self {
        assert_eq!(
            impls.len(),
            self.voters + self.observers,
            "one impl per member"
        );
        self.mix = Some(impls.to_vec());
        self
    }
    pub fn cfg(mut self, line: &str) -> Self {
        self.cfg.push(line.to_string());
        self
    }
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }
    pub fn tick(mut self, ms: u32) -> Self {
        self.tick_ms = ms;
        self
    }
    /// Member `id` runs as uid/gid `base + id` (see `uid_base`); needs root.
    pub fn run_as_uids(mut self, base: u32) -> Self {
        self.uid_base = Some(base);
        self
    }
}
