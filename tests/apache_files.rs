//! Apache ZooKeeper's on-disk files loaded by zkserver, and zkserver's `export-apache` loaded by
//! Apache, with real servers on both sides.
//!
//! * `apache_datadir_fixture_loads`: a dataDir written by a real Apache 3.8 (committed in
//!   tests/fixtures/apache-datadir/, no Java needed) is served by zkserver with the tree, stats,
//!   ACLs, ephemerals and digests Apache reported for it (recorded next to it), then zkserver
//!   carries on from the same zxid, restarts over the mixed files, and leaves Apache's files
//!   byte-identical.
//! * `apache_datadir_live_round_trip` (needs java): a one-member Apache ensemble writes every txn
//!   type (create modes incl. container/TTL, multi with an error, error txns, setACL, sessions
//!   and ephemerals, closeSession, a reconfig, container/TTL sweeps), several snapshots and log
//!   segments; zkserver loads the dataDir and answers exactly as Apache did; `export-apache` of
//!   zkserver's dataDir then starts a real Apache with the same tree and a matching digest.
//!   With `ZK_REGEN_APACHE_DATADIR=1` it rewrites the fixture of the first test.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::datadir::*;
use zookeeper_client::CreateMode;

const MNTR_KEYS: [&str; 2] = ["zk_znode_count", "zk_ephemerals_count"];

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/apache-datadir")
}

/// What a client saw of one server.
#[derive(Debug, Clone, PartialEq, Eq)]
struct View {
    walk: Vec<String>,
    hash: Vec<(i64, i64)>,
    ephemerals: Vec<String>,
    mntr: Vec<String>,
}

async fn view(p: &Proc) -> View {
    let c = p.client(true, false).await;
    let walk = walk(&c).await;
    drop(c);
    View {
        walk,
        hash: hash_lines(&p.four("hash")),
        ephemerals: dump_ephemerals(&p.four("dump")),
        mntr: mntr_values(&p.four("mntr"), &MNTR_KEYS),
    }
}

/// zkserver's view must be Apache's: the same walk, ephemerals and counts, and every `hash` line
/// zkserver has (it logs digests only for the txns it replayed) equal to Apache's for that zxid,
/// including `last_zxid`'s when given (zkserver replayed it).
fn assert_same(apache: &View, ours: &View, last_zxid: Option<i64>) {
    assert_eq!(apache.walk.len(), ours.walk.len(), "znode count");
    for (a, o) in apache.walk.iter().zip(&ours.walk) {
        assert_eq!(a, o, "znode differs (Apache first, zkserver second)");
    }
    assert_eq!(apache.ephemerals, ours.ephemerals, "dump: ephemerals");
    assert_eq!(apache.mntr, ours.mntr, "mntr counts");
    let theirs: BTreeMap<i64, i64> = apache.hash.iter().copied().collect();
    if let Some(last_zxid) = last_zxid {
        assert!(
            ours.hash.iter().any(|(z, _)| *z == last_zxid),
            "zkserver's hash lacks the last zxid {last_zxid:#x}: {:?}",
            ours.hash
        );
    }
    for (z, d) in &ours.hash {
        assert_eq!(theirs.get(z), Some(d), "hash at zxid {z:#x}");
    }
}

/// Bytes of every file under `dir`, by relative path.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    for (rel, bytes) in files(from) {
        let dst = to.join(rel);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::write(dst, bytes).unwrap();
    }
}

/// A temp dir, kept (and named on stderr) with `ZK_KEEP_TMP=1` for a look at the files.
fn workdir() -> tempfile::TempDir {
    let mut dir = tempfile::tempdir().unwrap();
    if std::env::var("ZK_KEEP_TMP").as_deref() == Ok("1") {
        dir.disable_cleanup(true);
        eprintln!("keeping {}", dir.path().display());
    }
    dir
}

