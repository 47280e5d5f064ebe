//! The text of each four-letter word, line for line as Apache ZooKeeper prints it.

use std::fmt::Write as _;
use std::path::Path;

use super::{zk_version, Snapshot};

/// Java prints doubles with at least one decimal ("0.0"); Rust would print "0".
fn java_double(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir.join("version-2")) else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

pub fn render(cmd: &str, s: &Snapshot) -> String {
    match cmd {
        "ruok" => "imok".into(),
        "isro" => "rw".into(),
        "srvr" => srvr(s, false),
        "stat" => srvr(s, true),
        "mntr" => mntr(s),
        "conf" => s.config.conf_text(
            dir_size(&s.config.data_dir),
            dir_size(&s.config.data_log_dir),
        ),
        "cons" => {
            let mut out = String::new();
            for c in &s.conns {
                cons_line(&mut out, c, true);
            }
            out.push('\n');
            out
        }
        "envi" => envi(s),
        "dirs" => format!(
            "datadir_size: {}\nlogdir_size: {}\n",
            dir_size(&s.config.data_dir),
            dir_size(&s.config.data_log_dir)
        ),
        "wchs" => format!(
            "{} connections watching {} paths\nTotal watches:{}\n",
            s.watch_sessions, s.watch_paths, s.watch_count
        ),
        "wchc" => {
            let mut out = String::new();
            for (session, paths) in &s.watches_by_session {
                let _ = writeln!(out, "0x{session:x}");
                for p in paths {
                    let _ = writeln!(out, "\t{p}");
                }
            }
            out
        }
        "wchp" => {
            let mut out = String::new();
            for (path, sessions) in &s.watches_by_path {
                let _ = writeln!(out, "{path}");
                for id in sessions {
                    let _ = writeln!(out, "\t0x{id:x}");
                }
            }
            out
        }
        "dump" => dump(s),
        "gtmk" => "0\n".into(),
        "hash" => "Digest disabled\n".into(),
        other => format!("{other} is not a supported command\n"),
    }
}

fn srvr(s: &Snapshot, with_clients: bool) -> String {
    if !s.serving {
        return "This ZooKeeper instance is not currently serving requests\n".into();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Zookeeper version: {}, built on {} UTC",
        zk_version(),
        env!("ZKSERVER_BUILD_DATE")
    );
    if with_clients {
        out.push_str("Clients:\n");
        for c in &s.conns {
            cons_line(&mut out, c, false);
        }
        out.push('\n');
    }
    let l = &s.stats.latency;
    let _ = writeln!(
        out,
        "Latency min/avg/max: {}/{}/{}",
        l.min_ms,
        java_double(l.avg()),
        l.max_ms
    );
    let _ = writeln!(out, "Received: {}", s.stats.packets_received);
    let _ = writeln!(out, "Sent: {}", s.stats.packets_sent);
    let _ = writeln!(out, "Connections: {}", s.connection_count);
    let _ = writeln!(out, "Outstanding: {}", s.outstanding);
    let _ = writeln!(out, "Zxid: 0x{:x}", s.zxid);
    let _ = writeln!(out, "Mode: {}", s.mode);
    let _ = writeln!(out, "Node count: {}", s.node_count);
    out
}

fn cons_line(out: &mut String, c: &super::ConnInfo, full: bool) {
    let st = &c.stats;
    let _ = write!(
        out,
        " /{}:{}[{}](queued={},recved={},sent={}",
        c.addr,
        c.port,
        u8::from(c.session.is_some()),
        c.queued,
        st.packets_received,
        st.packets_sent
    );
    if full {
        if let Some(id) = c.session {
            let _ = write!(
                out,
                ",sid=0x{id:x},lop={},est={},to={},lcxid=0x{:x},lzxid=0x{:x},lresp={},llat={},minlat={},avglat={},maxlat={}",
                st.last_op,
                st.established_ms,
                c.timeout_ms,
                st.last_cxid,
                st.last_zxid,
                st.last_response_ms,
                st.last_latency_ms,
                st.latency.min_ms,
                st.latency.avg() as u64,
                st.latency.max_ms
            );
        }
    }
    out.push_str(")\n");
}

