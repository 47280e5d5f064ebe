//! Whole server: each input is one client connection to a real in-process zkserver over
//! TCP; after it the server must still answer `ruok` and the witness session must still
//! write, read and get its watch events.
#![no_main]
use std::sync::atomic::{AtomicU64, Ordering};

use libfuzzer_sys::{fuzz_mutator, fuzz_target};

static INPUTS: AtomicU64 = AtomicU64::new(0);

fuzz_target!(|data: &[u8]| {
    let h = zkserver_fuzz::server::harness();
    if let Err(e) = zkserver::fuzzing::server::feed(h.addr, data) {
        panic!("fuzzed connection: {e}");
    }
    let mut w = h.witness.lock().expect("witness");
    if let Err(e) = w.check() {
        panic!("after the input: {e}");
    }
    if INPUTS.fetch_add(1, Ordering::Relaxed) % 500 == 499 {
        if let Err(e) = w.sweep() {
            panic!("sweep: {e}");
        }
    }
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    // Keep the flags byte; mutate the connection bytes structure-aware.
    if size == 0 || seed.is_multiple_of(17) {
        return libfuzzer_sys::fuzzer_mutate(data, size, max_size);
    }
    let flags = data[0];
    let n =
        zkserver_fuzz::mutate::client(&mut data[1..], size - 1, max_size - 1, seed, flags & 1 == 1);
    n + 1
});
