//! The configuration invariants of a simulation with dynamic reconfiguration
//! (`Config.reconfig`), checked as members activate configurations and at convergence:
//! - a member's configuration versions only grow (across restarts too: the dynamic file);
//! - every activation of a version, on any member and incarnation, installs the same
//!   configuration;
//! - a version whose counter is 0 (NEWLEADER's stamp, `epoch << 32`) has the initial members;
//!   any other version is the zxid of an applied reconfig txn carrying exactly that
//!   configuration (checked once the txn is applied, at the latest at convergence);
//! - at convergence every member has the same configuration in force, on disk as in memory:
//!   the last reconfig txn's of the agreed history, or the stamped initial one if none.
//!
//! Owns only this bookkeeping; must not drive the simulation.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

use super::checks::Violation;
use super::node::SimNode;
use crate::quorum::wire::payload::reconfig_config;
use crate::quorum::zxid::{counter_of, epoch_of, hex};
use crate::quorum::{QuorumView, Sid};

/// What the checks know of the configurations activated so far.
#[derive(Debug, Default)]
pub struct Configs {
    /// The configuration every member starts from (version 0).
    initial: Option<QuorumView>,
    /// Version → the configuration first activated with it, by whom, when.
    activated: BTreeMap<i64, (QuorumView, Sid, u64)>,
    /// Reconfig versions activated whose txn nobody has applied yet.
    unverified: BTreeSet<i64>,
    /// Reconfig versions a leader put in force in a later epoch than it was proposed in.
    pub resumed: BTreeSet<i64>,
}

/// `voters / observers` of a view, for messages.
pub fn members(v: &QuorumView) -> String {
    format!(
        "{:?}/{:?}",
        v.voters().collect::<Vec<_>>(),
        v.observers().collect::<Vec<_>>()
    )
}

fn same_members(a: &QuorumView, b: &QuorumView) -> bool {
    a.voters().eq(b.voters()) && a.observers().eq(b.observers())
}

/// The configuration a reconfig txn installs, if `txn` is one.
pub fn txn_view(txn: &Bytes) -> Option<QuorumView> {
    reconfig_config(txn).and_then(QuorumView::from_config)
}

impl Configs {
    pub fn new(initial: QuorumView) -> Configs {
        Configs {
            initial: Some(initial),
            ..Configs::default()
        }
    }

    /// Reconfig versions (counter ≠ 0) activated so far.
    pub fn reconfigs_activated(&self) -> usize {
        self.activated
            .keys()
            .filter(|v| counter_of(**v) != 0)
            .count()
    }

    /// `sid` activated `view` (its previous configuration: `before`); `leading_epoch` when it
    /// leads. `Err` names the broken invariant.
    pub fn activated(
        &mut self,
        sid: Sid,
        view: &QuorumView,
        before: i64,
        leading_epoch: Option<i64>,
        now: u64,
    ) -> Result<(), String> {
        let v = view.version();
        if v <= before {
            return Err(format!(
                "node {sid} activated configuration {} at {now} ms over {} (versions must grow)",
                hex(v),
                hex(before)
            ));
        }
        match self.activated.get(&v) {
            Some((first, other, at)) if first != view => {
                return Err(format!(
                    "node {sid} activated version {} at {now} ms as {}, node {other} as {} at {at} ms",
                    hex(v),
                    members(view),
                    members(first)
                ));
            }
            Some(_) => {}
            None => {
                self.activated.insert(v, (view.clone(), sid, now));
                if counter_of(v) != 0 {
                    self.unverified.insert(v);
                }
            }
        }
        if counter_of(v) == 0 {
            let initial = self.initial.as_ref();
            if !initial.is_some_and(|i| same_members(i, view)) {
                return Err(format!(
                    "node {sid} activated stamped version {} at {now} ms with {}, not the initial members",
                    hex(v),
                    members(view)
                ));
            }
        } else if leading_epoch.is_some_and(|e| e > epoch_of(v)) {
            self.resumed.insert(v);
        }
        Ok(())
    }

    /// Activated reconfig versions whose txn has been applied must carry that configuration.
    pub fn verify(&mut self, txns: &BTreeMap<i64, Bytes>, now: u64) -> Result<(), Violation> {
        let ready: Vec<i64> = self
            .unverified
            .iter()
            .copied()
            .filter(|v| txns.contains_key(v))
            .collect();
        for v in ready {
            self.unverified.remove(&v);
            let Some((view, sid, at)) = self.activated.get(&v) else {
                continue;
            };
            let carried = txns.get(&v).and_then(txn_view);
            if carried.as_ref() != Some(view) {
                return Err(Violation {
                    at_ms: now,
                    what: format!(
                        "node {sid} activated version {} at {at} ms as {}, but the txn applied at {} installs {}",
                        hex(v),
                        members(view),
                        hex(v),
                        carried.as_ref().map_or("nothing (not a reconfig)".into(), members)
                    ),
                });
            }
        }
        Ok(())
    }

    /// At convergence: every activation verified, and every member on the configuration of
    /// the agreed history's last reconfig (or the stamped initial one).
    pub fn converged(
        &mut self,
        nodes: &[SimNode],
        txns: &BTreeMap<i64, Bytes>,
        now: u64,
    ) -> Result<(), Violation> {
        self.verify(txns, now)?;
        let fail = |what: String| Err(Violation { at_ms: now, what });
        if let Some(v) = self.unverified.first() {
            if let Some((view, sid, at)) = self.activated.get(v) {
                return fail(format!(
                    "node {sid} activated version {} ({}) at {at} ms, but no txn was ever applied at {}",
                    hex(*v),
                    members(view),
                    hex(*v)
                ));
            }
        }
        let Some(first) = nodes.first() else {
            return Ok(());
        };
        let expected = first.state.iter().rev().find_map(|(_, t)| txn_view(t));
        let in_force = first.member.view();
        match &expected {
            Some(e) if e != in_force => {
                return fail(format!(
                    "node {} has version {} ({}) in force, the last reconfig committed is {} ({})",
                    first.sid,
                    hex(in_force.version()),
                    members(in_force),
                    hex(e.version()),
                    members(e)
                ));
            }
            Some(_) => {}
            None => {
                let initial = self.initial.as_ref();
                if counter_of(in_force.version()) != 0
                    || !initial.is_some_and(|i| same_members(i, in_force))
                {
                    return fail(format!(
                        "node {} has version {} ({}) in force, but no reconfig committed",
                        first.sid,
                        hex(in_force.version()),
                        members(in_force)
                    ));
                }
            }
        }
        for n in nodes {
            let v = n.member.view();
            if v != in_force {
                return fail(format!(
                    "node {} has version {} ({}) in force, node {} has {} ({})",
                    n.sid,
                    hex(v.version()),
                    members(v),
                    first.sid,
                    hex(in_force.version()),
                    members(in_force)
                ));
            }
            if n.disk.config.as_ref().is_some_and(|d| d != v) {
                return fail(format!(
                    "node {} has version {} in force but its dynamic file holds another",
                    n.sid,
                    hex(v.version())
                ));
            }
        }
        Ok(())
    }
}
