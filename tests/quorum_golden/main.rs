//! Golden tests for `zkserver::quorum::wire`: member-to-member traffic captured from a real
//! Apache ZooKeeper 3.8.0 ensemble (Debian's package; 3 participants + 1 observer) is split
//! with our decoders, every field is checked for sense, and every message is re-encoded to
//! the identical bytes. The bytes are in tests/fixtures/quorum (README.md there says how
//! scripts/capture-quorum.sh made them); nothing outside this repository runs at test time.
//!
//! Streams are classified by what they contain (sync mode, learner role), not by file name,
//! so a recapture in which another member wins the election still passes.

mod election;
mod fixtures;
mod packets;
mod sync;
