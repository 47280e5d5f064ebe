//! The one place that starts ZooKeeper ensembles for the integration tests: N voters and M
//! observers on 127.0.0.1 with free ports, each with its own zoo.cfg, dataDir (holding `myid`)
//! and log file under one temporary directory. Members are `zkserver` processes, or Apache
//! ZooKeeper 3.8 JVMs with `ZK_IMPL=apache`, so every ensemble test can be checked against the
//! reference implementation.
//!
//! Members can be killed (SIGKILL), stopped (SIGTERM), paused (SIGSTOP) and resumed (SIGCONT),
//! restarted on the same dataDir, or wiped (everything but `myid` removed). The harness finds
//! the leader through `srvr` and waits until members serve. Waits are async (tokio sleeps), so
//! client sessions of the test keep running while the harness polls.
//!
//! Defaults: tickTime 300 ms, initLimit 10, syncLimit 5 (a member lost for 1.5 s is dropped),
//! maxSessionTimeout 30 s (sessions outlive an election), `4lw.commands.whitelist=*`.
//! `ZK_KEEP_DIRS=1` keeps the directory of a failing test and prints where it is.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{impl_kind, java_available, Impl};

mod member;
mod observe;
mod opts;
mod ports;

// Every test binary includes this module; each uses some of these.
#[allow(unused_imports)]
pub use member::Member;
#[allow(unused_imports)]
pub use observe::{four_letter_timeout, mode_of, strip_ansi};
#[allow(unused_imports)]
pub use opts::EnsembleOpts;
#[allow(unused_imports)]
pub use ports::{free_port, free_ports_in_a_row};

/// Classpath of an Apache member: Debian's jar plus slf4j-simple, without which Apache 3.8
/// from Debian logs nothing (tests grep the sync-mode lines of the log), and the servlet API
/// its AdminServer (Jetty) needs, which the jar's manifest omits.
const APACHE_CP: &str = "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar:/usr/share/java/servlet-api.jar";
pub const APACHE_JAR: &str = "/usr/share/java/zookeeper.jar";

/// A running ensemble; dropping it SIGKILLs every member and removes the directory.
pub struct Ensemble {
    dir: Option<tempfile::TempDir>,
    pub members: Vec<Member>,
    opts: EnsembleOpts,
    imp: Impl,
}

impl Ensemble {
    /// Writes the configs and starts every member (without waiting; see `wait_ready`).
    /// `None` (after saying why) when Apache is asked for but java is missing outside CI.
    pub fn start(opts: EnsembleOpts) -> Option<Ensemble> {
        let mut ens = Ensemble::prepare(opts)?;
        for id in ens.ids() {
            ens.start_member(id);
        }
        Some(ens)
    }

