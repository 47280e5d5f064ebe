//! Support for the libFuzzer targets in `fuzz_targets/`: `arbitrary` shapes of what outsiders
//! send ([`shapes`]), structure-aware custom mutators ([`mutate`], [`peers`]) and the in-process
//! server the whole-server target drives ([`server`]). The properties themselves are
//! `zkserver::fuzzing`'s, shared with the corpus replay in the main crate's tests.

pub mod mutate;
pub mod peers;
pub mod server;
pub mod shapes;
pub mod txn_shapes;

/// Counts allocations so the checks can bound them (see `zkserver::fuzzing::alloc`).
#[global_allocator]
static ALLOC: zkserver::fuzzing::alloc::CountingAlloc = zkserver::fuzzing::alloc::CountingAlloc;
