//! Ensemble tests with real processes on loopback: 3- and 5-member ensembles (and observers)
//! started by `common::ensemble`, driven by the `zookeeper-client` crate, with real SIGKILL,
//! SIGSTOP/SIGCONT, restarts and wiped dataDirs. `ZK_IMPL=apache` runs the same tests
//! against Apache ZooKeeper 3.8 members, which proves the tests themselves right (run them
//! with `--test-threads=1` then: three JVMs per test on a 2-core machine).
//!
//! | module | proves |
//! |---|---|
//! | `replication` | writes through every member are seen by every other after `sync`, identical stats (3 and 5 members); watches fire across members; 5 members serve with 2 down |
//! | `failover` | SIGKILL of the leader under pipelined load: a new leader, writes resume, no acknowledged write lost anywhere (`ENSEMBLE_SOAK_ROUNDS` repeats it); a SIGSTOPped leader is replaced and rejoins as a follower; all members SIGKILLed at once recover every acknowledged write |
//! | `sync_modes` | DIFF after missing thousands of writes, SNAP after a wipe (both while another member writes), TRUNC of a txn the quorum never committed |
//! | `sessions` | a follower keeps its idle clients' sessions alive (PING reports); a silent client's session and ephemeral expire everywhere |
//! | `minority` | a minority refuses clients and writes, and serves again when the quorum returns |
//! | `observer` | an observer serves reads, forwards writes, does not vote; the leader's AdminServer `observers` lists it with Apache's fields |
//! | `config_errors` | each configuration mistake gets one clear log line |
//! | `bad_peers` | garbage, an unknown protocol version or oversized packets on the peer ports are dropped with a log line |
//! | `migration` | a 3-member Apache ensemble under write load rolled member by member to zkserver (dataDirs kept, or wiped) and one member back to Apache: nothing acknowledged lost, no version goes back, same tree and digests |
//! | `mixed` | Apache 3.8 and zkserver members in one ensemble, zkserver as leader, follower and observer: writes and `hash` digests agree, DIFF/SNAP/TRUNC both ways, leader SIGKILL under load, container/TTL sweeps, a session moving between kinds |
//! | `quorum_sasl` | `quorum.auth.*` DIGEST-MD5 between members: a requiring ensemble forms and replicates, a wrong password or a member without SASL is refused with a log line, mixed with Apache 3.8 both ways |
//! | `scripts` | `scripts/ensemble.sh` and `zkServer.sh status` on each member |
#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod bad_peers;
mod config_errors;
mod failover;
mod migration;
mod minority;
mod mixed;
mod observer;
mod quorum_sasl;
mod replication;
mod scripts;
mod sessions;
mod sync_modes;
mod util;
