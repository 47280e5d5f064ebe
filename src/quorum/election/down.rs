//! Peers the election port cannot reach: a member knows they cannot vote, so a standing
//! quorum decides as soon as every other voter has agreed or is known down, instead of
//! waiting out `finalizeWait` for votes that cannot come.
//!
//! Owns: `Election::peer_up`/`peer_down` and the "all votes in" test. Must not: change how
//! votes compare or when Apache's rules decide otherwise.

use super::super::view::QuorumView;
use super::super::vote::{TaggedVote, Vote};
use super::super::{ServerState, Sid};
use super::{Decision, Election};

impl Election {
    /// The election port can reach `sid` again.
    pub fn peer_up(&mut self, sid: Sid) {
        self.down.remove(&sid);
    }

    /// The election port lost `sid`; a standing quorum need not wait for its vote.
    pub fn peer_down(&mut self, view: &QuorumView, sid: Sid) -> Option<Decision> {
        self.down.insert(sid);
        if self.state == ServerState::Looking
            && self.finalize_deadline.is_some()
            && self.all_votes_in(view)
        {
            return Some(self.decide_proposal(view));
        }
        None
    }

    /// Every voter has voted for our proposal or cannot be reached: waiting longer cannot
    /// bring a better vote. (Apache always waits `finalizeWait`; a better vote could only
    /// come from a peer that comes back within it, which then joins the new leader instead.)
    pub(super) fn all_votes_in(&self, view: &QuorumView) -> bool {
        let target = TaggedVote {
            vote: Vote {
                election_epoch: self.logical_clock,
                ..self.proposal
            },
            state: ServerState::Looking,
            version: 0,
        };
        view.voters().all(|v| {
            self.down.contains(&v) || self.recvset.get(&v).is_some_and(|t| t.same(&target))
        })
    }

    pub(super) fn decide_proposal(&mut self, view: &QuorumView) -> Decision {
        let end = Vote {
            election_epoch: self.logical_clock,
            ..self.proposal
        };
        self.decide(end, view)
    }
}
