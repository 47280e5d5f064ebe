//! A seeded, deterministic simulation of an ensemble: the real `Member` state machines on an
//! in-memory network (delays, partitions, broken connections), with simulated fsync latency,
//! crashes that keep only fsynced state, and a client load of writes and `sync`s (and, with
//! `Config.reconfig`, dynamic reconfigurations: `reconfig`). Invariants (in `checks`, `syncs`
//! for the `sync`s, `configs` for the configurations) are checked after every event; a
//! failure names the seed that reproduces it.

mod checks;
mod configs;
mod faults;
mod host;
mod net;
mod node;
mod reconfig;
#[cfg(test)]
mod reconfig_tests;
mod stats;
mod syncs;
#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};

use bytes::Bytes;

use super::action::{Action, Input, LinkId};
use super::wire::{Notification, QuorumPacket};
use super::{Mode, QuorumView, Sid, Timing};
use checks::Checker;
pub use checks::Violation;
use node::{decode_state, encode_state, fake_txn, Setup, SimNode};
pub use stats::Stats;

/// SplitMix64: small, seeded, good enough for schedules.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

#[derive(Debug, Clone)]
enum Event {
    Tick(Sid),
    Input {
        to: Sid,
        inc: u64,
        input: Input,
    },
    /// A packet on a connection, dropped if the connection broke meanwhile.
    ConnInput {
        conn: usize,
        to: Sid,
        input: Input,
    },
    Fsynced {
        node: Sid,
        inc: u64,
        upto: usize,
    },
    ClientWrite(Sid),
    /// A fault aimed at a reconfig in flight (see `reconfig`).
    Fault(Sid, reconfig::Fault),
}

/// A quorum-port connection between a learner's link and a leader's link.
#[derive(Debug, Clone)]
struct Conn {
    ends: [(Sid, LinkId); 2],
    alive: bool,
    /// Deliveries keep TCP order: never before the previous one on the same direction.
    last_delivery: [u64; 2],
}

/// Simulation parameters.
#[derive(Debug, Clone)]
pub struct Config {
    pub voters: u64,
    pub observers: u64,
    pub timing: Timing,
    /// Milliseconds of simulated time.
    pub duration_ms: u64,
    /// Faults on (crash, partition, broken links) during the first part of the run.
    pub faults: bool,
    /// Client writes per second, spread over all members.
    pub write_rate: u64,
    /// `reconfigEnabled`, and a few % of the serving leader's client writes are reconfigs
    /// (`reconfig`); off, every member keeps the initial configuration.
    pub reconfig: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            voters: 3,
            observers: 0,
            timing: Timing {
                tick_ms: 100,
                init_limit: 10,
                sync_limit: 5,
                min_notification_ms: 200,
                max_notification_ms: 1600,
                finalize_wait_ms: 200,
            },
            duration_ms: 30_000,
            faults: true,
            write_rate: 50,
            reconfig: false,
        }
    }
}

pub struct World {
    cfg: Config,
    rng: Rng,
    now: u64,
    seq: u64,
    events: BinaryHeap<Reverse<(u64, u64, usize)>>,
    payloads: HashMap<usize, Event>,
    next_payload: usize,
    view: QuorumView,
    nodes: Vec<SimNode>,
    conns: Vec<Conn>,
    /// Pairs that cannot talk.
    cut: BTreeSet<(Sid, Sid)>,
    /// Paused nodes (SIGSTOP) and when they resume: their events wait until then.
    paused: HashMap<Sid, u64>,
    /// Members that were elected leader and have not stopped serving since.
    leading: BTreeSet<Sid>,
    /// The last notification each member sent each peer: a new election connection starts by
    /// re-sending it (`QuorumCnxManager`'s lastMessageSent), e.g. after a partition heals.
    last_sent: HashMap<(Sid, Sid), Notification>,
    /// FIFO order of election messages per (from, to).
    election_last: HashMap<(Sid, Sid), u64>,
    next_txn_id: u64,
    /// Nodes a reconfig fault crashed, restarted by their `Fault::Restart`.
    fault_crashed: BTreeSet<Sid>,
    pub configs: configs::Configs,
    pub syncs: syncs::Syncs,
    pub checker: Checker,
    pub stats: Stats,
    pub log: Vec<String>,
}