fn write_apache_ensemble_cfg(dir: &Path, data: &Path, port: u16) -> (PathBuf, String) {
    let (quorum, election) = (free_port(), free_port());
    std::fs::create_dir_all(data).unwrap();
    std::fs::write(data.join("myid"), "1").unwrap();
    let cfg = dir.join("apache.cfg");
    write_cfg(
        &cfg,
        data,
        port,
        &[
            "standaloneEnabled=false".into(),
            "reconfigEnabled=true".into(),
            "snapCount=100".into(),
            "preAllocSize=16".into(),
            format!("server.1=127.0.0.1:{quorum}:{election}:participant;127.0.0.1:{port}"),
        ],
    );
    let observer = format!(
        "server.2=127.0.0.1:{}:{}:observer;127.0.0.1:{}",
        free_port(),
        free_port(),
        free_port()
    );
    (cfg, observer)
}

/// Starts zkserver (standalone) on `data` and returns it with its view and the zxid it
/// started at (before any client made a txn).
async fn zkserver_on(dir: &Path, data: &Path, name: &str) -> (Proc, View, i64) {
    let port = free_port();
    let cfg = dir.join(format!("{name}.cfg"));
    write_cfg(&cfg, data, port, &[]);
    // The fixture's TTL nodes expire with wall time; no sweep may change the tree (and bump
    // the zxid) while it is compared with what Apache reported when it wrote the files.
    let no_sweep = ["-Dznode.container.checkIntervalMs=3600000"];
    let log = dir.join(format!("{name}.log"));
    let p = Proc::start_with(Kind::ZkServer, &cfg, port, &log, &no_sweep);
    let zxid = p.zxid();
    let v = view(&p).await;
    (p, v, zxid)
}

/// `zxids`: the last zxid `hash` lists, and the last zxid.
fn save_expected(dir: &Path, v: &View, zxids: (i64, i64)) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("walk.txt"), v.walk.join("\n") + "\n").unwrap();
    let hash: Vec<String> = v.hash.iter().map(|(z, d)| format!("{z:x}: {d}")).collect();
    std::fs::write(dir.join("hash.txt"), hash.join("\n") + "\n").unwrap();
    std::fs::write(dir.join("ephemerals.txt"), v.ephemerals.join("\n") + "\n").unwrap();
    std::fs::write(dir.join("mntr.txt"), v.mntr.join("\n") + "\n").unwrap();
    let text = format!("last_hashed {:x}\nlast {:x}\n", zxids.0, zxids.1);
    std::fs::write(dir.join("zxids.txt"), text).unwrap();
}

fn load_expected(dir: &Path) -> (View, (i64, i64)) {
    let read = |n: &str| std::fs::read_to_string(dir.join(n)).unwrap();
    let lines = |n: &str| -> Vec<String> { read(n).lines().map(str::to_string).collect() };
    let view = View {
        walk: lines("walk.txt"),
        hash: hash_lines(&read("hash.txt")),
        ephemerals: lines("ephemerals.txt"),
        mntr: lines("mntr.txt"),
    };
    let zxids = read("zxids.txt");
    let get = |key: &str| {
        let v = zxids.lines().find_map(|l| l.strip_prefix(key)).unwrap();
        i64::from_str_radix(v.trim(), 16).unwrap()
    };
    (view, (get("last_hashed "), get("last ")))
}

