//! Answering read requests from the tree, registering the watches they ask for. Checks
//! follow ZooKeeper's FinalRequestProcessor: node existence first, then READ.

use bytes::Bytes;

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
                // A copy: the stored data shares the path's buffer (see `node`).
                Ok(Response::Data(
                    n.data().map(Bytes::copy_from_slice),
                    n.stat(),
                ))
            }
            Request::GetChildren(r) | Request::GetChildren2(r) => {
                let n = self.readable(who, &r.path)?;
                if r.watch {
                    watches.add(who.session, &r.path, WatchKind::Child);
                }
                let children = self.child_nodes(n).map(|c| c.name().to_string()).collect();
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
                java_set_order(who.ids)
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

/// The user part of an id as whoAmI reports it: a digest id's name before the colon.
/// `AuthUtil.getUser`: the provider's user name; schemes without a provider (`super`) have "".
fn user_name(id: &Id) -> String {
    match id.scheme.as_str() {
        "digest" => id.id.split(':').next().unwrap_or_default().to_string(),
        "super" => String::new(),
        _ => id.id.clone(),
    }
}

/// Java's `String.hashCode` (UTF-16 code units, wrapping).
fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)))
}

/// The order Apache lists a connection's ids in: its `authInfo` is a set backed by a
/// `ConcurrentHashMap`, iterated bucket by bucket (jute's `Id.hashCode`, spread as the map
/// does) and by insertion order within a bucket. The table has 16 buckets until the 12th id;
/// beyond that the order is only approximated (no real connection holds that many).
fn java_set_order(ids: &[Id]) -> Vec<&Id> {
    let buckets: u32 = if ids.len() < 12 { 16 } else { 64 };
    let bucket = |id: &Id| {
        let h = 17i32
            .wrapping_mul(37)
            .wrapping_add(java_string_hash(&id.scheme))
            .wrapping_mul(37)
            .wrapping_add(java_string_hash(&id.id)) as u32;
        ((h ^ (h >> 16)) & 0x7fff_ffff) & (buckets - 1)
    };
    let mut out: Vec<&Id> = ids.iter().collect();
    // A stable sort keeps insertion order inside a bucket.
    out.sort_by_key(|id| bucket(id));
    out
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
mod tests {
    use super::*;

    fn ids(pairs: &[(&str, &str)]) -> Vec<Id> {
        pairs
            .iter()
            .map(|(s, i)| Id {
                scheme: s.to_string(),
                id: i.to_string(),
            })
            .collect()
    }

    /// Expected orders printed by Java 17 iterating a `ConcurrentHashMap`-backed set of
    /// `org.apache.zookeeper.data.Id` (zookeeper-jute 3.8.0), as `ServerCnxn.authInfo` is.
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [usize]);

    #[test]
    fn who_am_i_lists_ids_in_javas_set_order() {
        let cases: &[Case] = &[
            (
                &[
                    ("ip", "127.0.0.1"),
                    ("x509", "CN=client1,OU=clients,O=zk-test"),
                ],
                &[1, 0],
            ),
            (
                &[
                    ("ip", "127.0.0.1"),
                    ("super", "CN=admin,O=zk-test"),
                    ("x509", "CN=admin,O=zk-test"),
                ],
                &[0, 1, 2],
            ),
            (
                &[
                    ("ip", "127.0.0.1"),
                    ("digest", "user2:lo/iTtNMP+gEZlpUNaCqLYO3i5U="),
                ],
                &[1, 0],
            ),
            // As Apache 3.8's whoAmI listed them after SASL and addauth (zkCli `whoami`).
            (
                &[
                    ("ip", "127.0.0.1"),
                    ("digest", "u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ="),
                    ("sasl", "bob"),
                ],
                &[2, 0, 1],
            ),
            (
                &[
                    ("ip", "10.1.2.3"),
                    ("digest", "a:b"),
                    ("digest", "c:d"),
                    ("x509", "CN=x"),
                    ("super", ""),
                ],
                &[1, 3, 4, 0, 2],
            ),
        ];
        for (given, order) in cases {
            let given = ids(given);
            let want: Vec<&Id> = order.iter().map(|&i| &given[i]).collect();
            assert_eq!(java_set_order(&given), want);
        }
        assert_eq!(java_string_hash("ip"), 3367);
    }
}
