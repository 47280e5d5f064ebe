//! Dynamic reconfiguration in the runtime (`reconfigEnabled`): preparing a `reconfig`
//! request on the leader with Apache's checks in Apache's order (RECONFIGINPROGRESS,
//! BADVERSION for a stale `fromConfig`, the new membership's BADARGUMENTS, NEWCONFIGNOQUORUM,
//! then WRITE on `/zookeeper/config`, which only a super user or `skipACL` passes), and
//! carrying out an activated configuration: `/zookeeper/config`, `<zoo.cfg>.dynamic.<hex>`,
//! zoo.cfg pointing at it, and the `.bak` copy Apache keeps of a zoo.cfg it first splits;
//! and the last seen (proposed, not yet in force) configuration in `<zoo.cfg>.dynamic.next`.
//!
//! Owns: those files and the reconfig txn. Must not: decide when a configuration is in force
//! (the quorum core does, `Action::ActivateConfig`).

use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::core::Core;
use crate::config::dynamic::{dynamic_file_text, parse_dynamic, static_file_text};
use crate::config::{quorum_verifier_text, Config};
use crate::proto::records::{Id, ReconfigRequest};
use crate::proto::txn::SetDataTxn;
use crate::proto::ErrorCode;
use crate::quorum::QuorumView;
use crate::tree::acl::permits;

/// `/zookeeper/config`, the node a reconfig txn rewrites.
pub const CONFIG_NODE: &str = "/zookeeper/config";

/// `ZooDefs.Perms.WRITE`.
const PERM_WRITE: i32 = 2;

impl Core {
    /// Leader: the txn and the configuration it installs for a `reconfig` request at `zxid`,
    /// or the error the client gets (as an error txn).
    pub(super) fn prepare_reconfig(
        &self,
        req: &ReconfigRequest,
        ids: &[Id],
        zxid: i64,
    ) -> Result<(SetDataTxn, QuorumView), ErrorCode> {
        if self.member.reconfig_in_progress() {
            return Err(ErrorCode::ReconfigInProgress);
        }
        let current = self.member.view();
        if req.cur_config_id != -1 && req.cur_config_id != current.version() {
            tracing::warn!(
                from = format_args!("{:x}", req.cur_config_id),
                last_seen = format_args!("{:x}", current.version()),
                "Reconfiguration from version {:x} failed -- last seen version is {:x}",
                req.cur_config_id,
                current.version()
            );
            return Err(ErrorCode::BadVersion);
        }
        let members = config_members(current.config()).ok_or_else(|| {
            tracing::error!("the configuration in force does not parse; reconfig refused");
            ErrorCode::SystemError
        })?;
        let next = crate::prep::reconfig::next_members(&members, req, self.cfg.standalone_enabled)
            .map_err(|(code, msg)| {
                tracing::warn!("reconfig refused: {msg}");
                code
            })?;
        let text = quorum_verifier_text(next.values(), zxid);
        let view = QuorumView::from_config(Bytes::from(text.clone())).ok_or_else(|| {
            tracing::error!("a reconfig built a configuration that does not parse");
            ErrorCode::SystemError
        })?;
        if !self.member.is_quorum_synced(&view, self.quorum_now()) {
            tracing::warn!(
                "Reconfig failed - there must be a connected and synced quorum in new configuration"
            );
            return Err(ErrorCode::NewConfigNoQuorum);
        }
        let node = self.tree.get(CONFIG_NODE).ok_or(ErrorCode::SystemError)?;
        if !self.cfg.skip_acl && !permits(self.tree.acl(node), PERM_WRITE, ids) {
            return Err(ErrorCode::NoAuth);
        }
        let txn = SetDataTxn {
            path: CONFIG_NODE.into(),
            data: Some(Bytes::from(text)),
            version: -1,
        };
        Ok((txn, view))
    }

    /// A configuration is in force (`QuorumPeer.processReconfig`): `/zookeeper/config` shows
    /// it, and with `reconfigEnabled` it is written to disk as Apache writes it.
    pub(super) fn activate_config(&mut self, view: QuorumView) {
        let text = String::from_utf8_lossy(view.config()).into_owned();
        if let Some(e) = self.ensemble.as_mut() {
            e.config_text = text.clone();
            e.addrs.learn(&text);
        }
        self.tree
            .init_config_node(text.as_bytes(), super::core::now_ms(), view.version());
        if self.cfg.reconfig_enabled {
            if let Err(e) = write_config_files(&self.cfg, &text, view.version()) {
                tracing::error!("writing the dynamic configuration failed: {e}");
            }
            self.move_client_port(&text);
        }
    }

