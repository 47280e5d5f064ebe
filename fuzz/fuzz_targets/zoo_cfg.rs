//! zoo.cfg, myid and SERVER_JVMFLAGS.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| zkserver::fuzzing::config::check_zoo_cfg(data));
