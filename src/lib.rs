//! zkserver: a ZooKeeper-compatible coordination server.
//!
//! Pure core (`proto`, `tree`, `prep`, `session`) never touches tokio or the clock;
//! `server` and `runtime` drive it. See `../shared/DESIGN.md`.

pub mod admin;
pub mod config;
pub mod fuzzing;
pub mod logging;
pub mod prep;
pub mod proto;
pub mod quorum;
pub mod runtime;
pub mod sasl;
pub mod server;
pub mod session;
pub mod status;
pub mod storage;
pub mod tls;
pub mod tree;
