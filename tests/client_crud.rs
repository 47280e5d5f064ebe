//! CRUD opcodes through the `zookeeper-client` crate: create/create2/createContainer
//! with every CreateMode, delete with versions, exists, getData/setData, getChildren(2),
//! getACL/setACL, sync, getEphemerals, getAllChildrenNumber, whoAmI, the initial tree and the
//! exact stat bookkeeping. Run with `ZK_IMPL=apache` to validate against Apache ZooKeeper 3.8.
#![allow(clippy::unwrap_used)]

mod common;

use common::{client, Opts, ZkServer};
use zookeeper_client::{Acl, Acls, AuthId, Client, CreateMode, Error, Permission};

fn persistent() -> zookeeper_client::CreateOptions<'static> {
    CreateMode::Persistent.with_acls(Acls::anyone_all())
}

#[tokio::test]
async fn initial_tree() {
    let Some(zk) = ZkServer::start(Opts::default()) else {
        return;
    };
    let c = client(&zk).await;
    let (children, root) = c.get_children("/").await.unwrap();
    assert_eq!(children, vec!["zookeeper".to_string()]);
    assert_eq!(
        (root.czxid, root.mzxid, root.version, root.num_children),
        (0, 0, 0, 1)
    );
    let mut zkc = c.list_children("/zookeeper").await.unwrap();
    zkc.sort();
    assert_eq!(zkc, vec!["config", "quota"]);
    assert!(c
        .list_children("/zookeeper/quota")
        .await
        .unwrap()
        .is_empty());
    // /zookeeper/config is world-readable only; /zookeeper is open.
    let (acl, _) = c.get_acl("/zookeeper/config").await.unwrap();
    assert_eq!(acl, vec![Acl::new(Permission::READ, AuthId::anyone())]);
    let (acl, _) = c.get_acl("/zookeeper").await.unwrap();
    assert_eq!(acl, vec![Acl::new(Permission::ALL, AuthId::anyone())]);
    // getAllChildrenNumber counts all descendants: zookeeper, quota, config.
    assert_eq!(c.count_descendants_number("/").await.unwrap(), 3);
    assert_eq!(c.count_descendants_number("/zookeeper").await.unwrap(), 2);
    assert_eq!(
        c.count_descendants_number("/nope").await,
        Err(Error::NoNode)
    );
    // Special nodes cannot be deleted.
    for p in ["/zookeeper", "/zookeeper/quota", "/zookeeper/config"] {
        assert!(
            matches!(c.delete(p, None).await, Err(Error::BadArguments(_))),
            "{p}"
        );
    }
}

