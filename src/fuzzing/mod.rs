//! Property checks for every byte zkserver reads from outside: the client port before and
//! after the handshake, the election and quorum ports, the files a restart reads, zoo.cfg.
//! They are the bodies of the libFuzzer targets in `fuzz/` and of the corpus replay in
//! `tests/fuzz_corpora.rs`, so CI replays the corpora on stable Rust and the fuzzer checks
//! exactly what CI checks.
//!
//! Each `check_*` takes arbitrary bytes, runs them through the decoders the server itself
//! uses, and panics (a fuzzer "crash") when a property fails. Beyond "no panic" they check:
//! decode → encode → decode round trips where the format allows; the same result whatever
//! way a stream is split into reads; no allocation beyond what the bytes present (or the
//! configured cap for a frame still arriving) justify (see [`alloc`]); refusals are the
//! decoders' typed errors with offsets inside the input. `server` drives a running server
//! over real sockets with sessions and watches in place.
//!
//! Owns: the properties. Must not: change any decoder's behaviour, or be used by the server.

pub mod alloc;
pub mod client;
pub mod config;
pub mod quorum;
pub mod server;
pub mod snap;
pub mod storage;
pub mod txn;
