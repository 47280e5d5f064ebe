//! The SNAP body format against Apache's verified bytes, and the receiver's refusals.

use bytes::Bytes;

use super::*;
use crate::proto::opcode::OpCode;
use crate::proto::txn::*;

/// QUORUM.md §5.1, regenerated with Debian's 3.8.0 classes (`SerializeUtils.serializeSnapshot`,
/// then `writeString("BenWasHere")`): fresh DataTree, create `/a` "hi" OPEN_ACL_UNSAFE at zxid
/// 0x100000001 time 1000 parentCVersion 1, one session 0x0100000000000001 / 30000.
const APACHE_VECTOR: &str = "00000001010000000000000100007530000000020000000000000001000000010000000100000005776f726c6400000006616e796f6e650000000000000002000000010000001f00000005776f726c6400000006616e796f6e650000000000000000ffffffffffffffff000000000000000000000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000100000001000000022f6100000002686900000000000000020000000100000001000000010000000100000000000003e800000000000003e8000000000000000000000000000000000000000000000001000000010000000a2f7a6f6f6b656570657200000000ffffffffffffffff000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000112f7a6f6f6b65657065722f636f6e66696700000000000000000000000100000000000000000000000000000000000000000000000000000000000000000000000000000000ffffffff00000000000000000000000000000000000000102f7a6f6f6b65657065722f71756f746100000000ffffffffffffffff000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000012f0000000a42656e57617348657265";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn txn(zxid: i64, session: i64, op: OpCode, body: TxnBody) -> Txn {
    Txn {
        header: TxnHeader {
            client_id: session,
            cxid: 0,
            zxid,
            time: 1000,
            txn_type: op.code(),
        },
        body,
    }
}

fn vector_tree() -> DataTree {
    let mut t = DataTree::new();
    assert_eq!(t.digest(), 1_371_985_504, "empty tree (QUORUM.md §7.2)");
    let s = 0x0100_0000_0000_0001;
    t.apply(&txn(
        0x1_0000_0000,
        s,
        OpCode::CreateSession,
        TxnBody::CreateSession(CreateSessionTxn { timeout: 30000 }),
    ));
    t.apply(&txn(
        0x1_0000_0001,
        s,
        OpCode::Create,
        TxnBody::Create(CreateTxn {
            path: "/a".into(),
            data: Some(Bytes::from_static(b"hi")),
            acl: open_acl(),
            ephemeral: false,
            parent_cversion: 1,
        }),
    ));
    assert_eq!(
        t.digest(),
        4_931_956_535,
        "after create /a (QUORUM.md §7.2)"
    );
    t
}

fn encode(t: &DataTree) -> Vec<u8> {
    let mut out = Vec::new();
    t.write_apache_snap(&mut out).unwrap();
    out
}

#[test]
fn writes_apaches_verified_536_bytes() {
    let t = vector_tree();
    let mut out = encode(&t);
    write_signature(&mut out);
    assert_eq!(out.len(), 536);
    assert_eq!(out, hex(APACHE_VECTOR));
    let mut t = t;
    t.apply(&txn(
        0x1_0000_0002,
        0,
        OpCode::Delete,
        TxnBody::Delete(DeleteTxn { path: "/a".into() }),
    ));
    assert_eq!(
        t.digest(),
        5_246_498_219,
        "after delete /a (QUORUM.md §7.2)"
    );
}

#[test]
fn reads_apaches_bytes_into_the_same_tree() {
    let bytes = hex(APACHE_VECTOR);
    let load = DataTree::read_apache_snap(&bytes, DEFAULT_MAX_LEN, true).unwrap();
    assert_eq!(load.len, 536 - 14);
    assert_eq!(check_signature(&bytes[load.len..]), Ok(Some(14)));
    assert_eq!(check_signature(&bytes[load.len..load.len + 5]), Ok(None));
    assert_eq!(
        check_signature(b"\0\0\0\x0aBenWasThere"),
        Err("Missing signature")
    );
    assert_eq!(load.unknown_acl_nodes, 0);
    let expected = vector_tree();
    assert_eq!(load.tree.content_diff(&expected), None);
    assert_eq!(load.tree.digest(), 4_931_956_535);
    let mut again = encode(&load.tree);
    write_signature(&mut again);
    assert_eq!(again, bytes, "read then write is the identity");
    let off = DataTree::read_apache_snap(&bytes, DEFAULT_MAX_LEN, false).unwrap();
    assert_eq!(off.tree.digest(), 0);
}

#[test]
fn every_truncation_is_an_error() {
    let body = encode(&vector_tree());
    for n in 0..body.len() {
        assert!(
            DataTree::read_apache_snap(&body[..n], DEFAULT_MAX_LEN, true).is_err(),
            "prefix {n}"
        );
    }
}

