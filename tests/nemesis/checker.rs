//! History checkers for the register workload, pure (no I/O): a Wing–Gong–Lowe
//! linearizability search for a versioned register with compare-and-set (ZooKeeper's
//! `setData` with an expected version, `sync`+`getData`), and per-session checks for plain
//! reads. Owns the history types; the workload (`workload.rs`) fills them.
//!
//! Model: the register holds `(version, value)`. A write with expected version `e` succeeds
//! only when the version is `e` (any version when `e` is `None`) and makes it
//! `(version + 1, value)`; it fails with BadVersion only when the version is not `e`. A write
//! that timed out or lost its connection is *indeterminate*: it may take effect at any point
//! after its invocation, or never. Every value written is unique, so a read names the write
//! it saw.
//!
//! Search (Lowe's "just-in-time linearization" form of WGL, as in porcupine): calls and
//! returns sorted by time in a doubly linked list; repeatedly linearize the first call whose
//! op the model accepts (lifting its call and return out of the list), backtrack when a
//! return is reached before its op was linearized, and skip a state already explored (cache
//! of linearized-set × register state). Indeterminate ops return at infinity, so reaching
//! one of their returns means every determinate op is linearized.

use std::collections::{BTreeMap, HashSet};

pub type Version = i32;

/// What a client asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// `getData`; `synced` when a `sync` was sent first (linearizable), plain otherwise.
    Read { synced: bool },
    /// `setData(value, expected)`; `None` is an unconditional write.
    Write {
        value: String,
        expected: Option<Version>,
    },
}

/// What it got back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Read {
        value: String,
        version: Version,
        mzxid: i64,
    },
    Written {
        version: Version,
        mzxid: i64,
    },
    BadVersion,
    /// A read that failed: it did nothing, and says nothing.
    Failed,
    /// A write that timed out or lost its connection: may or may not have happened.
    Unknown,
}

/// One operation of the history.
#[derive(Clone, Debug)]
pub struct Op {
    /// The client object (one ZooKeeper session) that issued it.
    pub session: u64,
    pub call: Call,
    /// Microseconds since the start of the run, taken just before the request was sent.
    pub invoke: u64,
    /// Microseconds since the start, taken when the reply (or error) arrived.
    pub complete: u64,
    pub outcome: Outcome,
}

impl Op {
    /// The register version this op observed (read) or made (write), if it completed so.
    pub fn observed(&self) -> Option<Version> {
        match &self.outcome {
            Outcome::Read { version, .. } | Outcome::Written { version, .. } => Some(*version),
            _ => None,
        }
    }
    fn is_write(&self) -> bool {
        matches!(self.call, Call::Write { .. })
    }
}

/// The register's state in the model.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reg {
    pub version: Version,
    pub value: String,
}

/// The state after `op` from `s`, or `None` when `op` cannot happen in state `s`.
fn step(s: &Reg, op: &Op) -> Option<Reg> {
    match (&op.call, &op.outcome) {
        (Call::Read { .. }, Outcome::Read { value, version, .. }) => {
            (s.version == *version && s.value == *value).then(|| s.clone())
        }
        (Call::Write { value, expected }, Outcome::Written { version, .. }) => {
            (expected.is_none_or(|e| e == s.version) && *version == s.version + 1).then(|| Reg {
                version: *version,
                value: value.clone(),
            })
        }
        (Call::Write { expected, .. }, Outcome::BadVersion) => {
            expected.is_some_and(|e| e != s.version).then(|| s.clone())
        }
        (Call::Write { value, expected }, Outcome::Unknown) => {
            expected.is_none_or(|e| e == s.version).then(|| Reg {
                version: s.version + 1,
                value: value.clone(),
            })
        }
        _ => None,
    }
}

/// Why a history is not linearizable.
#[derive(Debug)]
pub struct NotLinearizable {
    /// Ops linearized on the deepest path the search found.
    pub deepest: usize,
    /// The op that could not be placed there, and the register state it met.
    pub stuck_op: Op,
    pub state: Reg,
    /// The search gave up after `MAX_STATES` states (a valid history of a few workers needs
    /// a few per op; so many means the history is all but certainly not linearizable).
    pub exhausted: bool,
}

/// Explored states before the search gives up (~200 MB of cache).
pub const MAX_STATES: usize = 3_000_000;

struct Entry {
    op: usize,
    call: bool,
    /// For a call, the index of its return entry.
    partner: usize,
    time: u64,
    indeterminate: bool,
}

