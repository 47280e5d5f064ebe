//! The simulated network: election notifications (FIFO per pair, dropped across a partition)
//! and quorum-port connections (TCP order per direction; a partition breaks the stream
//! silently, a closed end is seen by the other).

use super::*;

impl World {
    pub(super) fn send_notification(&mut self, from: Sid, to: Sid, n: Notification) {
        self.last_sent.insert((from, to), n.clone());
        if to as usize > self.nodes.len() || !self.connected(from, to) || !self.node(to).up {
            return;
        }
        let delay = self.rng.range(1, 10);
        let last = self.election_last.get(&(from, to)).copied().unwrap_or(0);
        let at = (self.now + delay).max(last);
        self.election_last.insert((from, to), at);
        let inc = self.node(to).incarnation;
        self.schedule(
            at,
            Event::Input {
                to,
                inc,
                input: Input::Notification { from, n },
            },
        );
    }

    pub(super) fn conn_of(&self, sid: Sid, link: LinkId) -> Option<usize> {
        self.conns
            .iter()
            .position(|c| c.alive && c.ends.contains(&(sid, link)))
    }

    pub(super) fn send_packet(&mut self, sid: Sid, link: LinkId, packet: QuorumPacket) {
        self.send_on_conn(sid, link, |other| Input::Packet {
            link: other,
            packet: packet.clone(),
        });
    }

    pub(super) fn send_on_conn(&mut self, sid: Sid, link: LinkId, make: impl Fn(LinkId) -> Input) {
        let Some(c) = self.conn_of(sid, link) else {
            return;
        };
        let dir = usize::from(self.conns[c].ends[0] != (sid, link));
        let (to, other) = self.conns[c].ends[1 - dir];
        if !self.connected(sid, to) {
            // A partition breaks the TCP stream; neither end is told (timeouts find out).
            self.conns[c].alive = false;
            return;
        }
        let delay = self.rng.range(1, 5);
        let at = (self.now + delay).max(self.conns[c].last_delivery[dir]);
        self.conns[c].last_delivery[dir] = at;
        let input = make(other);
        self.schedule(at, Event::ConnInput { conn: c, to, input });
    }

    pub(super) fn close_conn(&mut self, c: usize) {
        if !self.conns[c].alive {
            return;
        }
        self.conns[c].alive = false;
        let ends = self.conns[c].ends;
        for (s, l) in ends {
            if self.node(s).up && self.connected(ends[0].0, ends[1].0) {
                let inc = self.node(s).incarnation;
                let at = self.now + self.rng.range(1, 5);
                self.schedule(
                    at,
                    Event::Input {
                        to: s,
                        inc,
                        input: Input::LinkClosed { link: l },
                    },
                );
            }
        }
    }

    pub(super) fn connect(&mut self, learner: Sid, link: LinkId, leader: Sid) {
        let inc = self.node(learner).incarnation;
        let reachable = leader as usize <= self.nodes.len()
            && self.connected(learner, leader)
            && self.node(leader).up
            && self.node(leader).member.mode() == Mode::Leading;
        let at = self.now + self.rng.range(1, 5);
        if !reachable {
            self.schedule(
                at,
                Event::Input {
                    to: learner,
                    inc,
                    input: Input::LinkClosed { link },
                },
            );
            return;
        }
        let leader_link = self.node(leader).next_link;
        self.node(leader).next_link += 1;
        let c = self.conns.len();
        self.conns.push(Conn {
            ends: [(learner, link), (leader, leader_link)],
            alive: true,
            last_delivery: [at, at],
        });
        self.schedule(
            at,
            Event::ConnInput {
                conn: c,
                to: leader,
                input: Input::LearnerConnected { link: leader_link },
            },
        );
        self.schedule(
            at,
            Event::ConnInput {
                conn: c,
                to: learner,
                input: Input::LeaderConnected { link },
            },
        );
    }
}
