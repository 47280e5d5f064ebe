//! Answering read requests from the tree, registering the watches they ask for. Checks
//! follow ZooKeeper's FinalRequestProcessor: node existence first, then READ.

use super::acl::permits;
use super::watch::{WatchKind, WatchManager};
use super::DataTree;
use crate::proto::opcode::{
    perms, EventType, WatcherType, ADD_WATCH_PERSISTENT, ADD_WATCH_PERSISTENT_RECURSIVE,
};
use crate::proto::records::{Acl, ClientInfo, Id, SetWatches2};
use crate::proto::request::{MultiOp, Request};
use crate::proto::response::{MultiResult, Response};
use crate::proto::ErrorCode;

/// Who is reading.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    pub session: i64,
    pub ids: &'a [Id],
    pub skip_acl: bool,
}

impl Reader<'_> {
    pub fn can(&self, acl: &[Acl], perm: i32) -> bool {
        self.skip_acl || permits(acl, perm, self.ids)
    }
}

/// ZooKeeper only rejects NUL in read paths; anything else simply is not found.
fn check_path(path: &str) -> Result<(), ErrorCode> {
    if path.contains('\0') {
        Err(ErrorCode::BadArguments)
    } else {
        Ok(())
    }
}

impl DataTree {
    /// Executes a read-only request. Write requests are not handled here.
    pub fn read(
        &self,
        watches: &mut WatchManager,
        who: &Reader,
        req: &Request,
    ) -> Result<Response, ErrorCode> {
        match req {
            Request::Exists(r) => {
                check_path(&r.path)?;
                // ZooKeeper 3.8 answers exists without an ACL check.
                let node = self.get(&r.path);
                if r.watch {
                    watches.add(who.session, &r.path, WatchKind::Data);
                }
                node.map(|n| Response::Stat(n.stat()))
                    .ok_or(ErrorCode::NoNode)
            }
            Request::GetData(r) => {
                let n = self.readable(who, &r.path)?;
                if r.watch {
                    watches.add(who.session, &r.path, WatchKind::Data);
                }
                Ok(Response::Data(n.data.clone(), n.stat()))
            }
            Request::GetChildren(r) | Request::GetChildren2(r) => {
                let n = self.readable(who, &r.path)?;
                if r.watch {
                    watches.add(who.session, &r.path, WatchKind::Child);
                }
                let children = n.children.iter().map(|c| c.to_string()).collect();
                Ok(match req {
                    Request::GetChildren(_) => Response::Children(children),
                    _ => Response::Children2(children, n.stat()),
                })
            }
            Request::GetAcl(r) => {
                check_path(&r.path)?;
                let n = self.get(&r.path).ok_or(ErrorCode::NoNode)?;
                let acl = self.acl(n);
                if !who.can(acl, perms::READ | perms::ADMIN) {
                    return Err(ErrorCode::NoAuth);
                }
                // Without ADMIN, digest hashes are redacted (CVE-2019-0201).
                let acl = if who.can(acl, perms::ADMIN) {
                    acl.to_vec()
                } else {
                    redact(acl)
                };
                Ok(Response::Acl(acl, n.stat()))
            }
            Request::GetAllChildrenNumber(r) => {
                self.readable(who, &r.path)?;
                self.descendant_count(&r.path)
                    .map(Response::Count)
                    .ok_or(ErrorCode::NoNode)
            }
            Request::GetEphemerals(r) => {
                Ok(Response::Paths(self.ephemerals_under(who.session, &r.path)))
            }
            Request::WhoAmI => Ok(Response::WhoAmI(
                in_java_set_order(who.ids)
                    .into_iter()
                    .map(|id| ClientInfo {
                        auth_scheme: id.scheme.clone(),
                        user: user_name(id),
                    })
                    .collect(),
            )),
            Request::Sync(r) => Ok(Response::Path(r.path.clone())),
            // A top-level check: Apache 3.8 answers a failing one with its error and a
            // passing one not at all; we answer the pass with an empty reply so no
            // client waits forever.
            Request::Check(r) => {
                super::path::validate(&r.path).map_err(|_| ErrorCode::BadArguments)?;
                let n = self.readable(who, &r.path)?;
                if r.version != -1 && r.version != n.stat.version {
                    return Err(ErrorCode::BadVersion);
                }
                Ok(Response::Empty)
            }
            Request::CheckWatches(r) | Request::RemoveWatches(r) => {
                let t = WatcherType::from_i32(r.watcher_type).ok_or(ErrorCode::BadArguments)?;
                let found = match req {
                    Request::CheckWatches(_) => watches.contains(who.session, &r.path, t),
                    _ => watches.remove(who.session, &r.path, t),
                };
                if found {
                    Ok(Response::Empty)
                } else {
                    Err(ErrorCode::NoWatcher)
                }
            }
            Request::AddWatch(r) => {
                let kind = match r.mode {
                    ADD_WATCH_PERSISTENT => WatchKind::Persistent,
                    ADD_WATCH_PERSISTENT_RECURSIVE => WatchKind::PersistentRecursive,
                    _ => return Err(ErrorCode::BadArguments),
                };
                check_path(&r.path)?;
                watches.add(who.session, &r.path, kind);
                Ok(Response::ErrorBody(0))
            }
            Request::MultiRead(ops) => {
                let results = ops
                    .iter()
                    .map(|op| self.multi_read_op(watches, who, op))
                    .collect();
                Ok(Response::Multi(results))
            }
            _ => Err(ErrorCode::Unimplemented),
        }
    }

