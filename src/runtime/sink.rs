//! Where prepared txns go to become durable. The core hands each txn over and learns
//! through `CoreMsg::Durable` when it may apply it (persist before reply).

use bytes::Bytes;

use super::{CoreMsg, CoreTx};

/// Accepts txns in zxid order and reports durability back to the core.
pub trait TxnSink: Send {
    fn append(&mut self, zxid: i64, txn: Bytes);
    /// Counters for `mntr`: (fsyncs, txns logged).
    fn counters(&self) -> (u64, u64) {
        (0, 0)
    }
}

/// No persistence: every txn is "durable" at once. Used by tests of the pure path and
/// when storage is disabled; never in a configured server.
pub struct Volatile {
    pub core: CoreTx,
}

impl TxnSink for Volatile {
    fn append(&mut self, zxid: i64, _txn: Bytes) {
        let _ = self.core.send(CoreMsg::Durable { zxid });
    }
}
