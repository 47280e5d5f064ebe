//! The lease model: workers take an exclusive lease by creating one ephemeral znode, hold it
//! for a while, and release it by deleting it. A worker counts itself the holder from the
//! create's answer until it sends the delete, or until its client first reports the connection
//! lost (`Disconnected`, `Expired`, `Closed`), whichever is first — what a correct ZooKeeper
//! lock user does. The check: no two of these hold intervals overlap. ZooKeeper makes that
//! safe because a lost session's ephemeral goes only at expiry, a session timeout (10 s) after
//! the leader last heard of it, while the client gives up its connection after 2 s of silence.
//! Owns the lease operations and the check; the worker loop is `workload.rs`.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use zookeeper_client::{Client, Error, SessionState};

use crate::util::ephemeral;
use crate::workload::timed;

/// Outside `/nemesis`, whose tree is compared across members after heal: the ephemeral can
/// still go (a closing session) while that comparison reads member after member.
pub const LEASE: &str = "/nemesis_lease";

/// One holder's interval, in µs since the start of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    pub session: u64,
    pub from: u64,
    pub until: u64,
}

fn micros(t0: Instant) -> u64 {
    t0.elapsed().as_micros() as u64
}

/// One client session's lease state.
pub struct Leaser {
    session: u64,
    /// Times (µs) this client reported its connection lost.
    lost: Arc<Mutex<Vec<u64>>>,
    watcher: tokio::task::JoinHandle<()>,
    holding: Option<u64>,
    /// A create whose answer never came may have made the node, owned by this session.
    maybe_owner: bool,
}

impl Leaser {
    pub fn new(c: &Client, session: u64, t0: Instant) -> Leaser {
        let lost = Arc::new(Mutex::new(Vec::new()));
        let mut w = c.state_watcher();
        let seen = lost.clone();
        let watcher = tokio::spawn(async move {
            loop {
                let s = w.changed().await;
                if s != SessionState::SyncConnected {
                    seen.lock().unwrap().push(micros(t0));
                }
                if s.is_terminated() {
                    return;
                }
            }
        });
        Leaser {
            session,
            lost,
            watcher,
            holding: None,
            maybe_owner: false,
        }
    }

    /// The end of a hold that started at `from` if it ended by `now`: the first loss after it.
    fn end(&self, from: u64, now: u64) -> u64 {
        let lost = self.lost.lock().unwrap();
        lost.iter()
            .copied()
            .filter(|&t| t >= from)
            .min()
            .unwrap_or(now)
            .min(now)
    }

    /// One step: take the lease when free, release it when held (and clear a node this
    /// session may own). False when an outcome is unknown.
    pub async fn step(&mut self, c: &Client, t0: Instant, held: &Mutex<Vec<Held>>) -> bool {
        if let Some(from) = self.holding.take() {
            let now = micros(t0);
            let until = self.end(from, now);
            held.lock().unwrap().push(Held {
                session: self.session,
                from,
                until,
            });
            return self.delete_own(c).await;
        }
        if self.maybe_owner {
            return self.delete_own(c).await;
        }
        match timed(c.create(LEASE, b"lease", &ephemeral())).await {
            Ok(_) => {
                self.holding = Some(micros(t0));
                true
            }
            Err(Error::NodeExists) => true,
            Err(_) => {
                self.maybe_owner = true;
                false
            }
        }
    }

    /// Deletes the lease node if this session owns it.
    async fn delete_own(&mut self, c: &Client) -> bool {
        let (_, stat) = match timed(c.get_data(LEASE)).await {
            Ok(r) => r,
            Err(Error::NoNode) => {
                self.maybe_owner = false;
                return true;
            }
            Err(_) => return false,
        };
        if stat.ephemeral_owner != c.session_id().0 {
            self.maybe_owner = false;
            return true;
        }
        match timed(c.delete(LEASE, Some(stat.version))).await {
            Ok(()) | Err(Error::NoNode) | Err(Error::BadVersion) => {
                self.maybe_owner = false;
                true
            }
            Err(_) => {
                self.maybe_owner = true;
                false
            }
        }
    }

    /// The session is being left: a hold in progress ends now (or at its loss).
    pub fn finish(self, t0: Instant, held: &Mutex<Vec<Held>>) {
        if let Some(from) = self.holding {
            let until = self.end(from, micros(t0));
            held.lock().unwrap().push(Held {
                session: self.session,
                from,
                until,
            });
        }
        self.watcher.abort();
    }
}

/// No two holds overlap; returns how many holds were checked.
pub fn check_leases(held: &[Held]) -> Result<usize, String> {
    let mut by_start = held.to_vec();
    by_start.sort_by_key(|h| (h.from, h.until));
    let mut latest: Option<Held> = None;
    for h in &by_start {
        if let Some(l) = latest {
            if l.until > h.from && l.session != h.session {
                return Err(format!("lease held twice at once: {l:?} and {h:?}"));
            }
        }
        if latest.is_none_or(|l| h.until > l.until) {
            latest = Some(*h);
        }
    }
    Ok(held.len())
}

/// The check must reject this very history with one more holder inside a real hold.
pub fn prove_check_bites(held: &[Held]) {
    let Some(real) = held.iter().find(|h| h.until > h.from) else {
        return;
    };
    let mut doubled = held.to_vec();
    doubled.push(Held {
        session: u64::MAX,
        ..*real
    });
    assert!(
        check_leases(&doubled).is_err(),
        "the lease check accepts a second holder during {real:?}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(session: u64, from: u64, until: u64) -> Held {
        Held {
            session,
            from,
            until,
        }
    }

    #[test]
    fn holds_one_after_another_pass() {
        assert_eq!(
            check_leases(&[h(2, 11, 20), h(1, 0, 10), h(3, 20, 30)]),
            Ok(3)
        );
    }

    #[test]
    fn two_holders_at_once_fail() {
        assert!(check_leases(&[h(1, 0, 10), h(2, 5, 12)]).is_err());
        // Also when a long hold covers several later ones.
        assert!(check_leases(&[h(1, 0, 100), h(2, 10, 20), h(3, 50, 60)]).is_err());
    }
}
