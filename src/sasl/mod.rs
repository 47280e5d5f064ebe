//! SASL for clients (opcode 102), as Apache ZooKeeper's `ZooKeeperSaslServer` does it with a
//! JAAS `Server` section of `DigestLoginModule` users: DIGEST-MD5 only (Kerberos/GSSAPI is
//! not served; a client asking for it fails its login). Quorum SASL between members
//! (`quorum.auth.*`) is `quorum`, on the same digest math (`digest_client` is its learner side).
//!
//! Owns: loading the JAAS file named by `java.security.auth.login.config` at startup (a
//! missing, unreadable or sectionless file stops the server with the key and path named,
//! where Apache stops too), the users (`user_<name>="<password>"` options, Apache's
//! `SaslServerCallbackHandler`) and the per-connection DIGEST-MD5 exchange. Must not touch
//! connections or sessions: the runtime feeds tokens in and adds the `sasl:<user>` id.

pub mod digest_client;
pub mod digest_md5;
pub mod jaas;
pub mod quorum;

use std::collections::BTreeMap;

use base64::Engine;

use crate::config::Config;
pub use digest_md5::{DigestMd5Server, SaslError};

/// The users a server authenticates, from its JAAS section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SaslUsers {
    passwords: BTreeMap<String, String>,
    /// `zookeeper.SASLAuthenticationProvider.superPassword` (for the user `super`).
    super_password: Option<String>,
}

impl SaslUsers {
    /// The users of `section` in a parsed JAAS file (every `user_*` option of its entries).
    pub fn from_section(entries: &[jaas::LoginEntry], super_password: Option<String>) -> Self {
        let mut passwords = BTreeMap::new();
        for e in entries {
            for (k, v) in &e.options {
                if let Some(user) = k.strip_prefix("user_") {
                    passwords.insert(user.to_string(), v.clone());
                }
            }
        }
        SaslUsers {
            passwords,
            super_password,
        }
    }

    /// The password of `user` (the super password overrides the `super` user's).
    pub fn password(&self, user: &str) -> Option<String> {
        if user == "super" {
            if let Some(p) = &self.super_password {
                return Some(p.clone());
            }
        }
        self.passwords.get(user).cloned()
    }

    pub fn len(&self) -> usize {
        self.passwords.len()
    }

    pub fn is_empty(&self) -> bool {
        self.passwords.is_empty()
    }

    /// Loads the JAAS file the configuration names. `Ok(None)`: client SASL is not configured
    /// (no `java.security.auth.login.config`, or a file without the default `Server` section,
    /// as Apache 3.8 starts then too). Errors name the key and the path.
    pub fn load(cfg: &Config) -> Result<Option<SaslUsers>, String> {
        let a = &cfg.auth;
        let key = "java.security.auth.login.config";
        let Some(path) = &a.jaas_file else {
            if a.jaas_section_set {
                return Err(format!(
                    "zookeeper.sasl.serverconfig={} is set but {key} names no JAAS file",
                    a.jaas_section
                ));
            }
            return Ok(None);
        };
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{key}: cannot read JAAS file '{shown}': {e}"))?;
        let file = jaas::parse(&text).map_err(|e| format!("{key}: JAAS file '{shown}': {e}"))?;
        let Some(entries) = file.get(&a.jaas_section) else {
            // Apache serves without client SASL then (a file with only the quorum sections
            // is the usual quorum SASL setup); a section named explicitly must exist.
            if !a.jaas_section_set {
                return Ok(None);
            }
            return Err(format!(
                "{key}: No JAAS configuration section named '{}' was found in '{shown}' (zookeeper.sasl.serverconfig={0}).",
                a.jaas_section
            ));
        };
        Ok(Some(Self::from_section(entries, a.super_password.clone())))
    }
}

/// A fresh random nonce for a DIGEST-MD5 challenge (base64 of 30 random bytes: 40
/// characters, as long as Java's).
pub fn new_nonce() -> String {
    let mut bytes = [0u8; 30];
    if getrandom::getrandom(&mut bytes).is_err() {
        // No OS randomness: fall back to the clock and a counter (still unique per exchange).
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes[..16].copy_from_slice(&t.to_be_bytes());
        bytes[16..24].copy_from_slice(&n.to_be_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
