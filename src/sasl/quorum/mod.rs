//! Quorum SASL: DIGEST-MD5 between ensemble members, as Apache ZooKeeper 3.8 runs it with
//! `quorum.auth.enableSasl=true` (`SaslQuorumAuthServer` / `SaslQuorumAuthLearner`). The member
//! that dials (on the election port after its initial message, on the quorum port before
//! FOLLOWERINFO) is the "learner" and logs in with the JAAS `QuorumLearner` section's
//! `username`/`password`; the member that accepts is the "server" and checks it against the
//! `user_<name>` options of the `QuorumServer` section. Kerberos (GSSAPI) is not served: a
//! section with another login module stops startup.
//!
//! Owns: loading those credentials at startup ([`QuorumSasl::load`]), the packet format
//! (`packet`) and the pure exchange (`exchange`). Must not touch sockets: the runtime's
//! `peers::auth` drives the exchange over a connection.

pub mod exchange;
pub mod packet;

use crate::config::Config;
use crate::sasl::jaas::{self, LoginEntry};
use crate::sasl::SaslUsers;
pub use exchange::{
    LearnerExchange, LearnerLogin, LearnerStep, ServerExchange, ServerPolicy, ServerStep,
};
pub use packet::{QuorumAuthPacket, Status};

/// Apache's login module for DIGEST-MD5 credentials.
pub const DIGEST_LOGIN_MODULE: &str = "org.apache.zookeeper.server.auth.DigestLoginModule";

/// A member's quorum SASL settings and credentials (present only with
/// `quorum.auth.enableSasl=true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumSasl {
    /// `quorum.auth.serverRequireSasl`.
    pub server_required: bool,
    /// `quorum.auth.learnerRequireSasl`: authenticate when dialling.
    pub learner_required: bool,
    /// The `QuorumServer` section's users.
    pub users: SaslUsers,
    /// The `QuorumLearner` section's login (None when it has none and is not needed).
    pub learner: Option<LearnerLogin>,
    /// The members' host names (a `name/host@REALM` user's host must be one of them).
    pub authz_hosts: Vec<String>,
}

impl QuorumSasl {
    /// The server side's policy for learners that do not (or fail to) authenticate.
    pub fn policy(&self) -> ServerPolicy {
        ServerPolicy {
            required: self.server_required,
        }
    }

    /// The login to use when dialling: Some exactly when `quorum.auth.learnerRequireSasl`
    /// (Apache's learner sends nothing otherwise).
    pub fn learner_login(&self) -> Option<&LearnerLogin> {
        self.learner.as_ref().filter(|_| self.learner_required)
    }

