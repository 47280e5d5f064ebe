//! Txns as they arrive in PROPOSAL/INFORM payloads from a leader and in txn log records: the
//! `TxnHeader`, the record its type names (multi included, with and without the trailing
//! `TxnDigest`), and what applying them does to a tree.
//!
//! Input: txns back to back, each behind an `int` length (the layout of
//! `tests/fixtures/apache-gen/txns.bin`); a length that does not fit makes the rest one txn.
//! Properties: a decoded txn re-encodes (digest kept) to bytes that decode to it again; applying
//! any decodable txn to a tree never panics, the leader's digest preview equals the digest after
//! applying, the incremental digest equals one computed from scratch, and the tree survives
//! both snapshot formats: ours (what a restart loads) and Apache's SNAP (what a learner loads).
//! Must not: accept what the server refuses (the decoders are the server's own).

use bytes::Bytes;

use super::alloc;
use super::client::input_slack;
use crate::proto::opcode::OpCode;
use crate::proto::records::{Acl, Id};
use crate::proto::txn::{
    CreateContainerTxn, CreateSessionTxn, CreateTtlTxn, CreateTxn, Txn, TxnBody, TxnHeader,
};
use crate::quorum::wire::payload::ProposalTxn;
use crate::tree::apache_snap::DEFAULT_MAX_LEN;
use crate::tree::DataTree;

/// Splits `int length + bytes` records; a length that does not fit makes the rest one record.
pub fn split_records(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let len = rest
            .get(..4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        match len {
            Some(n) if n >= 0 && n as usize <= rest.len() - 4 => {
                out.push(&rest[4..4 + n as usize]);
                rest = &rest[4 + n as usize..];
            }
            _ => {
                out.push(rest);
                break;
            }
        }
    }
    out
}

/// A tree with something of every kind for fuzzed txns to hit: a session with an ephemeral,
/// nested persistent nodes with data, a container, a TTL node and a digest-ACL node.
pub fn base_tree() -> DataTree {
    let mut tree = DataTree::new();
    let open = vec![Acl {
        perms: 31,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }];
    let digest = vec![Acl {
        perms: 1,
        id: Id {
            scheme: "digest".into(),
            id: "u:NnYUD7u/EbzS6VPLaKgeK9ELYFQ=".into(),
        },
    }];
    let create = |path: &str, data: &'static [u8], acl: &Vec<Acl>, ephemeral| {
        TxnBody::Create(CreateTxn {
            path: path.into(),
            data: Some(Bytes::from_static(data)),
            acl: acl.clone(),
            ephemeral,
            parent_cversion: -1,
        })
    };
    let bodies = vec![
        (
            OpCode::CreateSession,
            TxnBody::CreateSession(CreateSessionTxn { timeout: 30000 }),
        ),
        (OpCode::Create, create("/a", b"x", &open, false)),
        (OpCode::Create, create("/a/b", b"hello", &open, false)),
        (OpCode::Create, create("/e", b"", &open, true)),
        (OpCode::Create, create("/s", b"secret", &digest, false)),
        (
            OpCode::CreateContainer,
            TxnBody::CreateContainer(CreateContainerTxn {
                path: "/c".into(),
                data: None,
                acl: open.clone(),
                parent_cversion: -1,
            }),
        ),
        (
            OpCode::CreateTtl,
            TxnBody::CreateTtl(CreateTtlTxn {
                path: "/t".into(),
                data: Some(Bytes::from_static(b"t")),
                acl: open.clone(),
                parent_cversion: -1,
                ttl: 60_000,
            }),
        ),
    ];
    for (i, (op, body)) in bodies.into_iter().enumerate() {
        let txn = Txn {
            header: TxnHeader {
                client_id: 0x100,
                cxid: i as i32,
                zxid: 0x1_0000_0001 + i as i64,
                time: 1_700_000_000_000,
                txn_type: op.code(),
            },
            body,
        };
        tree.apply(&txn);
    }
    tree
}

/// Every txn of `data` decoded, re-encoded and applied to [`base_tree`], then the tree through
/// both snapshot formats.
pub fn check_txns(data: &[u8]) {
    let mut tree = base_tree();
    for record in split_records(data) {
        alloc::reset();
        let decoded = check_txn_bytes(Bytes::copy_from_slice(record));
        alloc::assert_within("txn decoding", input_slack(record.len()));
        if let Some(txn) = decoded {
            check_apply(&mut tree, &txn);
        }
    }
    check_tree_formats(&tree);
}

