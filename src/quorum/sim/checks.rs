//! The invariants the simulation checks after every event:
//! - at most one leader is established per epoch;
//! - a txn is the same on every member that applies its zxid;
//! - a member applies zxids in increasing order (checked by the node);
//! - members at the same applied zxid hold the same state;
//! - every acknowledged write (committed by a leader) is in every later leader's state, and in
//!   every member's once the faults heal.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;

use super::node::SimNode;
use crate::quorum::zxid::{hex, make_zxid};
use crate::quorum::{Mode, Sid};

/// A broken invariant, with the simulated time it was seen at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub at_ms: u64,
    pub what: String,
}

#[derive(Debug, Default)]
pub struct Checker {
    /// Every (zxid, txn) any member applied.
    pub txns: BTreeMap<i64, Bytes>,
    /// Writes acknowledged to clients: applied by the leader that proposed them.
    pub acked: BTreeMap<i64, Bytes>,
    leaders: HashMap<i64, Sid>,
    violation: Option<Violation>,
    pub elections: u64,
}

impl Checker {
    pub fn fail(&mut self, at_ms: u64, what: String) {
        if self.violation.is_none() {
            self.violation = Some(Violation { at_ms, what });
        }
    }

    pub fn take_violation(&mut self) -> Option<Violation> {
        self.violation.take()
    }

    /// A member's state was rebuilt (crash, TRUNC, SNAP): nothing to forget globally.
    pub fn reset(&mut self, _sid: Sid) {}

    pub fn applied(&mut self, sid: Sid, zxid: i64, txn: &Bytes, leading: bool, now: u64) {
        match self.txns.get(&zxid) {
            Some(t) if t != txn => self.fail(
                now,
                format!("node {sid} applied a different txn at {}", hex(zxid)),
            ),
            Some(_) => {}
            None => {
                self.txns.insert(zxid, txn.clone());
            }
        }
        if leading {
            self.acked.insert(zxid, txn.clone());
        }
    }

    pub fn leader_established(&mut self, node: &SimNode, now: u64) {
        self.elections += 1;
        let epoch = node.member.epochs().1;
        if let Some(other) = self.leaders.insert(epoch, node.sid) {
            if other != node.sid {
                self.fail(
                    now,
                    format!("two leaders in epoch {epoch}: {other} and {}", node.sid),
                );
            }
        }
        let held: BTreeMap<i64, &Bytes> = node.state.iter().map(|(z, t)| (*z, t)).collect();
        for (z, t) in self.acked.range(..make_zxid(epoch, 0)) {
            if held.get(z) != Some(&t) {
                self.fail(
                    now,
                    format!(
                        "leader {} of epoch {epoch} lacks acknowledged write {}",
                        node.sid,
                        hex(*z)
                    ),
                );
                return;
            }
        }
    }

    /// Members at the same applied zxid must hold the same state.
    pub fn check_states(&mut self, nodes: &[SimNode], now: u64) -> Result<(), Violation> {
        let mut seen: HashMap<i64, (Sid, u64)> = HashMap::new();
        for n in nodes.iter().filter(|n| n.up) {
            let last = n.state.last().map_or(0, |(z, _)| *z);
            match seen.get(&last) {
                Some((other, d)) if *d != n.digest => {
                    let o = &nodes[(*other - 1) as usize];
                    let a: Vec<i64> = o.state.iter().map(|(z, _)| *z).collect();
                    let b: Vec<i64> = n.state.iter().map(|(z, _)| *z).collect();
                    let first = a
                        .iter()
                        .zip(&b)
                        .position(|(x, y)| x != y)
                        .unwrap_or(a.len().min(b.len()));
                    let show = |v: &[i64]| {
                        v[first.saturating_sub(2)..(first + 3).min(v.len())]
                            .iter()
                            .map(|z| hex(*z))
                            .collect::<Vec<_>>()
                    };
                    return Err(Violation {
                        at_ms: now,
                        what: format!(
                            "nodes {other} and {} both applied up to {} with different states: {} txns vs {}, first difference at index {first}: {:?} vs {:?}",
                            n.sid,
                            hex(last),
                            a.len(),
                            b.len(),
                            show(&a),
                            show(&b)
                        ),
                    });
                }
                Some(_) => {}
                None => {
                    seen.insert(last, (n.sid, n.digest));
                }
            }
        }
        Ok(())
    }

    /// Quiescence after healing: one leader, all serving the same state with every ack.
    pub fn converged(&self, nodes: &[SimNode], now: u64) -> Result<(), Violation> {
        let fail = |what: String| Err(Violation { at_ms: now, what });
        let leaders: Vec<Sid> = nodes
            .iter()
            .filter(|n| n.member.mode() == Mode::Leading && n.member.is_serving())
            .map(|n| n.sid)
            .collect();
        if leaders.len() != 1 {
            return fail(format!("expected one serving leader, found {leaders:?}"));
        }
        let Some(first) = nodes.first() else {
            return Ok(());
        };
        for n in nodes {
            if !n.member.is_serving() {
                return fail(format!(
                    "node {} is not serving ({:?})",
                    n.sid,
                    n.member.mode()
                ));
            }
            if n.digest != first.digest || n.state.len() != first.state.len() {
                return fail(format!(
                    "node {} state differs from node {} ({} vs {} txns)",
                    n.sid,
                    first.sid,
                    n.state.len(),
                    first.state.len()
                ));
            }
        }
        let held: BTreeMap<i64, &Bytes> = first.state.iter().map(|(z, t)| (*z, t)).collect();
        for (z, t) in &self.acked {
            if held.get(z) != Some(&t) {
                return fail(format!("acknowledged write {} was lost", hex(*z)));
            }
        }
        Ok(())
    }
}
