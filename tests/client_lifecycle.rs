//! Node lifecycles driven by the server itself and by restarts: TTL nodes (createTTL 21, needs
//! extendedTypesEnabled, else UNIMPLEMENTED) and containers (createContainer 19) removed by the
//! container sweeper, and data surviving SIGTERM and SIGKILL restarts on the same dataDir.
#![allow(clippy::unwrap_used)]

mod common;

use common::{client, Opts, ZkServer};
use zookeeper_client::{Acls, Client, CreateMode, Error};

fn persistent() -> zookeeper_client::CreateOptions<'static> {
    CreateMode::Persistent.with_acls(Acls::anyone_all())
}

/// Waits up to 10 s for `path` to disappear.
async fn gone(c: &Client, path: &str) -> bool {
    for _ in 0..200 {
        if c.check_stat(path).await.unwrap().is_none() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn ttl_and_container_nodes() {
    let ttl = std::time::Duration::from_millis(300);
    let opts = persistent().with_ttl(ttl);
    // Without extendedTypesEnabled createTTL (21) is UNIMPLEMENTED.
    let Some(plain) = ZkServer::start(Opts::default()) else {
        return;
    };
    let c = client(&plain).await;
    assert_eq!(c.create("/t", b"", &opts).await, Err(Error::Unimplemented));
    drop(plain);

    // The container/TTL sweeper interval is a plain system property (no `zookeeper.` prefix).
    let flags = "-Dznode.container.checkIntervalMs=200";
    let o = Opts::default()
        .cfg("extendedTypesEnabled=true")
        .env("SERVER_JVMFLAGS", flags);
    let Some(zk) = ZkServer::start(o) else { return };
    let c = client(&zk).await;
    let (st, _) = c.create("/t", b"x", &opts).await.unwrap();
    assert_eq!((st.ephemeral_owner, st.data_length), (0, 1));
    let sopts = CreateMode::PersistentSequential
        .with_acls(Acls::anyone_all())
        .with_ttl(ttl);
    let (_, seq) = c.create("/t/s-", b"", &sopts).await.unwrap();
    assert_eq!(seq.into_i64(), 0);
    // A TTL node with no children and no modification for ttl ms is removed; /t has a child
    // until that child (itself TTL) expires, then /t goes too.
    assert!(gone(&c, "/t/s-0000000000").await, "TTL child not removed");
    assert!(gone(&c, "/t").await, "TTL node not removed");

    // A container is removed once it had children and now has none.
    let cont = CreateMode::Container.with_acls(Acls::anyone_all());
    c.create("/cont", b"", &cont).await.unwrap();
    c.create("/cont/a", b"", &persistent()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert!(
        c.check_stat("/cont").await.unwrap().is_some(),
        "container with a child removed"
    );
    c.delete("/cont/a", None).await.unwrap();
    assert!(gone(&c, "/cont").await, "empty container not removed");
}

#[tokio::test]
async fn data_survives_restart_and_kill() {
    let Some(mut zk) = ZkServer::start(Opts::default()) else {
        return;
    };
    let c = client(&zk).await;
    c.create("/keep", b"1", &persistent()).await.unwrap();
    let st = c.set_data("/keep", b"2", None).await.unwrap();
    drop(c);
    zk.restart(); // SIGTERM, same dataDir and port
    let c = client(&zk).await;
    assert_eq!(c.get_data("/keep").await.unwrap(), (b"2".to_vec(), st));
    c.create("/after", b"", &persistent()).await.unwrap();
    drop(c);
    zk.kill(); // SIGKILL: acknowledged writes must still be there
    zk.restart();
    let c = client(&zk).await;
    assert!(c.check_stat("/after").await.unwrap().is_some());
    assert_eq!(c.get_data("/keep").await.unwrap().0, b"2");
}
