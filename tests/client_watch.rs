//! Watches: one-shot data/exists/child watches (event types, paths, fired once, deduplicated per
//! connection), persistent and persistent-recursive watches (addWatch 106), checkWatches (17) and
//! removeWatches (18) incl. NOWATCHER, and READ-ACL filtering of watch events. Raw sessions are
//! used where the crate hides the wire detail (event counts, watcher types, error codes).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::jute::{op, Enc};
use common::raw::{Event, RawConn};
use common::{client, Opts, ZkServer};
use zookeeper_client::{Acls, AddWatchMode, CreateMode, EventType};

const NODE_CREATED: i32 = 1;
const NODE_DELETED: i32 = 2;
const DATA_CHANGED: i32 = 3;
const CHILDREN_CHANGED: i32 = 4;
const QUIET: Duration = Duration::from_millis(300);

async fn create(c: &mut RawConn, path: &str, acl: &[(i32, &str, &str)]) {
    let body = Enc::new().str(path).buf(b"").acl(acl).int(0).bytes();
    assert_eq!(c.call(op::CREATE, &body).await.err, 0, "create {path}");
}
async fn set_data(c: &mut RawConn, path: &str) {
    let body = Enc::new().str(path).buf(b"x").int(-1).bytes();
    assert_eq!(c.call(op::SET_DATA, &body).await.err, 0, "setData {path}");
}
async fn delete(c: &mut RawConn, path: &str) {
    let body = Enc::new().str(path).int(-1).bytes();
    assert_eq!(c.call(op::DELETE, &body).await.err, 0, "delete {path}");
}
async fn watch(c: &mut RawConn, opcode: i32, path: &str) -> i32 {
    c.call(opcode, &Enc::new().str(path).bool(true).bytes())
        .await
        .err
}
async fn event(c: &mut RawConn) -> Event {
    c.next_event(Duration::from_secs(5))
        .await
        .expect("expected a watch event")
}
async fn no_event(c: &mut RawConn) {
    assert_eq!(c.next_event(QUIET).await, None, "unexpected watch event");
}
fn ev(kind: i32, path: &str) -> (i32, i32, String) {
    // state 3 = SyncConnected
    (kind, 3, path.to_string())
}
fn key(e: &Event) -> (i32, i32, String) {
    (e.kind, e.state, e.path.clone())
}
const OPEN: &[(i32, &str, &str)] = &[(31, "world", "anyone")];

#[tokio::test]
async fn oneshot_watches_fire_once() {
    let Some(zk) = ZkServer::start(Opts::default()) else {
        return;
    };
    let (mut w, _) = RawConn::session(zk.port).await;
    let (mut m, _) = RawConn::session(zk.port).await;

    // exists on a missing node: NONODE, but the watch is set and fires NodeCreated.
    assert_eq!(watch(&mut w, op::EXISTS, "/a").await, -101);
    create(&mut m, "/a", OPEN).await;
    let e = event(&mut w).await;
    assert_eq!(key(&e), ev(NODE_CREATED, "/a"));
    // Apache 3.8 sends zxid -1 in the notification header (3.9 sends the txn zxid).
    assert_eq!(e.zxid, -1);

    // getData watch: first setData fires NodeDataChanged, the second fires nothing.
    assert_eq!(watch(&mut w, op::GET_DATA, "/a").await, 0);
    set_data(&mut m, "/a").await;
    set_data(&mut m, "/a").await;
    assert_eq!(key(&event(&mut w).await), ev(DATA_CHANGED, "/a"));
    no_event(&mut w).await;

    // getData on a missing node sets no watch.
    assert_eq!(watch(&mut w, op::GET_DATA, "/b").await, -101);
    create(&mut m, "/b", OPEN).await;
    no_event(&mut w).await;

    // child watch fires NodeChildrenChanged on the parent for create and (re-armed) delete.
    assert_eq!(watch(&mut w, op::GET_CHILDREN, "/a").await, 0);
    create(&mut m, "/a/c", OPEN).await;
    assert_eq!(key(&event(&mut w).await), ev(CHILDREN_CHANGED, "/a"));
    assert_eq!(watch(&mut w, op::GET_CHILDREN, "/a").await, 0);
    delete(&mut m, "/a/c").await;
    assert_eq!(key(&event(&mut w).await), ev(CHILDREN_CHANGED, "/a"));
    no_event(&mut w).await;

    // data + exists + child watch on one node, then delete: one NodeDeleted per connection.
    assert_eq!(watch(&mut w, op::GET_DATA, "/b").await, 0);
    assert_eq!(watch(&mut w, op::EXISTS, "/b").await, 0);
    assert_eq!(watch(&mut w, op::GET_CHILDREN, "/b").await, 0);
    delete(&mut m, "/b").await;
    assert_eq!(key(&event(&mut w).await), ev(NODE_DELETED, "/b"));
    no_event(&mut w).await;
    // setACL and sync trigger nothing.
    assert_eq!(watch(&mut w, op::GET_DATA, "/a").await, 0);
    let acl = Enc::new().str("/a").open_acl().int(-1).bytes();
    assert_eq!(m.call(op::SET_ACL, &acl).await.err, 0);
    no_event(&mut w).await;
}

