//! Session ids and timeout negotiation (ZooKeeper's `SessionTrackerImpl.initializeNextSessionId`
//! and `ZooKeeperServer.processConnectRequest`). Must not read the clock: `now_ms` is passed in.

/// First session id a server hands out after starting at `now_ms`.
///
/// ZooKeeper packs the server id into the top byte and the start time into the next 40 bits so
/// that ids from different servers, and from restarts of one server, do not collide:
/// `((now << 24) >>> 8) | (sid << 56)`, with Java's unsigned shift `>>>`.
pub fn initial_session_id(server_id: u64, now_ms: i64) -> i64 {
    // `as u64` then `>>` is Java's `>>>` on a long; the casts are bit-preserving.
    let time_part = ((now_ms << 24) as u64) >> 8;
    (time_part | (server_id << 56)) as i64
}

/// Hands out session ids: the initial id, then one more per new session.
///
/// Never returns `i64::MIN`: ZooKeeper uses `Long.MIN_VALUE` as the ephemeral owner of container
/// nodes, so a session with that id would appear to own every container.
#[derive(Debug, Clone)]
pub struct SessionIdGenerator {
    next: i64,
}

impl SessionIdGenerator {
    /// A generator starting at [`initial_session_id`]`(server_id, now_ms)`.
    pub fn new(server_id: u64, now_ms: i64) -> Self {
        Self::starting_at(initial_session_id(server_id, now_ms))
    }

    /// A generator whose next id is `next` (used when the caller restores state or in tests).
    pub fn starting_at(next: i64) -> Self {
        Self { next }
    }

    /// The id the next call to [`Self::next_id`] will consider (it may skip `i64::MIN`).
    pub fn peek(&self) -> i64 {
        self.next
    }

    /// The next session id. Wraps like Java's `long` increment, skipping `i64::MIN`.
    pub fn next_id(&mut self) -> i64 {
        if self.next == i64::MIN {
            self.next = self.next.wrapping_add(1);
        }
        let id = self.next;
        self.next = self.next.wrapping_add(1);
        id
    }
}

/// The session timeout the server grants: the client's request clamped to
/// `[min_ms, max_ms]`, as ZooKeeper does before answering the ConnectRequest.
///
/// If a caller passes `min_ms > max_ms` (config validation forbids it) the minimum wins, which is
/// what ZooKeeper's two sequential `if`s would do.
pub fn negotiate_timeout(requested_ms: i32, min_ms: i32, max_ms: i32) -> i32 {
    let mut t = requested_ms;
    if t > max_ms {
        t = max_ms;
    }
    if t < min_ms {
        t = min_ms;
    }
    t
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn initial_id_matches_java() {
        // Golden values computed with `java` (JDK 17) from the Java expression.
        assert_eq!(
            initial_session_id(3, 1_700_000_000_123),
            255_526_388_083_916_800
        );
        assert_eq!(
            initial_session_id(255, 1_700_000_000_123),
            -32_703_988_067_794_944
        );
        assert_eq!(initial_session_id(0, -5), 72_057_594_037_600_256);
    }

    #[test]
    fn initial_id_layout() {
        let id = initial_session_id(7, 0x12_3456_789A);
        assert_eq!((id as u64) >> 56, 7, "server id in the top byte");
        assert_eq!(
            id & 0xFFFF,
            0,
            "low 16 bits are the per-session counter, start at 0"
        );
        assert_eq!(((id as u64) >> 16) & 0xFF_FFFF_FFFF, 0x12_3456_789A);
    }

    #[test]
    fn generator_increments() {
        let mut g = SessionIdGenerator::new(1, 1000);
        let first = initial_session_id(1, 1000);
        assert_eq!(g.next_id(), first);
        assert_eq!(g.next_id(), first + 1);
        assert_eq!(g.peek(), first + 2);
    }

    #[test]
    fn generator_skips_long_min_value() {
        let mut g = SessionIdGenerator::starting_at(i64::MAX);
        assert_eq!(g.next_id(), i64::MAX);
        assert_eq!(g.next_id(), i64::MIN + 1);
        let mut g = SessionIdGenerator::starting_at(i64::MIN);
        assert_eq!(g.next_id(), i64::MIN + 1);
    }

    #[test]
    fn timeout_is_clamped() {
        let cases = [
            (30_000, 4_000, 40_000, 30_000),
            (1_000, 4_000, 40_000, 4_000),
            (100_000, 4_000, 40_000, 40_000),
            (-1, 4_000, 40_000, 4_000),
            (4_000, 4_000, 4_000, 4_000),
        ];
        for (req, min, max, want) in cases {
            assert_eq!(
                negotiate_timeout(req, min, max),
                want,
                "{req} in [{min},{max}]"
            );
        }
    }
}
