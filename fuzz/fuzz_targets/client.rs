//! The client port: four-letter-word sniffing, framing, the handshake, every request record.
#![no_main]
use libfuzzer_sys::{fuzz_mutator, fuzz_target};

fuzz_target!(|data: &[u8]| zkserver::fuzzing::client::check_connection(data));

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    zkserver_fuzz::mutate::client(data, size, max_size, seed, true)
});
