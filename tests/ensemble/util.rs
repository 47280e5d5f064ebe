//! Client-side helpers shared by the ensemble tests: connecting to one member, pipelined
//! writes, reading a whole subtree (data + Stat) after `sync`, and asserting that every
//! member holds exactly the same subtree.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use zookeeper_client::{Acls, Client, CreateMode, CreateOptions, Error, Stat};

use crate::common::ensemble::Ensemble;
use crate::common::Impl;

pub fn persistent() -> CreateOptions<'static> {
    CreateMode::Persistent.with_acls(Acls::anyone_all())
}

pub fn ephemeral() -> CreateOptions<'static> {
    CreateMode::Ephemeral.with_acls(Acls::anyone_all())
}

pub fn sequential() -> CreateOptions<'static> {
    CreateMode::PersistentSequential.with_acls(Acls::anyone_all())
}

/// A session on exactly one member (no fail-over to others), retried for up to 20 s while
/// the member refuses clients (no quorum yet).
pub async fn connect(addr: &str) -> Client {
    connect_timeout(addr, Duration::from_secs(20))
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"))
}

pub async fn connect_timeout(addr: &str, within: Duration) -> Result<Client, Error> {
    connect_session(addr, within, Duration::from_secs(20)).await
}

/// `connect_timeout` asking for a session timeout of `session` (the `zookeeper-client` crate
/// gives a session up by itself once it has not reached a server for that long).
pub async fn connect_session(
    addr: &str,
    within: Duration,
    session: Duration,
) -> Result<Client, Error> {
    let deadline = Instant::now() + within;
    loop {
        let r = Client::connector()
            .with_session_timeout(session)
            .with_connection_timeout(Duration::from_secs(2))
            .connect(addr)
            .await;
        match r {
            Ok(c) => return Ok(c),
            Err(e) if Instant::now() > deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Creates `paths` (each with data = its own path) pipelined through one session: every
/// request is sent before the first reply is awaited. Panics on any failure.
pub async fn create_all(c: &Client, paths: &[String]) {
    let opts = persistent();
    let futs: Vec<_> = paths
        .iter()
        .map(|p| c.create(p, p.as_bytes(), &opts))
        .collect();
    for (f, p) in futs.into_iter().zip(paths) {
        f.await.unwrap_or_else(|e| panic!("create {p}: {e}"));
    }
}

/// Creates `path`, retrying for up to 30 s while the session reconnects after an outage.
pub async fn create_retrying(c: &Client, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match c.create(path, b"", &persistent()).await {
            Ok(_) | Err(Error::NodeExists) => return,
            Err(e) if Instant::now() > deadline => panic!("create {path}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// A session on one member creating `<parent>/live-<n>` in pipelined batches of 8 until
/// stopped, so a test can do something (restart a member) while the ensemble keeps writing.
pub struct LiveWriter {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<Vec<String>>,
}

impl LiveWriter {
    pub async fn start(addr: &str, parent: &str) -> LiveWriter {
        use std::sync::atomic::{AtomicBool, Ordering};
        let c = connect(addr).await;
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let (flag, parent) = (stop.clone(), parent.to_string());
        let task = tokio::spawn(async move {
            let opts = persistent();
            let mut acked = Vec::new();
            let mut n = 0;
            while !flag.load(Ordering::SeqCst) {
                let paths: Vec<String> = (n..n + 8)
                    .map(|i| format!("{parent}/live-{i:06}"))
                    .collect();
                n += 8;
                let futs: Vec<_> = paths.iter().map(|p| c.create(p, b"l", &opts)).collect();
                for (f, p) in futs.into_iter().zip(&paths) {
                    if f.await.is_ok() {
                        acked.push(p.clone());
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            acked
        });
        LiveWriter { stop, task }
    }

    /// Stops and returns the paths whose create was acknowledged.
    pub async fn stop(self) -> Vec<String> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("live writer stops")
            .expect("live writer task")
    }
}

/// Sets the data of `paths` pipelined; panics on any failure.
pub async fn set_all(c: &Client, paths: &[String], data: &[u8]) {
    let futs: Vec<_> = paths.iter().map(|p| c.set_data(p, data, None)).collect();
    for (f, p) in futs.into_iter().zip(paths) {
        f.await.unwrap_or_else(|e| panic!("setData {p}: {e}"));
    }
}

/// One znode as a client sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub data: Vec<u8>,
    pub stat: Stat,
    pub children: Vec<String>,
}

/// Every znode under (and including) `root` as member `addr` serves it after `sync(root)`:
/// breadth first, each level's reads pipelined. Nodes that vanish while reading (ephemerals
/// of closing sessions) are skipped.
pub async fn subtree(addr: &str, root: &str) -> BTreeMap<String, Node> {
    let c = connect(addr).await;
    c.sync(root)
        .await
        .unwrap_or_else(|e| panic!("sync {root} on {addr}: {e}"));
    let mut out = BTreeMap::new();
    let mut level = vec![root.to_string()];
    while !level.is_empty() {
        let mut next = Vec::new();
        // In chunks: a soak run reads hundreds of thousands of nodes.
        for chunk in level.chunks(2000) {
            read_chunk(&c, addr, chunk, &mut out, &mut next).await;
        }
        level = next;
    }
    out
}

/// Reads data, stat and children of `paths` (pipelined), queueing the children in `next`.
async fn read_chunk(
    c: &Client,
    addr: &str,
    paths: &[String],
    out: &mut BTreeMap<String, Node>,
    next: &mut Vec<String>,
) {
    let data: Vec<_> = paths.iter().map(|p| c.get_data(p)).collect();
    let kids: Vec<_> = paths.iter().map(|p| c.list_children(p)).collect();
    for ((path, d), k) in paths.iter().zip(data).zip(kids) {
        let (data, stat) = match d.await {
            Ok(v) => v,
            Err(Error::NoNode) => continue,
            Err(e) => panic!("getData {path} on {addr}: {e}"),
        };
        let mut children = match k.await {
            Ok(v) => v,
            Err(Error::NoNode) => continue,
            Err(e) => panic!("getChildren {path} on {addr}: {e}"),
        };
        children.sort();
        for child in &children {
            next.push(if path == "/" {
                format!("/{child}")
            } else {
                format!("{path}/{child}")
            });
        }
        out.insert(
            path.clone(),
            Node {
                data,
                stat,
                children,
            },
        );
    }
}

/// Reads `root` from each member in `ids` after `sync` and asserts all are identical —
/// data, children and every Stat field (czxid, mzxid, pzxid, ctime, mtime, version,
/// cversion, aversion, ephemeralOwner, dataLength, numChildren). Returns the common tree.
pub async fn assert_same_everywhere(
    ens: &Ensemble,
    ids: &[u64],
    root: &str,
) -> BTreeMap<String, Node> {
    let mut reference: Option<(u64, BTreeMap<String, Node>)> = None;
    for &id in ids {
        let tree = subtree(&ens.addr(id), root).await;
        match &reference {
            None => reference = Some((id, tree)),
            Some((ref_id, want)) => {
                if &tree != want {
                    let diff = describe_diff(want, &tree);
                    ens.fail(&format!(
                        "member {id} differs from member {ref_id} under {root}:\n{diff}"
                    ));
                }
            }
        }
    }
    reference.map(|(_, t)| t).unwrap_or_default()
}

/// The first few differences between two trees, for a failure message.
fn describe_diff(a: &BTreeMap<String, Node>, b: &BTreeMap<String, Node>) -> String {
    let mut out = Vec::new();
    for (p, n) in a {
        match b.get(p) {
            None => out.push(format!("  {p}: missing on the second member")),
            Some(m) if m != n => {
                let mut line = format!("  {p}:");
                if m.stat != n.stat {
                    line.push_str(&format!("\n    stat {:?}\n    vs   {:?}", n.stat, m.stat));
                }
                if m.data != n.data {
                    line.push_str(&format!(
                        "\n    data {:?} vs {:?}",
                        String::from_utf8_lossy(&n.data),
                        String::from_utf8_lossy(&m.data)
                    ));
                }
                if m.children != n.children {
                    let only_a: Vec<_> = n
                        .children
                        .iter()
                        .filter(|c| !m.children.contains(c))
                        .take(5)
                        .collect();
                    let only_b: Vec<_> = m
                        .children
                        .iter()
                        .filter(|c| !n.children.contains(c))
                        .take(5)
                        .collect();
                    line.push_str(&format!(
                        "\n    {} vs {} children; only first: {only_a:?}; only second: {only_b:?}",
                        n.children.len(),
                        m.children.len()
                    ));
                }
                out.push(line);
            }
            _ => {}
        }
    }
    for p in b.keys().filter(|p| !a.contains_key(*p)) {
        out.push(format!("  {p}: only on the second member"));
    }
    let total = out.len();
    out.truncate(10);
    format!("{total} differences, first ones:\n{}", out.join("\n"))
}

/// The sync-mode lines a learner logs (the same text in Apache and zkserver).
pub const LEARNER_DIFF: &str = "Getting a diff from the leader";
pub const LEARNER_SNAP: &str = "Getting a snapshot from leader";
pub const LEARNER_TRUNC: &str = "Truncating log to get in sync with the leader";

/// Whether `leader`'s log holds the line announcing how it synchronizes learner `sid` with
/// `mode` (DIFF/SNAP/TRUNC), as the leader's implementation words it (an Apache leader's SNAP
/// line does not name the peer).
pub fn leader_sync_line(ens: &Ensemble, leader: u64, log: &str, sid: u64, mode: &str) -> bool {
    if ens.member(leader).imp == Impl::Apache {
        // LearnerHandler logs "Sending DIFF zxid=0x... for peer sid: 2" and "Sending snapshot
        // last zxid of peer is 0x0, ..." at INFO; its TRUNC line is DEBUG, so a TRUNC shows as
        // "Synchronizing with Learner sid: 3 maxCommittedLog=0x.. ... peerLastZxid=0x.." with
        // the peer beyond maxCommittedLog (the rule that picks TRUNC).
        return match mode {
            "SNAP" => log.contains("Sending snapshot last zxid of peer"),
            "TRUNC" => log.lines().any(|l| {
                let hex = |key: &str| {
                    l.split(key)
                        .nth(1)
                        .and_then(|v| v.split_whitespace().next())
                        .and_then(|v| i64::from_str_radix(v.trim_start_matches("0x"), 16).ok())
                };
                l.contains(&format!("Synchronizing with Learner sid: {sid} "))
                    && matches!(
                        (hex("maxCommittedLog="), hex("peerLastZxid=")),
                        (Some(max), Some(peer)) if peer > max
                    )
            }),
            _ => log.lines().any(|l| {
                l.contains(&format!("Sending {mode}"))
                    && (l.ends_with(&format!("sid: {sid}")) || l.ends_with(&format!("sid:{sid}")))
            }),
        };
    }
    log.lines().any(|l| {
        l.contains("Synchronizing learner")
            && l.contains(&format!("sid=Some({sid})"))
            && l.contains(&format!("mode=\"{mode}\""))
    })
}
