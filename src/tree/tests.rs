//! Tree behaviour: stat bookkeeping, ephemerals, multi outcomes, snapshot round trips.

use bytes::{BufMut, Bytes, BytesMut};

use super::*;
use crate::proto::jute::{DecodeError, Jute};
use crate::proto::opcode::{EventType, OpCode};
use crate::proto::txn::*;
use crate::proto::ErrorCode;

fn open() -> Vec<Acl> {
    super::open_acl()
}

fn txn(zxid: i64, session: i64, op: OpCode, body: TxnBody) -> Txn {
    Txn {
        header: TxnHeader {
            client_id: session,
            cxid: 1,
            zxid,
            time: 1000 + zxid,
            txn_type: op.code(),
        },
        body,
    }
}

fn create(zxid: i64, path: &str, ephemeral: bool, pcv: i32) -> Txn {
    let body = TxnBody::Create(CreateTxn {
        path: path.into(),
        data: Some(Bytes::from_static(b"d")),
        acl: open(),
        ephemeral,
        parent_cversion: pcv,
    });
    txn(zxid, 0x55, OpCode::Create, body)
}

#[test]
fn fresh_tree_has_zookeeper_nodes_and_counts_root_twice() {
    let t = DataTree::new();
    assert_eq!(t.node_count(), 5);
    assert_eq!(
        t.children("/zookeeper").map(|mut c| {
            c.sort();
            c
        }),
        Some(vec!["config".into(), "quota".into()])
    );
    assert_eq!(t.stat("/").map(|s| s.num_children), Some(1));
}

#[test]
fn create_and_delete_maintain_parent_stats() {
    let mut t = DataTree::new();
    t.apply(&create(1, "/a", false, 1));
    let applied = t.apply(&create(2, "/a/b", false, 1));
    assert!(matches!(applied.result, Ok(Outcome::Created { .. })));
    let events: Vec<_> = applied
        .changes
        .iter()
        .map(|c| (c.path.as_str(), c.event))
        .collect();
    assert_eq!(
        events,
        vec![
            ("/a/b", EventType::NodeCreated),
            ("/a", EventType::NodeChildrenChanged)
        ]
    );
    let a = t.stat("/a").unwrap();
    assert_eq!((a.cversion, a.pzxid, a.num_children), (1, 2, 1));
    t.apply(&txn(
        3,
        0x55,
        OpCode::Delete,
        TxnBody::Delete(DeleteTxn {
            path: "/a/b".into(),
        }),
    ));
    let a = t.stat("/a").unwrap();
    assert_eq!(
        (a.cversion, a.pzxid, a.num_children),
        (2, 3, 0),
        "reported cversion = 2×creates − children; delete bumps pzxid"
    );
    assert_eq!(
        t.get("/a").unwrap().stat.cversion,
        1,
        "stored create count (sequence names) unchanged"
    );
    assert_eq!(t.last_zxid(), 3);
}

#[test]
fn close_session_removes_its_ephemerals() {
    let mut t = DataTree::new();
    t.apply(&txn(
        1,
        0x55,
        OpCode::CreateSession,
        TxnBody::CreateSession(CreateSessionTxn { timeout: 4000 }),
    ));
    t.apply(&create(2, "/e", true, 1));
    assert_eq!(t.ephemerals_under(0x55, "/"), vec!["/e".to_string()]);
    let applied = t.apply(&txn(
        3,
        0x55,
        OpCode::CloseSession,
        TxnBody::CloseSession(CloseSessionTxn::default()),
    ));
    assert!(t.get("/e").is_none());
    assert!(t.sessions().is_empty());
    assert_eq!(applied.changes.len(), 2);
}

#[test]
fn failed_multi_applies_nothing() {
    let mut t = DataTree::new();
    let body = TxnBody::Multi(vec![
        (OpCode::Error, TxnBody::Error(ErrorTxn { err: 0 })),
        (OpCode::Error, TxnBody::Error(ErrorTxn { err: -101 })),
        (OpCode::Error, TxnBody::Error(ErrorTxn { err: -2 })),
    ]);
    let applied = t.apply(&txn(1, 0x55, OpCode::Multi, body));
    let Ok(Outcome::Multi(results)) = applied.result else {
        panic!("not a multi outcome")
    };
    assert_eq!(
        results,
        vec![
            Err(ErrorCode::Ok),
            Err(ErrorCode::NoNode),
            Err(ErrorCode::RuntimeInconsistency)
        ]
    );
    assert_eq!(t.node_count(), 5);
}

