//! Four-letter-word sniffing and the 4lw whitelist.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| zkserver::fuzzing::client::check_four_letter(data));