/// zkserver continues on a dataDir that started as Apache's (at `start_zxid`): new txns follow
/// it in the same epoch, a restart recovers across both formats, Apache's files are untouched.
async fn carry_on(dir: &Path, data: &Path, mut zk: Proc, start_zxid: i64) -> View {
    let apache_files: BTreeMap<String, Vec<u8>> = files(&data.join("version-2"))
        .into_iter()
        .filter(|(_, b)| b.starts_with(b"ZKLG") || b.starts_with(b"ZKSN"))
        .collect();
    assert!(apache_files.keys().any(|n| n.starts_with("log.")));
    assert!(apache_files.keys().any(|n| n.starts_with("snapshot.")));
    let c = zk.client(true, false).await;
    let persistent = CreateMode::Persistent.with_acls(open_acl());
    let (stat, _) = c.create("/after", b"zk", &persistent).await.unwrap();
    assert!(stat.czxid > start_zxid && stat.czxid >> 32 == start_zxid >> 32);
    let padded = pad_to_hash_interval(&c).await;
    drop(c);
    let before = view(&zk).await;
    assert!(before.hash.iter().any(|(z, _)| *z == padded));
    zk.stop();
    let (_zk, after, _) = zkserver_on(dir, data, "zkserver-restart").await;
    assert_eq!(
        before.walk, after.walk,
        "tree after a restart over mixed files"
    );
    assert_eq!(before.ephemerals, after.ephemerals);
    let now = files(&data.join("version-2"));
    for (name, bytes) in &apache_files {
        assert!(now.get(name) == Some(bytes), "Apache's {name} changed");
    }
    assert!(
        now.keys()
            .any(|n| !apache_files.contains_key(n) && n.starts_with("log.")),
        "zkserver wrote a segment of its own: {:?}",
        now.keys()
    );
    before
}

