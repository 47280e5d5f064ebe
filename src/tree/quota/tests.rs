//! Quota bookkeeping: StatsTrack text as Apache writes it, stats kept by create/delete/
//! setData/closeSession, rebuilt on snapshot load, and never part of the digest.

use bytes::Bytes;

use super::*;
use crate::proto::opcode::OpCode;
use crate::proto::txn::*;
use crate::tree::DataTree;

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

fn create_with(zxid: i64, path: &str, data: &[u8], ephemeral: bool) -> Txn {
    let body = TxnBody::Create(CreateTxn {
        path: path.into(),
        data: Some(Bytes::copy_from_slice(data)),
        acl: super::super::open_acl(),
        ephemeral,
        parent_cversion: -1,
    });
    txn(zxid, 0x55, OpCode::Create, body)
}

fn set(zxid: i64, path: &str, data: &[u8]) -> Txn {
    let body = TxnBody::SetData(SetDataTxn {
        path: path.into(),
        data: Some(Bytes::copy_from_slice(data)),
        version: 1,
    });
    txn(zxid, 0x55, OpCode::SetData, body)
}

fn delete(zxid: i64, path: &str) -> Txn {
    let body = TxnBody::Delete(DeleteTxn { path: path.into() });
    txn(zxid, 0x55, OpCode::Delete, body)
}

fn data(t: &DataTree, path: &str) -> String {
    let node = t.get(path).unwrap();
    String::from_utf8(node.data().unwrap_or_default().to_vec()).unwrap()
}

/// What zkCli's `setquota -n 3 -B 10 /a` writes, in its order, after `/a/x` (2 bytes) exists.
fn tree_with_quota() -> (DataTree, i64) {
    let mut t = DataTree::new();
    let mut z = 0;
    let mut next = || {
        z += 1;
        z
    };
    t.apply(&create_with(next(), "/a", b"12345", false));
    t.apply(&create_with(next(), "/a/x", b"xy", false));
    t.apply(&create_with(next(), "/zookeeper/quota/a", b"", false));
    let limits = b"count=3,bytes=-1=;byteHardLimit=10;countHardLimit=-1";
    t.apply(&create_with(
        next(),
        "/zookeeper/quota/a/zookeeper_limits",
        limits,
        false,
    ));
    t.apply(&create_with(
        next(),
        "/zookeeper/quota/a/zookeeper_stats",
        b"count=0,bytes=0",
        false,
    ));
    (t, z)
}

#[test]
fn stats_track_text_is_apaches() {
    let s = StatsTrack::parse(b"count=4,bytes=5=;countHardLimit=10;byteHardLimit=7");
    assert_eq!((s.count(), s.bytes()), (4, 5));
    assert_eq!((s.count_hard_limit(), s.byte_hard_limit()), (10, 7));
    assert_eq!(
        s.render(),
        "count=4,bytes=5=;byteHardLimit=7;countHardLimit=10"
    );
    let plain = StatsTrack::parse(b"count=1,bytes=2");
    assert_eq!(plain.render(), "count=1,bytes=2");
    assert_eq!(plain.count_hard_limit(), -1);
    // Empty values read as -1; garbage pairs are skipped instead of failing.
    let odd = StatsTrack::parse(b"count=,bytes=zz;;novalue,=3");
    assert_eq!((odd.count(), odd.bytes()), (-1, -1));
    assert_eq!(StatsTrack::parse(b"").render(), "count=-1,bytes=-1");
}

#[test]
fn stats_node_is_filled_with_the_subtree_counts_when_created() {
    let (t, _) = tree_with_quota();
    assert_eq!(t.max_prefix_with_quota("/a/x"), Some("/a"));
    assert_eq!(t.max_prefix_with_quota("/a"), Some("/a"));
    assert_eq!(t.max_prefix_with_quota("/ab"), None);
    assert_eq!(t.max_prefix_with_quota("/"), None);
    // /a (5 bytes) and /a/x (2 bytes).
    assert_eq!(
        data(&t, "/zookeeper/quota/a/zookeeper_stats"),
        "count=2,bytes=7"
    );
}

