//! Watching an ensemble from outside: each member's `srvr` and mode, who leads, waits until
//! members serve (or stop), waits for log lines, and the failure message with every member's
//! log tail. Reads only; starting, stopping and signalling members is `ensemble.rs`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::*;

/// Removes ANSI colour sequences (`ESC [ ... m`), in case a member logs in colour.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Sends a four-letter word with a deadline; `None` if the member does not answer in time.
pub fn four_letter_timeout(port: u16, cmd: &str, timeout: Duration) -> Option<String> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, timeout).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    s.set_write_timeout(Some(timeout)).ok()?;
    s.write_all(cmd.as_bytes()).ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// The `Mode:` value of a `srvr` answer (leader, follower, observer, standalone).
pub fn mode_of(srvr: &str) -> Option<String> {
    srvr.lines()
        .find_map(|l| l.strip_prefix("Mode: "))
        .map(|m| m.trim().to_string())
}

impl Ensemble {
    /// The `srvr` answer of member `id`, `None` when it does not answer within a second.
    pub fn srvr(&self, id: u64) -> Option<String> {
        let m = self.member(id);
        if !m.is_running() || m.paused {
            return None;
        }
        four_letter_timeout(m.client_port, "srvr", Duration::from_secs(1))
    }

    /// `leader`, `follower` or `observer` while the member serves; `None` otherwise.
    pub fn mode(&self, id: u64) -> Option<String> {
        self.srvr(id).as_deref().and_then(mode_of)
    }

    /// Every running member's mode.
    pub fn modes(&self) -> BTreeMap<u64, Option<String>> {
        self.running_ids()
            .into_iter()
            .map(|id| (id, self.mode(id)))
            .collect()
    }

    /// The member that says `Mode: leader`, if exactly one does.
    pub fn leader(&self) -> Option<u64> {
        let leaders: Vec<u64> = self
            .running_ids()
            .into_iter()
            .filter(|&id| self.mode(id).as_deref() == Some("leader"))
            .collect();
        match leaders.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    /// Running voters that are not the leader.
    pub fn followers(&self) -> Vec<u64> {
        let leader = self.leader();
        self.voter_ids()
            .into_iter()
            .filter(|&id| Some(id) != leader && self.member(id).is_running())
            .collect()
    }

    /// Waits until each of `ids` serves (answers `srvr` with a Mode) and, among all running
    /// members, exactly one is the leader. Panics with every member's log on timeout or when
    /// a member exits.
    pub async fn wait_serving(&mut self, ids: &[u64], timeout: Duration) -> u64 {
        let deadline = Instant::now() + timeout;
        loop {
            for &id in ids {
                if let Some(status) = self.exited(id) {
                    self.fail(&format!("member {id} exited ({status}) while waiting"));
                }
            }
            // One snapshot of every running member's mode, so a member changing role between
            // two queries cannot make the ensemble look settled.
            let modes = self.modes();
            let serving = ids
                .iter()
                .all(|id| modes.get(id).is_some_and(Option::is_some));
            let leaders: Vec<u64> = modes
                .iter()
                .filter(|(_, m)| m.as_deref() == Some("leader"))
                .map(|(id, _)| *id)
                .collect();
            if let (true, [leader]) = (serving, leaders.as_slice()) {
                return *leader;
            }
            if Instant::now() > deadline {
                self.fail(&format!(
                    "members {ids:?} not all serving with one leader after {timeout:?}: modes {:?}",
                    self.modes()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until every running member serves with one leader; returns the leader.
    pub async fn wait_ready(&mut self, timeout: Duration) -> u64 {
        let ids = self.running_ids();
        self.wait_serving(&ids, timeout).await
    }

    /// Waits until member `id` answers `srvr` without a Mode (it refuses clients).
    pub async fn wait_not_serving(&self, id: u64, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(out) = self.srvr(id) {
                if mode_of(&out).is_none() {
                    return out;
                }
            }
            if Instant::now() > deadline {
                self.fail(&format!(
                    "member {id} still serving after {timeout:?}: {:?}",
                    self.srvr(id)
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until member `id`'s log after offset `from` contains `needle`; returns that text.
    pub async fn wait_log(&self, id: u64, from: usize, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.member(id).log_since(from);
            if text.contains(needle) {
                return text;
            }
            if Instant::now() > deadline {
                self.fail(&format!("member {id} never logged {needle:?}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines of every member's log, for failure messages.
    pub fn log_tails(&self, lines: usize) -> String {
        let mut out = String::new();
        for m in &self.members {
            let log = m.log();
            let all: Vec<&str> = log.lines().collect();
            let from = all.len().saturating_sub(lines);
            out.push_str(&format!(
                "\n----- member {} ({:?}, {}) log tail -----\n{}\n",
                m.id,
                m.imp,
                m.log_path().display(),
                all[from..].join("\n")
            ));
        }
        out
    }

    /// Panics with `msg` and the members' log tails.
    pub fn fail(&self, msg: &str) -> ! {
        panic!("{msg}{}", self.log_tails(60))
    }
}
