//! The quorum port: QuorumPacket streams, every payload, SNAP bodies on the learner side.
#![no_main]
use libfuzzer_sys::{fuzz_mutator, fuzz_target};

fuzz_target!(|data: &[u8]| zkserver::fuzzing::quorum::check_quorum_stream(data));

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    zkserver_fuzz::peers::quorum(data, size, max_size, seed)
});