/// Starting from ANY of Apache's snapshots (or none) and replaying Apache's logs after it gives
/// the same database, each snapshot's recorded digest checks out when replay reaches it, and
/// every digest Apache logged (`hash`) is met on the way.
#[test]
fn every_apache_snapshot_plus_the_logs_rebuilds_the_same_tree() {
    use zkserver::runtime::recover::Rebuild;
    use zkserver::storage::{read_segments_from, FileSnapshotStore};
    let v2 = fixture().join("data/version-2");
    let (expected, (_, last)) = load_expected(&fixture().join("expected"));
    let mut snaps: Vec<Option<PathBuf>> = files(&v2)
        .into_keys()
        .filter(|n| n.starts_with("snapshot."))
        .map(|n| Some(v2.join(n)))
        .collect();
    snaps.push(None);
    let mut trees = Vec::new();
    for snap in &snaps {
        let loaded = snap
            .as_ref()
            .map(|p| FileSnapshotStore::load_file(p).unwrap());
        let mut r = Rebuild::start(loaded, 1 << 20, true).unwrap();
        let from = r.tree().last_zxid() + 1;
        // snapshot.0 (taken at startup) records an empty digest: nothing to compare.
        let recorded = from > 1;
        for (zxid, txn) in read_segments_from(&v2, from).unwrap() {
            r.apply(zxid, txn).unwrap();
        }
        if recorded {
            assert_eq!(r.digest_matched, Some(true), "{snap:?}");
        }
        let tree = r.finish();
        assert_eq!(tree.last_zxid(), last, "{snap:?}");
        let logged: Vec<(i64, i64)> = tree
            .digest_log()
            .log()
            .map(|d| (d.zxid, d.digest))
            .collect();
        for (z, d) in &logged {
            assert!(expected.hash.contains(&(*z, *d)), "{snap:?}: {z:#x} {d}");
        }
        if snap.is_none() {
            assert_eq!(
                logged, expected.hash,
                "a full replay logs every digest Apache did"
            );
        }
        trees.push(tree);
    }
    for (t, snap) in trees.iter().zip(&snaps).skip(1) {
        assert_eq!(trees[0].content_diff(t), None, "{snap:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn apache_datadir_fixture_loads() {
    let dir = workdir();
    let data = dir.path().join("data");
    copy_dir(&fixture().join("data"), &data);
    let (expected, (last_hashed, apache_zxid)) = load_expected(&fixture().join("expected"));
    let (zk, ours, zxid) = zkserver_on(dir.path(), &data, "zkserver").await;
    assert_eq!(zxid, apache_zxid, "zkserver starts at Apache's last zxid");
    assert_same(&expected, &ours, Some(last_hashed));
    carry_on(dir.path(), &data, zk, zxid).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn apache_datadir_live_round_trip() {
    if !java_or_skip("apache_datadir_live_round_trip") {
        return;
    }
    let dir = workdir();
    let data = dir.path().join("data");
    let port = free_port();
    let (cfg, observer) = write_apache_ensemble_cfg(dir.path(), &data, port);
    let mut apache = Proc::start(Kind::Apache, &cfg, port, &dir.path().join("apache.log"));
    let last_hashed = write_history(&apache, Some(&observer)).await;
    let theirs = view(&apache).await;
    let apache_zxid = apache.settled_zxid();
    apache.kill();
    if std::env::var("ZK_REGEN_APACHE_DATADIR").as_deref() == Ok("1") {
        let fx = fixture();
        let _ = std::fs::remove_dir_all(&fx);
        for (rel, bytes) in files(&data) {
            if rel.starts_with("version-2/") || rel == "myid" {
                let dst = fx.join("data").join(rel);
                std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
                std::fs::write(dst, bytes).unwrap();
            }
        }
        save_expected(&fx.join("expected"), &theirs, (last_hashed, apache_zxid));
    }
    // Apache may have snapshotted after the last hashed zxid (snapCount=100 is randomised):
    // then zkserver starts from that snapshot and never replays that txn.
    let newest_snapshot = files(&data.join("version-2"))
        .into_keys()
        .filter_map(|n| n.strip_prefix("snapshot.").map(str::to_string))
        .filter_map(|z| i64::from_str_radix(&z, 16).ok())
        .max()
        .unwrap_or(0);
    let replayed = (newest_snapshot < last_hashed).then_some(last_hashed);
    let (zk, ours, zxid) = zkserver_on(dir.path(), &data, "zkserver").await;
    assert_eq!(zxid, apache_zxid, "zkserver starts at Apache's last zxid");
    assert_same(&theirs, &ours, replayed);
    let served = carry_on(dir.path(), &data, zk, zxid).await;
    // Roll back: export zkserver's dataDir and start Apache (standalone) on it.
    let out = dir.path().join("exported");
    let export = std::process::Command::new(env!("CARGO_BIN_EXE_zkserver"))
        .arg("export-apache")
        .arg(&data)
        .arg(&out)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&export.stdout).into_owned();
    assert!(export.status.success(), "{said}");
    // "wrote <file> (zxid 0x<hex>, <n> znodes, <n> sessions, digest <n>)"
    let zxid = said
        .split("(zxid 0x")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap();
    let digest = said
        .split("digest ")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    let port = free_port();
    let cfg = dir.path().join("apache-exported.cfg");
    write_cfg(&cfg, &out, port, &[]);
    let log = dir.path().join("apache-exported.log");
    // gzip snapshots: the one Apache takes as it loads is read back by zkserver below.
    let gzip = ["-Dzookeeper.snapshot.compression.method=gz"];
    let mut apache = Proc::start_with(Kind::Apache, &cfg, port, &log, &gzip);
    let start_zxid = apache.zxid();
    let back = view(&apache).await;
    assert_eq!(served.walk.len(), back.walk.len());
    for (o, a) in served.walk.iter().zip(&back.walk) {
        assert_eq!(o, a, "exported znode (zkserver first, Apache second)");
    }
    assert_eq!(served.ephemerals, back.ephemerals);
    let mntr = apache.four("mntr");
    assert!(
        mntr.lines().any(|l| l == "zk_digest_mismatches_count\t0"),
        "Apache compared the exported digest: {mntr}"
    );
    // Apache read zkserver's digest trailer and computed the same digest over the tree.
    let log = apache.log_text();
    let trailer = format!("with zxid as 0x{zxid}, and digest value as {digest}");
    let computed = format!("highest zxid is 0x{zxid}, digest is {digest}");
    assert!(log.contains(&trailer) && log.contains(&computed), "{log}");
    assert_eq!(
        start_zxid,
        i64::from_str_radix(zxid, 16).unwrap(),
        "Apache starts at zkserver's last zxid"
    );
    let c = apache.client(true, false).await;
    let persistent = CreateMode::Persistent.with_acls(open_acl());
    let (stat, _) = c.create("/back", b"", &persistent).await.unwrap();
    assert!(stat.czxid > start_zxid && stat.czxid >> 32 == start_zxid >> 32);
    drop(c);
    // And forth again: zkserver loads Apache's gzip snapshot and its new log (the exported
    // snapshot of the same zxid is moved away so the .gz one is the one read).
    let theirs = view(&apache).await;
    let apache_zxid = apache.settled_zxid();
    apache.kill();
    let v2 = out.join("version-2");
    let gz = v2.join(format!("snapshot.{zxid}.gz"));
    assert!(gz.exists(), "Apache wrote {}", gz.display());
    std::fs::rename(
        v2.join(format!("snapshot.{zxid}")),
        dir.path().join("exported.snap"),
    )
    .unwrap();
    let (zk, ours, loaded) = zkserver_on(dir.path(), &out, "zkserver-gz").await;
    assert_eq!(loaded, apache_zxid);
    assert_eq!(theirs.walk, ours.walk);
    assert_eq!(theirs.ephemerals, ours.ephemerals);
    assert!(zk.log_text().contains("loaded Apache ZooKeeper's snapshot"));
}

/// A damaged Apache log gets zkserver's own precise error (file, offset, zxid, the repair
/// command), and that command makes the dataDir start again.
#[tokio::test(flavor = "multi_thread")]
async fn damaged_apache_log_names_the_repair_and_repair_log_fixes_it() {
    let dir = workdir();
    let data = dir.path().join("data");
    copy_dir(&fixture().join("data"), &data);
    let (_, (_, apache_zxid)) = load_expected(&fixture().join("expected"));
    // The newest log: the txns after the newest snapshot, which recovery needs.
    let newest = files(&data.join("version-2"))
        .into_keys()
        .filter(|n| n.starts_with("log."))
        .max_by_key(|n| i64::from_str_radix(&n[4..], 16).unwrap())
        .unwrap();
    let log = data.join("version-2").join(&newest);
    let mut bytes = std::fs::read(&log).unwrap();
    // Inside the third entry's txn bytes (entries: long checksum, int length, txn, 'B').
    let mut at = 16usize;
    for _ in 0..2 {
        let len = i32::from_be_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 12 + len + 1;
    }
    bytes[at + 12 + 20] ^= 0x40;
    std::fs::write(&log, &bytes).unwrap();
    let cfg = dir.path().join("zk.cfg");
    write_cfg(&cfg, &data, free_port(), &[]);
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_zkserver"))
        .arg(&cfg)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(!run.status.success(), "{said}");
    let repair = format!("zkserver repair-log {} --offset {at}", log.display());
    for want in [
        format!("txn log {} is corrupt at byte offset {at}", log.display()),
        "Adler32 mismatch".into(),
        "(record zxid 0x1000001".into(),
        repair.clone(),
    ] {
        assert!(said.contains(&want), "{want:?} missing from: {said}");
    }
    let fixed = std::process::Command::new(env!("CARGO_BIN_EXE_zkserver"))
        .args([
            "repair-log",
            &log.display().to_string(),
            "--offset",
            &at.to_string(),
        ])
        .output()
        .unwrap();
    assert!(fixed.status.success(), "{fixed:?}");
    assert_eq!(std::fs::metadata(&log).unwrap().len(), at as u64);
    let (_zk, _, zxid) = zkserver_on(dir.path(), &data, "repaired").await;
    assert!(
        zxid < apache_zxid,
        "the txns after the cut are gone: {zxid:#x}"
    );
}