/// Found by the `txn` fuzz target (fuzz/regressions/txn/invalid-path-create): a create txn for
/// `/a/b/` (trailing slash) from a leader or a log used to be applied, and the node then made
/// every later snapshot of this server fail to load ("invalid path in snapshot"), so it could
/// not restart. Such txns are now refused (BADARGUMENTS) and previewed as changing nothing.
#[test]
fn creates_with_paths_a_snapshot_cannot_hold_are_refused() {
    let mut t = DataTree::new();
    t.apply(&create(1, "/a", false, -1));
    t.apply(&create(2, "/a/b", false, -1));
    for (i, bad) in ["/a/b/", "/a//c", "//", "/a/.", "/a/..", "/a/x\u{1}"]
        .iter()
        .enumerate()
    {
        let before = t.digest();
        let nodes = t.node_count();
        let c = create(10 + i as i64, bad, false, -1);
        assert_eq!(t.digest_after(&c), before, "{bad:?} previewed");
        assert_eq!(t.apply(&c).result, Err(ErrorCode::BadArguments), "{bad:?}");
        assert_eq!((t.digest(), t.node_count()), (before, nodes), "{bad:?}");
    }
    let mut body = Vec::new();
    t.write_snapshot(&mut body).unwrap();
    let back = DataTree::read_snapshot(Bytes::from(body)).unwrap();
    assert_eq!(t.content_diff(&back), None);
}

/// Found by the `txn` fuzz target (fuzz/regressions/txn/unlinking-delete): a delete, or a
/// closeSession listing a path, of `//a` named `/` as the parent (its last slash) and unlinked
/// `a` from it while `/a` stayed in the table, unreachable; the next snapshot wrote one node
/// fewer than it counted and could not be loaded ("record truncated"). Such paths are refused
/// like a create's, and the digest preview agrees that they change nothing.
#[test]
fn deletes_of_paths_a_snapshot_cannot_hold_change_nothing() {
    let mut t = DataTree::new();
    t.apply(&create(1, "/a", false, -1));
    t.apply(&create(2, "/a/b", false, -1));
    for (i, bad) in ["//a", "/a//b", "/a/", "/a/b/", "/a/./b"]
        .iter()
        .enumerate()
    {
        let zxid = 10 + 2 * i as i64;
        let before = (t.digest(), t.node_count(), t.stat("/").map(|s| s.pzxid));
        let delete = txn(
            zxid,
            0x55,
            OpCode::Delete,
            TxnBody::Delete(DeleteTxn {
                path: bad.to_string(),
            }),
        );
        assert_eq!(t.digest_after(&delete), before.0, "{bad:?} previewed");
        assert_eq!(
            t.apply(&delete).result,
            Err(ErrorCode::BadArguments),
            "{bad:?}"
        );
        let close = txn(
            zxid + 1,
            0x55,
            OpCode::CloseSession,
            TxnBody::CloseSession(CloseSessionTxn {
                paths_to_delete: vec![bad.to_string()],
            }),
        );
        assert_eq!(
            t.digest_after(&close),
            before.0,
            "{bad:?} previewed in a closeSession"
        );
        t.apply(&close);
        let after = (t.digest(), t.node_count(), t.stat("/").map(|s| s.pzxid));
        assert_eq!(after, before, "{bad:?}");
    }
    assert_eq!(t.children("/a"), Some(vec!["b".to_string()]));
    let mut body = Vec::new();
    t.write_snapshot(&mut body).unwrap();
    let back = DataTree::read_snapshot(Bytes::from(body)).unwrap();
    assert_eq!(t.content_diff(&back), None);
}

/// Found by the `txn` fuzz target (fuzz/regressions/txn/orphan-count): a replayed delete of a
/// node that still has children (Apache's `deleteNode` allows it, a replay over a fuzzy snapshot
/// reaches it) leaves the children in the node table but unreachable from `/`. The snapshot
/// wrote the table's size as its node count but only the reachable nodes, so the next start
/// failed ("record truncated"). The count is now what is written; the orphans are dropped, as
/// Apache's own serialization drops them.
#[test]
fn snapshots_of_trees_with_orphans_load() {
    let mut t = DataTree::new();
    t.apply(&create(1, "/a", false, -1));
    t.apply(&create(2, "/a/b", false, -1));
    t.apply(&create(3, "/a/b/c", false, -1));
    t.apply(&create(4, "/d", false, -1));
    let del = txn(
        5,
        0x55,
        OpCode::Delete,
        TxnBody::Delete(DeleteTxn { path: "/a".into() }),
    );
    assert_eq!(t.apply(&del).result, Ok(Outcome::Deleted));
    let mut body = Vec::new();
    t.write_snapshot(&mut body).unwrap();
    let back = DataTree::read_snapshot(Bytes::from(body)).unwrap();
    assert_eq!(back.node_count(), t.node_count() - 2);
    assert!(back.get("/a/b").is_none() && back.get("/d").is_some());
    let mut again = Vec::new();
    back.write_snapshot(&mut again).unwrap();
    let twice = DataTree::read_snapshot(Bytes::from(again)).unwrap();
    assert_eq!(back.content_diff(&twice), None);
}