fn mntr(s: &Snapshot) -> String {
    let l = &s.stats.latency;
    let (fsyncs, logged) = s.log_counters;
    let fds = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0);
    let lines: Vec<(&str, String)> = vec![
        (
            "zk_version",
            format!(
                "{}, built on {} UTC",
                zk_version(),
                env!("ZKSERVER_BUILD_DATE")
            ),
        ),
        ("zk_server_state", s.mode.into()),
        ("zk_avg_latency", java_double(l.avg())),
        ("zk_max_latency", l.max_ms.to_string()),
        ("zk_min_latency", l.min_ms.to_string()),
        ("zk_packets_received", s.stats.packets_received.to_string()),
        ("zk_packets_sent", s.stats.packets_sent.to_string()),
        ("zk_num_alive_connections", s.connection_count.to_string()),
        ("zk_outstanding_requests", s.outstanding.to_string()),
        ("zk_uptime", s.uptime_ms.to_string()),
        ("zk_znode_count", s.node_count.to_string()),
        ("zk_watch_count", s.watch_count.to_string()),
        ("zk_ephemerals_count", s.ephemeral_count.to_string()),
        ("zk_approximate_data_size", s.data_size.to_string()),
        ("zk_open_file_descriptor_count", fds.to_string()),
        ("zk_max_file_descriptor_count", max_fds().to_string()),
        (
            "zk_last_client_response_size",
            s.stats.last_response_size.to_string(),
        ),
        (
            "zk_max_client_response_size",
            s.stats.max_response_size.to_string(),
        ),
        (
            "zk_min_client_response_size",
            s.stats.min_response_size.to_string(),
        ),
        ("zk_auth_failed_count", s.stats.auth_failed.to_string()),
        ("zk_global_sessions", s.global_sessions.to_string()),
        ("zk_local_sessions", "0".into()),
        ("zk_connection_drop_probability", "0.0".into()),
        ("zk_outstanding_tls_handshake", "0".into()),
        ("zk_fsync_count", fsyncs.to_string()),
        ("zk_txn_logged_count", logged.to_string()),
    ];
    let mut out = String::new();
    for (k, v) in lines {
        let _ = writeln!(out, "{k}\t{v}");
    }
    out
}

fn max_fds() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn envi(s: &Snapshot) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let cwd = std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let os_version = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut out = String::from("Environment:\n");
    let mut put = |k: &str, v: &str| {
        let _ = writeln!(out, "{k}={v}");
    };
    put(
        "zookeeper.version",
        &format!(
            "{}, built on {} UTC",
            zk_version(),
            env!("ZKSERVER_BUILD_DATE")
        ),
    );
    put("host.name", host.trim());
    put("server.implementation", "zkserver (Rust)");
    put("os.name", std::env::consts::OS);
    put("os.arch", std::env::consts::ARCH);
    put("os.version", os_version.trim());
    put("user.name", &std::env::var("USER").unwrap_or_default());
    put("user.home", &std::env::var("HOME").unwrap_or_default());
    put("user.dir", &cwd);
    for (k, v) in &s.config.properties {
        put(k, v);
    }
    out
}

fn dump(s: &Snapshot) -> String {
    let mut out = String::from("SessionTracker dump:\n");
    let total: usize = s.expiry_buckets.iter().map(|(_, ids)| ids.len()).sum();
    let _ = writeln!(
        out,
        "Session Sets ({})/({}):",
        s.expiry_buckets.len(),
        total
    );
    for (at, ids) in &s.expiry_buckets {
        let _ = writeln!(out, "{} expire at {}:", ids.len(), at);
        for id in ids {
            let _ = writeln!(out, "\t0x{id:x}");
        }
    }
    let with: Vec<_> = s.ephemerals.iter().filter(|(_, p)| !p.is_empty()).collect();
    let _ = writeln!(
        out,
        "ephemeral nodes dump:\nSessions with Ephemerals ({}):",
        with.len()
    );
    for (id, paths) in with {
        let _ = writeln!(out, "0x{id:x}:");
        for p in paths {
            let _ = writeln!(out, "\t{p}");
        }
    }
    out.push_str("Connections dump:\n");
    let _ = writeln!(out, "Connections Sets (0)/({})", s.connection_count);
    out
}