impl World {
    pub fn new(seed: u64, cfg: Config) -> World {
        let voters: Vec<Sid> = (1..=cfg.voters).collect();
        let observers: Vec<Sid> = (cfg.voters + 1..=cfg.voters + cfg.observers).collect();
        let view = if cfg.reconfig {
            reconfig::initial_view(&voters, &observers)
        } else {
            QuorumView::new(voters, observers, Bytes::from_static(b"version=0"))
        };
        let setup = Setup {
            timing: cfg.timing,
            reconfig: cfg.reconfig,
        };
        let nodes = (1..=cfg.voters + cfg.observers)
            .map(|sid| SimNode::new(sid, &view, view.is_observer(sid), setup))
            .collect();
        let configs = configs::Configs::new(view.clone());
        let mut w = World {
            rng: Rng::new(seed),
            cfg,
            now: 0,
            seq: 0,
            events: BinaryHeap::new(),
            payloads: HashMap::new(),
            next_payload: 0,
            view,
            nodes,
            conns: Vec::new(),
            cut: BTreeSet::new(),
            paused: HashMap::new(),
            leading: BTreeSet::new(),
            election_last: HashMap::new(),
            last_sent: HashMap::new(),
            next_txn_id: 1,
            fault_crashed: BTreeSet::new(),
            configs,
            syncs: syncs::Syncs::default(),
            checker: Checker::default(),
            stats: Stats::default(),
            log: Vec::new(),
        };
        for sid in 1..=w.nodes.len() as Sid {
            let start = w.rng.range(0, 300);
            w.schedule(start, Event::Tick(sid));
            let out = w.node(sid).member.start(start);
            w.perform(sid, out);
        }
        let first = w.write_gap();
        w.schedule(first, Event::ClientWrite(1));
        w
    }

    fn setup(&self) -> Setup {
        Setup {
            timing: self.cfg.timing,
            reconfig: self.cfg.reconfig,
        }
    }

    fn node(&mut self, sid: Sid) -> &mut SimNode {
        &mut self.nodes[(sid - 1) as usize]
    }

    fn schedule(&mut self, at: u64, e: Event) {
        self.seq += 1;
        let id = self.next_payload;
        self.next_payload += 1;
        self.payloads.insert(id, e);
        self.events.push(Reverse((at, self.seq, id)));
    }

    fn write_gap(&mut self) -> u64 {
        let rate = self.cfg.write_rate.max(1);
        self.now + self.rng.range(1, 2000 / rate)
    }

    fn connected(&self, a: Sid, b: Sid) -> bool {
        !self.cut.contains(&(a.min(b), a.max(b)))
    }

    /// Runs until `until` (ms of simulated time); stops at the first violation.
    pub fn run_until(&mut self, until: u64) -> Result<(), Violation> {
        while let Some(Reverse((at, _, id))) = self.events.peek().copied() {
            if at > until {
                break;
            }
            self.events.pop();
            self.now = at;
            let Some(e) = self.payloads.remove(&id) else {
                continue;
            };
            if let Some(until) = self.target(&e).and_then(|s| self.paused.get(&s).copied()) {
                if at < until {
                    // A stopped process handles nothing; its socket buffers hold the input.
                    self.seq += 1;
                    self.payloads.insert(id, e);
                    self.events.push(Reverse((until, self.seq, id)));
                    continue;
                }
            }
            self.handle(e);
            self.checker.check_states(&self.nodes, self.now)?;
            if let Some(v) = self.checker.take_violation() {
                return Err(v);
            }
            self.configs.verify(&self.checker.txns, self.now)?;
        }
        self.now = until;
        Ok(())
    }

    fn target(&self, e: &Event) -> Option<Sid> {
        match e {
            Event::Tick(s) | Event::ClientWrite(s) => Some(*s),
            Event::Input { to, .. } | Event::ConnInput { to, .. } => Some(*to),
            Event::Fsynced { node, .. } => Some(*node),
            Event::Fault(..) => None,
        }
    }

