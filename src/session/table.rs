//! The table of live sessions: id, password, negotiated timeout and expiry bucket, with the
//! [`ExpiryQueue`] kept in step. Pure (time is `now_ms`); must not close ephemerals or talk to
//! clients: callers turn [`SessionTable::take_expired`] into closeSession txns.

use std::collections::BTreeMap;

use super::expiry::ExpiryQueue;
use super::password::{session_password, SESSION_PASSWORD_LEN};

/// One live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: i64,
    pub password: [u8; SESSION_PASSWORD_LEN],
    /// Negotiated timeout in ms.
    pub timeout_ms: i32,
    /// Bucket time at which the session expires unless touched.
    pub expires_at_ms: i64,
    /// Set once a close has been requested, so a closing session is not touched back to life
    /// (ZooKeeper's `SessionImpl.isClosing`).
    pub closing: bool,
}

/// Why a session lookup failed; the server maps these to ZooKeeper error codes
/// (SESSIONEXPIRED / AUTHFAILED-style refusal in the ConnectResponse).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("session 0x{0:x} is unknown or expired")]
    Unknown(i64),
    #[error("session 0x{0:x}: wrong password")]
    BadPassword(i64),
    #[error("session 0x{0:x} is closing")]
    Closing(i64),
    #[error("session 0x{0:x} already exists")]
    Exists(i64),
}

/// Live sessions by id (ordered, so iteration for `dump`/`cons`/snapshots is deterministic).
#[derive(Debug, Clone)]
pub struct SessionTable {
    sessions: BTreeMap<i64, Session>,
    expiry: ExpiryQueue,
}

impl SessionTable {
    /// An empty table whose expiry buckets are `tick_ms` wide.
    pub fn new(tick_ms: i64) -> Self {
        Self {
            sessions: BTreeMap::new(),
            expiry: ExpiryQueue::new(tick_ms),
        }
    }

    /// Add a session with ZooKeeper's password for `id` and start its expiry clock.
    /// Also used when replaying createSession txns or loading a snapshot.
    pub fn create(
        &mut self,
        id: i64,
        timeout_ms: i32,
        now_ms: i64,
    ) -> Result<&Session, SessionError> {
        if self.sessions.contains_key(&id) {
            return Err(SessionError::Exists(id));
        }
        let expires_at_ms = self.expiry.touch(id, i64::from(timeout_ms), now_ms);
        let session = Session {
            id,
            password: session_password(id),
            timeout_ms,
            expires_at_ms,
            closing: false,
        };
        Ok(self.sessions.entry(id).or_insert(session))
    }

    /// Record activity (a request or ping): push the expiry to `now + timeout`.
    pub fn touch(&mut self, id: i64, now_ms: i64) -> Result<i64, SessionError> {
        let s = self
            .sessions
            .get_mut(&id)
            .ok_or(SessionError::Unknown(id))?;
        if s.closing {
            return Err(SessionError::Closing(id));
        }
        s.expires_at_ms = self.expiry.touch(id, i64::from(s.timeout_ms), now_ms);
        Ok(s.expires_at_ms)
    }

    /// Change a session's timeout (a reconnect may renegotiate it) and re-arm its expiry.
    pub fn set_timeout(
        &mut self,
        id: i64,
        timeout_ms: i32,
        now_ms: i64,
    ) -> Result<(), SessionError> {
        let s = self
            .sessions
            .get_mut(&id)
            .ok_or(SessionError::Unknown(id))?;
        s.timeout_ms = timeout_ms;
        s.expires_at_ms = self.expiry.touch(id, i64::from(timeout_ms), now_ms);
        Ok(())
    }

    /// Mark a session as closing: it stays in the table (its closeSession txn is in flight)
    /// but can no longer be touched and will not be returned by `take_expired` again.
    pub fn set_closing(&mut self, id: i64) -> Result<(), SessionError> {
        let s = self
            .sessions
            .get_mut(&id)
            .ok_or(SessionError::Unknown(id))?;
        s.closing = true;
        self.expiry.remove(id);
        Ok(())
    }

    /// Drop a session (its closeSession txn was applied). Returns it if it existed.
    pub fn close(&mut self, id: i64) -> Option<Session> {
        self.expiry.remove(id);
        self.sessions.remove(&id)
    }

