//! Carrying out the quorum core's actions, in the order it gives them: sends go to the peer
//! transport, storage actions complete (durably) before the next one, committed txns are
//! applied, and role changes open or close the client service.

use std::time::Instant;

use bytes::{BufMut, BytesMut};

use super::core::{Core, SessionOwner};
use super::peers::links::{connect_leader, LeaderDial, LinkHandle};
use crate::quorum::wire::payload::encode_touched;
use crate::quorum::wire::{PacketType, QuorumPacket};
use crate::quorum::{Action, Input, LinkId, Mode, ServerState};
use crate::storage::EpochFile;
use crate::tree::apache_snap::write_signature;

impl Core {
    /// Feeds one input to the member and carries out what it asks.
    pub(super) fn quorum_input(&mut self, input: Input) {
        if matches!(input, Input::Tick) {
            self.prune_parked();
        }
        let now = self.quorum_now();
        let actions = self.member.step(now, input, &self.store);
        self.execute(actions);
    }

    pub(super) fn execute(&mut self, actions: Vec<Action>) {
        for a in actions {
            self.perform(a);
        }
    }

    fn perform(&mut self, action: Action) {
        match action {
            Action::Notify { to, n } => {
                if let Some(e) = &self.ensemble {
                    e.election.send(to, &n);
                }
            }
            Action::Send { link, packet } => self.send_packet(link, &packet),
            Action::SendSnapshot { link } => self.send_snapshot(link),
            Action::Close { link, reason } => {
                if let Some(e) = self.ensemble.as_mut() {
                    if e.links.remove(&link).is_some() {
                        tracing::debug!(link, reason, "closing quorum link");
                    }
                }
            }
            Action::ConnectToLeader { link, leader } => self.connect_to_leader(link, leader),
            Action::PersistAcceptedEpoch(e) => self.store.write_epoch(EpochFile::Accepted, e),
            Action::PersistCurrentEpoch(e) => self.store.write_epoch(EpochFile::Current, e),
            Action::Append { zxid, txn } => self.store.append(zxid, txn),
            Action::TruncateLog { zxid } => {
                self.snap_base = None;
                self.tree = self.store.truncate(zxid, self.cfg.quorum.digest_enabled);
                self.after_state_replaced();
            }
            Action::LoadSnapshot { zxid, body } => self.load_snapshot(zxid, &body),
            Action::TakeSnapshot => {
                if let Some(z) = self.snap_base.take() {
                    self.store.replace_history(z);
                }
                self.store.snapshot_now(&self.tree);
            }
            Action::Apply { zxid, txn } => self.apply_committed(zxid, txn),
            Action::ApplyLogged { txns } => {
                // Apache reloads its database from disk here: everything logged counts.
                self.store.flush();
                for (zxid, txn) in txns {
                    if zxid > self.tree.last_zxid() {
                        self.apply_committed(zxid, txn);
                    }
                }
            }
            Action::TouchSessions(list) => {
                let now = super::core::now_ms();
                for (id, _) in list {
                    let _ = self.sessions.touch(id, now);
                }
            }
            Action::Revalidate {
                link,
                sid,
                session,
                timeout_ms,
            } => {
                let valid = self.sessions.touch(session, super::core::now_ms()).is_ok();
                if valid {
                    let _ = self
                        .sessions
                        .set_timeout(session, timeout_ms, super::core::now_ms());
                    self.owners.insert(session, SessionOwner::Learner(sid));
                }
                let now = self.quorum_now();
                let out = self.member.revalidated(now, link, session, valid);
                self.execute(out);
            }
            Action::Revalidated { session, valid } => self.revalidated(session, valid),
            Action::Forwarded {
                link: _,
                sid,
                request,
                auth,
            } => self.forwarded(sid, request, auth),
            Action::SyncDone => self.sync_done(),
            Action::SyncConfirmed { token } => self.sync_confirmed(token),
            Action::PingReply { link, zxid } => {
                let touched: Vec<(i64, i32)> = self.touched.drain().collect();
                let packet =
                    QuorumPacket::new(PacketType::Ping, zxid, Some(encode_touched(&touched)));
                self.send_packet(link, &packet);
            }
            Action::StateChanged { state, leader } => self.state_changed(state, leader),
            Action::StartServing => self.start_serving(),
            Action::ActivateConfig { view } => self.activate_config(view),
            Action::LastSeenConfig { view } => self.record_last_seen(view),
            Action::StopServing { reason } => self.stop_serving(&reason),
        }
    }