    /// Allocates ports and writes every member's zoo.cfg and myid, starting nothing.
    pub fn prepare(opts: EnsembleOpts) -> Option<Ensemble> {
        let imp = opts.imp.unwrap_or_else(impl_kind);
        let total = opts.voters + opts.observers;
        let impls = opts.mix.clone().unwrap_or_else(|| vec![imp; total]);
        if impls.contains(&Impl::Apache) && !java_available() {
            eprintln!("SKIPPED: an Apache ZooKeeper member needs `java`, which is not installed");
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("zk-ensemble-")
            .tempdir()
            .expect("tempdir");
        let members = (1..=total as u64)
            .zip(impls)
            .map(|(id, imp)| Member {
                id,
                imp,
                observer: id as usize > opts.voters,
                client_port: free_port(),
                quorum_port: free_port(),
                election_port: free_port(),
                dir: dir.path().join(format!("m{id}")),
                child: None,
                paused: false,
            })
            .collect();
        let ens = Ensemble {
            dir: Some(dir),
            members,
            opts,
            imp,
        };
        for i in 0..ens.members.len() {
            ens.write_member_files(i);
        }
        if let Some(base) = ens.opts.uid_base {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(ens.root(), std::fs::Permissions::from_mode(0o755))
                .expect("chmod ensemble dir");
            for m in &ens.members {
                chown_tree(&m.dir, base + m.id as u32);
            }
        }
        Some(ens)
    }

    /// Starts an ensemble and waits until every member serves with one leader.
    pub async fn start_ready(opts: EnsembleOpts) -> Option<Ensemble> {
        let Some(leader) = opts.first_leader else {
            let mut ens = Ensemble::start(opts)?;
            ens.wait_ready(Duration::from_secs(60)).await;
            return Some(ens);
        };
        let mut ens = Ensemble::prepare(opts)?;
        let quorum = ens.opts.voters / 2 + 1;
        let mut first: Vec<u64> = ens
            .voter_ids()
            .into_iter()
            .filter(|&id| id < leader)
            .collect();
        first.truncate(quorum - 1);
        first.push(leader);
        assert_eq!(
            first.len(),
            quorum,
            "voter {leader} cannot lead a first quorum"
        );
        for &id in &first {
            ens.start_member(id);
        }
        ens.wait_serving(&first, Duration::from_secs(60)).await;
        for id in ens.ids() {
            if !first.contains(&id) {
                ens.start_member(id);
            }
        }
        if ens.wait_ready(Duration::from_secs(60)).await != leader {
            ens.fail(&format!("member {leader} should lead: {:?}", ens.modes()));
        }
        Some(ens)
    }

    pub fn imp(&self) -> Impl {
        self.imp
    }

    /// Whether every member is Apache ZooKeeper.
    pub fn is_apache(&self) -> bool {
        self.members.iter().all(|m| m.imp == Impl::Apache)
    }

    /// Switches stopped member `id` to `imp` for its next start (same dataDir and zoo.cfg).
    pub fn set_impl(&mut self, id: u64, imp: Impl) {
        let m = self.member_mut(id);
        assert!(
            !m.is_running(),
            "member {id} must be stopped to change its implementation"
        );
        m.imp = imp;
    }

    pub fn root(&self) -> &Path {
        self.dir.as_ref().expect("ensemble dir").path()
    }

    pub fn ids(&self) -> Vec<u64> {
        self.members.iter().map(|m| m.id).collect()
    }

    pub fn voter_ids(&self) -> Vec<u64> {
        self.members
            .iter()
            .filter(|m| !m.observer)
            .map(|m| m.id)
            .collect()
    }

    /// Ids of the members whose process is running (paused ones included).
    pub fn running_ids(&self) -> Vec<u64> {
        self.members
            .iter()
            .filter(|m| m.is_running())
            .map(|m| m.id)
            .collect()
    }

    pub fn member(&self, id: u64) -> &Member {
        self.members
            .iter()
            .find(|m| m.id == id)
            .unwrap_or_else(|| panic!("no member {id}"))
    }

    fn member_mut(&mut self, id: u64) -> &mut Member {
        self.members
            .iter_mut()
            .find(|m| m.id == id)
            .unwrap_or_else(|| panic!("no member {id}"))
    }

    pub fn addr(&self, id: u64) -> String {
        self.member(id).addr()
    }

    /// `host:port,host:port,...` of every member, for a client that may use any of them.
    pub fn connect_string(&self) -> String {
        self.members
            .iter()
            .map(Member::addr)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The `server.N=` lines every member's zoo.cfg carries.
    pub fn server_lines(&self) -> Vec<String> {
        self.members
            .iter()
            .map(|m| {
                format!(
                    "server.{}=127.0.0.1:{}:{}{}",
                    m.id,
                    m.quorum_port,
                    m.election_port,
                    if m.observer { ":observer" } else { "" }
                )
            })
            .collect()
    }

    /// The zoo.cfg text of member `i` (index into `members`).
    fn cfg_text(&self, i: usize) -> String {
        let m = &self.members[i];
        let mut lines: Vec<String> = vec![
            format!("tickTime={}", self.opts.tick_ms),
            format!("initLimit={}", self.opts.init_limit),
            format!("syncLimit={}", self.opts.sync_limit),
            format!("dataDir={}", m.data_dir().display()),
            format!("clientPort={}", m.client_port),
            "clientPortAddress=127.0.0.1".into(),
            "maxSessionTimeout=30000".into(),
            "admin.enableServer=false".into(),
            "4lw.commands.whitelist=*".into(),
        ];
        if m.observer {
            lines.push("peerType=observer".into());
        }
        for extra in &self.opts.cfg {
            let key = cfg_key(extra);
            lines.retain(|l| cfg_key(l) != key);
            lines.push(extra.clone());
        }
        lines.extend(self.server_lines());
        lines.join("\n") + "\n"
    }

    fn write_member_files(&self, i: usize) {
        let m = &self.members[i];
        std::fs::create_dir_all(m.data_dir()).expect("create dataDir");
        std::fs::write(m.cfg_path(), self.cfg_text(i)).expect("write zoo.cfg");
        std::fs::write(m.data_dir().join("myid"), format!("{}\n", m.id)).expect("write myid");
    }

    /// Replaces member `id`'s zoo.cfg (for tests of bad configurations).
    pub fn write_cfg(&self, id: u64, text: &str) {
        std::fs::write(self.member(id).cfg_path(), text).expect("write zoo.cfg");
    }

    /// The command that runs member `id` (zkserver binary or Apache's QuorumPeerMain).
    pub fn command(&self, id: u64) -> Command {
        let m = self.member(id);
        let mut cmd = match m.imp {
            Impl::ZkServer => {
                let mut c = Command::new(env!("CARGO_BIN_EXE_zkserver"));
                c.env("NO_COLOR", "1");
                c
            }
            Impl::Apache => {
                let mut c = Command::new("java");
                c.args([
                    "-Xmx256m",
                    "-XX:+UseSerialGC",
                    "-XX:TieredStopAtLevel=1",
                    "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
                    "-Dorg.slf4j.simpleLogger.showDateTime=true",
                ]);
                for (k, v) in &self.opts.env {
                    if k == "SERVER_JVMFLAGS" {
                        c.args(v.split_whitespace());
                    }
                }
                c.args([
                    "-cp",
                    APACHE_CP,
                    "org.apache.zookeeper.server.quorum.QuorumPeerMain",
                ]);
                c
            }
        };
        if let Some(base) = self.opts.uid_base {
            use std::os::unix::process::CommandExt;
            cmd.uid(base + m.id as u32).gid(base + m.id as u32);
        }
        cmd.arg(m.cfg_path())
            .current_dir(&m.dir)
            .envs(self.opts.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        cmd
    }

    /// Starts member `id`'s process (its files must exist); does not wait for it to serve.
    pub fn start_member(&mut self, id: u64) {
        assert!(
            !self.member(id).is_running(),
            "member {id} is already running"
        );
        let mut cmd = self.command(id);
        let m = self.member_mut(id);
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(m.log_path())
            .expect("open server.log");
        let _ = writeln!(log, "=== harness: starting member {id} ===");
        cmd.stdout(log.try_clone().expect("dup log")).stderr(log);
        m.child = Some(cmd.spawn().expect("spawn member"));
        m.paused = false;
    }

    fn signal(&self, id: u64, sig: i32) {
        if let Some(pid) = self.member(id).pid() {
            // SAFETY: kill(2) on a pid this harness spawned and has not reaped yet.
            unsafe {
                libc::kill(pid as libc::pid_t, sig);
            }
        }
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self, id: u64) {
        let m = self.member_mut(id);
        if let Some(mut child) = m.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        m.paused = false;
    }

    /// SIGTERM, wait up to 15 s (then SIGKILL); returns the exit status if it exited itself.
    pub fn stop(&mut self, id: u64) -> Option<std::process::ExitStatus> {
        if self.member(id).paused {
            self.resume(id);
        }
        self.signal(id, libc::SIGTERM);
        let m = self.member_mut(id);
        let mut child = m.child.take()?;
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    /// SIGSTOP: the process keeps its sockets but answers nothing. Returns once every
    /// thread is stopped (kill(2) only queues the signal; on a busy machine a thread can run
    /// on for a while), so nothing sent afterwards is processed before `resume`.
    pub fn pause(&mut self, id: u64) {
        self.signal(id, libc::SIGSTOP);
        self.member_mut(id).paused = true;
        let Some(pid) = self.member(id).pid() else {
            return;
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while !all_threads_stopped(pid) {
            if Instant::now() > deadline {
                self.fail(&format!(
                    "member {id} (pid {pid}) did not stop after SIGSTOP"
                ));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// SIGCONT after `pause`.
    pub fn resume(&mut self, id: u64) {
        self.signal(id, libc::SIGCONT);
        self.member_mut(id).paused = false;
    }

    /// SIGTERM then start again on the same dataDir and ports.
    pub fn restart(&mut self, id: u64) {
        self.stop(id);
        self.start_member(id);
    }

    /// Removes everything in a stopped member's dataDir except `myid`.
    pub fn wipe(&mut self, id: u64) {
        let m = self.member(id);
        assert!(!m.is_running(), "wipe member {id} only while it is down");
        let data = m.data_dir();
        for entry in std::fs::read_dir(&data).expect("read dataDir").flatten() {
            if entry.file_name() == "myid" {
                continue;
            }
            let p = entry.path();
            let r = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            r.unwrap_or_else(|e| panic!("remove {}: {e}", p.display()));
        }
    }

    /// Whether member `id`'s process has exited (it is then reaped and marked down).
    pub fn exited(&mut self, id: u64) -> Option<std::process::ExitStatus> {
        let m = self.member_mut(id);
        let status = m.child.as_mut()?.try_wait().ok()??;
        m.child = None;
        Some(status)
    }
}

/// Whether every thread of `pid` is in state `T` (stopped) or `t` (traced), per
/// /proc/<pid>/task/<tid>/stat (the state follows the parenthesised command name).
fn all_threads_stopped(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().all(|t| {
        std::fs::read_to_string(t.path().join("stat")).is_ok_and(|stat| {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next())
                .is_some_and(|state| state == 'T' || state == 't')
        })
    })
}

/// Gives `dir` and everything below it to uid and gid `id`.
fn chown_tree(dir: &Path, id: u32) {
    std::os::unix::fs::chown(dir, Some(id), Some(id))
        .unwrap_or_else(|e| panic!("chown {}: {e}", dir.display()));
    if dir.is_dir() {
        for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
            chown_tree(&entry.path(), id);
        }
    }
}

fn cfg_key(line: &str) -> String {
    line.split('=').next().unwrap_or("").trim().to_string()
}

impl Drop for Ensemble {
    fn drop(&mut self) {
        for id in self.ids() {
            if self.member(id).paused {
                self.resume(id);
            }
            self.kill(id);
        }
        if std::thread::panicking() && std::env::var_os("ZK_KEEP_DIRS").is_some() {
            if let Some(dir) = self.dir.take() {
                eprintln!("ZK_KEEP_DIRS: ensemble kept in {}", dir.keep().display());
            }
        }
    }
}
