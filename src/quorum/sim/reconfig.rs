//! Dynamic reconfiguration in the simulation (`Config.reconfig`): members run with
//! `reconfigEnabled` and a real configuration text; a few % of the client writes that reach
//! the serving leader are reconfigs instead (remove a voter while a majority of all members
//! still vote, add a removed member back as a participant, turn a participant into an
//! observer or back), refused as the runtime's `prepare_reconfig` refuses them (one in
//! progress, or no synced quorum of the new members). Some proposals are followed at once by
//! a fault on the leader (a crash or a pause) so that later leaders must resume them.
//!
//! The host side: an activated configuration is written to the simulated disk at once (the
//! dynamic file), the last seen one too (`<zoo.cfg>.dynamic.next`, removed when not newer),
//! and every activation is checked (`configs`). A removed member restarts from its disk like
//! any other, though a real server (Apache's too) refuses to start with a myid its
//! configuration does not list: the simulator keeps it, a member electing as a non-member.
//! Must not: decide anything the quorum core decides.

use std::collections::BTreeSet;

use bytes::Bytes;

use super::*;
use crate::quorum::testkit::reconfig_txn;
use crate::quorum::zxid::hex;

/// Percentage of the serving leader's client writes that are reconfigs.
const RECONFIG_PERCENT: u64 = 5;
/// Percentage of reconfig proposals followed by a fault on the leader (in the fault window).
const FAULT_PERCENT: u64 = 40;

/// A fault aimed at a reconfig in flight.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    Crash { back_after_ms: u64 },
    Restart,
    Pause { ms: u64 },
}

/// The configuration text of `voters` and `observers` at `version` (as the runtime's
/// `quorum_verifier_text` writes it).
pub fn config_text(voters: &BTreeSet<Sid>, observers: &BTreeSet<Sid>, version: i64) -> String {
    let mut ids: Vec<(Sid, &str)> = voters.iter().map(|s| (*s, "participant")).collect();
    ids.extend(observers.iter().map(|s| (*s, "observer")));
    ids.sort();
    let mut out = String::new();
    for (sid, kind) in ids {
        out.push_str(&format!("server.{sid}=10.0.0.{sid}:2888:3888:{kind}\n"));
    }
    out.push_str(&format!("version={version:x}"));
    out
}

/// The configuration every member starts from: its members, version 0.
pub fn initial_view(voters: &[Sid], observers: &[Sid]) -> QuorumView {
    let text = config_text(
        &voters.iter().copied().collect(),
        &observers.iter().copied().collect(),
        0,
    );
    QuorumView::from_config(Bytes::from(text)).unwrap_or_else(|| QuorumView::single(1))
}

impl World {
    /// Whether this client write on `sid` is a reconfig (drawn only with reconfig on, and
    /// only on the serving leader, so that other runs keep their schedules).
    pub(super) fn reconfig_turn(&mut self, sid: Sid) -> bool {
        let n = &self.nodes[(sid - 1) as usize];
        let leads = n.up && n.member.mode() == Mode::Leading && n.member.is_serving();
        self.cfg.reconfig && leads && self.rng.chance(RECONFIG_PERCENT)
    }

    /// The serving leader `sid` proposes a random membership change, unless the runtime
    /// would refuse it.
    pub(super) fn client_reconfig(&mut self, sid: Sid) {
        let now = self.now;
        if self.node(sid).member.reconfig_in_progress() {
            self.stats.reconfigs_refused += 1;
            return;
        }
        let Some(zxid) = self.node(sid).member.next_zxid() else {
            return;
        };
        let current = self.node(sid).member.view().clone();
        let Some((voters, observers)) = self.pick_change(&current) else {
            return;
        };
        let text = config_text(&voters, &observers, zxid);
        let Some(next) = QuorumView::from_config(Bytes::from(text.clone())) else {
            self.checker
                .fail(now, format!("the simulator built a bad config: {text}"));
            return;
        };
        if !self.node(sid).member.is_quorum_synced(&next, now) {
            self.stats.reconfigs_refused += 1;
            return;
        }
        self.stats.reconfigs_proposed += 1;
        self.log.push(format!(
            "{now:>6} node {sid} proposes reconfig {} {} -> {}",
            hex(zxid),
            configs::members(&current),
            configs::members(&next)
        ));
        let txn = reconfig_txn(zxid, &text);
        let SimNode { member, disk, .. } = &mut self.nodes[(sid - 1) as usize];
        let out = member.propose_reconfig(now, zxid, txn, next, &*disk);
        self.perform(sid, out);
        self.aim_fault(sid);
    }

