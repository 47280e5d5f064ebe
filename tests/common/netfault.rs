//! Network partitions between ensemble members on one machine, on the PEER links only:
//! clients still reach every member. Owns two iptables chains per test process and nothing
//! else in the packet filter; it never touches member processes (that is `ensemble.rs`).
//!
//! Every member listens on 127.0.0.1, so an address cannot say which member sent a packet.
//! The socket owner can: the ensemble runs member `id` as uid `base + id`
//! (`EnsembleOpts::run_as_uids`). A "marks" chain gives every new TCP connection from member
//! A to a peer port (quorum or election) of member B the conntrack mark `mark(A, B)`; every
//! later packet of that connection, in both directions, carries it. A partition between A
//! and B is then two DROP rules in the "drops" chain on `mark(A, B)` and `mark(B, A)`:
//! exact, symmetric, and established connections stall just as on a real network.
//! `heal` flushes the drops chain; `Drop` removes both chains (also while panicking), and
//! `new` removes chains a killed earlier run left behind.
//!
//! Needs root and `iptables`; `new` returns `None` after saying why otherwise, and panics
//! when `CI=true` and `iptables` is missing while running as root.

use std::process::Command;

use super::ensemble::Ensemble;

/// Chain name prefix; the test process id follows.
const PREFIX: &str = "ZKNEM";

/// Peer-link partitions for one ensemble.
pub struct NetFaults {
    marks: String,
    drops: String,
    /// Pairs currently cut, `a < b`.
    cut: Vec<(u64, u64)>,
}

/// Runs iptables with `args`; `Err` with its stderr when it fails.
fn ipt(args: &[&str]) -> Result<(), String> {
    let out = Command::new("iptables")
        .args(["-w", "5"])
        .args(args)
        .output()
        .map_err(|e| format!("iptables: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "iptables {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn ipt_must(args: &[&str]) {
    if let Err(e) = ipt(args) {
        panic!("{e}");
    }
}

/// The conntrack mark of connections from member `a` to a peer port of member `b` (ids up
/// to 15), tagged with this process so that two runs at once cannot cut each other's links.
fn mark(a: u64, b: u64) -> String {
    let tag = u64::from(std::process::id() & 0xffff);
    format!("0x{:x}", (tag << 16) | 0x5a00 | (a << 4) | b)
}

/// Whether partitions can be made here: root and a working `iptables`. Says why not.
pub fn available() -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: network partitions need root (iptables owner/connmark rules)");
        return false;
    }
    if ipt(&["-L", "OUTPUT", "-n"]).is_err() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI=true: running as root but `iptables` is missing or broken (scripts/test.sh installs it)");
        }
        eprintln!("SKIPPED: `iptables` is missing (apt-get install iptables)");
        return false;
    }
    true
}

impl NetFaults {
    /// Installs the marking rules for `ens`, whose members must run under distinct uids
    /// (`run_as_uids(base)`) and must not be started yet (connections made before the rules
    /// carry no mark and could not be cut). `None` when partitions are unavailable.
    pub fn new(ens: &Ensemble, base: u32) -> Option<NetFaults> {
        if !available() {
            return None;
        }
        assert!(ens.members.len() < 16, "marks hold member ids up to 15");
        remove_stale_chains();
        let pid = std::process::id();
        let nf = NetFaults {
            marks: format!("{PREFIX}M{pid}"),
            drops: format!("{PREFIX}D{pid}"),
            cut: Vec::new(),
        };
        for chain in [&nf.marks, &nf.drops] {
            ipt_must(&["-N", chain]);
            ipt_must(&["-A", "OUTPUT", "-o", "lo", "-j", chain]);
        }
        for a in &ens.members {
            let uid = (base + a.id as u32).to_string();
            for b in ens.members.iter().filter(|b| b.id != a.id) {
                for port in [b.quorum_port, b.election_port] {
                    ipt_must(&[
                        "-A",
                        &nf.marks,
                        "-p",
                        "tcp",
                        "--dport",
                        &port.to_string(),
                        "-m",
                        "conntrack",
                        "--ctstate",
                        "NEW",
                        "-m",
                        "owner",
                        "--uid-owner",
                        &uid,
                        "-j",
                        "CONNMARK",
                        "--set-mark",
                        &mark(a.id, b.id),
                    ]);
                }
            }
        }
        Some(nf)
    }

    /// Cuts every peer link between `a` and `b` (both directions).
    pub fn cut(&mut self, a: u64, b: u64) {
        let pair = (a.min(b), a.max(b));
        if self.cut.contains(&pair) {
            return;
        }
        self.drop_between(a, b, &[]);
        self.cut.push(pair);
    }

    /// Cuts `id` from every member of `others`.
    pub fn isolate(&mut self, id: u64, others: &[u64]) {
        for &o in others.iter().filter(|&&o| o != id) {
            self.cut(id, o);
        }
    }

    /// Drops `percent` % of the packets on every peer link between `id` and `others`, each
    /// way, at random (`-m statistic`). TCP resends them after its retransmission timeout
    /// (200 ms or more), so the links turn lossy and slow at once. (tc netem would add plain
    /// delay, but this kernel has no netem qdisc.) `heal` restores them.
    pub fn lossy(&mut self, id: u64, others: &[u64], percent: u64) {
        let p = format!("{:.2}", percent.min(100) as f64 / 100.0);
        let statistic = ["-m", "statistic", "--mode", "random", "--probability", &p];
        for &o in others.iter().filter(|&&o| o != id) {
            self.drop_between(id, o, &statistic);
        }
    }

    /// A DROP rule per direction for the peer links between `a` and `b`, with `matches`
    /// narrowing which packets go.
    fn drop_between(&self, a: u64, b: u64, matches: &[&str]) {
        for m in [mark(a, b), mark(b, a)] {
            let mut args = vec!["-A", &self.drops, "-m", "connmark", "--mark", &m];
            args.extend_from_slice(matches);
            args.extend(["-j", "DROP"]);
            ipt_must(&args);
        }
    }

    /// The pairs currently cut.
    pub fn cuts(&self) -> &[(u64, u64)] {
        &self.cut
    }

    /// Removes every partition and lossy link.
    pub fn heal(&mut self) {
        ipt_must(&["-F", &self.drops]);
        self.cut.clear();
    }
}

impl Drop for NetFaults {
    fn drop(&mut self) {
        for chain in [&self.marks, &self.drops] {
            remove_chain(chain);
        }
    }
}

/// Unhooks `chain` from OUTPUT, flushes and deletes it; errors are reported, not raised
/// (this runs in `Drop`, possibly while panicking).
fn remove_chain(chain: &str) {
    while ipt(&["-D", "OUTPUT", "-o", "lo", "-j", chain]).is_ok() {}
    for args in [["-F", chain], ["-X", chain]] {
        if let Err(e) = ipt(&args) {
            eprintln!("netfault: {e}");
        }
    }
}

/// Removes the chains of test processes that no longer exist (a run killed by SIGKILL
/// cannot run `Drop`).
fn remove_stale_chains() {
    let Ok(out) = Command::new("iptables").args(["-w", "5", "-S"]).output() else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines() {
        let Some(chain) = line.strip_prefix("-N ") else {
            continue;
        };
        let Some(pid) = chain
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.get(1..))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            eprintln!("netfault: removing chain {chain} left by dead process {pid}");
            remove_chain(chain);
        }
    }
}
