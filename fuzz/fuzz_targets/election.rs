//! The election port: the connection's initial message, then notifications.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| zkserver::fuzzing::quorum::check_election(data));
