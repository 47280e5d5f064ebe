//! multi (14) and multiRead (22): a successful multi applies every op under one zxid; a failing
//! op makes the whole multi a no-op with per-op results (earlier ops 0, the failing op its code,
//! later ops -2 RUNTIMEINCONSISTENCY, header err 0); multiRead ops succeed or fail independently.
#![allow(clippy::unwrap_used)]

mod common;

use common::jute::{op, Dec, Enc};
use common::raw::RawConn;
use common::{client, Opts, ZkServer};
use zookeeper_client::{
    Acls, CreateMode, Error, MultiReadResult, MultiWriteError, MultiWriteResult,
};

/// One multi sub-op: MultiHeader{type, done=false, err=-1} + its record.
fn sub(e: Enc, opcode: i32, record: Enc) -> Enc {
    let mut e = e.int(opcode).bool(false).int(-1);
    e.0.extend_from_slice(&record.bytes());
    e
}
/// Terminating MultiHeader{-1, done=true, -1}.
fn end(e: Enc) -> Vec<u8> {
    e.int(-1).bool(true).int(-1).bytes()
}
/// Reads MultiResponse entries as (type, err) pairs, skipping result bodies by type.
fn results(body: &[u8]) -> Vec<(i32, i32)> {
    let mut d = Dec::new(body);
    let mut out = Vec::new();
    loop {
        let (kind, done, err) = (d.int(), d.bool(), d.int());
        if done {
            assert_eq!((kind, err), (-1, -1), "bad multi terminator");
            assert!(d.is_empty(), "bytes after multi terminator");
            return out;
        }
        match kind {
            -1 => out.push((kind, d.int())), // ErrorResult{int err}
            op::CREATE => {
                d.str();
                out.push((kind, err));
            }
            op::CREATE2 => {
                d.str();
                d.stat();
                out.push((kind, err));
            }
            op::SET_DATA => {
                d.stat();
                out.push((kind, err));
            }
            op::DELETE | op::CHECK => out.push((kind, err)),
            other => panic!("unexpected multi result type {other}"),
        }
    }
}
fn create_rec(path: &str) -> Enc {
    Enc::new().str(path).buf(b"v").open_acl().int(0)
}

#[tokio::test]
async fn multi_success_shares_one_zxid() {
    let Some(zk) = ZkServer::start(Opts::default()) else {
        return;
    };
    let c = client(&zk).await;
    let opts = CreateMode::Persistent.with_acls(Acls::anyone_all());
    c.create("/x", b"", &opts).await.unwrap();
    let mut w = c.new_multi_writer();
    w.add_create("/a", b"1", &opts).unwrap();
    w.add_create("/a/b", b"2", &opts).unwrap();
    w.add_set_data("/a", b"3", Some(0)).unwrap();
    w.add_check_version("/x", 0).unwrap();
    w.add_delete("/x", Some(0)).unwrap();
    let res = w.commit().await.unwrap();
    assert_eq!(res.len(), 5);
    let MultiWriteResult::SetData { stat } = &res[2] else {
        panic!("{res:?}")
    };
    assert!(matches!(&res[0], MultiWriteResult::Create { path, .. } if path == "/a"));
    assert_eq!(
        (&res[3], &res[4]),
        (&MultiWriteResult::Check, &MultiWriteResult::Delete)
    );
    let (_, a) = c.get_data("/a").await.unwrap();
    let (_, b) = c.get_data("/a/b").await.unwrap();
    // Every op of the multi carries the same zxid.
    assert_eq!(
        (a.czxid, a.mzxid, a.pzxid, b.czxid),
        (stat.mzxid, stat.mzxid, stat.mzxid, stat.mzxid)
    );
    assert_eq!((a.version, a.cversion), (1, 1));
    assert_eq!(c.check_stat("/x").await.unwrap(), None);

    // Raw: the reply header zxid is that same zxid; create (1) gives CreateResponse(path).
    let (mut r, _) = RawConn::session(zk.port).await;
    let body = end(sub(
        sub(Enc::new(), op::CREATE, create_rec("/m1")),
        op::CREATE2,
        create_rec("/m2"),
    ));
    let reply = r.call(op::MULTI, &body).await;
    assert_eq!(reply.err, 0);
    // Apache 3.8 answers a create2 sub-op as a plain create: type 1, path only, no stat
    // (ZOOKEEPER-4026; the zookeeper-client crate tolerates it with an invalid Stat).
    assert_eq!(results(&reply.body), vec![(op::CREATE, 0), (op::CREATE, 0)]);
    let (_, m1) = c.get_data("/m1").await.unwrap();
    let (_, m2) = c.get_data("/m2").await.unwrap();
    assert_eq!((m1.czxid, m2.czxid), (reply.zxid, reply.zxid));
}

