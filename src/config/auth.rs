//! Authentication settings ZooKeeper reads from system properties: the JAAS file for SASL
//! (`java.security.auth.login.config`, section `zookeeper.sasl.serverconfig`), the `sasl`
//! ACL provider (`zookeeper.authProvider.*`), `zookeeper.superUser`,
//! `zookeeper.allowSaslFailedClients`, and the enforcement of authenticated sessions
//! (`zookeeper.sessionRequireClientSASLAuth`, `zookeeper.enforce.auth.enabled` +
//! `zookeeper.enforce.auth.schemes`, as Apache's `AuthenticationHelper` reads them).
//! Must not read the JAAS file: `crate::sasl` loads it at startup.

use std::path::PathBuf;

use super::error::ConfigError;
use super::sysprops::SysProps;

/// Apache's SASL ACL provider class (registered through `authProvider.N=`).
pub const SASL_PROVIDER_CLASS: &str = "org.apache.zookeeper.server.auth.SASLAuthenticationProvider";

/// The authentication settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// `java.security.auth.login.config`: the JAAS file (SASL is on when set).
    pub jaas_file: Option<PathBuf>,
    /// `zookeeper.sasl.serverconfig` (default `Server`): the JAAS section with the users.
    pub jaas_section: String,
    /// Whether `zookeeper.sasl.serverconfig` was set explicitly.
    pub jaas_section_set: bool,
    /// `sasl` is a known ACL scheme (`SASLAuthenticationProvider` registered).
    pub sasl_provider: bool,
    /// `x509` is a known scheme for enforcement (`X509AuthenticationProvider` registered
    /// through `authProvider.N=`, as Apache registers every such property at startup).
    pub x509_provider: bool,
    /// `zookeeper.superUser` (and `zookeeper.superUser.*`): SASL ids that get `super`.
    pub super_users: Vec<String>,
    /// `zookeeper.SASLAuthenticationProvider.superPassword`: the `super` user's password.
    pub super_password: Option<String>,
    /// `zookeeper.allowSaslFailedClients`: keep a connection whose SASL login failed.
    pub allow_sasl_failed: bool,
    /// Sessions must hold an id of one of `enforce_schemes` before any other request.
    pub enforce: bool,
    pub enforce_schemes: Vec<String>,
}

impl Default for AuthConfig {
    /// Apache's defaults: no JAAS file (no SASL), section `Server`, nothing enforced.
    fn default() -> Self {
        AuthConfig {
            jaas_file: None,
            jaas_section: "Server".into(),
            jaas_section_set: false,
            sasl_provider: false,
            x509_provider: false,
            super_users: Vec::new(),
            super_password: None,
            allow_sasl_failed: false,
            enforce: false,
            enforce_schemes: Vec::new(),
        }
    }
}

impl AuthConfig {
    /// `sasl` is among the enforced schemes: a failed SASL login closes the connection with
    /// SESSIONCLOSEDREQUIRESASLAUTH.
    pub fn sasl_required(&self) -> bool {
        self.enforce && self.enforce_schemes.iter().any(|s| s == "sasl")
    }

    /// The ACL/auth schemes this server has providers for.
    pub fn known_scheme(&self, scheme: &str) -> bool {
        matches!(scheme, "ip" | "digest")
            || (scheme == "sasl" && self.sasl_provider)
            || (scheme == "x509" && self.x509_provider)
    }
}