/// Found by the `snapshot` fuzz target (fuzz/regressions/snapshot/duplicate-path): a body with
/// a second record for `/a` loaded; the second `/a` replaced the first and lost its children,
/// leaving `/a/b` unreachable, and the next snapshot of that tree did not load. A duplicate path
/// is now refused, as the SNAP reader refuses it.
#[test]
fn snapshots_with_a_path_twice_are_refused() {
    let mut t = DataTree::new();
    t.apply(&create(1, "/a", false, -1));
    t.apply(&create(2, "/a/b", false, -1));
    let mut body = Vec::new();
    t.write_snapshot(&mut body).unwrap();
    // Append a copy of /a's record and count it.
    let rec = |p: &str| {
        let mut out = BytesMut::new();
        p.to_string().write(&mut out);
        Some(Bytes::from_static(b"d")).write(&mut out);
        out.put_i32(0);
        out.put_bytes(0, 4 * 8 + 3 * 4 + 2 * 8);
        out
    };
    body.extend_from_slice(&rec("/a"));
    let nodes_pos = {
        // magic, version, zxid, sessions (count 0), acls...: find the node count by re-reading.
        let mut r = crate::proto::jute::Reader::new(Bytes::from(body.clone()));
        r.i32().unwrap();
        r.i32().unwrap();
        r.i64().unwrap();
        for _ in 0..r.count().unwrap() {
            r.i64().unwrap();
            r.i32().unwrap();
        }
        for _ in 0..r.count().unwrap() {
            r.i32().unwrap();
            Vec::<Acl>::read(&mut r).unwrap();
        }
        r.position()
    };
    let n = i64::from_be_bytes(body[nodes_pos..nodes_pos + 8].try_into().unwrap());
    body[nodes_pos..nodes_pos + 8].copy_from_slice(&(n + 1).to_be_bytes());
    let err = DataTree::read_snapshot(Bytes::from(body)).unwrap_err();
    assert_eq!(err, DecodeError::Invalid("path appears twice in snapshot"));
}

#[test]
fn snapshot_round_trips() {
    let mut t = DataTree::new();
    t.apply(&txn(
        1,
        0x55,
        OpCode::CreateSession,
        TxnBody::CreateSession(CreateSessionTxn { timeout: 4000 }),
    ));
    t.apply(&create(2, "/a", false, 1));
    t.apply(&create(3, "/a/e", true, 1));
    let mut body = Vec::new();
    t.write_snapshot(&mut body).unwrap();
    let back = DataTree::read_snapshot(Bytes::from(body.clone())).unwrap();
    assert_eq!(back.node_count(), t.node_count());
    assert_eq!(back.stat("/a"), t.stat("/a"));
    assert_eq!(back.ephemerals_under(0x55, "/"), vec!["/a/e".to_string()]);
    assert_eq!(back.sessions().get(&0x55), Some(&4000));
    assert_eq!(back.last_zxid(), 3);
    assert_eq!(back.approximate_data_size(), t.approximate_data_size());
    for n in [0, 10, body.len() / 2, body.len() - 1] {
        assert!(
            DataTree::read_snapshot(Bytes::from(body[..n].to_vec())).is_err(),
            "prefix {n}"
        );
    }
}

/// The loader parses on one thread and inserts on another, in batches: a tree of several
/// batches comes back whole (same nodes, same digest), and a body cut short in a later batch
/// is refused rather than loaded in part.
#[test]
fn snapshots_larger_than_one_load_batch_round_trip() {
    let mut t = DataTree::with_digest(true);
    t.apply(&create(1, "/p", false, -1));
    let mut zxid = 1;
    for i in 0..10_000 {
        zxid += 1;
        t.apply(&create(zxid, &format!("/p/c{i:05}"), false, -1));
    }
    let mut body = Vec::new();
    t.write_snapshot(&mut body).unwrap();
    let back = DataTree::read_snapshot(Bytes::from(body.clone())).unwrap();
    assert_eq!(back.node_count(), t.node_count());
    assert_eq!(back.digest(), t.digest());
    assert_ne!(back.digest(), 0);
    assert_eq!(back.children("/p").map(|c| c.len()), Some(10_000));
    let cut = body.len() * 9 / 10;
    assert!(DataTree::read_snapshot(Bytes::from(body[..cut].to_vec())).is_err());
}
