//! Helpers for tests that hand one dataDir from one server implementation to the other: start
//! a real Apache ZooKeeper 3.8 (Debian's jar, standalone or a one-member ensemble) or zkserver on
//! a given zoo.cfg, and record what a client sees: a full tree walk (data, stat, ACL of every
//! znode, read as super), `hash`, the ephemeral part of `dump` and `mntr` counts.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zookeeper_client::{Acl, Client};

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

    /// `start` with more `-D` flags for Apache (zkserver ignores them).
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
                c.env("SERVER_JVMFLAGS", jvm_flags().join(" "));
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