pub(crate) fn read(p: &SysProps, file: &str) -> Result<AuthConfig, ConfigError> {
    let mut a = AuthConfig {
        jaas_file: p
            .get("java.security.auth.login.config")
            .map(|v| PathBuf::from(v.trim())),
        jaas_section: p
            .get("zookeeper.sasl.serverconfig")
            .map_or("Server".to_string(), |v| v.trim().to_string()),
        jaas_section_set: p.get("zookeeper.sasl.serverconfig").is_some(),
        ..AuthConfig::default()
    };
    // zoo.cfg's `java.security.auth.login.config=` line becomes this property.
    if a.jaas_file.is_none() {
        a.jaas_file = p
            .get("zookeeper.java.security.auth.login.config")
            .map(|v| PathBuf::from(v.trim()));
    }
    for (k, v) in p.to_map() {
        if k.starts_with("zookeeper.authProvider.") && v.trim() == SASL_PROVIDER_CLASS {
            a.sasl_provider = true;
        }
        if k.starts_with("zookeeper.authProvider.") && v.trim() == super::tls::X509_PROVIDER_CLASS {
            a.x509_provider = true;
        }
        let prefix = "zookeeper.superUser";
        if k == prefix || k.strip_prefix(prefix).is_some_and(|r| r.starts_with('.')) {
            a.super_users.push(v.trim().to_string());
        }
    }
    a.super_password = p
        .get("zookeeper.SASLAuthenticationProvider.superPassword")
        .map(str::to_string);
    a.allow_sasl_failed = p.bool(file, "zookeeper.allowSaslFailedClients", false)?;
    let require_sasl = "zookeeper.sessionRequireClientSASLAuth";
    if p.bool(file, require_sasl, false)? {
        a.enforce = true;
        a.enforce_schemes = vec!["sasl".into()];
    } else {
        a.enforce = p.bool(file, "zookeeper.enforce.auth.enabled", false)?;
        if let Some(s) = p.get("zookeeper.enforce.auth.schemes") {
            a.enforce_schemes = s.split(',').map(|x| x.trim().to_string()).collect();
        }
    }
    if a.enforce {
        let key = if a.enforce_schemes == ["sasl"] && p.get(require_sasl).is_some() {
            require_sasl
        } else {
            "zookeeper.enforce.auth.schemes"
        };
        if a.enforce_schemes.iter().all(|s| s.is_empty()) {
            return Err(p.error(
                file,
                "zookeeper.enforce.auth.enabled",
                "zookeeper.enforce.auth.enabled is true zookeeper.enforce.auth.schemes must be configured.".into(),
            ));
        }
        if let Some(bad) = a.enforce_schemes.iter().find(|s| !a.known_scheme(s)) {
            let hint = if bad == "sasl" {
                format!(" (set authProvider.1={SASL_PROVIDER_CLASS})")
            } else {
                String::new()
            };
            return Err(p.error(
                file,
                key,
                format!("Authentication scheme {bad} is not available.{hint}"),
            ));
        }
    }
    Ok(a)
}

/// Quorum SASL (`quorum.auth.*` in zoo.cfg, Apache's `QuorumPeerConfig`): DIGEST-MD5 between
/// members on the election and quorum ports. The credentials live in the JAAS file's
/// `QuorumServer` (users) and `QuorumLearner` (`username`/`password`) sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumSaslConfig {
    /// `quorum.auth.enableSasl`: run the server side on accepted connections (and the learner
    /// side when required).
    pub enabled: bool,
    /// `quorum.auth.serverRequireSasl`: refuse members that do not authenticate.
    pub server_required: bool,
    /// `quorum.auth.learnerRequireSasl`: authenticate when dialling a member (Apache's learner
    /// sends nothing otherwise).
    pub learner_required: bool,
    /// `quorum.auth.learner.saslLoginContext` (default `QuorumLearner`).
    pub learner_context: String,
    /// `quorum.auth.server.saslLoginContext` (default `QuorumServer`).
    pub server_context: String,
    /// `quorum.auth.kerberos.servicePrincipal` (Kerberos only; kept for `conf`).
    pub service_principal: String,
}

impl Default for QuorumSaslConfig {
    /// Apache's defaults: off.
    fn default() -> Self {
        QuorumSaslConfig {
            enabled: false,
            server_required: false,
            learner_required: false,
            learner_context: "QuorumLearner".into(),
            server_context: "QuorumServer".into(),
            service_principal: "zkquorum/localhost".into(),
        }
    }
}

impl QuorumSaslConfig {
    /// Apache's cross-checks (`QuorumPeerConfig.parseProperties`): the `(key, message)` of the
    /// first violation. A server that requires SASL but would not authenticate as a learner
    /// could never join its own quorum.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        const ENABLE: &str = "quorum.auth.enableSasl";
        const SERVER: &str = "quorum.auth.serverRequireSasl";
        const LEARNER: &str = "quorum.auth.learnerRequireSasl";
        if !self.enabled && self.server_required {
            return Err((
                SERVER,
                format!("{ENABLE} is disabled, so cannot enable {SERVER}"),
            ));
        }
        if !self.enabled && self.learner_required {
            return Err((
                LEARNER,
                format!("{ENABLE} is disabled, so cannot enable {LEARNER}"),
            ));
        }
        if !self.learner_required && self.server_required {
            return Err((
                SERVER,
                format!("{LEARNER} is disabled, so cannot enable {SERVER}"),
            ));
        }
        Ok(())
    }
}