    fn send_packet(&mut self, link: LinkId, packet: &QuorumPacket) {
        if let Some(h) = self.ensemble.as_ref().and_then(|e| e.links.get(&link)) {
            h.send_packet(packet.zxid, packet.to_bytes());
        }
    }

    /// SNAP(zxid) + Apache's database serialization + "BenWasHere", as one write.
    fn send_snapshot(&mut self, link: LinkId) {
        let started = Instant::now();
        let zxid = self.tree.last_zxid();
        let mut out = BytesMut::new();
        QuorumPacket::new(PacketType::Snap, zxid, None).encode(&mut out);
        let mut body = out.writer();
        if let Err(e) = self.tree.write_apache_snap(&mut body) {
            tracing::error!("cannot serialize the database for a SNAP: {e}");
            return;
        }
        let mut bytes = body.into_inner().to_vec();
        write_signature(&mut bytes);
        tracing::info!(
            zxid = format_args!("0x{zxid:x}"),
            bytes = bytes.len(),
            ms = started.elapsed().as_millis() as u64,
            "Sending snapshot"
        );
        if let Some(h) = self.ensemble.as_ref().and_then(|e| e.links.get(&link)) {
            h.send_packet(zxid, bytes.into());
        }
    }

    fn connect_to_leader(&mut self, link: LinkId, leader: crate::quorum::Sid) {
        let Some(e) = &self.ensemble else { return };
        let Some((host, port)) = e.addrs.quorum(leader) else {
            tracing::error!(leader, "leader is not in the server list");
            let now = self.quorum_now();
            let out = self
                .member
                .step(now, Input::LinkClosed { link }, &self.store);
            self.execute(out);
            return;
        };
        let timeout = std::time::Duration::from_millis(
            u64::from(self.cfg.tick_time_ms) * u64::from(self.cfg.init_limit),
        );
        let dial = LeaderDial {
            transport: e.addrs.transport.clone(),
            auth: e.addrs.auth.clone(),
            timeout,
            max_packet: self.cfg.quorum.max_packet,
        };
        connect_leader(link, host, port, e.core_tx.clone(), dial);
    }

    /// SNAP: the leader's database replaces ours in memory; disk follows at `TakeSnapshot`.
    fn load_snapshot(&mut self, zxid: i64, body: &[u8]) {
        let loaded = crate::tree::DataTree::read_apache_snap(
            body,
            self.cfg.quorum.max_packet,
            self.cfg.quorum.digest_enabled,
        );
        match loaded {
            Ok(l) => {
                self.tree = l.tree;
                self.tree.set_last_zxid(zxid);
                self.snap_base = Some(zxid);
                // Apache's leader serializes the SNAP while it commits on: the body may
                // already hold txns up to (at least) its newest stamp, which come again.
                self.digest_fuzzy_through = zxid.max(self.tree.newest_stamped_zxid());
                self.after_state_replaced();
            }
            Err(e) => {
                // The member is already past the point of no return for this sync; the
                // leader's data cannot be read, so leave rather than serve a wrong tree.
                tracing::error!("cannot load the SNAP from the leader: {e}; exiting");
                std::process::exit(2);
            }
        }
    }

