//! The `conf` four-letter word (ZooKeeper's `ZooKeeperServer.dumpConf`, plus
//! `QuorumZooKeeperServer.dumpConf` for an ensemble member). Sizes of the data directories are
//! passed in: this module must not read the disk.

use super::Config;

impl Config {
    /// `conf` as `(key, value)` pairs in ZooKeeper's order. For an ensemble member the
    /// membership follows as `server.N` pairs and `version`. `data_dir_size`/`data_log_size` are
    /// the byte sizes of the snapshot and log directories (the caller measures them).
    pub fn conf_lines(&self, data_dir_size: u64, data_log_size: u64) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, val: String| v.push((k.to_string(), val));
        // Apache prints -1 for a listener it does not have.
        let plain = if self.client_port == 0 {
            -1
        } else {
            i32::from(self.client_port)
        };
        put("clientPort", plain.to_string());
        put(
            "secureClientPort",
            self.secure_client_port.map_or(-1, i32::from).to_string(),
        );
        // ZooKeeper prints the snapshot/log directories, which are `<dir>/version-2`.
        put(
            "dataDir",
            self.data_dir.join("version-2").display().to_string(),
        );
        put("dataDirSize", data_dir_size.to_string());
        put(
            "dataLogDir",
            self.data_log_dir.join("version-2").display().to_string(),
        );
        put("dataLogSize", data_log_size.to_string());
        put("tickTime", self.tick_time_ms.to_string());
        put("maxClientCnxns", self.max_client_cnxns.to_string());
        put("minSessionTimeout", self.min_session_timeout_ms.to_string());
        put("maxSessionTimeout", self.max_session_timeout_ms.to_string());
        put(
            "clientPortListenBacklog",
            self.client_port_listen_backlog.to_string(),
        );
        put("serverId", self.server_id.to_string());
        if self.is_distributed() {
            let me = self.me();
            put("initLimit", self.init_limit.to_string());
            put("syncLimit", self.sync_limit.to_string());
            put("electionAlg", self.election_alg.to_string());
            put(
                "electionPort",
                me.map_or(String::new(), |m| m.election_port.to_string()),
            );
            put(
                "quorumPort",
                me.map_or(String::new(), |m| m.quorum_port.to_string()),
            );
            put("peerType", self.peer_type.ordinal().to_string());
            // Observed on Apache ZooKeeper 3.8: each member is printed as its server.N line
            // was written; a client address appears only when that line has one (a bare port
            // prints as 0.0.0.0:port), even for this server.
            for (id, s) in &self.servers {
                let client = s
                    .client_port
                    .map(|p| (s.client_host.as_deref().unwrap_or("0.0.0.0"), p));
                put(&format!("server.{id}"), s.to_config_value(client));
            }
            // Static configuration: version 0 (ZooKeeper prints it in hex).
            put("version", "0".to_string());
        }
        v
    }

    /// `conf` output exactly as ZooKeeper writes it: `key=value` lines, and for an ensemble
    /// member a `membership: ` line before the `server.N=` lines.
    pub fn conf_text(&self, data_dir_size: u64, data_log_size: u64) -> String {
        let mut out = String::new();
        let mut membership_started = false;
        for (k, v) in self.conf_lines(data_dir_size, data_log_size) {
            if k.starts_with("server.") && !membership_started {
                out.push_str("membership: \n");
                membership_started = true;
            }
            out.push_str(&format!("{k}={v}\n"));
        }
        // `QuorumMaj.toString` ends with `version=<hex>` and no newline.
        if membership_started {
            out.pop();
        }
        out
    }
}
