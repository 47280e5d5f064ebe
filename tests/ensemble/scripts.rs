//! The operator's tools around an ensemble:
//! - `scripts/ensemble.sh start|status|stop 3` runs a local ensemble and reports one leader
//!   and two followers;
//! - `scripts/zkServer.sh status <member cfg>` prints exactly what Debian's (Apache's)
//!   `zkServer.sh status` prints for the same member — leader, follower and observer, on
//!   zkserver members, and on Apache members with `ZK_IMPL=apache`;
//! - the shipped sample `conf/ensemble/zoo{1,2,3}.cfg` + `myid{1,2,3}` form an ensemble.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::ensemble::{free_ports_in_a_row, Ensemble, EnsembleOpts};
use crate::util::{assert_same_everywhere, connect, persistent};

const DEBIAN_ZKSERVER_SH: &str = "/usr/share/zookeeper/bin/zkServer.sh";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(cmd: &mut Command) -> Out {
    let o = cmd.output().expect("run script");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// `zkServer.sh status <cfg>` with our script or Debian's.
fn status(script: &Path, cfg: &Path, log_dir: &Path) -> Out {
    run(Command::new("bash")
        .arg(script)
        .arg("status")
        .arg(cfg)
        .env("ZOO_LOG_DIR", log_dir)
        .env_remove("ZOOCFGDIR")
        .env_remove("ZOOCFG"))
}

/// Debian's script present, or (outside CI) a loud skip.
fn have_debian_script() -> bool {
    if Path::new(DEBIAN_ZKSERVER_SH).exists() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{DEBIAN_ZKSERVER_SH} is required when CI=true (apt-get install zookeeper)");
    }
    eprintln!("SKIPPED: {DEBIAN_ZKSERVER_SH} missing; not comparing with Apache's script");
    false
}