    /// The configuration gives this member a client address (`;host:port`): the `clientPort`
    /// listener moves there (Apache's `cnxnFactory.reconfigure`) if it is elsewhere.
    fn move_client_port(&self, text: &str) {
        let Some(moves) = &self.client_moves else {
            return;
        };
        let members = config_members(&Bytes::from(text.to_string()));
        let Some(spec) = members.as_ref().and_then(|m| m.get(&self.cfg.server_id)) else {
            return;
        };
        let Some(port) = spec.client_port else {
            return;
        };
        let host = spec.client_host.as_deref().unwrap_or("0.0.0.0");
        use std::net::ToSocketAddrs;
        match (host, port).to_socket_addrs().map(|mut a| a.next()) {
            Ok(Some(to)) => {
                moves.send_if_modified(|at| {
                    let changed = *at != Some(to);
                    *at = Some(to);
                    changed
                });
            }
            _ => tracing::error!(
                host,
                port,
                "the new client address does not resolve; the client port stays"
            ),
        }
    }
}

impl Core {
    /// The last reconfig proposal seen (`setLastSeenQuorumVerifier(qv, true)`): kept in
    /// `<zoo.cfg>.dynamic.next` (its text, `version=` included) while newer than the
    /// configuration in force, so that a restarted member that leads next resumes it.
    pub(super) fn record_last_seen(&mut self, view: QuorumView) {
        if !self.cfg.reconfig_enabled {
            return;
        }
        if let Some(e) = self.ensemble.as_ref() {
            e.addrs.learn(&String::from_utf8_lossy(view.config()));
        }
        let next = next_config_path(&self.cfg);
        let result = if view.version() > self.member.view().version() {
            write_atomic(&next, view.config())
        } else {
            remove_if_present(&next)
        };
        if let Err(e) = result {
            tracing::error!(path = %next.display(), "keeping the last seen configuration failed: {e}");
        }
    }
}

/// `<zoo.cfg>.dynamic.next` at startup: the reconfig this member saw proposed before it
/// stopped, if any (Apache's `lastSeenQuorumVerifier`).
pub(super) fn read_last_seen(cfg: &Config) -> Option<QuorumView> {
    if !cfg.reconfig_enabled {
        return None;
    }
    let path = next_config_path(cfg);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(path = %path.display(), "cannot read the last seen configuration: {e}");
            return None;
        }
    };
    let view = QuorumView::from_config(Bytes::from(bytes));
    if view.is_none() {
        tracing::warn!(path = %path.display(), "the last seen configuration does not parse; ignored");
    }
    view
}

fn next_config_path(cfg: &Config) -> PathBuf {
    PathBuf::from(format!("{}.dynamic.next", absolute(&cfg.source).display()))
}

fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The `server.N` entries of a configuration text.
fn config_members(
    config: &Bytes,
) -> Option<std::collections::BTreeMap<u64, crate::config::ServerSpec>> {
    let text = std::str::from_utf8(config).ok()?;
    let servers: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("version"))
        .collect();
    parse_dynamic(&servers.join("\n")).ok()
}

/// `setQuorumVerifier(qv, true)`: `<zoo.cfg>.dynamic.<hex version>` holds the members,
/// zoo.cfg is rewritten to point at it (without its `clientPort*` keys when this member's
/// line names its client address), and a stale `<zoo.cfg>.dynamic.next` is removed.
fn write_config_files(cfg: &Config, text: &str, version: i64) -> std::io::Result<()> {
    let source = absolute(&cfg.source);
    let dynamic = PathBuf::from(format!("{}.dynamic.{version:x}", source.display()));
    write_atomic(&dynamic, dynamic_file_text(text).as_bytes())?;
    let zoo_cfg = std::fs::read_to_string(&source)?;
    let erase_client = config_members(&Bytes::from(text.to_string()))
        .and_then(|m| m.get(&cfg.server_id).map(|s| s.client_port.is_some()))
        .unwrap_or(false);
    let dynamic_name = std::fs::canonicalize(&dynamic).unwrap_or(dynamic);
    let rewritten = static_file_text(&zoo_cfg, &dynamic_name.display().to_string(), erase_client)
        .map_err(std::io::Error::other)?;
    write_atomic(&source, rewritten.as_bytes())?;
    remove_if_present(&next_config_path(cfg))
}

/// Apache's `backupOldConfig`: before a zoo.cfg with `server.N` lines is first split into
/// static and dynamic parts, its original is kept as `<zoo.cfg>.bak`.
pub(super) fn backup_static_config(cfg: &Config) {
    if !cfg.reconfig_enabled || !cfg.is_distributed() || cfg.dynamic_config_file.is_some() {
        return;
    }
    let source = absolute(&cfg.source);
    let bak = PathBuf::from(format!("{}.bak", source.display()));
    match std::fs::read(&source) {
        Ok(bytes) => {
            if let Err(e) = write_atomic(&bak, &bytes) {
                tracing::warn!(path = %bak.display(), "cannot back up zoo.cfg: {e}");
            }
        }
        Err(e) => {
            tracing::warn!(path = %source.display(), "cannot read zoo.cfg to back it up: {e}")
        }
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Write to a temp file, fsync, rename (Apache's `AtomicFileWritingIdiom`).
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
