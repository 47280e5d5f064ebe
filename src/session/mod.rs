//! Session bookkeeping, pure: ids, passwords, timeout negotiation, expiry buckets and the table
//! of live sessions.
//!
//! Owns: the arithmetic ZooKeeper uses for sessions (`SessionTrackerImpl`, `ExpiryQueue`,
//! `ZooKeeperServer.generatePasswd`), reproduced bit for bit so sessions and snapshots from a
//! Java server stay valid here.
//!
//! Must not touch: sockets, tokio, the clock or the tree. Time arrives as `now_ms: i64`
//! (milliseconds since the epoch, as Java's `Time.currentElapsedTime()`/`currentWallTime()`
//! would give), so every function is deterministic and testable one call at a time. Closing a
//! session's ephemerals is the caller's job (a closeSession txn), not this module's.

mod expiry;
mod id;
mod password;
mod table;

pub use expiry::ExpiryQueue;
pub use id::{initial_session_id, negotiate_timeout, SessionIdGenerator};
pub use password::{session_password, JavaRandom, SESSION_PASSWORD_LEN};
pub use table::{Session, SessionError, SessionTable};