#[test]
fn ensemble_sh_starts_reports_and_stops_a_local_ensemble() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("ens");
    let (client, quorum, election) = (
        free_ports_in_a_row(3),
        free_ports_in_a_row(3),
        free_ports_in_a_row(3),
    );
    let script = |args: &[&str]| {
        run(Command::new("bash")
            .arg(repo().join("scripts/ensemble.sh"))
            .args(args)
            .env("ENSEMBLE_DIR", &state)
            .env("CLIENT_PORT_BASE", client.to_string())
            .env("QUORUM_PORT_BASE", quorum.to_string())
            .env("ELECTION_PORT_BASE", election.to_string())
            .env("TICK_TIME", "300")
            .env("ZKSERVER_BIN", env!("CARGO_BIN_EXE_zkserver"))
            .env("NO_COLOR", "1"))
    };
    struct StopOnDrop<F: Fn()>(F);
    impl<F: Fn()> Drop for StopOnDrop<F> {
        fn drop(&mut self) {
            (self.0)();
        }
    }
    let _stop = StopOnDrop(|| {
        script(&["stop"]);
    });

    let r = script(&["start", "3"]);
    assert_eq!(r.code, 0, "start:\n{}{}", r.stdout, r.stderr);
    let started = r.stdout.matches("Starting zookeeper ... STARTED").count();
    assert_eq!(started, 3, "{}", r.stdout);
    let modes = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.split("Mode: ").nth(1).map(str::to_string))
            .collect()
    };
    let r = script(&["status"]);
    assert_eq!(r.code, 0, "status:\n{}{}", r.stdout, r.stderr);
    let mut got = modes(&r.stdout);
    got.sort();
    assert_eq!(got, vec!["follower", "follower", "leader"], "{}", r.stdout);
    for (i, line) in r.stdout.lines().enumerate() {
        let port = client + i as u16;
        assert!(
            line.starts_with(&format!("server.{}  127.0.0.1:{port}  Mode: ", i + 1)),
            "{line}"
        );
    }

    // Each member's status through zkServer.sh, ours and (when installed) Debian's.
    let debian = have_debian_script();
    for i in 1..=3u16 {
        let cfg = state.join(format!("{i}/zoo.cfg"));
        let ours = status(&repo().join("scripts/zkServer.sh"), &cfg, dir.path());
        let port = client + i - 1;
        assert_eq!(ours.code, 0, "{}{}", ours.stdout, ours.stderr);
        assert!(
            ours.stdout.starts_with(&format!(
                "Client port found: {port}. Client address: 127.0.0.1. Client SSL: false.\nMode: "
            )),
            "{}",
            ours.stdout
        );
        if debian {
            let theirs = status(Path::new(DEBIAN_ZKSERVER_SH), &cfg, dir.path());
            assert_eq!(
                (ours.code, ours.stdout.as_str()),
                (theirs.code, theirs.stdout.as_str())
            );
        }
    }

    let r = script(&["stop"]);
    assert_eq!(r.code, 0, "stop:\n{}{}", r.stdout, r.stderr);
    assert_eq!(
        r.stdout.matches("Stopping zookeeper ... STOPPED").count(),
        3
    );
    let r = script(&["status"]);
    assert_eq!(r.code, 1);
    assert_eq!(
        r.stdout
            .matches("Error contacting service. It is probably not running.")
            .count(),
        3,
        "{}",
        r.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zkserver_sh_status_prints_each_members_mode_as_apaches_script_does() {
    let Some(ens) = Ensemble::start_ready(EnsembleOpts::new(3, 1)).await else {
        return;
    };
    let debian = have_debian_script();
    let logs = ens.root().join("script-logs");
    let mut seen = Vec::new();
    for id in ens.ids() {
        let m = ens.member(id);
        let want = ens.mode(id).expect("serving");
        let ours = status(&repo().join("scripts/zkServer.sh"), &m.cfg_path(), &logs);
        assert_eq!(
            (ours.code, ours.stdout.clone()),
            (
                0,
                format!(
                    "Client port found: {}. Client address: 127.0.0.1. Client SSL: false.\n\
                     Mode: {want}\n",
                    m.client_port
                )
            ),
            "{}",
            ours.stderr
        );
        if debian {
            let theirs = status(Path::new(DEBIAN_ZKSERVER_SH), &m.cfg_path(), &logs);
            assert_eq!(ours.stdout, theirs.stdout, "member {id}: {}", theirs.stderr);
            assert_eq!(ours.code, theirs.code);
        }
        seen.push(want);
    }
    seen.sort();
    assert_eq!(seen, vec!["follower", "follower", "leader", "observer"]);
}

/// `conf/ensemble/<name>` with the sample's fixed ports and dataDir replaced by `ens`'s.
fn sample_for(ens: &Ensemble, id: u64) -> String {
    let path: PathBuf = repo().join(format!("conf/ensemble/zoo{id}.cfg"));
    let mut text = std::fs::read_to_string(&path).expect("read sample");
    let m = ens.member(id);
    text = text.replace(
        &format!("clientPort={}", 2180 + id),
        &format!("clientPort={}", m.client_port),
    );
    text = text.replace(
        &format!("dataDir=./data/ensemble/{id}"),
        &format!("dataDir={}", m.data_dir().display()),
    );
    for peer in &ens.members {
        let k = peer.id as u16 - 1;
        text = text.replace(
            &format!("127.0.0.1:{}:{}", 2888 + k, 3888 + k),
            &format!("127.0.0.1:{}:{}", peer.quorum_port, peer.election_port),
        );
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipped_sample_configs_form_an_ensemble() {
    let Some(mut ens) = Ensemble::prepare(EnsembleOpts::new(3, 0)) else {
        return;
    };
    for id in ens.ids() {
        let text = sample_for(&ens, id);
        assert!(
            !text.contains(":2888:") && !text.contains("clientPort=218"),
            "every fixed port replaced:\n{text}"
        );
        ens.write_cfg(id, &text);
        let myid = std::fs::read(repo().join(format!("conf/ensemble/myid{id}"))).unwrap();
        std::fs::write(ens.member(id).data_dir().join("myid"), myid).unwrap();
    }
    for id in ens.ids() {
        ens.start_member(id);
    }
    ens.wait_ready(Duration::from_secs(60)).await;
    let c = connect(&ens.addr(2)).await;
    c.create("/sample", b"ok", &persistent()).await.unwrap();
    assert_same_everywhere(&ens, &ens.ids(), "/sample").await;
}

/// Members whose client port is only in their `server.N=...;host:port` line (no
/// `clientPort`): `zkServer.sh status` finds it through `myid`, as Apache's script does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zkserver_sh_status_finds_the_client_port_in_the_server_line() {
    let Some(mut ens) = Ensemble::prepare(EnsembleOpts::new(3, 0)) else {
        return;
    };
    for id in ens.ids() {
        let text = std::fs::read_to_string(ens.member(id).cfg_path()).unwrap();
        let mut out = String::new();
        for line in text.lines() {
            if line.starts_with("clientPort") {
                continue;
            }
            out.push_str(line);
            if let Some(rest) = line.strip_prefix("server.") {
                let n: u64 = rest.split('=').next().unwrap().parse().unwrap();
                out.push_str(&format!(";127.0.0.1:{}", ens.member(n).client_port));
            }
            out.push('\n');
        }
        ens.write_cfg(id, &out);
    }
    for id in ens.ids() {
        ens.start_member(id);
    }
    ens.wait_ready(Duration::from_secs(60)).await;
    let debian = have_debian_script();
    let logs = ens.root().join("script-logs");
    for id in ens.ids() {
        let m = ens.member(id);
        let want = ens.mode(id).expect("serving");
        let ours = status(&repo().join("scripts/zkServer.sh"), &m.cfg_path(), &logs);
        assert_eq!(
            ours.stdout,
            format!(
                "Client port found: {}. Client address: 127.0.0.1. Client SSL: false.\n\
                 Mode: {want}\n",
                m.client_port
            ),
            "{}",
            ours.stderr
        );
        if debian {
            let theirs = status(Path::new(DEBIAN_ZKSERVER_SH), &m.cfg_path(), &logs);
            assert_eq!(ours.stdout, theirs.stdout, "member {id}: {}", theirs.stderr);
        }
    }
}
