//! Snapshot files on disk: validation, reading, the tree body, a restart from them.
#![no_main]
use libfuzzer_sys::{fuzz_mutator, fuzz_target};
use zkserver_fuzz::peers::{tree_body, TreeFormat};

fuzz_target!(|data: &[u8]| zkserver::fuzzing::storage::check_snapshot(data));

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    tree_body(data, size, max_size, seed, TreeFormat::OursWrapped)
});
