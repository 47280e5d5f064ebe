//! Faults the nemesis injects: crashes that keep only fsynced state, restarts from disk,
//! partitions, pauses (SIGSTOP) and connection resets, and healing.

use super::*;

impl World {
    pub fn crash(&mut self, sid: Sid) {
        self.log.push(format!("{:>6} CRASH node {sid}", self.now));
        self.stats.crashes += 1;
        self.node(sid).crash();
        self.drop_syncs(sid);
        self.checker.reset(sid);
        self.last_sent.retain(|(from, _), _| *from != sid);
        // Its sockets reset and dials to it are refused: peers' election ports see it go.
        for other in 1..=self.nodes.len() as Sid {
            if other != sid && self.node(other).up && self.connected(other, sid) {
                let inc = self.node(other).incarnation;
                let at = self.now + self.rng.range(1, 5);
                let input = Input::PeerDown { sid };
                self.schedule(
                    at,
                    Event::Input {
                        to: other,
                        inc,
                        input,
                    },
                );
            }
        }
        let conns: Vec<usize> = (0..self.conns.len())
            .filter(|&c| self.conns[c].alive && self.conns[c].ends.iter().any(|(s, _)| *s == sid))
            .collect();
        for c in conns {
            self.close_conn(c);
        }
    }

    pub fn restart(&mut self, sid: Sid) {
        self.log.push(format!("{:>6} RESTART node {sid}", self.now));
        let (view, setup) = (self.view.clone(), self.setup());
        self.node(sid).restart(&view, setup);
        let n = self.node(sid);
        let (first, len, last) = (
            n.state.first().map(|(z, _)| *z).unwrap_or(0),
            n.state.len(),
            n.applied,
        );
        let snaps: Vec<i64> = n.disk.snapshots.keys().copied().collect();
        let logged = (n.disk.log.first().map(|(z, _)| *z), n.disk.log.len());
        self.log.push(format!("{:>6} node {sid} recovered {len} txns 0x{first:x}..0x{last:x}, snapshots {snaps:x?}, log {logged:x?}", self.now));
        let now = self.now;
        let out = self.node(sid).member.start(now);
        self.perform(sid, out);
        // Peers accept its connections and re-send what they last sent it.
        for other in 1..=self.nodes.len() as Sid {
            if other != sid && self.connected(other, sid) && self.node(other).up {
                let inc = self.node(other).incarnation;
                let input = Input::PeerUp { sid };
                self.schedule(
                    now,
                    Event::Input {
                        to: other,
                        inc,
                        input,
                    },
                );
                self.reconnect_election(other, sid);
            }
        }
    }

    pub fn partition(&mut self, side: &[Sid]) {
        self.log.push(format!("{:>6} PARTITION {side:?}", self.now));
        self.stats.partitions += 1;
        let all: Vec<Sid> = (1..=self.nodes.len() as Sid).collect();
        for &a in side {
            for &b in &all {
                if !side.contains(&b) {
                    self.cut.insert((a.min(b), a.max(b)));
                }
            }
        }
    }

    /// SIGSTOP for `ms`: the node handles nothing until then, then everything at once.
    pub fn pause(&mut self, sid: Sid, ms: u64) {
        self.log
            .push(format!("{:>6} PAUSE node {sid} for {ms} ms", self.now));
        self.stats.pauses += 1;
        self.paused.insert(sid, self.now + ms);
    }

    /// Every quorum connection of `sid` resets (as after a TCP RST): both ends see it close.
    pub fn reset_links(&mut self, sid: Sid) {
        self.log
            .push(format!("{:>6} RESET links of node {sid}", self.now));
        let conns: Vec<usize> = (0..self.conns.len())
            .filter(|&c| self.conns[c].alive && self.conns[c].ends.iter().any(|(s, _)| *s == sid))
            .collect();
        for c in conns {
            self.close_conn(c);
        }
    }

    pub fn heal(&mut self) {
        self.log.push(format!("{:>6} HEAL", self.now));
        let healed = std::mem::take(&mut self.cut);
        for (a, b) in healed {
            self.reconnect_election(a, b);
            self.reconnect_election(b, a);
        }
    }

    /// A fresh election connection from `from` to `to` re-sends the last notification.
    pub(super) fn reconnect_election(&mut self, from: Sid, to: Sid) {
        if !self.node(from).up {
            return;
        }
        if let Some(n) = self.last_sent.get(&(from, to)).cloned() {
            self.send_notification(from, to, n);
        }
    }
}
