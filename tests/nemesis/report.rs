//! What a nemesis run leaves behind: the journal of faults, the summary line the soak script
//! sums up, and on failure one folder with the panic message, the schedule and seed, the
//! whole history, the creates and every member's log. Reads the recording; changes nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::workload::Recorded;

/// What happened, for the report and the failure folder.
#[derive(Default)]
pub struct Journal {
    pub lines: Vec<String>,
    pub faults: BTreeMap<String, usize>,
}

/// Saves the evidence of a failing run (history, schedule, logs) when dropped while
/// panicking; declared after the ensemble so it runs before the ensemble is torn down.
pub struct Evidence {
    pub seed: u64,
    pub imp: String,
    pub logs: Vec<(u64, PathBuf)>,
    pub journal: Arc<Mutex<Journal>>,
    pub history: Arc<Mutex<Recorded>>,
}

/// The message of the last panic, for the evidence folder (set by the hook `capture_panics`
/// installs).
static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

/// Keeps the default panic output and also remembers the message for `Evidence`.
pub fn capture_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = info.to_string();
        }
        default(info);
    }));
}

impl Evidence {
    fn save(&self) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "nemesis-failure-seed{}-{}-{}",
            self.seed,
            self.imp,
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let j = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        std::fs::write(
            dir.join("schedule.txt"),
            format!(
                "seed {}\nimpl {}\n{}\n",
                self.seed,
                self.imp,
                j.lines.join("\n")
            ),
        )
        .unwrap();
        let h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let mut text = String::new();
        for op in &h.ops {
            let _ = writeln!(text, "{op:?}");
        }
        std::fs::write(dir.join("history.txt"), text).unwrap();
        std::fs::write(
            dir.join("creates.txt"),
            format!("acked {:?}\nmaybe {:?}\n", h.created, h.maybe_created),
        )
        .unwrap();
        let why = LAST_PANIC.lock().map(|m| m.clone()).unwrap_or_default();
        std::fs::write(dir.join("failure.txt"), why).unwrap();
        for (id, log) in &self.logs {
            let _ = std::fs::copy(log, dir.join(format!("member{id}.log")));
        }
        dir
    }
}

impl Drop for Evidence {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let dir = self.save();
            eprintln!(
                "NEMESIS FAILURE (seed {}): evidence in {}",
                self.seed,
                dir.display()
            );
        }
    }
}

pub fn note(journal: &Arc<Mutex<Journal>>, t0: Instant, line: String) {
    let line = format!("{:>9.3}s {line}", t0.elapsed().as_secs_f64());
    eprintln!("nemesis: {line}");
    journal.lock().unwrap().lines.push(line);
}

/// Counts for the report line.
#[derive(Default)]
pub struct Summary {
    pub seeds: usize,
    pub faults: BTreeMap<String, usize>,
    pub ops: usize,
    pub indeterminate: usize,
    pub creates: usize,
    pub queue_ops: usize,
    pub leases: usize,
    pub sessions: u64,
}

impl Summary {
    pub fn add(&mut self, s: &Summary) {
        self.seeds += s.seeds;
        for (k, v) in &s.faults {
            *self.faults.entry(k.clone()).or_default() += v;
        }
        self.ops += s.ops;
        self.indeterminate += s.indeterminate;
        self.creates += s.creates;
        self.queue_ops += s.queue_ops;
        self.leases += s.leases;
        self.sessions += s.sessions;
    }
    pub fn line(&self) -> String {
        let faults: usize = self.faults.values().sum();
        format!(
            "seeds={} faults={} {:?} register_ops={} indeterminate={} acked_creates={} queue_ops={} leases={} sessions={} violations=0",
            self.seeds, faults, self.faults, self.ops, self.indeterminate, self.creates, self.queue_ops, self.leases, self.sessions
        )
    }
}