#[tokio::test]
async fn create_every_mode() {
    let Some(zk) = ZkServer::start(Opts::default()) else {
        return;
    };
    let c = client(&zk).await;
    let sid = c.session_id().0;
    // create2 (opcode 15) returns the new node's stat.
    let (st, seq) = c.create("/p", b"data", &persistent()).await.unwrap();
    assert_eq!(seq.into_i64(), -1);
    assert_eq!(
        (st.version, st.cversion, st.aversion, st.data_length),
        (0, 0, 0, 4)
    );
    assert_eq!((st.czxid, st.pzxid), (st.mzxid, st.mzxid));
    assert_eq!((st.ephemeral_owner, st.num_children), (0, 0));
    assert_eq!(st.ctime, st.mtime);
    assert_eq!(
        c.create("/p", b"", &persistent()).await,
        Err(Error::NodeExists)
    );
    assert_eq!(
        c.create("/nope/x", b"", &persistent()).await,
        Err(Error::NoNode)
    );

    let eph = CreateMode::Ephemeral.with_acls(Acls::anyone_all());
    let (st, _) = c.create("/p/e", b"", &eph).await.unwrap();
    assert_eq!(st.ephemeral_owner, sid);
    assert_eq!(
        c.create("/p/e/child", b"", &persistent()).await,
        Err(Error::NoChildrenForEphemerals)
    );

    // Sequential suffix = %010d of the parent's cversion before the create.
    let pseq = CreateMode::PersistentSequential.with_acls(Acls::anyone_all());
    let (_, seq) = c.create("/p/s-", b"", &pseq).await.unwrap();
    assert_eq!(seq.into_i64(), 1);
    assert!(c.check_stat("/p/s-0000000001").await.unwrap().is_some());
    let eseq = CreateMode::EphemeralSequential.with_acls(Acls::anyone_all());
    let (st, seq) = c.create("/p/es-", b"", &eseq).await.unwrap();
    assert_eq!((seq.into_i64(), st.ephemeral_owner), (2, sid));
    // The sequence counter counts child creations only: after a delete it is 3, not 4, even
    // though the reported cversion is now 4 (see delete_and_parent_stats).
    c.delete("/p/s-0000000001", None).await.unwrap();
    let (_, seq) = c.create("/p/s-", b"", &pseq).await.unwrap();
    assert_eq!(seq.into_i64(), 3);
    let mut kids = c.list_children("/p").await.unwrap();
    kids.sort();
    assert_eq!(kids, vec!["e", "es-0000000002", "s-0000000003"]);

    // Container (opcode 19). Clients never see the stored ephemeralOwner marker of containers
    // or TTL nodes (Long.MIN_VALUE / 0xFF.. | ttl): Apache reports 0 (getClientEphemeralOwner).
    let cont = CreateMode::Container.with_acls(Acls::anyone_all());
    let (st, _) = c.create("/cont", b"", &cont).await.unwrap();
    assert_eq!(st.ephemeral_owner, 0);
    assert_eq!(
        c.check_stat("/cont")
            .await
            .unwrap()
            .unwrap()
            .ephemeral_owner,
        0
    );

    // Plain create (opcode 1) when the client believes the server is 3.4.
    let old = Client::connector()
        .with_server_version(3, 4, 0)
        .connect(&zk.addr())
        .await
        .unwrap();
    old.create("/old", b"v", &persistent()).await.unwrap();
    assert_eq!(old.get_data("/old").await.unwrap().0, b"v");

    // getEphemerals (103): this session's ephemerals under a prefix; other sessions see none.
    let mut mine = c.list_ephemerals("/").await.unwrap();
    mine.sort();
    assert_eq!(mine, vec!["/p/e", "/p/es-0000000002"]);
    assert_eq!(
        c.list_ephemerals("/p/es").await.unwrap(),
        vec!["/p/es-0000000002"]
    );
    assert!(old.list_ephemerals("/").await.unwrap().is_empty());
    // Ephemerals vanish when the session closes.
    drop(c);
    let e = client(&zk).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while e.check_stat("/p/e").await.unwrap().is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "ephemeral survived session close"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn delete_and_parent_stats() {
    let Some(zk) = ZkServer::start(Opts::default()) else {
        return;
    };
    let c = client(&zk).await;
    c.create("/d", b"", &persistent()).await.unwrap();
    let (child, _) = c.create("/d/a", b"", &persistent()).await.unwrap();
    let parent = c.check_stat("/d").await.unwrap().unwrap();
    // create bumps parent cversion and pzxid, not version/mzxid.
    assert_eq!(
        (parent.cversion, parent.pzxid, parent.num_children),
        (1, child.czxid, 1)
    );
    assert_eq!((parent.version, parent.mzxid), (0, parent.czxid));

    assert_eq!(c.delete("/d", None).await, Err(Error::NotEmpty));
    assert_eq!(c.delete("/d/a", Some(5)).await, Err(Error::BadVersion));
    assert_eq!(c.delete("/d/zz", None).await, Err(Error::NoNode));
    c.set_data("/d/a", b"1", None).await.unwrap();
    assert_eq!(c.delete("/d/a", Some(0)).await, Err(Error::BadVersion));
    c.delete("/d/a", Some(1)).await.unwrap();
    // delete: parent pzxid moves to the delete's zxid. The *stored* cversion counts creates only,
    // but Apache reports cversion = 2 * stored - numChildren (DataNode.copyStat), i.e. creates +
    // deletes, so a delete visibly bumps the reported cversion from 1 to 2.
    let after = c.check_stat("/d").await.unwrap().unwrap();
    assert_eq!((after.cversion, after.num_children), (2, 0));
    assert!(after.pzxid > parent.pzxid);
    assert_eq!(after.mzxid, parent.mzxid);
    c.delete("/d", Some(0)).await.unwrap();
    assert_eq!(c.check_stat("/d").await.unwrap(), None);
}

#[tokio::test]
async fn data_children_acl_sync_whoami() {
    let Some(zk) = ZkServer::start(Opts::default()) else {
        return;
    };
    let c = client(&zk).await;
    let (created, _) = c.create("/n", b"one", &persistent()).await.unwrap();
    assert_eq!(c.check_stat("/n").await.unwrap(), Some(created));
    assert_eq!(c.check_stat("/missing").await.unwrap(), None);
    assert_eq!(c.get_data("/missing").await, Err(Error::NoNode));
    let (data, st) = c.get_data("/n").await.unwrap();
    assert_eq!((data.as_slice(), st), (&b"one"[..], created));

    let st1 = c.set_data("/n", b"three", Some(0)).await.unwrap();
    assert_eq!(
        (st1.version, st1.data_length, st1.czxid),
        (1, 5, created.czxid)
    );
    assert!(st1.mzxid > created.mzxid);
    assert_eq!(st1.pzxid, created.pzxid);
    assert_eq!(
        c.set_data("/n", b"x", Some(0)).await,
        Err(Error::BadVersion)
    );
    assert_eq!(c.set_data("/missing", b"x", None).await, Err(Error::NoNode));
    let st2 = c.set_data("/n", b"", None).await.unwrap();
    assert_eq!((st2.version, st2.data_length), (2, 0));
    assert_eq!(c.get_data("/n").await.unwrap().0, Vec::<u8>::new());

    for name in ["b", "a", "c"] {
        c.create(&format!("/n/{name}"), b"", &persistent())
            .await
            .unwrap();
    }
    let mut kids = c.list_children("/n").await.unwrap();
    kids.sort();
    assert_eq!(kids, vec!["a", "b", "c"]);
    let (_, st) = c.get_children("/n").await.unwrap();
    assert_eq!((st.num_children, st.cversion, st.version), (3, 3, 2));
    assert_eq!(c.list_children("/missing").await, Err(Error::NoNode));
    assert_eq!(c.count_descendants_number("/n").await.unwrap(), 3);

    // setACL bumps aversion only; version checks use aversion.
    let read_only = [Acl::new(
        Permission::READ | Permission::ADMIN,
        AuthId::anyone(),
    )];
    let st = c.set_acl("/n/a", &read_only, Some(0)).await.unwrap();
    assert_eq!((st.aversion, st.version, st.cversion), (1, 0, 0));
    assert_eq!(
        c.set_acl("/n/a", &read_only, Some(0)).await,
        Err(Error::BadVersion)
    );
    let (acl, st) = c.get_acl("/n/a").await.unwrap();
    assert_eq!((acl, st.aversion), (read_only.to_vec(), 1));
    assert_eq!(c.set_data("/n/a", b"x", None).await, Err(Error::NoAuth));
    assert_eq!(c.get_acl("/missing").await, Err(Error::NoNode));

    c.sync("/n").await.unwrap();
    // whoAmI (107): an unauthenticated session is identified by its ip.
    let users = c.list_auth_users().await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!((users[0].scheme(), users[0].user()), ("ip", "127.0.0.1"));
}
