//! Helpers for tests that hand one dataDir from one server implementation to the other: start
//! a real Apache ZooKeeper 3.8 (Debian's jar, standalone or a one-member ensemble) or zkserver on
//! a given zoo.cfg, and record what a client sees: a full tree walk (data, stat, ACL of every
//! znode, read as super), `hash`, the ephemeral part of `dump` and `mntr` counts. And the
//! history `write_history` writes: every kind of txn Apache logs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zookeeper_client::{Acl, Acls, AuthId, Client, CreateMode, EnsembleUpdate, Error, Permission};

use super::jute::{op, Enc};
use super::raw::RawConn;

/// `super:secret`, the superDigest both servers get, so the walk can read every node.
pub const SUPER: &[u8] = b"super:secret";
pub const SUPER_DIGEST: &str = "super:lK75jTNcA+U9vtVEw5vB51mj/w4=";
/// base64(sha1("u:p")).
pub const U_DIGEST: &str = "u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ=";

const APACHE_CP: &str = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:\
/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar";

/// The settings both implementations get (`-D` for Apache, SERVER_JVMFLAGS for zkserver):
/// TTL nodes, a fast container sweep, the super user.
pub fn jvm_flags() -> Vec<String> {
    vec![
        "-Dzookeeper.extendedTypesEnabled=true".into(),
        "-Dznode.container.checkIntervalMs=100".into(),
        format!("-Dzookeeper.DigestAuthenticationProvider.superDigest={SUPER_DIGEST}"),
    ]
}

/// Whether java runs; `false` skips loudly, and under `CI=true` panics.
pub fn java_or_skip(what: &str) -> bool {
    let ok = Command::new("java")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{what} needs `java` (Debian's zookeeper package), missing under CI=true");
        }
        eprintln!("SKIPPED: {what} needs `java` and Debian's zookeeper package");
    }
    ok
}

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Apache,
    ZkServer,
}

/// A server process on a zoo.cfg; killed (SIGKILL) when dropped.
pub struct Proc {
    child: Option<Child>,
    pub port: u16,
    pub log: PathBuf,
}

impl Proc {
    /// Starts `kind` on `cfg` (whose clientPort is `port`), output to `log`, and waits until it
    /// serves (`srvr` answers with a mode).
    pub fn start(kind: Kind, cfg: &Path, port: u16, log: &Path) -> Proc {
        Self::start_with(kind, cfg, port, log, &[])
    }

