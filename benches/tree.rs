//! Micro-benchmarks of the core's per-txn work: applying create / setData / delete to a
//! tree of 100k znodes, and triggering one event watched by many sessions.

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use zkserver::proto::opcode::{perms, EventType, OpCode};
use zkserver::proto::records::{Acl, Id};
use zkserver::proto::txn::*;
use zkserver::tree::watch::{WatchKind, WatchManager};
use zkserver::tree::DataTree;

fn open_acl() -> Vec<Acl> {
    vec![Acl {
        perms: perms::ALL,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

fn txn(zxid: i64, op: OpCode, body: TxnBody) -> Txn {
    Txn {
        header: TxnHeader {
            client_id: 1,
            cxid: 1,
            zxid,
            time: 1_700_000_000_000,
            txn_type: op.code(),
        },
        body,
    }
}

fn create(zxid: i64, path: String) -> Txn {
    let body = TxnBody::Create(CreateTxn {
        path,
        data: Some(Bytes::from(vec![b'x'; 100])),
        acl: open_acl(),
        ephemeral: false,
        parent_cversion: -1,
    });
    txn(zxid, OpCode::Create, body)
}

/// 100 parents × 1,000 children.
fn populated() -> (DataTree, i64) {
    let mut tree = DataTree::new();
    let mut zxid = 0;
    for p in 0..100 {
        zxid += 1;
        tree.apply(&create(zxid, format!("/p{p:03}")));
        for c in 0..1000 {
            zxid += 1;
            tree.apply(&create(zxid, format!("/p{p:03}/child-{c:016}")));
        }
    }
    (tree, zxid)
}

fn apply(c: &mut Criterion) {
    let (mut tree, mut zxid) = populated();
    c.bench_function("apply create (100k-node tree)", |b| {
        b.iter_batched(
            || {
                zxid += 1;
                create(zxid, format!("/p042/new-{zxid}"))
            },
            |t| black_box(tree.apply(&t)),
            BatchSize::SmallInput,
        )
    });
    c.bench_function("apply setData 100 B", |b| {
        b.iter_batched(
            || {
                zxid += 1;
                let body = TxnBody::SetData(SetDataTxn {
                    path: "/p007/child-0000000000000123".into(),
                    data: Some(Bytes::from_static(&[b'y'; 100])),
                    version: 1,
                });
                txn(zxid, OpCode::SetData, body)
            },
            |t| black_box(tree.apply(&t)),
            BatchSize::SmallInput,
        )
    });
    c.bench_function("apply create+delete", |b| {
        b.iter_batched(
            || {
                zxid += 2;
                let path = format!("/p011/tmp-{zxid}");
                let del = txn(
                    zxid + 1,
                    OpCode::Delete,
                    TxnBody::Delete(DeleteTxn { path: path.clone() }),
                );
                (create(zxid, path), del)
            },
            |(c, d)| {
                tree.apply(&c);
                black_box(tree.apply(&d))
            },
            BatchSize::SmallInput,
        )
    });
}

fn watches(c: &mut Criterion) {
    for n in [1_000i64, 10_000] {
        c.bench_function(&format!("trigger NodeDataChanged to {n} watchers"), |b| {
            b.iter_batched(
                || {
                    let mut w = WatchManager::default();
                    for s in 0..n {
                        w.add(s, "/w", WatchKind::Data);
                    }
                    w
                },
                |mut w| black_box(w.trigger("/w", EventType::NodeDataChanged).len()),
                BatchSize::LargeInput,
            )
        });
    }
}

criterion_group!(benches, apply, watches);
criterion_main!(benches);