    /// Reads the JAAS sections `quorum.auth.*` name. `Ok(None)`: quorum SASL is off. Errors
    /// name the key, the file and the section, as a line for the log before exiting.
    pub fn load(cfg: &Config) -> Result<Option<QuorumSasl>, String> {
        let q = &cfg.quorum_sasl;
        if !q.enabled {
            return Ok(None);
        }
        let key = "java.security.auth.login.config";
        let Some(path) = &cfg.auth.jaas_file else {
            return Err(format!(
                "quorum.auth.enableSasl=true needs a JAAS file with the '{}' and '{}' sections: set {key} (in SERVER_JVMFLAGS: -D{key}=/path/jaas.conf)",
                q.server_context, q.learner_context
            ));
        };
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{key}: cannot read JAAS file '{shown}': {e}"))?;
        let file = jaas::parse(&text).map_err(|e| format!("{key}: JAAS file '{shown}': {e}"))?;
        let section = |name: &str, ctx_key: &str| -> Result<&Vec<LoginEntry>, String> {
            let entries = file.get(name).filter(|e| !e.is_empty()).ok_or_else(|| {
                format!(
                    "SASL-authentication failed because the specified JAAS configuration section '{name}' could not be found in '{shown}' ({ctx_key}, {key})"
                )
            })?;
            if let Some(other) = entries.iter().find(|e| e.module != DIGEST_LOGIN_MODULE) {
                let what = if other.module.contains("Krb5LoginModule") {
                    "Kerberos (GSSAPI) quorum authentication"
                } else {
                    "that login module"
                };
                return Err(format!(
                    "JAAS section '{name}' in '{shown}' uses {}: {what} is not supported by zkserver; use {DIGEST_LOGIN_MODULE} (DIGEST-MD5)",
                    other.module
                ));
            }
            Ok(entries)
        };
        let server = section(&q.server_context, "quorum.auth.server.saslLoginContext")?;
        let learner = section(&q.learner_context, "quorum.auth.learner.saslLoginContext")?;
        let option = |name: &str| learner.iter().find_map(|e| e.options.get(name)).cloned();
        let learner = match (option("username"), option("password")) {
            (Some(user), Some(password)) => Some(LearnerLogin { user, password }),
            _ if q.learner_required => {
                return Err(format!(
                    "JAAS section '{}' in '{shown}' needs username=\"...\" and password=\"...\" (quorum.auth.learnerRequireSasl=true)",
                    q.learner_context
                ))
            }
            _ => None,
        };
        let mut authz_hosts: Vec<String> = cfg.servers.values().map(|s| s.host.clone()).collect();
        authz_hosts.sort();
        authz_hosts.dedup();
        Ok(Some(QuorumSasl {
            server_required: q.server_required,
            learner_required: q.learner_required,
            users: SaslUsers::from_section(server, None),
            learner,
            authz_hosts,
        }))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::path::Path;

    const JAAS: &str = r#"
QuorumServer {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       user_test="test";
};
QuorumLearner {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       username="test"
       password="test";
};
Kerb {
       com.sun.security.auth.module.Krb5LoginModule required
       useKeyTab=true principal="zkquorum/host@EX.COM";
};
"#;

    fn cfg(jaas: Option<&Path>, extra: &str) -> Result<Config, String> {
        let flags = jaas.map_or(String::new(), |p| {
            format!("-Djava.security.auth.login.config={}", p.display())
        });
        let text = format!(
            "dataDir=/tmp/x\nclientPort=2181\ninitLimit=5\nsyncLimit=2\nquorum.auth.enableSasl=true\n{extra}\n\
             server.1=127.0.0.1:2888:3888\nserver.2=localhost:2889:3889\n"
        );
        Config::parse_with_myid(&text, Path::new("zoo.cfg"), &flags, Some("1"))
            .map_err(|e| e.to_string())
    }

    fn jaas_file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn loads_both_sections_and_the_member_hosts() {
        let f = jaas_file(JAAS);
        let c = cfg(
            Some(f.path()),
            "quorum.auth.learnerRequireSasl=true\nquorum.auth.serverRequireSasl=true",
        )
        .unwrap();
        let q = QuorumSasl::load(&c).unwrap().unwrap();
        assert!(q.server_required && q.learner_required);
        assert_eq!(q.users.password("test").as_deref(), Some("test"));
        assert_eq!(q.learner_login().unwrap().user, "test");
        assert_eq!(q.authz_hosts, ["127.0.0.1", "localhost"]);
        // Not required: the learner login exists but is not used.
        let c = cfg(Some(f.path()), "").unwrap();
        let q = QuorumSasl::load(&c).unwrap().unwrap();
        assert!(q.learner.is_some() && q.learner_login().is_none());
    }

    #[test]
    fn unusable_settings_stop_startup_with_the_reason() {
        let f = jaas_file(JAAS);
        let required = "quorum.auth.learnerRequireSasl=true";
        let cases = [
            (cfg(None, "").unwrap(), "java.security.auth.login.config"),
            (
                cfg(Some(f.path()), "quorum.auth.server.saslLoginContext=Nope").unwrap(),
                "'Nope' could not be found",
            ),
            (
                cfg(Some(f.path()), "quorum.auth.learner.saslLoginContext=Kerb").unwrap(),
                "Kerberos (GSSAPI) quorum authentication is not supported",
            ),
            (
                cfg(
                    Some(f.path()),
                    &format!("{required}\nquorum.auth.learner.saslLoginContext=QuorumServer"),
                )
                .unwrap(),
                "needs username",
            ),
            (
                cfg(Some(Path::new("/nonexistent/jaas.conf")), "").unwrap(),
                "cannot read JAAS file '/nonexistent/jaas.conf'",
            ),
        ];
        for (c, want) in cases {
            let e = QuorumSasl::load(&c).unwrap_err();
            assert!(e.contains(want), "{e}");
        }
    }

    #[test]
    fn apaches_cross_checks_of_the_switches() {
        let f = jaas_file(JAAS);
        let e = cfg(Some(f.path()), "quorum.auth.serverRequireSasl=true").unwrap_err();
        assert!(
            e.contains("quorum.auth.learnerRequireSasl is disabled, so cannot enable quorum.auth.serverRequireSasl"),
            "{e}"
        );
        let text = "dataDir=/tmp/x\nclientPort=2181\nquorum.auth.learnerRequireSasl=true\n";
        let e = Config::parse(text, Path::new("zoo.cfg"), "")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("quorum.auth.enableSasl is disabled, so cannot enable quorum.auth.learnerRequireSasl"),
            "{e}"
        );
        let off = Config::parse("dataDir=/tmp/x\nclientPort=2181\n", Path::new("z"), "").unwrap();
        assert_eq!(QuorumSasl::load(&off), Ok(None));
    }
}
