//! The incremental digest and the preview against the ground truth on random histories,
//! including the replay-only cases (create over an existing node, delete of a missing one,
//! multi with an error entry, closeSession lists that disagree with the tree).

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::proto::records::{Acl, Id};
use crate::proto::txn::*;

const PATHS: [&str; 8] = [
    "/a",
    "/b",
    "/a/x",
    "/a/y",
    "/b/z",
    "/a/x/w",
    "/zookeeper/q",
    "/",
];
const SESSIONS: [i64; 2] = [0x11, 0x22];

fn acl(perms: i32) -> Vec<Acl> {
    vec![Acl {
        perms,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

fn data(n: u8) -> Option<Bytes> {
    (n > 0).then(|| Bytes::from(vec![n; n as usize]))
}

fn op() -> impl Strategy<Value = (OpCode, TxnBody)> {
    let path = (0..PATHS.len()).prop_map(|i| PATHS[i].to_string());
    let pcv = prop_oneof![Just(-1), 0..4i32];
    prop_oneof![
        (
            path.clone(),
            0..3u8,
            any::<bool>(),
            pcv.clone(),
            any::<bool>()
        )
            .prop_map(|(path, d, ephemeral, parent_cversion, two)| {
                let op = if two { OpCode::Create2 } else { OpCode::Create };
                let body = TxnBody::Create(CreateTxn {
                    path,
                    data: data(d),
                    acl: acl(31),
                    ephemeral,
                    parent_cversion,
                });
                (op, body)
            }),
        (path.clone(), pcv.clone()).prop_map(|(path, parent_cversion)| {
            let body = TxnBody::CreateContainer(CreateContainerTxn {
                path,
                data: None,
                acl: acl(31),
                parent_cversion,
            });
            (OpCode::CreateContainer, body)
        }),
        (path.clone(), pcv, 1..1000i64).prop_map(|(path, parent_cversion, ttl)| {
            let body = TxnBody::CreateTtl(CreateTtlTxn {
                path,
                data: data(1),
                acl: acl(1),
                parent_cversion,
                ttl,
            });
            (OpCode::CreateTtl, body)
        }),
        path.clone()
            .prop_map(|path| (OpCode::Delete, TxnBody::Delete(DeleteTxn { path }))),
        (path.clone(), 0..3u8, 0..5i32).prop_map(|(path, d, version)| {
            let body = TxnBody::SetData(SetDataTxn {
                path,
                data: data(d),
                version,
            });
            (OpCode::SetData, body)
        }),
        (path.clone(), 0..5i32).prop_map(|(path, version)| {
            let body = TxnBody::SetAcl(SetAclTxn {
                path,
                acl: acl(3),
                version,
            });
            (OpCode::SetAcl, body)
        }),
        (path, 0..3i32).prop_map(|(path, version)| {
            (
                OpCode::Check,
                TxnBody::Check(CheckVersionTxn { path, version }),
            )
        }),
        Just((OpCode::Error, TxnBody::Error(ErrorTxn { err: -101 }))),
    ]
}

fn txn_body() -> impl Strategy<Value = (OpCode, TxnBody)> {
    let paths =
        proptest::collection::vec((0..PATHS.len()).prop_map(|i| PATHS[i].to_string()), 0..3);
    prop_oneof![
        6 => op(),
        1 => paths.prop_map(|paths_to_delete| {
            (OpCode::CloseSession, TxnBody::CloseSession(CloseSessionTxn { paths_to_delete }))
        }),
        1 => Just((OpCode::CreateSession, TxnBody::CreateSession(CreateSessionTxn { timeout: 5000 }))),
        2 => proptest::collection::vec(op(), 1..4).prop_map(|ops| {
            let ops = ops.into_iter().filter(|(o, _)| *o != OpCode::SetAcl).collect();
            (OpCode::Multi, TxnBody::Multi(ops))
        }),
    ]
}

fn history() -> impl Strategy<Value = Vec<Txn>> {
    proptest::collection::vec((txn_body(), 0..2usize), 1..40).prop_map(|items| {
        items
            .into_iter()
            .enumerate()
            .map(|(i, ((op, body), s))| Txn {
                header: TxnHeader {
                    client_id: SESSIONS[s],
                    cxid: i as i32,
                    zxid: 0x5_0000_0000 + i as i64 + 1,
                    time: 1_700_000_000_000 + i as i64,
                    txn_type: op.code(),
                },
                body,
            })
            .collect()
    })
}

/// The digest computed from scratch over every node.
fn recomputed(t: &DataTree) -> i64 {
    let mut copy = t.clone();
    copy.set_digest_enabled(false);
    copy.set_digest_enabled(true);
    copy.digest()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn incremental_digest_and_previews_match_apply(txns in history(), lag in 0..6usize) {
        let mut tree = DataTree::new();
        let mut preview = DigestPreview::default();
        let mut expected = Vec::new();
        for (i, t) in txns.iter().enumerate() {
            let single = tree.digest_after(t);
            expected.push(preview.push(&tree, t));
            // The tree lags `lag` txns behind the preview, as commits lag proposals.
            if i >= lag {
                let k = i - lag;
                tree.apply(&txns[k]);
                preview.applied(txns[k].header.zxid);
                prop_assert_eq!(tree.digest(), expected[k], "txn {} applied late", k);
            }
            if lag == 0 {
                prop_assert_eq!(single, tree.digest(), "digest_after txn {}", i);
            }
        }
        for k in txns.len().saturating_sub(lag)..txns.len() {
            tree.apply(&txns[k]);
            preview.applied(txns[k].header.zxid);
            prop_assert_eq!(tree.digest(), expected[k]);
        }
        prop_assert_eq!(preview.digest(&tree), tree.digest());
        prop_assert_eq!(recomputed(&tree), tree.digest());
        let last = tree.digest_log().last().map(|d| (d.zxid, d.digest));
        prop_assert_eq!(last, txns.last().map(|t| (t.header.zxid, tree.digest())));
    }
}

#[test]
fn disabled_digest_costs_nothing_and_stays_zero() {
    let mut t = DataTree::with_digest(false);
    assert_eq!(t.digest(), 0);
    let txn = Txn {
        header: TxnHeader {
            client_id: 1,
            cxid: 1,
            zxid: 128,
            time: 5,
            txn_type: OpCode::Create.code(),
        },
        body: TxnBody::Create(CreateTxn {
            path: "/a".into(),
            data: data(2),
            acl: acl(31),
            ephemeral: false,
            parent_cversion: -1,
        }),
    };
    assert_eq!(t.digest_after(&txn), 0);
    t.apply(&txn);
    assert_eq!(t.digest(), 0);
    assert_eq!(t.get("/a").map(|n| n.digest_prefix), Some(0));
    let logged: Vec<_> = t.digest_log().log().map(|d| (d.zxid, d.digest)).collect();
    assert_eq!(
        logged,
        vec![(128, 0)],
        "Apache logs 0 when the digest is off"
    );
    t.set_digest_enabled(true);
    let mut on = DataTree::new();
    on.apply(&txn);
    assert_eq!(t.digest(), on.digest());
}
