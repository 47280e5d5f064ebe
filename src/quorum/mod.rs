//! ZooKeeper's quorum protocol as pure state machines: fast leader election and ZAB
//! (discovery, synchronization, broadcast) for leaders, followers and observers, speaking
//! Apache ZooKeeper 3.8's own wire formats (`wire`), so zkserver members can sit beside
//! Apache members.
//!
//! Owns: protocol decisions. Each handler is fed one [`Input`] at a time (a message from a
//! peer, a tick of simulated or real time, "the log is durable up to z", a link opened or
//! lost) and answers with [`Action`]s that the host (the tokio runtime, or the simulator in
//! tests) carries out in order. Must not: import tokio, read the clock, use unseeded
//! randomness, know the tree (txns are opaque bytes with a zxid), or do I/O other than
//! reading old txns through [`LogSource`].

pub mod action;
pub mod election;
pub mod history;
pub mod leader;
pub mod learner;
pub mod member;
#[cfg(test)]
mod sim;
#[cfg(test)]
mod testkit;
pub mod view;
pub mod vote;
pub mod wire;
pub mod zxid;

pub use action::{Action, Input, LinkId, LogSource, NoLog};
pub use election::Election;
pub use member::{Member, MemberInit, Mode};
pub use view::QuorumView;
pub use vote::Vote;

/// A server id (`myid`).
pub type Sid = u64;

/// `QuorumPeer.ServerState`, with its wire ordinals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerState {
    Looking = 0,
    Following = 1,
    Leading = 2,
    Observing = 3,
}

impl ServerState {
    pub fn from_i32(v: i32) -> Option<ServerState> {
        Some(match v {
            0 => ServerState::Looking,
            1 => ServerState::Following,
            2 => ServerState::Leading,
            3 => ServerState::Observing,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            ServerState::Looking => "LOOKING",
            ServerState::Following => "FOLLOWING",
            ServerState::Leading => "LEADING",
            ServerState::Observing => "OBSERVING",
        }
    }
}

/// The timing settings of zoo.cfg (and the election's system properties), in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub tick_ms: u64,
    /// `initLimit` ticks: connect, discovery and sync.
    pub init_limit: u64,
    /// `syncLimit` ticks: how far a learner may lag once synced.
    pub sync_limit: u64,
    /// `zookeeper.fastleader.minNotificationInterval` (200).
    pub min_notification_ms: u64,
    /// `zookeeper.fastleader.maxNotificationInterval` (60000).
    pub max_notification_ms: u64,
    /// `finalizeWait` (200): how long a quorum for a proposal must stand unchallenged.
    pub finalize_wait_ms: u64,
}

impl Timing {
    pub fn init_ms(&self) -> u64 {
        self.tick_ms * self.init_limit
    }

    pub fn sync_ms(&self) -> u64 {
        self.tick_ms * self.sync_limit
    }

    /// How long a synced learner goes without a packet from its leader before it gives up on
    /// it: `syncLimit` ticks as in Apache, but at most one tick (at least 1 s). A live leader
    /// pings every half tick, so that still spans two missed pings, while a paused or cut-off
    /// leader is left, and a new one elected, in a fraction of Apache's time. Safety never
    /// rests on it: leaving a live leader costs an election and a resync, never a write.
    pub fn leader_silence_ms(&self) -> u64 {
        self.sync_ms().min(self.tick_ms.max(1000))
    }
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            tick_ms: 2000,
            init_limit: 10,
            sync_limit: 5,
            min_notification_ms: 200,
            max_notification_ms: 60_000,
            finalize_wait_ms: 200,
        }
    }
}
