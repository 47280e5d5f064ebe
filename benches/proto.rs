//! Micro-benchmarks of the wire code on the hot path: jute encode/decode of the records
//! every read and write touches (GetDataResponse of 100 B, CreateRequest, Stat, a multi)
//! and `decode_frame` over a buffer of many pipelined frames. Encoding cost per reply is
//! what ZooKeeper caches serialized getData responses for, so it is tracked here.

use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use zkserver::proto::frame::{decode_frame, write_frame, DEFAULT_MAX_BUFFER};
use zkserver::proto::jute::{Jute, Reader};
use zkserver::proto::opcode::perms;
use zkserver::proto::records::*;
use zkserver::proto::request::Request;

fn stat() -> Stat {
    Stat {
        czxid: 0x1_0000_0001,
        mzxid: 0x1_0000_00ff,
        ctime: 1_700_000_000_000,
        mtime: 1_700_000_000_123,
        version: 7,
        cversion: 0,
        aversion: 0,
        ephemeral_owner: 0,
        data_length: 100,
        num_children: 0,
        pzxid: 0x1_0000_0001,
    }
}

fn create_request() -> CreateRequest {
    CreateRequest {
        path: "/zkbench/run/c/p07/s12w3x000000000000123".into(),
        data: Some(Bytes::from(vec![b'x'; 100])),
        acl: vec![Acl {
            perms: perms::ALL,
            id: Id {
                scheme: "world".into(),
                id: "anyone".into(),
            },
        }],
        flags: 0,
    }
}

/// A multi of `n` creates followed by the terminator, as a client sends it.
fn multi_body(n: usize) -> Bytes {
    let mut out = BytesMut::new();
    for i in 0..n {
        MultiHeader {
            op: 1,
            done: false,
            err: -1,
        }
        .write(&mut out);
        let mut c = create_request();
        c.path = format!("/zkbench/run/multi/{i:020}");
        c.write(&mut out);
    }
    MultiHeader {
        op: -1,
        done: true,
        err: -1,
    }
    .write(&mut out);
    out.freeze()
}

fn records(c: &mut Criterion) {
    let resp = GetDataResponse {
        data: Some(Bytes::from(vec![b'x'; 100])),
        stat: stat(),
    };
    let resp_bytes = resp.to_bytes();
    let mut buf = BytesMut::with_capacity(4096);
    c.bench_function("encode GetDataResponse 100B", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&resp).write(&mut buf);
            black_box(buf.len())
        })
    });
    c.bench_function("decode GetDataResponse 100B", |b| {
        b.iter(|| GetDataResponse::read(&mut Reader::new(black_box(resp_bytes.clone()))))
    });
    let create = create_request();
    let create_bytes = create.to_bytes();
    c.bench_function("encode CreateRequest", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&create).write(&mut buf);
            black_box(buf.len())
        })
    });
    c.bench_function("decode CreateRequest", |b| {
        b.iter(|| Request::decode(1, black_box(create_bytes.clone())))
    });
    let s = stat();
    let stat_bytes = s.to_bytes();
    c.bench_function("encode Stat", |b| {
        b.iter(|| {
            buf.clear();
            black_box(&s).write(&mut buf);
            black_box(buf.len())
        })
    });
    c.bench_function("decode Stat", |b| {
        b.iter(|| Stat::from_bytes(black_box(stat_bytes.clone())))
    });
    let multi = multi_body(10);
    c.bench_function("decode multi of 10 creates", |b| {
        b.iter(|| Request::decode(14, black_box(multi.clone())))
    });
}

fn frames(c: &mut Criterion) {
    const N: usize = 1000;
    let mut wire = BytesMut::new();
    for xid in 0..N as i32 {
        write_frame(&mut wire, |o| {
            RequestHeader { xid, op: 4 }.write(o);
            PathWatchRequest {
                path: format!("/zkbench/run/k/key-{xid:020}"),
                watch: false,
            }
            .write(o);
        });
    }
    let wire = wire.freeze();
    let mut g = c.benchmark_group("frames");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("decode_frame x1000 getData", |b| {
        b.iter(|| {
            let mut buf = BytesMut::from(&wire[..]);
            let mut n = 0;
            while let Ok(Some(f)) = decode_frame(&mut buf, DEFAULT_MAX_BUFFER) {
                n += f.len();
            }
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(benches, records, frames);
criterion_main!(benches);