    /// `start` with more `-D` flags (later flags win, for zkserver too).
    pub fn start_with(kind: Kind, cfg: &Path, port: u16, log: &Path, flags: &[&str]) -> Proc {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("open log");
        let mut cmd = match kind {
            Kind::Apache => {
                let mut c = Command::new("java");
                c.arg("-Xmx256m")
                    .arg("-Dzookeeper.root.logger=INFO,CONSOLE")
                    .args(jvm_flags())
                    .args(flags)
                    .args(["-cp", APACHE_CP])
                    .arg("org.apache.zookeeper.server.quorum.QuorumPeerMain");
                c
            }
            Kind::ZkServer => {
                let mut c = Command::new(env!("CARGO_BIN_EXE_zkserver"));
                let mut all = jvm_flags();
                all.extend(flags.iter().map(|f| f.to_string()));
                c.env("SERVER_JVMFLAGS", all.join(" "));
                c
            }
        };
        cmd.arg(cfg)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup"))
            .stderr(out);
        let mut p = Proc {
            child: Some(cmd.spawn().expect("spawn server")),
            port,
            log: log.to_path_buf(),
        };
        p.wait_ready();
        p
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("server exited early ({status}); log:\n{}", self.log_text());
            }
            if let Ok(out) = try_4lw(self.port, "srvr") {
                if out.contains("Mode:") {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "server did not serve within 60 s; log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then SIGKILL after 15 s.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The last zxid, from `srvr`.
    pub fn zxid(&self) -> i64 {
        let out = self.four("srvr");
        out.lines()
            .find_map(|l| l.strip_prefix("Zxid: 0x"))
            .and_then(|h| i64::from_str_radix(h.trim(), 16).ok())
            .unwrap_or_else(|| panic!("no Zxid in srvr: {out}"))
    }

    /// The last zxid once it stops moving (a dropped client's closeSession is applied after
    /// the client is gone).
    pub fn settled_zxid(&self) -> i64 {
        let mut last = self.zxid();
        loop {
            std::thread::sleep(Duration::from_millis(300));
            let now = self.zxid();
            if now == last {
                return now;
            }
            last = now;
        }
    }

    pub fn four(&self, cmd: &str) -> String {
        try_4lw(self.port, cmd).expect("four-letter word")
    }

    pub async fn client(&self, auth_super: bool, detached: bool) -> Client {
        let mut c = Client::connector().with_session_timeout(Duration::from_secs(30));
        if auth_super {
            c = c.with_auth("digest", SUPER);
        }
        if detached {
            c = c.with_detached();
        }
        c.connect(&format!("127.0.0.1:{}", self.port))
            .await
            .expect("client connect")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

fn try_4lw(port: u16, cmd: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(cmd.as_bytes())?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Writes a zoo.cfg: the common lines plus `extra`.
pub fn write_cfg(path: &Path, data_dir: &Path, port: u16, extra: &[String]) {
    let mut lines = vec![
        "tickTime=2000".to_string(),
        "initLimit=10".into(),
        "syncLimit=5".into(),
        format!("dataDir={}", data_dir.display()),
        format!("clientPort={port}"),
        "admin.enableServer=false".into(),
        "4lw.commands.whitelist=*".into(),
    ];
    lines.extend(extra.iter().cloned());
    std::fs::write(path, lines.join("\n") + "\n").expect("write zoo.cfg");
}

fn acl_text(acl: &[Acl]) -> String {
    acl.iter()
        .map(|a| format!("{}:{}:{}", a.scheme(), a.id(), a.permission()))
        .collect::<Vec<_>>()
        .join(",")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Every znode as one line: path, data (hex), every stat field, ACL; sorted by path.
pub async fn walk(c: &Client) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec!["/".to_string()];
    while let Some(path) = todo.pop() {
        let (data, s) = c.get_data(&path).await.expect("getData in walk");
        let (acl, _) = c.get_acl(&path).await.expect("getACL in walk");
        out.push(format!(
            "{path}\tdata={}\tczxid={:#x} mzxid={:#x} pzxid={:#x} ctime={} mtime={} version={} cversion={} aversion={} ephemeralOwner={:#x} dataLength={} numChildren={}\tacl={}",
            hex(&data),
            s.czxid, s.mzxid, s.pzxid, s.ctime, s.mtime, s.version, s.cversion, s.aversion,
            s.ephemeral_owner, s.data_length, s.num_children,
            acl_text(&acl)
        ));
        for child in c.list_children(&path).await.expect("children in walk") {
            todo.push(if path == "/" {
                format!("/{child}")
            } else {
                format!("{path}/{child}")
            });
        }
    }
    out.sort();
    out
}

/// The `hash` lines as (zxid, digest).
pub fn hash_lines(text: &str) -> Vec<(i64, i64)> {
    text.lines()
        .filter_map(|l| {
            let (z, d) = l.split_once(": ")?;
            Some((
                i64::from_str_radix(z.trim(), 16).ok()?,
                d.trim().parse().ok()?,
            ))
        })
        .collect()
}

/// The ephemerals part of `dump`, as sorted "session path" lines.
pub fn dump_ephemerals(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut session = None;
    let mut in_section = false;
    for line in text.lines() {
        if line.starts_with("ephemeral nodes dump") {
            in_section = true;
            continue;
        }
        if !in_section || line.starts_with("Sessions with Ephemerals") {
            continue;
        }
        if let Some(s) = line.strip_suffix(':') {
            session = Some(s.trim().to_string());
        } else if let (Some(s), p) = (&session, line.trim()) {
            if p.starts_with('/') {
                out.push(format!("{s} {p}"));
            }
        }
    }
    out.sort();
    out
}

/// Selected `mntr` values.
pub fn mntr_values(text: &str, keys: &[&str]) -> Vec<String> {
    keys.iter()
        .map(|k| {
            text.lines()
                .find(|l| l.split_whitespace().next() == Some(k))
                .unwrap_or("<missing>")
                .to_string()
        })
        .collect()
}

pub fn open_acl() -> Acls<'static> {
    Acls::anyone_all()
}

/// Polls until `path` is gone (the container/TTL sweep).
pub async fn wait_gone(c: &Client, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while c.check_stat(path).await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "{path} was not swept");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// setData on `/load` until the last zxid is a multiple of 128, so `hash` lists it.
pub async fn pad_to_hash_interval(c: &Client) -> i64 {
    loop {
        let stat = c.set_data("/load", b"pad", None).await.unwrap();
        if stat.mzxid % 128 == 0 {
            return stat.mzxid;
        }
    }
}

/// Every kind of txn Apache logs; returns the last zxid. `observer` is a server line to add by
/// reconfig (ensemble only).
pub async fn write_history(p: &Proc, observer: Option<&str>) -> i64 {
    // Both sessions outlive the server (detached): their ephemerals stay in the data.
    let keeper = p.client(false, true).await;
    let admin = p.client(true, true).await;
    let persistent = CreateMode::Persistent.with_acls(open_acl());
    admin.create("/app", b"v0", &persistent).await.unwrap();
    for _ in 0..3 {
        let seq = CreateMode::PersistentSequential.with_acls(open_acl());
        admin.create("/app/seq-", b"", &seq).await.unwrap();
    }
    let eph = CreateMode::Ephemeral.with_acls(open_acl());
    keeper.create("/app/eph", b"e", &eph).await.unwrap();
    let eseq = CreateMode::EphemeralSequential.with_acls(open_acl());
    keeper.create("/app/eseq-", b"", &eseq).await.unwrap();
    let container = CreateMode::Container.with_acls(open_acl());
    admin.create("/cont", b"", &container).await.unwrap();
    admin.create("/cont/c", b"", &persistent).await.unwrap();
    admin.delete("/cont/c", None).await.unwrap();
    admin.create("/cont2", b"c", &container).await.unwrap();
    admin.create("/cont2/kid", b"k", &persistent).await.unwrap();
    let hour = Duration::from_secs(3600);
    let ttl = CreateMode::Persistent.with_acls(open_acl()).with_ttl(hour);
    admin.create("/ttl", b"t", &ttl).await.unwrap();
    let ttl_seq = CreateMode::PersistentSequential
        .with_acls(open_acl())
        .with_ttl(hour);
    admin.create("/ttl-seq-", b"", &ttl_seq).await.unwrap();
    let short = CreateMode::Persistent
        .with_acls(open_acl())
        .with_ttl(Duration::from_millis(1));
    admin.create("/ttl-short", b"", &short).await.unwrap();
    admin.set_data("/app", b"v1", Some(0)).await.unwrap();
    admin.set_data("/app", b"v2", None).await.unwrap();
    let mixed = [
        Acl::new(Permission::ALL, AuthId::new("digest", U_DIGEST)),
        Acl::new(Permission::READ, AuthId::anyone()),
    ];
    let acl_opts = CreateMode::Persistent.with_acls(Acls::new(&mixed));
    admin.create("/acl", b"a", &acl_opts).await.unwrap();
    let wider = [
        Acl::new(Permission::ALL, AuthId::new("digest", U_DIGEST)),
        Acl::new(Permission::READ | Permission::WRITE, AuthId::anyone()),
    ];
    admin.set_acl("/acl", &wider, Some(0)).await.unwrap();
    let mut w = admin.new_multi_writer();
    w.add_create("/multi", b"m", &persistent).unwrap();
    w.add_create("/multi/a", b"", &persistent).unwrap();
    w.add_set_data("/multi", b"m2", Some(0)).unwrap();
    w.add_check_version("/multi/a", 0).unwrap();
    w.add_delete("/multi/a", Some(0)).unwrap();
    w.commit().await.unwrap();
    // A multi that fails: logged as a multi of error txns.
    let mut w = admin.new_multi_writer();
    w.add_create("/never", b"", &persistent).unwrap();
    w.add_set_data("/missing", b"x", None).unwrap();
    assert!(w.commit().await.is_err());
    // Failed single writes are logged as error txns.
    let exists = admin.create("/app", b"", &persistent).await;
    assert!(matches!(exists, Err(Error::NodeExists)), "{exists:?}");
    let bad = admin.set_data("/app", b"x", Some(99)).await;
    assert!(matches!(bad, Err(Error::BadVersion)), "{bad:?}");
    let busy = admin.delete("/cont2", None).await;
    assert!(matches!(busy, Err(Error::NotEmpty)), "{busy:?}");
    // Plain `create` (opcode 1, not create2), an ephemeral, then closeSession deleting it.
    let (mut raw, _) = RawConn::session(p.port).await;
    let create =
        |path: &str, flags: i32| Enc::new().str(path).buf(b"r").open_acl().int(flags).bytes();
    assert_eq!(raw.call(op::CREATE, &create("/raw", 0)).await.err, 0);
    assert_eq!(raw.call(op::CREATE, &create("/raw-eph", 1)).await.err, 0);
    assert_eq!(raw.call(op::CLOSE_SESSION, &[]).await.err, 0);
    if let Some(server) = observer {
        let joining = [server];
        let update = EnsembleUpdate::Incremental {
            joinings: joining.iter().copied(),
            leavings: joining[..0].iter().copied(),
        };
        admin.update_ensemble(update, None).await.unwrap();
    }
    wait_gone(&admin, "/cont").await;
    wait_gone(&admin, "/ttl-short").await;
    // Enough txns for several snapshots (snapCount=100) and log segments.
    admin.create("/load", b"", &persistent).await.unwrap();
    for i in 0..260 {
        admin
            .set_data("/load", format!("{i}").as_bytes(), None)
            .await
            .unwrap();
    }
    pad_to_hash_interval(&admin).await
}
