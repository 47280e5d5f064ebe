//! `globalOutstandingLimit`: like ZooKeeper, stop reading client sockets while more than
//! the limit of requests are waiting for an answer, so queues and p99 stay bounded.
//!
//! A request counts from the moment its frame is handed to the core until a reply frame
//! (anything but a notification) goes back to that connection; a closing connection gives
//! back whatever it still held.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

pub struct Throttle {
    outstanding: AtomicUsize,
    limit: usize,
    freed: Notify,
}

/// One connection's share of the outstanding count.
#[derive(Clone)]
pub struct ConnShare {
    throttle: Arc<Throttle>,
    mine: Arc<AtomicUsize>,
}

impl Throttle {
    pub fn new(limit: u32) -> Arc<Throttle> {
        Arc::new(Throttle {
            outstanding: AtomicUsize::new(0),
            limit: (limit as usize).max(1),
            freed: Notify::new(),
        })
    }

    pub fn share(self: &Arc<Self>) -> ConnShare {
        ConnShare {
            throttle: self.clone(),
            mine: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl ConnShare {
    /// Waits until the server is below the limit, then counts one more request.
    pub async fn acquire(&self) {
        let t = &self.throttle;
        loop {
            let freed = t.freed.notified();
            if t.outstanding.load(Ordering::Acquire) < t.limit {
                break;
            }
            freed.await;
        }
        t.outstanding.fetch_add(1, Ordering::AcqRel);
        self.mine.fetch_add(1, Ordering::AcqRel);
    }

    /// One reply went out on this connection.
    pub fn release(&self) {
        if self
            .mine
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |m| m.checked_sub(1))
            .is_ok()
        {
            self.give_back(1);
        }
    }

    /// The connection ended: return what it still held.
    pub fn release_all(&self) {
        let n = self.mine.swap(0, Ordering::AcqRel);
        if n > 0 {
            self.give_back(n);
        }
    }

    fn give_back(&self, n: usize) {
        let t = &self.throttle;
        let before = t.outstanding.fetch_sub(n, Ordering::AcqRel);
        if before >= t.limit && before - n < t.limit {
            t.freed.notify_waiters();
        }
    }
}

/// Returns a connection's outstanding requests when its reader ends, whatever the path.
pub struct ReleaseOnDrop(pub ConnShare);

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        self.0.release_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn blocks_at_the_limit_until_a_reply() {
        let t = Throttle::new(2);
        let a = t.share();
        a.acquire().await;
        a.acquire().await;
        let b = t.share();
        let waiter = tokio::spawn(async move { b.acquire().await });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!waiter.is_finished(), "third request must wait");
        a.release();
        tokio::time::timeout(std::time::Duration::from_secs(1), waiter)
            .await
            .unwrap()
            .unwrap();
        a.release_all();
        assert_eq!(t.outstanding.load(Ordering::Acquire), 1);
    }
}
