//! Apache ZooKeeper 3.8's quorum wire formats, byte for byte: the election port's connection
//! handshake and notifications (`QuorumCnxManager`, `FastLeaderElection`), and the quorum
//! port's `QuorumPacket` stream with the payloads it carries (`Leader`, `Learner`,
//! `LearnerHandler`). Facts in `../shared/QUORUM.md` §1–§6.
//!
//! Owns: bytes ⇄ messages, with every length capped before anything is allocated. Must not
//! know sockets, time, roles or the tree (the SNAP body is the tree's business).

pub mod election;
pub mod packet;
pub mod payload;

pub use election::{InitialMessage, Notification, NotificationDecodeError};
pub use packet::{decode_packet, PacketError, PacketType, QuorumPacket};