#[tokio::test]
async fn crate_oneshot_and_persistent_watches() {
    let Some(zk) = ZkServer::start(Opts::default()) else {
        return;
    };
    let c = client(&zk).await;
    let opts = CreateMode::Persistent.with_acls(Acls::anyone_all());
    let (_, w) = c.check_and_watch_stat("/p").await.unwrap();
    c.create("/p", b"", &opts).await.unwrap();
    let e = w.changed().await;
    assert_eq!(
        (e.event_type, e.path.as_str()),
        (EventType::NodeCreated, "/p")
    );

    // Persistent watch on /p: data and child events, repeatedly.
    let mut pw = c.watch("/p", AddWatchMode::Persistent).await.unwrap();
    c.set_data("/p", b"1", None).await.unwrap();
    c.create("/p/k", b"", &opts).await.unwrap();
    c.set_data("/p", b"2", None).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        let e = pw.changed().await;
        got.push((e.event_type, e.path));
    }
    let p = "/p".to_string();
    assert_eq!(
        got,
        vec![
            (EventType::NodeDataChanged, p.clone()),
            (EventType::NodeChildrenChanged, p.clone()),
            (EventType::NodeDataChanged, p)
        ]
    );
}

#[tokio::test]
async fn persistent_recursive_never_gets_children_changed() {
    let Some(zk) = ZkServer::start(Opts::default()) else {
        return;
    };
    let (mut w, _) = RawConn::session(zk.port).await;
    let (mut m, _) = RawConn::session(zk.port).await;
    create(&mut m, "/r", OPEN).await;
    // addWatch reply body is ErrorResponse(err=0): a 4-byte int.
    let reply = w
        .call(op::ADD_WATCH, &Enc::new().str("/r").int(1).bytes())
        .await;
    assert_eq!((reply.err, reply.body.as_slice()), (0, &[0u8, 0, 0, 0][..]));
    // Recursive watches may be set on missing paths too.
    let reply = w
        .call(op::ADD_WATCH, &Enc::new().str("/nope").int(1).bytes())
        .await;
    assert_eq!(reply.err, 0);

    create(&mut m, "/r/a", OPEN).await;
    create(&mut m, "/r/a/b", OPEN).await;
    set_data(&mut m, "/r/a/b").await;
    set_data(&mut m, "/r").await;
    delete(&mut m, "/r/a/b").await;
    create(&mut m, "/nope", OPEN).await;
    create(&mut m, "/other", OPEN).await;
    let mut got = Vec::new();
    for _ in 0..6 {
        got.push(key(&event(&mut w).await));
    }
    assert_eq!(
        got,
        vec![
            ev(NODE_CREATED, "/r/a"),
            ev(NODE_CREATED, "/r/a/b"),
            ev(DATA_CHANGED, "/r/a/b"),
            ev(DATA_CHANGED, "/r"),
            ev(NODE_DELETED, "/r/a/b"),
            ev(NODE_CREATED, "/nope"),
        ]
    );
    no_event(&mut w).await;
}