    fn readable(&self, who: &Reader, path: &str) -> Result<&super::node::Node, ErrorCode> {
        check_path(path)?;
        let n = self.get(path).ok_or(ErrorCode::NoNode)?;
        if !who.can(self.acl(n), perms::READ) {
            return Err(ErrorCode::NoAuth);
        }
        Ok(n)
    }

    fn multi_read_op(&self, watches: &mut WatchManager, who: &Reader, op: &MultiOp) -> MultiResult {
        let result = match op {
            MultiOp::GetChildren(r) => self.read(watches, who, &Request::GetChildren(r.clone())),
            MultiOp::GetData(r) => self.read(watches, who, &Request::GetData(r.clone())),
            _ => Err(ErrorCode::BadArguments),
        };
        match result {
            Ok(Response::Children(c)) => MultiResult::GetChildren(c),
            Ok(Response::Data(d, s)) => MultiResult::GetData(d, s),
            Ok(_) => MultiResult::Error(ErrorCode::SystemError),
            Err(e) => MultiResult::Error(e),
        }
    }

    /// Re-registers a reconnecting client's watches (SetWatches/SetWatches2) and returns the
    /// events it missed while away, judged against `relative_zxid`.
    pub fn set_watches(
        &self,
        watches: &mut WatchManager,
        session: i64,
        w: &SetWatches2,
    ) -> Vec<(EventType, String)> {
        let rel = w.relative_zxid;
        let mut missed = Vec::new();
        for p in &w.data_watches {
            match self.get(p) {
                None => missed.push((EventType::NodeDeleted, p.clone())),
                Some(n) if n.stat.mzxid > rel => {
                    missed.push((EventType::NodeDataChanged, p.clone()))
                }
                Some(_) => watches.add(session, p, WatchKind::Data),
            }
        }
        for p in &w.exist_watches {
            match self.get(p) {
                Some(_) => missed.push((EventType::NodeCreated, p.clone())),
                None => watches.add(session, p, WatchKind::Data),
            }
        }
        for p in &w.child_watches {
            match self.get(p) {
                None => missed.push((EventType::NodeDeleted, p.clone())),
                Some(n) if n.stat.pzxid > rel => {
                    missed.push((EventType::NodeChildrenChanged, p.clone()))
                }
                Some(_) => watches.add(session, p, WatchKind::Child),
            }
        }
        for p in &w.persistent_watches {
            watches.add(session, p, WatchKind::Persistent);
        }
        for p in &w.persistent_recursive_watches {
            watches.add(session, p, WatchKind::PersistentRecursive);
        }
        missed
    }
}

/// The order Apache lists a connection's ids in: they live in a `ConcurrentHashMap`-backed
/// set, so whoAmI walks them by hash bucket (16 buckets, `Id.hashCode` spread as the map
/// does), insertion order within a bucket.
fn in_java_set_order(ids: &[Id]) -> Vec<&Id> {
    fn java_string_hash(s: &str) -> i32 {
        s.encode_utf16()
            .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
    }
    let bucket = |id: &Id| {
        let h = 37i32
            .wrapping_mul(
                37i32
                    .wrapping_mul(17)
                    .wrapping_add(java_string_hash(&id.scheme)),
            )
            .wrapping_add(java_string_hash(&id.id));
        let spread = (h ^ ((h as u32) >> 16) as i32) & 0x7fff_ffff;
        spread & 15
    };
    let mut out: Vec<&Id> = ids.iter().collect();
    out.sort_by_key(|id| bucket(id));
    out
}

/// The user part of an id as whoAmI reports it: a digest id's name before the colon.
fn user_name(id: &Id) -> String {
    match id.scheme.as_str() {
        "digest" => id.id.split(':').next().unwrap_or_default().to_string(),
        _ => id.id.clone(),
    }
}

fn redact(acl: &[Acl]) -> Vec<Acl> {
    acl.iter()
        .map(|a| match a.id.scheme.as_str() {
            "digest" => {
                let user = a.id.id.split(':').next().unwrap_or_default();
                Acl {
                    perms: a.perms,
                    id: Id {
                        scheme: "digest".into(),
                        id: format!("{user}:x"),
                    },
                }
            }
            _ => a.clone(),
        })
        .collect()
}

#[cfg(test)]
mod id_order_tests {
    use super::*;

    fn id(scheme: &str, id: &str) -> Id {
        Id {
            scheme: scheme.into(),
            id: id.into(),
        }
    }

    /// As Apache 3.8's whoAmI listed them (zkCli `whoami` after SASL and after addauth).
    #[test]
    fn ids_come_in_apaches_hash_order() {
        let ip = id("ip", "127.0.0.1");
        let sasl = id("sasl", "bob");
        let digest = id("digest", "u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ=");
        let ids = [ip.clone(), digest.clone(), sasl.clone()];
        assert_eq!(in_java_set_order(&ids), vec![&sasl, &ip, &digest]);
    }
}