/// A closeSession read without its record (older writers; also as a multi entry) is written
/// back with an empty path list: 4 bytes more each, the one growth the format allows.
fn empty_close_growth(txn: &Txn) -> usize {
    fn growth(body: &TxnBody) -> usize {
        match body {
            TxnBody::CloseSession(c) if c.paths_to_delete.is_empty() => 4,
            TxnBody::Multi(ops) => ops.iter().map(|(_, b)| growth(b)).sum(),
            _ => 0,
        }
    }
    growth(&txn.body)
}

/// Decodes one txn as a follower and a log replay do, checks the round trip; the txn if any.
pub fn check_txn_bytes(bytes: Bytes) -> Option<Txn> {
    let len = bytes.len();
    let proposal = ProposalTxn::decode(bytes.clone());
    if let Ok(p) = &proposal {
        let again = p.encode();
        assert!(again.len() <= len + empty_close_growth(&p.txn));
        assert_eq!(ProposalTxn::decode(again).as_ref(), Ok(p));
    }
    match Txn::decode_with_digest(bytes.clone()) {
        Ok((txn, digest)) => {
            let again = match &digest {
                Some(d) => txn.encode_with_digest(d),
                None => txn.encode(),
            };
            assert!(
                again.len() <= len + empty_close_growth(&txn),
                "txn re-encodes to {} bytes from {len}",
                again.len()
            );
            assert_eq!(
                Txn::decode_with_digest(again),
                Ok((txn.clone(), digest)),
                "txn does not round-trip"
            );
            assert_eq!(Txn::decode(bytes).as_ref(), Ok(&txn));
            let _ = txn.op();
            Some(txn)
        }
        Err(e) => {
            super::client::check_decode_error(&e, len);
            None
        }
    }
}

/// Applies `txn`; the digest the leader would have predicted must be the one that results,
/// and the tree's incremental digest must equal one computed from scratch.
pub fn check_apply(tree: &mut DataTree, txn: &Txn) {
    let predicted = tree.digest_after(txn);
    let applied = tree.apply(txn);
    if applied.result.is_ok() {
        assert_eq!(
            tree.digest(),
            predicted,
            "digest preview differs from the digest after applying {txn:?}"
        );
    }
    let mut fresh = tree.clone();
    fresh.set_digest_enabled(false);
    fresh.set_digest_enabled(true);
    assert_eq!(
        fresh.digest(),
        tree.digest(),
        "incremental digest drifted after {txn:?}"
    );
}

/// Nodes reachable from `/` through child links (what both snapshot writers walk).
pub fn reachable(tree: &DataTree) -> usize {
    let mut stack = vec!["/".to_string()];
    let mut n = 0;
    while let Some(p) = stack.pop() {
        if tree.get(&p).is_none() {
            continue;
        }
        n += 1;
        for c in tree.children(&p).unwrap_or_default() {
            stack.push(crate::tree::path::join(&p, &c));
        }
    }
    n
}

/// The tree must load back from what it writes, in our snapshot format (restart) and Apache's
/// SNAP body (a learner's sync); a tree without orphans loads back unchanged, and one with
/// orphans (nodes whose parent a replayed delete removed) loads back as its reachable part.
pub fn check_tree_formats(tree: &DataTree) {
    let whole = reachable(tree) == tree.node_count();
    let mut ours = Vec::new();
    tree.write_snapshot(&mut ours).expect("write to a Vec");
    let loaded = match DataTree::read_snapshot(Bytes::from(ours)) {
        Ok(t) => t,
        Err(e) => panic!("a restart cannot load the snapshot this tree writes: {e}"),
    };
    if whole {
        if let Some(d) = tree.content_diff(&loaded) {
            panic!("snapshot round trip changed the tree: {d}");
        }
    }
    let mut theirs = Vec::new();
    tree.write_apache_snap(&mut theirs).expect("write to a Vec");
    let synced = match DataTree::read_apache_snap(&theirs, DEFAULT_MAX_LEN, tree.digest_enabled()) {
        Ok(l) => l,
        Err(e) => panic!("a learner cannot load the SNAP this tree writes: {e}"),
    };
    assert_eq!(synced.len, theirs.len());
    assert_eq!(synced.unknown_acl_nodes, 0);
    if let Some(d) = loaded.content_diff(&synced.tree) {
        panic!("our snapshot and Apache's SNAP of one tree differ: {d}");
    }
}