#[tokio::test]
async fn check_and_remove_watches() {
    let Some(zk) = ZkServer::start(Opts::default()) else {
        return;
    };
    let (mut w, _) = RawConn::session(zk.port).await;
    let (mut m, _) = RawConn::session(zk.port).await;
    create(&mut m, "/x", OPEN).await;
    let req = |path: &str, kind: i32| Enc::new().str(path).int(kind).bytes();
    // WatcherType: Children 1, Data 2, Any 3. No watch yet: NOWATCHER (-121), header only.
    for opcode in [op::CHECK_WATCHES, op::REMOVE_WATCHES] {
        let r = w.call(opcode, &req("/x", 2)).await;
        assert_eq!((r.err, r.body.len()), (-121, 0));
    }
    assert_eq!(watch(&mut w, op::GET_DATA, "/x").await, 0);
    assert_eq!(w.call(op::CHECK_WATCHES, &req("/x", 1)).await.err, -121);
    assert_eq!(w.call(op::CHECK_WATCHES, &req("/x", 2)).await.err, 0);
    assert_eq!(w.call(op::CHECK_WATCHES, &req("/x", 3)).await.err, 0);
    // checkWatches does not remove: the watch still fires.
    set_data(&mut m, "/x").await;
    assert_eq!(key(&event(&mut w).await), ev(DATA_CHANGED, "/x"));

    assert_eq!(watch(&mut w, op::GET_DATA, "/x").await, 0);
    assert_eq!(watch(&mut w, op::GET_CHILDREN, "/x").await, 0);
    assert_eq!(w.call(op::REMOVE_WATCHES, &req("/x", 1)).await.err, 0);
    assert_eq!(w.call(op::CHECK_WATCHES, &req("/x", 1)).await.err, -121);
    create(&mut m, "/x/c", OPEN).await;
    no_event(&mut w).await;
    assert_eq!(w.call(op::REMOVE_WATCHES, &req("/x", 3)).await.err, 0);
    set_data(&mut m, "/x").await;
    no_event(&mut w).await;
    assert_eq!(w.call(op::REMOVE_WATCHES, &req("/x", 3)).await.err, -121);
}

#[tokio::test]
async fn events_filtered_by_read_acl() {
    // CVE-2024-23944: a watcher without READ on the changed node gets no event. The Debian
    // Apache 3.8.0 package carries the fix (verified: no event is delivered).
    let Some(zk) = ZkServer::start(Opts::default()) else {
        return;
    };
    let (mut w, _) = RawConn::session(zk.port).await;
    let (mut m, _) = RawConn::session(zk.port).await;
    assert_eq!(watch(&mut w, op::EXISTS, "/secret").await, -101);
    assert_eq!(watch(&mut w, op::EXISTS, "/public").await, -101);
    let r = w
        .call(op::ADD_WATCH, &Enc::new().str("/").int(1).bytes())
        .await;
    assert_eq!(r.err, 0);
    // digest u:p = u:SHA1 base64; m is not authenticated as u, which does not matter to create.
    let secret = &[(31, "digest", "u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ=")][..];
    create(&mut m, "/secret", secret).await;
    no_event(&mut w).await;
    // Control: an open node produces exactly one event (exists + recursive watch deduplicated).
    create(&mut m, "/public", OPEN).await;
    assert_eq!(key(&event(&mut w).await), ev(NODE_CREATED, "/public"));
    no_event(&mut w).await;
}