const NIL: usize = usize::MAX;

/// Removes indeterminate writes that cannot have taken effect, which the search would
/// otherwise try at every point of the history (an unconditional one fits anywhere). A write
/// that took effect made some version; when every version from the first to the highest
/// seen is accounted for — made by an acknowledged write, or read with a value an
/// indeterminate write wrote — a write whose value nobody read had no version to make.
/// With a gap, every indeterminate write stays.
fn drop_unseen_indeterminate<'a>(ops: Vec<&'a Op>, history: &[Op]) -> Vec<&'a Op> {
    let mut read_values: HashSet<&str> = HashSet::new();
    let mut versions: HashSet<Version> = HashSet::new();
    let (mut lo, mut hi) = (Version::MAX, Version::MIN);
    for o in history {
        let v = match &o.outcome {
            Outcome::Read { value, version, .. } => {
                read_values.insert(value.as_str());
                *version
            }
            Outcome::Written { version, .. } => *version,
            _ => continue,
        };
        versions.insert(v);
        (lo, hi) = (lo.min(v), hi.max(v));
    }
    if lo <= hi && (lo..=hi).any(|v| !versions.contains(&v)) {
        return ops;
    }
    ops.into_iter()
        .filter(|o| match (&o.call, &o.outcome) {
            (Call::Write { value, .. }, Outcome::Unknown) => read_values.contains(value.as_str()),
            _ => true,
        })
        .collect()
}

/// Checks that the linearizable part of `history` (synced reads and writes; plain and
/// failed reads are ignored) is linearizable from `init`.
pub fn check_linearizable(history: &[Op], init: Reg) -> Result<usize, Box<NotLinearizable>> {
    let ops: Vec<&Op> = history
        .iter()
        .filter(|o| match (&o.call, &o.outcome) {
            (_, Outcome::Failed) => false,
            (Call::Read { synced }, _) => *synced,
            (Call::Write { .. }, _) => true,
        })
        .collect();
    let ops = drop_unseen_indeterminate(ops, history);
    let mut raw: Vec<(u64, bool, usize, bool)> = Vec::new();
    for (i, o) in ops.iter().enumerate() {
        let unknown = o.outcome == Outcome::Unknown;
        raw.push((o.invoke, true, i, unknown));
        raw.push((
            if unknown { u64::MAX } else { o.complete },
            false,
            i,
            unknown,
        ));
    }
    // By time; at equal times calls first (overlapping ops are concurrent, the lenient way).
    raw.sort_by_key(|&(t, call, i, _)| (t, !call, i));
    let mut entries: Vec<Entry> = raw
        .iter()
        .map(|&(time, call, op, indeterminate)| Entry {
            op,
            call,
            partner: NIL,
            time,
            indeterminate,
        })
        .collect();
    let mut ret_of = vec![NIL; ops.len()];
    for (i, e) in entries.iter().enumerate() {
        if !e.call {
            ret_of[e.op] = i;
        }
    }
    for e in entries.iter_mut().filter(|e| e.call) {
        e.partner = ret_of[e.op];
    }
    debug_assert!(entries.windows(2).all(|w| w[0].time <= w[1].time));
    let n = entries.len();
    let head = n;
    // Doubly linked list over entries 0..n with a head sentinel at index n.
    let mut next: Vec<usize> = (1..=n).map(|i| if i == n { NIL } else { i }).collect();
    next.push(if n == 0 { NIL } else { 0 });
    let mut prev: Vec<usize> = (0..n).map(|i| if i == 0 { head } else { i - 1 }).collect();
    prev.push(NIL);

    let lift = |next: &mut Vec<usize>, prev: &mut Vec<usize>, i: usize| {
        let (p, nx) = (prev[i], next[i]);
        next[p] = nx;
        if nx != NIL {
            prev[nx] = p;
        }
    };
    let unlift = |next: &mut Vec<usize>, prev: &mut Vec<usize>, i: usize| {
        let (p, nx) = (prev[i], next[i]);
        next[p] = i;
        if nx != NIL {
            prev[nx] = i;
        }
    };

    // The cache key: a Zobrist hash of the linearized set (128 random bits per op, XORed in
    // and out), the version and a hash of the value: 40 bytes a state where the set itself
    // would take ops/8 bytes (a failing search of 60,000 ops filled 24 GB that way).
    let zobrist: Vec<u128> = {
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        (0..ops.len())
            .map(|_| (u128::from(next()) << 64) | u128::from(next()))
            .collect()
    };
    let key = |lin: u128, s: &Reg| {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        s.value.hash(&mut h);
        (lin, s.version, h.finish())
    };
    let mut linearized = 0u128;
    let mut cache: HashSet<(u128, Version, u64)> = HashSet::new();
    let mut stack: Vec<(usize, Reg)> = Vec::new();
    let mut state = init;
    let mut best: Option<(usize, usize, Reg)> = None;
    let mut cur = next[head];
    loop {
        if cur == NIL {
            return Ok(ops.len());
        }
        let e = &entries[cur];
        if e.call {
            if let Some(ns) = step(&state, ops[e.op]) {
                let lin = linearized ^ zobrist[e.op];
                if cache.len() >= MAX_STATES {
                    let (deepest, op, st) = best.unwrap_or((stack.len(), e.op, state.clone()));
                    return Err(Box::new(NotLinearizable {
                        deepest,
                        stuck_op: ops[op].clone(),
                        state: st,
                        exhausted: true,
                    }));
                }
                if cache.insert(key(lin, &ns)) {
                    let partner = e.partner;
                    stack.push((cur, std::mem::replace(&mut state, ns)));
                    linearized = lin;
                    lift(&mut next, &mut prev, cur);
                    lift(&mut next, &mut prev, partner);
                    cur = next[head];
                    continue;
                }
            }
            cur = next[cur];
        } else if e.indeterminate {
            // Every determinate return is before this one and none is left: all placed.
            return Ok(ops.len());
        } else {
            if best.as_ref().is_none_or(|b| stack.len() > b.0) {
                best = Some((stack.len(), e.op, state.clone()));
            }
            let Some((call, prev_state)) = stack.pop() else {
                let (deepest, op, st) = best.unwrap_or((0, e.op, state.clone()));
                return Err(Box::new(NotLinearizable {
                    deepest,
                    stuck_op: ops[op].clone(),
                    state: st,
                    exhausted: false,
                }));
            };
            linearized ^= zobrist[entries[call].op];
            state = prev_state;
            unlift(&mut next, &mut prev, entries[call].partner);
            unlift(&mut next, &mut prev, call);
            cur = next[call];
        }
    }
}