    fn handle(&mut self, e: Event) {
        match e {
            Event::Tick(sid) => {
                let next = self.now + 50;
                self.schedule(next, Event::Tick(sid));
                if self.node(sid).up {
                    self.feed(sid, Input::Tick);
                }
            }
            Event::Input { to, inc, input } => {
                if self.node(to).up && self.node(to).incarnation == inc {
                    self.feed(to, input);
                }
            }
            Event::ConnInput { conn, to, input } => {
                if self.conns[conn].alive && self.node(to).up {
                    self.feed(to, input);
                }
            }
            Event::Fsynced { node, inc, upto } => {
                let n = self.node(node);
                if !n.up || n.incarnation != inc {
                    return;
                }
                n.fsync_upto = None;
                let upto = upto.min(n.disk.log.len());
                n.disk.durable = n.disk.durable.max(upto);
                let zxid = n.disk.log.get(upto.wrapping_sub(1)).map(|(z, _)| *z);
                if let Some(z) = zxid {
                    self.feed(node, Input::Persisted { zxid: z });
                }
                self.start_fsync(node);
            }
            Event::ClientWrite(sid) => {
                // The last seconds are quiet so that the final state can settle.
                if self.now + 3000 >= self.cfg.duration_ms {
                    return;
                }
                let next = self.write_gap();
                let target = self.rng.range(1, self.nodes.len() as u64);
                self.schedule(next, Event::ClientWrite(target));
                if self.rng.chance(25) {
                    self.client_sync(sid);
                } else if self.reconfig_turn(sid) {
                    self.client_reconfig(sid);
                } else {
                    self.client_write(sid);
                }
            }
            Event::Fault(sid, f) => self.fault(sid, f),
        }
    }

    fn feed(&mut self, sid: Sid, input: Input) {
        let now = self.now;
        let SimNode { member, disk, .. } = &mut self.nodes[(sid - 1) as usize];
        let out = member.step(now, input, &*disk);
        self.perform(sid, out);
    }

    /// A client write on `sid`: the leader proposes it; a learner forwards it.
    fn client_write(&mut self, sid: Sid) {
        if !self.node(sid).up {
            return;
        }
        let id = self.next_txn_id;
        self.next_txn_id += 1;
        let now = self.now;
        match self.node(sid).member.mode() {
            Mode::Leading => self.leader_propose(sid, id),
            Mode::Following | Mode::Observing if self.node(sid).member.is_serving() => {
                let req = crate::quorum::wire::payload::ForwardedRequest {
                    session: 1,
                    cxid: 1,
                    op: 5,
                    body: Bytes::copy_from_slice(&id.to_be_bytes()),
                };
                let out = self.node(sid).member.forward(now, &req, Vec::new());
                self.perform(sid, out);
            }
            _ => {}
        }
    }

    fn leader_propose(&mut self, sid: Sid, id: u64) {
        let now = self.now;
        let Some(zxid) = self.node(sid).member.next_zxid() else {
            return;
        };
        let txn = fake_txn(zxid, id);
        let SimNode { member, disk, .. } = &mut self.nodes[(sid - 1) as usize];
        let out = member.propose(now, zxid, txn, &*disk);
        self.perform(sid, out);
    }

    fn perform(&mut self, sid: Sid, actions: Vec<Action>) {
        for a in actions {
            self.perform_one(sid, a);
        }
    }

    fn start_fsync(&mut self, sid: Sid) {
        let delay = self.rng.range(1, 25);
        let n = self.node(sid);
        if n.fsync_upto.is_some() || n.disk.durable >= n.disk.log.len() {
            return;
        }
        let upto = n.disk.log.len();
        n.fsync_upto = Some(upto);
        let inc = n.incarnation;
        let at = self.now + delay;
        self.schedule(
            at,
            Event::Fsynced {
                node: sid,
                inc,
                upto,
            },
        );
    }

    pub fn now(&self) -> u64 {
        self.now
    }

    pub fn node_count(&self) -> u64 {
        self.nodes.len() as u64
    }

    pub fn is_up(&self, sid: Sid) -> bool {
        self.nodes[(sid - 1) as usize].up
    }

    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// After faults heal: one leader, every member serving the same history, holding every
    /// acknowledged write.
    pub fn check_converged(&mut self) -> Result<(), Violation> {
        self.checker.converged(&self.nodes, self.now)?;
        if self.cfg.reconfig {
            self.configs
                .converged(&self.nodes, &self.checker.txns, self.now)?;
            self.stats.reconfigs_activated = self.configs.reconfigs_activated() as u64;
            self.stats.reconfigs_resumed = self.configs.resumed.len() as u64;
        }
        Ok(())
    }

    pub fn modes(&self) -> Vec<(Sid, Mode, bool, i64)> {
        self.nodes
            .iter()
            .map(|n| (n.sid, n.member.mode(), n.member.is_serving(), n.applied))
            .collect()
    }
}