    /// The session, if live.
    pub fn get(&self, id: i64) -> Option<&Session> {
        self.sessions.get(&id)
    }

    /// Check a reconnect: the session must exist, not be closing, and the password must match.
    pub fn validate(&self, id: i64, password: &[u8]) -> Result<&Session, SessionError> {
        let s = self.sessions.get(&id).ok_or(SessionError::Unknown(id))?;
        if s.password.as_slice() != password {
            return Err(SessionError::BadPassword(id));
        }
        if s.closing {
            return Err(SessionError::Closing(id));
        }
        Ok(s)
    }

    /// Sessions whose deadline is `<= now_ms`, marked closing and returned in expiry order.
    /// The caller issues a closeSession for each and then calls [`Self::close`].
    pub fn take_expired(&mut self, now_ms: i64) -> Vec<i64> {
        let ids = self.expiry.take_expired(now_ms);
        for id in &ids {
            if let Some(s) = self.sessions.get_mut(id) {
                s.closing = true;
            }
        }
        ids
    }

    /// When the next expiry bucket is due.
    pub fn next_expiration_ms(&self) -> Option<i64> {
        self.expiry.next_expiration_ms()
    }

    /// Expiry buckets with their session ids, for `dump`.
    pub fn expiry_buckets(&self) -> Vec<(i64, Vec<i64>)> {
        self.expiry.buckets()
    }

    /// All sessions in id order (for `cons`/`dump` and snapshots: id + timeout is what
    /// ZooKeeper's snapshot stores).
    pub fn iter(&self) -> impl Iterator<Item = &Session> {
        self.sessions.values()
    }

    /// Number of live sessions (including closing ones).
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// True when there are no sessions.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn create_validate_touch_close() {
        let mut t = SessionTable::new(2000);
        let s = t.create(0x100, 10_000, 0).unwrap().clone();
        assert_eq!(s.password, session_password(0x100));
        assert_eq!(s.expires_at_ms, 12_000);
        assert_eq!(t.create(0x100, 10_000, 0), Err(SessionError::Exists(0x100)));
        assert!(t.validate(0x100, &s.password).is_ok());
        assert_eq!(
            t.validate(0x100, &[0u8; 16]),
            Err(SessionError::BadPassword(0x100))
        );
        assert_eq!(
            t.validate(0x101, &s.password),
            Err(SessionError::Unknown(0x101))
        );
        assert_eq!(t.touch(0x100, 5_000), Ok(16_000));
        assert_eq!(t.close(0x100).map(|s| s.id), Some(0x100));
        assert_eq!(t.touch(0x100, 6_000), Err(SessionError::Unknown(0x100)));
        assert!(t.is_empty());
        assert_eq!(t.next_expiration_ms(), None);
    }

    #[test]
    fn expiry_marks_closing_and_blocks_touch() {
        let mut t = SessionTable::new(1000);
        t.create(1, 2_000, 0).unwrap();
        t.create(2, 5_000, 0).unwrap();
        assert_eq!(t.next_expiration_ms(), Some(3_000));
        assert_eq!(t.take_expired(3_000), vec![1]);
        assert_eq!(t.touch(1, 3_001), Err(SessionError::Closing(1)));
        let pw = session_password(1);
        assert_eq!(t.validate(1, &pw), Err(SessionError::Closing(1)));
        assert!(t.take_expired(3_500).is_empty(), "reported once");
        assert_eq!(t.len(), 2, "stays until its close is applied");
        t.close(1);
        assert_eq!(t.iter().map(|s| s.id).collect::<Vec<_>>(), vec![2]);
    }

    #[test]
    fn set_closing_and_timeout() {
        let mut t = SessionTable::new(1000);
        t.create(7, 4_000, 0).unwrap();
        t.set_timeout(7, 10_000, 1_000).unwrap();
        assert_eq!(t.get(7).map(|s| s.expires_at_ms), Some(12_000));
        assert_eq!(t.expiry_buckets(), vec![(12_000, vec![7])]);
        t.set_closing(7).unwrap();
        assert!(t.take_expired(i64::MAX).is_empty());
        assert_eq!(t.set_closing(8), Err(SessionError::Unknown(8)));
    }
}
