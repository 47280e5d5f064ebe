//! Txns with and without digest (PROPOSAL/INFORM payloads, log records), applied to a tree.
#![no_main]
use libfuzzer_sys::{fuzz_mutator, fuzz_target};

fuzz_target!(|data: &[u8]| zkserver::fuzzing::txn::check_txns(data));

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    zkserver_fuzz::mutate::txns(data, size, max_size, seed)
});
