//! Micro-benchmarks of the core's per-txn work: applying create / setData / delete to a
//! tree of 100k znodes (with Apache's tree digest on, as by default, and off), predicting a
//! txn's digest, writing and scanning the 100k-node tree as an Apache SNAP body, and
//! triggering one event watched by many sessions.

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use zkserver::proto::opcode::{perms, EventType, OpCode};
use zkserver::proto::records::{Acl, Id};
use zkserver::proto::txn::*;
use zkserver::tree::apache_snap::DEFAULT_MAX_LEN;
use zkserver::tree::snap_scan::{ScanStatus, SnapScanner};
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
fn populated(digest: bool) -> (DataTree, i64) {
    let mut tree = DataTree::with_digest(digest);
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

fn apply_with(c: &mut Criterion, digest: bool) {
    let (mut tree, mut zxid) = populated(digest);
    let tag = if digest { "" } else { " [digest off]" };
    c.bench_function(&format!("apply create (100k-node tree){tag}"), |b| {
        b.iter_batched(
            || {
                zxid += 1;
                create(zxid, format!("/p042/new-{zxid}"))
            },
            |t| black_box(tree.apply(&t)),
            BatchSize::SmallInput,
        )
    });
    c.bench_function(&format!("apply setData 100 B{tag}"), |b| {
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
    c.bench_function(&format!("apply create+delete{tag}"), |b| {
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

fn apply(c: &mut Criterion) {
    apply_with(c, true);
    apply_with(c, false);
}

fn digest_and_snap(c: &mut Criterion) {
    let (tree, zxid) = populated(true);
    let set = txn(
        zxid + 1,
        OpCode::SetData,
        TxnBody::SetData(SetDataTxn {
            path: "/p007/child-0000000000000123".into(),
            data: Some(Bytes::from_static(&[b'y'; 100])),
            version: 1,
        }),
    );
    c.bench_function("digest_after setData 100 B", |b| {
        b.iter(|| black_box(tree.digest_after(&set)))
    });
    let mut body = Vec::new();
    tree.write_apache_snap(&mut body).expect("write");
    let mut g = c.benchmark_group("apache SNAP body, 100k nodes");
    g.sample_size(10);
    g.bench_function("write", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(body.len());
            tree.write_apache_snap(&mut out).expect("write");
            black_box(out.len())
        })
    });
    g.bench_function("scan in 64 KiB chunks", |b| {
        b.iter(|| {
            let mut s = SnapScanner::new(DEFAULT_MAX_LEN);
            let mut done = None;
            for chunk in body.chunks(64 << 10) {
                if let Ok(ScanStatus::Complete { len }) = s.feed(chunk) {
                    done = Some(len);
                }
            }
            black_box(done)
        })
    });
    g.bench_function("read", |b| {
        b.iter(|| {
            black_box(DataTree::read_apache_snap(&body, DEFAULT_MAX_LEN, true).map(|l| l.len))
        })
    });
    g.finish();
    // zkserver's own snapshot: the walk that writes it (a forked child, every snapCount txns)
    // and the two-thread load a restart waits for.
    let mut ours = Vec::new();
    tree.write_snapshot(&mut ours).expect("write");
    let ours = Bytes::from(ours);
    let mut g = c.benchmark_group("zkserver snapshot body, 100k nodes");
    g.sample_size(10);
    g.bench_function("write", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(ours.len());
            tree.write_snapshot(&mut out).expect("write");
            black_box(out.len())
        })
    });
    g.bench_function("load", |b| {
        b.iter(|| black_box(DataTree::read_snapshot(ours.clone()).map(|t| t.node_count())))
    });
    g.finish();
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

criterion_group!(benches, apply, digest_and_snap, watches);
criterion_main!(benches);
