//! The ZooKeeper client wire protocol and txn records: jute encoding, framing, every
//! request/response/txn record, opcodes and error codes.
//!
//! Owns: bytes ⇄ records. Must not know the tree, tokio or sockets.

pub mod error;
pub mod frame;
pub mod jute;
pub mod opcode;
pub mod records;
pub mod request;
pub mod response;
pub mod txn;

pub use error::ErrorCode;
pub use jute::{DecodeError, Jute, Reader};
pub use opcode::OpCode;