    /// One change to `current`: remove a voter or turn it into an observer while a majority
    /// of all members still votes, add back a removed member, or make an observer vote.
    fn pick_change(&mut self, current: &QuorumView) -> Option<(BTreeSet<Sid>, BTreeSet<Sid>)> {
        let voters: BTreeSet<Sid> = current.voters().collect();
        let observers: BTreeSet<Sid> = current.observers().collect();
        let n = self.nodes.len() as Sid;
        let min_voters = (n / 2 + 1).max(2) as usize;
        let mut changes: Vec<(BTreeSet<Sid>, BTreeSet<Sid>)> = Vec::new();
        for sid in 1..=n {
            let (mut v, mut o) = (voters.clone(), observers.clone());
            if voters.contains(&sid) {
                if voters.len() > min_voters {
                    v.remove(&sid);
                    changes.push((v.clone(), o.clone()));
                    o.insert(sid);
                    changes.push((v, o));
                }
            } else {
                o.remove(&sid);
                v.insert(sid);
                changes.push((v, o));
            }
        }
        if changes.is_empty() {
            return None;
        }
        let i = self.rng.range(0, changes.len() as u64 - 1) as usize;
        Some(changes.swap_remove(i))
    }

    /// In the fault window, some proposals are followed within a few ms by a crash or a
    /// pause of their leader, before the reconfig can commit.
    fn aim_fault(&mut self, sid: Sid) {
        let window = self.cfg.duration_ms * 6 / 10;
        if !self.cfg.faults || self.now >= window || !self.rng.chance(FAULT_PERCENT) {
            return;
        }
        let at = self.now + self.rng.range(0, 15);
        let f = if self.rng.chance(50) {
            Fault::Crash {
                back_after_ms: self.rng.range(200, 4000),
            }
        } else {
            Fault::Pause {
                ms: self.rng.range(600, 3000),
            }
        };
        self.stats.reconfig_faults += 1;
        self.schedule(at, Event::Fault(sid, f));
    }

    pub(super) fn fault(&mut self, sid: Sid, f: Fault) {
        match f {
            Fault::Crash { back_after_ms } if self.node(sid).up => {
                self.crash(sid);
                self.fault_crashed.insert(sid);
                let at = self.now + back_after_ms;
                self.schedule(at, Event::Fault(sid, Fault::Restart));
            }
            Fault::Crash { .. } => {}
            Fault::Restart => {
                if self.fault_crashed.remove(&sid) && !self.node(sid).up {
                    self.restart(sid);
                }
            }
            Fault::Pause { ms } => self.pause(sid, ms),
        }
    }

    /// `Action::ActivateConfig`: the dynamic file is written at once; the activation checked.
    pub(super) fn activate_config(&mut self, sid: Sid, view: QuorumView) {
        if !self.cfg.reconfig {
            return;
        }
        let now = self.now;
        let initial = self.view.version();
        let n = self.node(sid);
        let before = n.disk.config.as_ref().map_or(initial, QuorumView::version);
        n.disk.config = Some(view.clone());
        n.disk.last_seen.take_if(|v| v.version() <= view.version());
        let leading = (n.member.mode() == Mode::Leading).then(|| n.member.epochs().1);
        if let Err(what) = self.configs.activated(sid, &view, before, leading, now) {
            self.checker.fail(now, what);
        }
    }

    /// `Action::LastSeenConfig`: `<zoo.cfg>.dynamic.next` holds it while newer than the
    /// configuration in force.
    pub(super) fn last_seen_config(&mut self, sid: Sid, view: QuorumView) {
        if !self.cfg.reconfig {
            return;
        }
        let initial = self.view.version();
        let n = self.node(sid);
        let in_force = n.disk.config.as_ref().map_or(initial, QuorumView::version);
        n.disk.last_seen = (view.version() > in_force).then_some(view);
    }
}
