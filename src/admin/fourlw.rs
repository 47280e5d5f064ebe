//! The four-letter words: the text of each, line for line as Apache ZooKeeper prints it,
//! rendered from a status snapshot.
//!
//! Owns: the text formats and which snapshot detail each word needs. Must not read server
//! state except through the snapshot.

use std::fmt::Write as _;

use super::monitor;
use crate::status::{full_version, Detail, Snapshot, StatusHandle};

const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests\n";

/// What each word needs copied into its snapshot.
fn detail_for(cmd: &str) -> Detail {
    Detail {
        connections: matches!(cmd, "cons" | "stat"),
        watches_by_session: cmd == "wchc",
        watches_by_path: cmd == "wchp",
        sessions: cmd == "dump",
        host: matches!(cmd, "conf" | "dirs" | "envi" | "mntr"),
        digests: cmd == "hash",
    }
}

/// Runs a (whitelisted) four-letter word against the server; `None` if the server is gone.
pub async fn run(cmd: &str, status: &StatusHandle) -> Option<String> {
    match cmd {
        "crst" => status
            .reset_conn_stats()
            .await
            .then(|| "Connection stats reset.\n".to_string()),
        "srst" => status
            .reset_server_stats()
            .await
            .then(|| "Server stats reset.\n".to_string()),
        _ => Some(render(cmd, &status.snapshot(detail_for(cmd)).await?)),
    }
}

pub fn render(cmd: &str, s: &Snapshot) -> String {
    match cmd {
        "ruok" => "imok".into(),
        "isro" => if s.read_only() { "ro" } else { "rw" }.into(),
        "srvr" => srvr(s, false),
        "stat" => srvr(s, true),
        "mntr" => mntr(s),
        "conf" => s
            .config
            .conf_text(s.host.data_dir_size, s.host.log_dir_size),
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
            s.host.data_dir_size, s.host.log_dir_size
        ),
        "wchs" => format!(
            "{} connections watching {} paths\nTotal watches:{}\n",
            s.watch_sessions, s.watch_paths, s.data_watch_count
        ),
        "wchc" => {
            let mut out = String::new();
            for (session, paths) in &s.watches_by_session {
                let _ = writeln!(out, "0x{session:x}");
                for p in paths {
                    let _ = writeln!(out, "\t{p}");
                }
            }
            // ZooKeeper's WatchCommand ends with a `println()` of its own.
            out.push('\n');
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
            out.push('\n');
            out
        }
        "dump" => dump(s),
        "gtmk" => "0\n".into(),
        "hash" if !s.digest_enabled => "Digest disabled\n".into(),
        "hash" if !s.serving => NOT_SERVING.into(),
        "hash" => crate::tree::digest::format_hash_lines(s.digests.iter().copied()),
        other => format!("{other} is not a supported command\n"),
    }
}

fn srvr(s: &Snapshot, with_clients: bool) -> String {
    if !s.serving {
        return NOT_SERVING.into();
    }
    let mut out = String::new();
    let _ = writeln!(out, "Zookeeper version: {}", full_version());
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
        monitor::java_double(l.avg()),
        l.max_ms
    );
    let _ = writeln!(out, "Received: {}", s.stats.packets_received);
    let _ = writeln!(out, "Sent: {}", s.stats.packets_sent);
    let _ = writeln!(out, "Connections: {}", s.connection_count);
    let _ = writeln!(out, "Outstanding: {}", s.outstanding);
    let _ = writeln!(out, "Zxid: 0x{:x}", s.zxid);
    let _ = writeln!(out, "Mode: {}", s.server_state());
    let _ = writeln!(out, "Node count: {}", s.node_count);
    if let Some(l) = s.quorum.as_ref().and_then(|q| q.leader.as_ref()) {
        let p = &l.proposal_sizes;
        let _ = writeln!(
            out,
            "Proposal sizes last/min/max: {}/{}/{}",
            p.last, p.min, p.max
        );
    }
    out
}

fn cons_line(out: &mut String, c: &crate::status::ConnInfo, full: bool) {
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
    if !s.serving {
        return NOT_SERVING.into();
    }
    let mut out = String::new();
    for (k, v) in monitor::values(s) {
        let _ = writeln!(out, "zk_{k}\t{}", v.java_text());
    }
    out
}

/// `envi`: the environment entries, then every effective system property.
fn envi(s: &Snapshot) -> String {
    let mut out = String::from("Environment:\n");
    for (k, v) in environment(s) {
        let _ = writeln!(out, "{k}={v}");
    }
    for (k, v) in &s.config.properties {
        let _ = writeln!(out, "{k}={v}");
    }
    out
}

/// ZooKeeper's `Environment.list()` entries that mean something for a Rust process
/// (the `java.*` ones do not exist here); shared with the AdminServer's `environment`.
pub fn environment(s: &Snapshot) -> Vec<(&'static str, String)> {
    let h = &s.host;
    vec![
        ("zookeeper.version", full_version()),
        ("host.name", h.host_name.clone()),
        ("server.implementation", "zkserver (Rust)".into()),
        ("os.name", std::env::consts::OS.into()),
        ("os.arch", std::env::consts::ARCH.into()),
        ("os.version", h.os_version.clone()),
        ("user.name", h.user_name.clone()),
        ("user.home", h.user_home.clone()),
        ("user.dir", h.cwd.clone()),
    ]
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::commands::tests::snapshot;
    use crate::status::quorum::sample;

    #[test]
    fn srvr_and_mntr_standalone() {
        let s = snapshot();
        let srvr = render("srvr", &s);
        assert!(
            srvr.contains("\nMode: standalone\nNode count: 7\n"),
            "{srvr}"
        );
        assert!(!srvr.contains("Proposal sizes"));
        let mntr = render("mntr", &s);
        assert!(mntr.starts_with("zk_version\t3.9.3-zkserver-"), "{mntr}");
        assert!(mntr.contains("\nzk_server_state\tstandalone\n"));
        assert!(mntr.contains("\nzk_avg_latency\t0.0\n"));
        assert!(mntr.contains("\nzk_min_client_response_size\t-1\n"));
        assert!(mntr.contains("\nzk_cnt_fsynctime\t0\n"));
        assert!(!mntr.contains("zk_peer_state") && !mntr.contains("zk_learners"));
    }

    #[test]
    fn quorum_fields_print_as_zookeeper_prints_them() {
        let mut s = snapshot();
        s.quorum = Some(sample::leader());
        let srvr = render("srvr", &s);
        assert!(srvr.contains("\nMode: leader\n"), "{srvr}");
        assert!(
            srvr.ends_with("Proposal sizes last/min/max: 36/32/120\n"),
            "{srvr}"
        );
        let mntr = render("mntr", &s);
        for line in [
            "zk_server_state\tleader",
            "zk_peer_state\tleading - broadcast",
            "zk_quorum_size\t3",
            "zk_learners\t3",
            "zk_synced_followers\t2",
            "zk_synced_non_voting_followers\t0",
            "zk_synced_observers\t1",
            "zk_pending_syncs\t0",
            "zk_leader_uptime\t5000",
            "zk_last_proposal_size\t36",
            "zk_min_proposal_size\t32",
            "zk_max_proposal_size\t120",
        ] {
            assert!(
                mntr.contains(&format!("\n{line}\n")),
                "{line} missing:\n{mntr}"
            );
        }
        let mut q = sample::leader();
        q.leader = None;
        q.read_only = true;
        s.quorum = Some(q);
        assert!(render("srvr", &s).contains("\nMode: read-only\n"));
        assert_eq!(render("isro", &s), "ro");
    }
}