/// Per-session order: in the order a session issued them (ZooKeeper applies one session's
/// requests in order, FIFO), the versions it observed never go back, and each of its writes
/// makes a version above everything it saw before. Covers plain reads (which need not be
/// linearizable but must not travel back in time, also across a reconnect to another
/// member) and read-your-writes. Also: one version never shows two different values or
/// zxids anywhere. Returns every violation found.
pub fn check_sessions(history: &[Op]) -> Vec<String> {
    let mut errors = Vec::new();
    let mut by_session: BTreeMap<u64, Vec<&Op>> = BTreeMap::new();
    for op in history {
        by_session.entry(op.session).or_default().push(op);
    }
    for (session, mut ops) in by_session {
        // Invocation order is issue order: a session's requests are sent from one task.
        ops.sort_by_key(|o| o.invoke);
        let mut seen: Option<(Version, &Op)> = None;
        for op in ops {
            let Some(v) = op.observed() else { continue };
            if let Some((max, at)) = seen {
                let bad = if op.is_write() { v <= max } else { v < max };
                if bad {
                    errors.push(format!(
                        "session {session}: {op:?} observed version {v} after {at:?} had observed {max}"
                    ));
                }
            }
            if seen.is_none_or(|(max, _)| v > max) {
                seen = Some((v, op));
            }
        }
    }
    let mut versions: BTreeMap<Version, (&str, i64, &Op)> = BTreeMap::new();
    for op in history {
        let (value, version, mzxid) = match (&op.call, &op.outcome) {
            (
                _,
                Outcome::Read {
                    value,
                    version,
                    mzxid,
                },
            ) => (value.as_str(), *version, *mzxid),
            (Call::Write { value, .. }, Outcome::Written { version, mzxid }) => {
                (value.as_str(), *version, *mzxid)
            }
            _ => continue,
        };
        match versions.get(&version) {
            None => {
                versions.insert(version, (value, mzxid, op));
            }
            Some((v, z, first)) if *v != value || *z != mzxid => errors.push(format!(
                "version {version} is {value:?} at zxid {mzxid:#x} in {op:?} but {v:?} at zxid {z:#x} in {first:?}"
            )),
            Some(_) => {}
        }
    }
    errors
}

#[cfg(test)]
#[path = "checker_tests.rs"]
mod tests;