/// Bytes of a small body built by hand: no sessions, the given ACL map bytes, then nodes.
fn body(acls: &[u8], nodes: &[(&str, i64)]) -> Vec<u8> {
    let mut b = vec![0, 0, 0, 0];
    b.extend_from_slice(acls);
    for (p, acl) in nodes {
        b.extend_from_slice(&(p.len() as i32).to_be_bytes());
        b.extend_from_slice(p.as_bytes());
        b.extend_from_slice(&(-1i32).to_be_bytes());
        b.extend_from_slice(&acl.to_be_bytes());
        b.extend_from_slice(&[0; 60]);
    }
    b.extend_from_slice(&[0, 0, 0, 1, b'/']);
    b
}

fn read(b: &[u8]) -> Result<SnapLoad, ApacheSnapError> {
    DataTree::read_apache_snap(b, DEFAULT_MAX_LEN, true)
}

#[test]
fn receiver_refusals() {
    let no_acls = [0u8, 0, 0, 0];
    assert!(read(&body(&no_acls, &[("", -1), ("/a", -1)])).is_ok());
    assert_eq!(
        read(&body(&no_acls, &[("", -1), ("/a/b", -1)])).unwrap_err(),
        ApacheSnapError::NoParent {
            path: "/a/b".into()
        }
    );
    assert_eq!(
        read(&body(&no_acls, &[("/a", -1)])).unwrap_err(),
        ApacheSnapError::NoParent { path: "/a".into() }
    );
    assert_eq!(
        read(&body(&no_acls, &[])).unwrap_err(),
        ApacheSnapError::NoRoot
    );
    assert!(matches!(
        read(&body(&no_acls, &[("", -1), ("/a", -1), ("/a", -1)])),
        Err(ApacheSnapError::Duplicate { .. })
    ));
    assert!(matches!(
        read(&body(&no_acls, &[("", -1), ("a", -1)])),
        Err(ApacheSnapError::BadPath { .. })
    ));
    // One ACL entry (id 5) with a null vector.
    let null_vector = [0u8, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff];
    assert!(matches!(
        read(&body(&null_vector, &[("", -1)])),
        Err(ApacheSnapError::Null {
            what: "ACL vector",
            ..
        })
    ));
    // A path claiming 2 GiB is refused by its length, not by running out of bytes.
    let mut huge = vec![0u8; 8];
    huge.extend_from_slice(&0x7fff_ffffi32.to_be_bytes());
    huge.extend_from_slice(&[0; 64]);
    assert!(matches!(
        read(&huge),
        Err(ApacheSnapError::BadLength { offset: 8, .. })
    ));
    let mut small_cap = body(&no_acls, &[("", -1), ("/abcdef", -1)]);
    assert!(DataTree::read_apache_snap(&small_cap, 4, true).is_err());
    small_cap.truncate(small_cap.len() - 1);
    assert!(matches!(
        read(&small_cap),
        Err(ApacheSnapError::Truncated { .. })
    ));
}

#[test]
fn unknown_acl_id_is_kept_but_grants_nothing() {
    let b = body(&[0, 0, 0, 0], &[("", -1), ("/a", 42)]);
    let load = read(&b).unwrap();
    assert_eq!(load.unknown_acl_nodes, 1);
    let t = load.tree;
    let a = t.get("/a").unwrap();
    assert!(!crate::tree::acl::permits(
        t.acl(a),
        crate::proto::opcode::perms::ALL,
        &[]
    ));
    let root = t.get("/").unwrap();
    assert_eq!(t.acl(root), &open_acl()[..], "-1 reads as OPEN_ACL_UNSAFE");
}

#[test]
fn round_trip_rebuilds_ephemerals_containers_ttls_and_digest() {
    let mut t = DataTree::new();
    let s = 0x55;
    t.apply(&txn(
        1,
        s,
        OpCode::CreateSession,
        TxnBody::CreateSession(CreateSessionTxn { timeout: 4000 }),
    ));
    let create = |path: &str, ephemeral| {
        TxnBody::Create(CreateTxn {
            path: path.into(),
            data: None,
            acl: read_acl_list(),
            ephemeral,
            parent_cversion: -1,
        })
    };
    t.apply(&txn(2, s, OpCode::Create, create("/p", false)));
    t.apply(&txn(3, s, OpCode::Create, create("/p/e", true)));
    t.apply(&txn(
        4,
        s,
        OpCode::CreateContainer,
        TxnBody::CreateContainer(CreateContainerTxn {
            path: "/c".into(),
            data: Some(Bytes::from_static(b"c")),
            acl: open_acl(),
            parent_cversion: -1,
        }),
    ));
    t.apply(&txn(
        5,
        s,
        OpCode::CreateTtl,
        TxnBody::CreateTtl(CreateTtlTxn {
            path: "/t".into(),
            data: Some(Bytes::new()),
            acl: open_acl(),
            parent_cversion: -1,
            ttl: 100,
        }),
    ));
    let b = encode(&t);
    let back = read(&b).unwrap().tree;
    assert_eq!(back.content_diff(&t), None);
    assert_eq!(back.get("/p").unwrap().data(), None, "null data stays null");
    assert_eq!(back.ephemerals_under(s, "/"), vec!["/p/e".to_string()]);
    assert_eq!(back.expired_containers(1_000_000), vec!["/t".to_string()]);
}

fn read_acl_list() -> Vec<Acl> {
    super::super::read_acl()
}