#[tokio::test]
async fn multi_failure_applies_nothing() {
    let Some(zk) = ZkServer::start(Opts::default()) else {
        return;
    };
    let c = client(&zk).await;
    let opts = CreateMode::Persistent.with_acls(Acls::anyone_all());
    c.create("/v", b"", &opts).await.unwrap();
    let mut w = c.new_multi_writer();
    w.add_create("/new", b"", &opts).unwrap();
    w.add_check_version("/v", 7).unwrap();
    w.add_set_data("/v", b"x", None).unwrap();
    let err = w.commit().await.unwrap_err();
    assert_eq!(
        err,
        MultiWriteError::OperationFailed {
            index: 1,
            source: Error::BadVersion
        }
    );
    assert_eq!(c.check_stat("/new").await.unwrap(), None);
    assert_eq!(c.get_data("/v").await.unwrap().1.version, 0);

    // Raw: header err 0; results are all ErrorResults: earlier 0, failing op -101, later -2.
    let (mut r, _) = RawConn::session(zk.port).await;
    let mut e = sub(Enc::new(), op::CREATE, create_rec("/n1"));
    e = sub(e, op::SET_DATA, Enc::new().str("/v").buf(b"y").int(-1));
    e = sub(e, op::CHECK, Enc::new().str("/missing").int(0));
    e = sub(e, op::DELETE, Enc::new().str("/v").int(-1));
    e = sub(e, op::CREATE, create_rec("/n2"));
    let reply = r.call(op::MULTI, &end(e)).await;
    assert_eq!(reply.err, 0);
    assert_eq!(
        results(&reply.body),
        vec![(-1, 0), (-1, 0), (-1, -101), (-1, -2), (-1, -2)]
    );
    assert_eq!(c.check_stat("/n1").await.unwrap(), None);
    assert_eq!(c.check_stat("/v").await.unwrap().unwrap().version, 0);

    // NODEEXISTS inside a multi, and a create under a node created earlier in the same multi.
    let mut w = c.new_multi_writer();
    w.add_create("/p", b"", &opts).unwrap();
    w.add_create("/p/q", b"", &opts).unwrap();
    w.add_create("/v", b"", &opts).unwrap();
    let err = w.commit().await.unwrap_err();
    assert_eq!(
        err,
        MultiWriteError::OperationFailed {
            index: 2,
            source: Error::NodeExists
        }
    );
    assert_eq!(c.check_stat("/p").await.unwrap(), None);
    // An empty multi succeeds with no results.
    assert!(c.new_multi_writer().commit().await.unwrap().is_empty());
}

#[tokio::test]
async fn multi_read_ops_are_independent() {
    let Some(zk) = ZkServer::start(Opts::default()) else {
        return;
    };
    let c = client(&zk).await;
    let opts = CreateMode::Persistent.with_acls(Acls::anyone_all());
    c.create("/r", b"data", &opts).await.unwrap();
    c.create("/r/k", b"", &opts).await.unwrap();
    let mut rd = c.new_multi_reader();
    rd.add_get_data("/r").unwrap();
    rd.add_get_children("/missing").unwrap();
    rd.add_get_children("/r").unwrap();
    rd.add_get_data("/missing").unwrap();
    let res = rd.commit().await.unwrap();
    assert_eq!(res.len(), 4);
    let MultiReadResult::Data { data, stat } = &res[0] else {
        panic!("{res:?}")
    };
    assert_eq!((data.as_slice(), stat.num_children), (&b"data"[..], 1));
    assert!(
        matches!(&res[1], MultiReadResult::Error { err: Error::NoNode }),
        "{res:?}"
    );
    assert!(matches!(&res[2], MultiReadResult::Children { children } if children == &["k"]));
    assert!(
        matches!(&res[3], MultiReadResult::Error { err: Error::NoNode }),
        "{res:?}"
    );

    // Raw: a failing read is an ErrorResult entry; the rest keep their own types.
    let (mut r, _) = RawConn::session(zk.port).await;
    let mut e = sub(
        Enc::new(),
        op::GET_CHILDREN,
        Enc::new().str("/nope").bool(false),
    );
    e = sub(e, op::GET_DATA, Enc::new().str("/r").bool(false));
    let reply = r.call(op::MULTI_READ, &end(e)).await;
    assert_eq!(reply.err, 0);
    let mut d = Dec::new(&reply.body);
    assert_eq!(
        (d.int(), d.bool(), d.int(), d.int()),
        (-1, false, -101, -101)
    );
    assert_eq!((d.int(), d.bool(), d.int()), (op::GET_DATA, false, 0));
    assert_eq!(
        (d.buf().unwrap(), d.stat().data_length),
        (b"data".to_vec(), 4)
    );
    assert_eq!((d.int(), d.bool(), d.int()), (-1, true, -1));
    assert!(d.is_empty());
}
