//! Txn log segments on disk: recovery, reading, append after recovery, repair, replay.
#![no_main]
use libfuzzer_sys::{fuzz_mutator, fuzz_target};

fuzz_target!(|data: &[u8]| zkserver::fuzzing::storage::check_log(data));

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    zkserver_fuzz::peers::log(data, size, max_size, seed)
});
