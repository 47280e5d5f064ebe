//! How a simulated member's host carries out the quorum core's actions: the network, the
//! disk (durable only at fsync), the model state machine, and the bookkeeping the checks use.

use super::*;

impl World {
    pub(super) fn perform_one(&mut self, sid: Sid, a: Action) {
        let now = self.now;
        match a {
            Action::Notify { to, n } => self.send_notification(sid, to, n),
            Action::Send { link, packet } => {
                match packet.packet_type() {
                    Some(crate::quorum::wire::PacketType::Diff) => self.stats.diffs += 1,
                    Some(crate::quorum::wire::PacketType::Trunc) => self.stats.truncs += 1,
                    _ => {}
                }
                if matches!(
                    packet.packet_type(),
                    Some(
                        crate::quorum::wire::PacketType::Diff
                            | crate::quorum::wire::PacketType::Trunc
                    )
                ) {
                    let d = packet.describe();
                    self.log.push(format!("{now:>6} node {sid} sends {d}"));
                }
                self.send_packet(sid, link, packet)
            }
            Action::SendSnapshot { link } => {
                self.stats.snaps += 1;
                let applied = self.node(sid).applied;
                self.log
                    .push(format!("{now:>6} node {sid} sends SNAP at 0x{applied:x}"));
                let n = self.node(sid);
                let body = encode_state(&n.state);
                let zxid = n.applied;
                self.send_on_conn(sid, link, |other| Input::Snapshot {
                    link: other,
                    zxid,
                    body: body.clone(),
                });
            }
            Action::Close { link, .. } => {
                if let Some(c) = self.conn_of(sid, link) {
                    self.close_conn(c);
                }
            }
            Action::ConnectToLeader { link, leader } => self.connect(sid, link, leader),
            Action::LastSeenConfig { view } => self.last_seen_config(sid, view),
            Action::ActivateConfig { view } => {
                let v = view.version();
                let m = configs::members(&view);
                self.log
                    .push(format!("{now:>6} node {sid} activates config 0x{v:x} {m}"));
                self.activate_config(sid, view);
            }
            Action::PersistAcceptedEpoch(e) => self.node(sid).disk.accepted_epoch = e,
            Action::PersistCurrentEpoch(e) => self.node(sid).disk.current_epoch = e,
            Action::Append { zxid, txn } => {
                let last = self.node(sid).disk.last_logged();
                if last >= zxid {
                    let what = format!("node {sid} appended 0x{zxid:x} after 0x{last:x}");
                    self.checker.fail(now, what);
                    return;
                }
                self.node(sid).disk.log.push((zxid, txn));
                self.start_fsync(sid);
            }
            Action::TruncateLog { zxid } => {
                self.node(sid).truncate(zxid);
                let n = self.node(sid);
                let (first, len) = (n.state.first().map(|(z, _)| *z).unwrap_or(0), n.state.len());
                let snaps: Vec<i64> = n.disk.snapshots.keys().copied().collect();
                self.log.push(format!("{now:>6} node {sid} TRUNC 0x{zxid:x}: state {len} txns from 0x{first:x}, snapshots {snaps:x?}"));
                self.checker.reset(sid);
            }
            Action::LoadSnapshot { zxid, body } => {
                self.log
                    .push(format!("{now:>6} node {sid} loads SNAP at 0x{zxid:x}"));
                self.node(sid).load(zxid, decode_state(&body));
                self.checker.reset(sid);
            }
            Action::TakeSnapshot => {
                let n = self.node(sid);
                n.take_snapshot();
                let z = n.applied;
                self.log
                    .push(format!("{now:>6} node {sid} snapshot at 0x{z:x}"));
            }
            Action::Apply { zxid, txn } => self.apply(sid, zxid, txn),
            Action::ApplyLogged { txns } => {
                self.stats.applied_on_leave += txns.len() as u64;
                self.node(sid).flush();
                for (z, t) in txns {
                    if z > self.node(sid).applied {
                        self.apply(sid, z, t);
                    }
                }
            }
            Action::Forwarded { request, .. } => {
                if self.node(sid).member.is_serving() {
                    let id = u64::from_be_bytes(request.body[..8].try_into().unwrap_or([0; 8]));
                    self.leader_propose(sid, id);
                }
            }
            Action::PingReply { link, zxid } => {
                let p = QuorumPacket::new(
                    crate::quorum::wire::PacketType::Ping,
                    zxid,
                    Some(Bytes::new()),
                );
                self.send_packet(sid, link, p);
            }
            Action::Revalidate { link, session, .. } => {
                let out = self.node(sid).member.revalidated(now, link, session, true);
                self.perform(sid, out);
            }
            Action::StartServing => {
                let n = &self.nodes[(sid - 1) as usize];
                if n.member.mode() == Mode::Leading {
                    let applied = n.member.last_applied();
                    self.node(sid).applied = self.node(sid).applied.max(applied);
                    let n = &self.nodes[(sid - 1) as usize];
                    self.checker.leader_established(n, now);
                }
            }
            Action::StateChanged { state, leader } => {
                if state == crate::quorum::ServerState::Leading {
                    self.leading.insert(sid);
                }
                self.log.push(format!(
                    "{now:>6} node {sid} {} leader {leader:?}",
                    state.name()
                ));
            }
            Action::SyncDone => self.sync_done(sid),
            Action::SyncConfirmed { token } => self.sync_confirmed(sid, token),
            Action::TouchSessions(_) | Action::Revalidated { .. } => {}
            Action::StopServing { .. } => {
                self.drop_syncs(sid);
                if self.leading.remove(&sid) {
                    self.stats.abdications += 1;
                }
            }
        }
    }

    fn apply(&mut self, sid: Sid, zxid: i64, txn: Bytes) {
        let leading = self.node(sid).member.mode() == Mode::Leading;
        if !self.node(sid).apply(zxid, txn.clone()) {
            let applied = self.node(sid).applied;
            self.checker.fail(self.now, format!("node {sid} applied 0x{zxid:x} after 0x{applied:x} (or a txn naming another zxid)"));
            return;
        }
        self.checker.applied(sid, zxid, &txn, leading, self.now);
        self.release_applied_syncs(sid);
    }
}