    /// The tree was rebuilt (TRUNC, SNAP): drop everything derived from the old one.
    fn after_state_replaced(&mut self) {
        self.pending = Default::default();
        self.inflight.clear();
        self.digest_preview = Default::default();
        self.watches = Default::default();
        if let Some(e) = &self.ensemble {
            self.tree.init_config_node(
                e.config_text.as_bytes(),
                super::core::now_ms(),
                self.member.view().version(),
            );
        }
    }

    fn state_changed(&mut self, state: ServerState, leader: Option<crate::quorum::Sid>) {
        tracing::info!(state = state.name(), leader = ?leader, "peer state");
        let Some(e) = self.ensemble.as_mut() else {
            return;
        };
        let parked = std::mem::take(&mut e.parked);
        if state != ServerState::Leading {
            return;
        }
        for (link, handle, _) in parked {
            self.adopt_learner(link, handle);
        }
    }

    pub(super) fn link_accepted(&mut self, link: LinkId, handle: LinkHandle) {
        if self.member.mode() == Mode::Leading {
            self.adopt_learner(link, handle);
        } else {
            // A learner may decide before we do; hold it until we lead (or do not).
            self.prune_parked();
            let now = self.quorum_now();
            if let Some(e) = self.ensemble.as_mut() {
                e.parked.push((link, handle, now));
            }
        }
    }

    /// Drops learner connections parked for initLimit ticks without this member leading
    /// (a learner gives up by then). Checked on every quorum tick, so a stray connection to
    /// a follower's quorum port is closed instead of held open until the next one arrives.
    fn prune_parked(&mut self) {
        let now = self.quorum_now();
        let limit = u64::from(self.cfg.tick_time_ms) * u64::from(self.cfg.init_limit);
        if let Some(e) = self.ensemble.as_mut() {
            e.parked.retain(|(link, _, at)| {
                let keep = now.saturating_sub(*at) < limit;
                if !keep {
                    tracing::info!(
                        link,
                        "dropping a learner connection: this member did not become the leader within initLimit"
                    );
                }
                keep
            });
        }
    }

    fn adopt_learner(&mut self, link: LinkId, mut handle: LinkHandle) {
        handle.start();
        if let Some(e) = self.ensemble.as_mut() {
            e.links.insert(link, handle);
        }
        self.quorum_input(Input::LearnerConnected { link });
    }

    pub(super) fn link_connected(&mut self, link: LinkId, mut handle: LinkHandle) {
        handle.start();
        if let Some(e) = self.ensemble.as_mut() {
            e.links.insert(link, handle);
        }
        self.quorum_input(Input::LeaderConnected { link });
    }

    fn start_serving(&mut self) {
        let mode = self.member.mode();
        if mode == Mode::Leading {
            // The new epoch's first zxid: what clients see until the first write.
            let z = self.member.last_applied();
            if z > self.tree.last_zxid() {
                self.tree.set_last_zxid(z);
            }
            self.reset_session_tracker();
            self.leader_since = Some(Instant::now());
            self.proposal_sizes = Default::default();
        }
        tracing::info!(
            mode = mode.name(),
            zxid = format_args!("0x{:x}", self.tree.last_zxid()),
            "serving clients"
        );
    }

    /// Closes every client connection and forgets what was queued or watched for them.
    pub(super) fn close_all_clients(&mut self) {
        for c in self.conns.values() {
            let _ = c.out.send(super::Outbound::Close);
        }
        self.conns.clear();
        self.owner.clear();
        self.queues.clear();
        self.connecting.clear();
        self.pending_syncs.clear();
        self.sync_waiters.clear();
        self.sync_confirming.clear();
        self.touched.clear();
        self.watches = Default::default();
    }

    fn stop_serving(&mut self, reason: &str) {
        self.leader_since = None;
        tracing::warn!(reason, "not serving clients until a leader is established");
        self.close_all_clients();
        self.pending = Default::default();
        // Prepared txns that were never proposed are void; proposed ones come back through
        // `ApplyLogged` and are decoded from their bytes.
        self.inflight.clear();
        self.digest_preview = Default::default();
    }
}