#[test]
fn writes_under_a_quota_root_move_its_stats() {
    let (mut t, z) = tree_with_quota();
    let stats = "/zookeeper/quota/a/zookeeper_stats";
    let before = t.stat(stats).unwrap();
    t.apply(&create_with(z + 1, "/a/y", b"abc", false));
    t.apply(&create_with(z + 2, "/a/y/deep", b"", false));
    assert_eq!(data(&t, stats), "count=4,bytes=10");
    t.apply(&set(z + 3, "/a/y", b"a"));
    assert_eq!(data(&t, stats), "count=4,bytes=8");
    t.apply(&delete(z + 4, "/a/y/deep"));
    assert_eq!(data(&t, stats), "count=3,bytes=8");
    // Outside the root: untouched.
    t.apply(&create_with(z + 5, "/b", b"zzzz", false));
    assert_eq!(data(&t, stats), "count=3,bytes=8");
    // Data only: the stats node's own stat (mzxid, version) is not touched.
    let after = t.stat(stats).unwrap();
    assert_eq!((after.mzxid, after.version), (before.mzxid, before.version));
}

#[test]
fn closing_a_session_counts_its_ephemerals_out() {
    let (mut t, z) = tree_with_quota();
    t.apply(&txn(
        z + 1,
        0x55,
        OpCode::CreateSession,
        TxnBody::CreateSession(CreateSessionTxn { timeout: 4000 }),
    ));
    t.apply(&create_with(z + 2, "/a/e", b"eph", true));
    assert_eq!(
        data(&t, "/zookeeper/quota/a/zookeeper_stats"),
        "count=3,bytes=10"
    );
    t.apply(&txn(
        z + 3,
        0x55,
        OpCode::CloseSession,
        TxnBody::CloseSession(CloseSessionTxn {
            paths_to_delete: vec!["/a/e".into()],
        }),
    ));
    assert_eq!(
        data(&t, "/zookeeper/quota/a/zookeeper_stats"),
        "count=2,bytes=7"
    );
}

#[test]
fn deleting_the_limits_node_ends_the_quota() {
    let (mut t, z) = tree_with_quota();
    t.apply(&delete(z + 1, "/zookeeper/quota/a/zookeeper_limits"));
    assert!(t.quota_roots().is_empty());
    t.apply(&create_with(z + 2, "/a/y", b"abc", false));
    assert_eq!(
        data(&t, "/zookeeper/quota/a/zookeeper_stats"),
        "count=2,bytes=7"
    );
}

#[test]
fn quota_bookkeeping_leaves_the_digest_alone() {
    let (mut with_quota, z) = tree_with_quota();
    let mut plain = DataTree::new();
    plain.apply(&create_with(1, "/a", b"12345", false));
    plain.apply(&create_with(2, "/a/x", b"xy", false));
    for i in 3..=z {
        // Same zxids, no quota nodes: the /zookeeper/ subtree is outside the digest.
        plain.apply(&create_with(
            i,
            &format!("/zookeeper/quota/p{i}"),
            b"",
            false,
        ));
    }
    assert_eq!(with_quota.digest(), plain.digest());
    with_quota.apply(&create_with(z + 1, "/a/y", b"abc", false));
    plain.apply(&create_with(z + 1, "/a/y", b"abc", false));
    assert_eq!(with_quota.digest(), plain.digest());
}

#[test]
fn loading_a_snapshot_rebuilds_roots_and_stats() {
    let (mut t, z) = tree_with_quota();
    t.apply(&create_with(z + 1, "/a/y", b"abc", false));
    // A client overwrote the stats with nonsense; the load recomputes them, as Apache does.
    t.apply(&set(
        z + 2,
        "/zookeeper/quota/a/zookeeper_stats",
        b"count=99",
    ));
    let mut body = Vec::new();
    t.write_snapshot(&mut body).unwrap();
    let loaded = DataTree::read_snapshot(Bytes::from(body)).unwrap();
    assert_eq!(loaded.max_prefix_with_quota("/a/y"), Some("/a"));
    assert_eq!(
        data(&loaded, "/zookeeper/quota/a/zookeeper_stats"),
        "count=3,bytes=10"
    );
    let mut apache = Vec::new();
    t.write_apache_snap(&mut apache).unwrap();
    let from_apache = DataTree::read_apache_snap(&apache, 1 << 20, true)
        .unwrap()
        .tree;
    assert_eq!(
        data(&from_apache, "/zookeeper/quota/a/zookeeper_stats"),
        "count=3,bytes=10"
    );
}
