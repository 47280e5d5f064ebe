//! TLS settings as ZooKeeper reads them: `secureClientPort`'s `zookeeper.ssl.*` properties
//! (Apache's `ClientX509Util`), the quorum's `zookeeper.ssl.quorum.*` (`QuorumX509Util`), the
//! switches around them (`sslQuorum`, `portUnification`, `client.portUnification`,
//! `client.certReload`, `sslQuorumReloadCertFiles`) and the x509 auth provider settings
//! (`ssl.authProvider`, `authProvider.x509`, `X509AuthenticationProvider.superUser`).
//!
//! A zoo.cfg line `ssl.keyStore.location=...` arrives here as the property
//! `zookeeper.ssl.keyStore.location` (unknown zoo.cfg keys become `zookeeper.<key>`), exactly
//! as in ZooKeeper, so `-Dzookeeper.ssl.*` flags work too. Values are checked for shape only;
//! the files are read by `crate::tls` at startup. Every setting remembers where it came from
//! so that a later error ("cannot read ...") names the key and its line.
//!
//! Must not: read the key/trust store files, or build TLS contexts.

use std::path::PathBuf;

use super::error::{ConfigError, ConfigWarning};
use super::sysprops::SysProps;

/// `ssl.clientAuth` (Apache's `X509Util.ClientAuth`; unset or empty means NEED).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// Do not ask for a client certificate.
    None,
    /// Ask, but let clients without one in.
    Want,
    /// Refuse clients without a trusted certificate.
    Need,
}

/// `ssl.keyStore.type` / `ssl.trustStore.type` (Apache's `KeyStoreFileType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreType {
    Pem,
    Pkcs12,
    Jks,
    Bcfks,
}

impl StoreType {
    /// Apache's `KeyStoreFileType.fromPropertyValue` (case-insensitive enum name).
    fn from_property(v: &str) -> Option<StoreType> {
        match v.trim().to_ascii_uppercase().as_str() {
            "PEM" => Some(StoreType::Pem),
            "PKCS12" => Some(StoreType::Pkcs12),
            "JKS" => Some(StoreType::Jks),
            "BCFKS" => Some(StoreType::Bcfks),
            _ => None,
        }
    }

    /// Apache's `KeyStoreFileType.fromFilename`: by extension, exact case.
    fn from_file_name(path: &str) -> Option<StoreType> {
        let ext = &path[path.rfind('.')?..];
        match ext {
            ".pem" => Some(StoreType::Pem),
            ".p12" => Some(StoreType::Pkcs12),
            ".jks" => Some(StoreType::Jks),
            ".bcfks" => Some(StoreType::Bcfks),
            _ => None,
        }
    }
}

/// A key store or trust store: where it is, its type and how to unlock it.
#[derive(Clone, PartialEq, Eq)]
pub struct StoreSpec {
    /// `…keyStore.location` or `…trustStore.location`: the full property name.
    pub key: String,
    /// Where the location was set: `zoo.cfg:12: ssl.keyStore.location` or
    /// `SERVER_JVMFLAGS: -Dzookeeper.ssl.keyStore.location`.
    pub source: String,
    pub path: PathBuf,
    pub store_type: StoreType,
    /// `…password` (empty = none).
    pub password: String,
    /// `…passwordPath`: a file holding the password (wins over `password`, as in Apache).
    pub password_path: Option<PathBuf>,
}

impl std::fmt::Debug for StoreSpec {
    // The password stays out of logs and `{:?}` dumps.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSpec")
            .field("key", &self.key)
            .field("path", &self.path)
            .field("store_type", &self.store_type)
            .field(
                "password",
                &if self.password.is_empty() { "" } else { "***" },
            )
            .field("password_path", &self.password_path)
            .finish()
    }
}

/// A list-valued setting (`enabledProtocols`, `ciphersuites`) and where it was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListSetting {
    pub items: Vec<String>,
    pub source: String,
}

/// One X509Util's settings: `zookeeper.ssl.*` (clients) or `zookeeper.ssl.quorum.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// `zookeeper.ssl.` or `zookeeper.ssl.quorum.`.
    pub prefix: &'static str,
    pub key_store: Option<StoreSpec>,
    pub trust_store: Option<StoreSpec>,
    pub client_auth: ClientAuth,
    /// `…protocol` (default `TLSv1.2`): also the one enabled protocol when
    /// `…enabledProtocols` is unset, as in Apache's `SSLContextAndOptions`.
    pub protocol: ListSetting,
    pub enabled_protocols: Option<ListSetting>,
    pub cipher_suites: Option<ListSetting>,
    /// `…hostnameVerification` (default true): the quorum checks both ends' certificates
    /// against their addresses; client connections never check the client's.
    pub hostname_verification: bool,
    /// `…handshakeDetectionTimeoutMillis` (5000): how long a port that accepts both plaintext
    /// and TLS waits for a connection's first byte.
    pub handshake_detection_timeout_ms: u64,
}

impl TlsSettings {
    /// The full property name of sub-key `k` (`keyStore.location` → `zookeeper.ssl.keyStore.location`).
    pub fn property(&self, k: &str) -> String {
        format!("{}{k}", self.prefix)
    }
}

/// Everything TLS-related in one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// `zookeeper.ssl.*`: the secure client port and client port unification.
    pub client: TlsSettings,
    /// `zookeeper.ssl.quorum.*`: election and quorum ports when `sslQuorum=true`.
    pub quorum: TlsSettings,
    /// `sslQuorum`: peers dial and accept TLS only.
    pub ssl_quorum: bool,
    /// `portUnification`: the election and quorum ports accept plaintext and TLS peers (for a
    /// rolling switch to `sslQuorum`).
    pub quorum_port_unification: bool,
    /// `client.portUnification` (`zookeeper.client.portUnification`): `clientPort` accepts
    /// TLS clients as well as plaintext ones.
    pub client_port_unification: bool,
    /// `client.certReload` (`zookeeper.client.certReload`, Apache 3.9): reload the client
    /// key/trust stores when their files change.
    pub client_cert_reload: bool,
    /// `sslQuorumReloadCertFiles`: the same for the quorum stores.
    pub quorum_cert_reload: bool,
    /// `zookeeper.X509AuthenticationProvider.superUser`: the certificate subject that gets the
    /// `super` id.
    pub x509_super_user: Option<String>,
}

impl TlsConfig {
    /// Whether client connections can arrive over TLS at all.
    pub fn client_tls_used(&self, secure_client_port: Option<u16>) -> bool {
        secure_client_port.is_some() || self.client_port_unification
    }

    /// Whether peer connections can arrive or leave over TLS.
    pub fn quorum_tls_used(&self) -> bool {
        self.ssl_quorum || self.quorum_port_unification
    }
}

impl Default for TlsConfig {
    fn default() -> Self {
        let mut unused = Vec::new();
        // Empty properties cannot fail to parse.
        parse(&SysProps::default(), "", TlsKeys::default(), &mut unused)
            .unwrap_or_else(|_| unreachable!("defaults parse"))
    }
}

/// Zoo.cfg keys `QuorumPeerConfig` itself knows (not turned into properties).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TlsKeys {
    pub ssl_quorum: bool,
    pub port_unification: bool,
    pub ssl_quorum_reload_cert_files: bool,
}

/// The Java class of ZooKeeper's built-in x509 provider, the only one zkserver has.
pub const X509_PROVIDER_CLASS: &str = "org.apache.zookeeper.server.auth.X509AuthenticationProvider";

/// Factories ZooKeeper can be told to use; both are the same thing to zkserver, whose
/// connection layer serves plaintext and TLS alike.
const KNOWN_CNXN_FACTORIES: &[&str] = &[
    "org.apache.zookeeper.server.NettyServerCnxnFactory",
    "org.apache.zookeeper.server.NIOServerCnxnFactory",
];

fn list(v: &str) -> Vec<String> {
    // Apache splits on "," without trimming; trimming forgives "a, b" instead of failing later.
    v.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn store(
    p: &SysProps,
    file: &str,
    prefix: &'static str,
    which: &str,
) -> Result<Option<StoreSpec>, ConfigError> {
    let key = format!("{prefix}{which}.location");
    let Some(location) = p.get(&key).map(str::trim).filter(|l| !l.is_empty()) else {
        return Ok(None);
    };
    let type_key = format!("{prefix}{which}.type");
    let store_type = match p.get(&type_key).map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => StoreType::from_property(t).ok_or_else(|| {
            p.error(
                file,
                &type_key,
                format!("expected PEM, PKCS12, JKS or BCFKS, got \"{t}\""),
            )
        })?,
        None => StoreType::from_file_name(location).ok_or_else(|| {
            p.error(
                file,
                &key,
                format!(
                    "Unable to auto-detect store file type from file name: {location} (name it .pem or .p12, or set {type_key})"
                ),
            )
        })?,
    };
    let password = p
        .get(&format!("{prefix}{which}.password"))
        .unwrap_or("")
        .to_string();
    let password_path = p
        .get(&format!("{prefix}{which}.passwordPath"))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(PathBuf::from);
    Ok(Some(StoreSpec {
        source: p.location(file, &key),
        key,
        path: PathBuf::from(location),
        store_type,
        password,
        password_path,
    }))
}

fn settings(p: &SysProps, file: &str, prefix: &'static str) -> Result<TlsSettings, ConfigError> {
    let auth_key = format!("{prefix}clientAuth");
    let client_auth = match p.get(&auth_key).map(str::trim) {
        None | Some("") => ClientAuth::Need,
        Some(v) => match v.to_ascii_uppercase().as_str() {
            "NONE" => ClientAuth::None,
            "WANT" => ClientAuth::Want,
            "NEED" => ClientAuth::Need,
            _ => {
                return Err(p.error(
                    file,
                    &auth_key,
                    format!("expected none, want or need, got \"{v}\""),
                ))
            }
        },
    };
    let listed = |sub: &str| {
        let key = format!("{prefix}{sub}");
        p.get(&key).map(|v| ListSetting {
            items: list(v),
            source: p.location(file, &key),
        })
    };
    let protocol = listed("protocol").unwrap_or_else(|| ListSetting {
        items: vec!["TLSv1.2".into()],
        source: format!("{prefix}protocol (default)"),
    });
    let detect_key = format!("{prefix}handshakeDetectionTimeoutMillis");
    let detect = p.int(file, &detect_key, 5000, 0)?;
    for unsupported in ["crl", "ocsp"] {
        let key = format!("{prefix}{unsupported}");
        if p.bool(file, &key, false)? {
            return Err(p.error(
                file,
                &key,
                "online revocation checking is not supported by zkserver; remove it or set false"
                    .into(),
            ));
        }
    }
    let supplier = format!("{prefix}context.supplier.class");
    if p.get(&supplier).is_some() {
        return Err(p.error(
            file,
            &supplier,
            "a Java SSLContext supplier class cannot be loaded by zkserver; configure the key and trust stores instead".into(),
        ));
    }
    Ok(TlsSettings {
        prefix,
        key_store: store(p, file, prefix, "keyStore")?,
        trust_store: store(p, file, prefix, "trustStore")?,
        client_auth,
        protocol,
        enabled_protocols: listed("enabledProtocols"),
        cipher_suites: listed("ciphersuites"),
        hostname_verification: p.bool(file, &format!("{prefix}hostnameVerification"), true)?,
        // Apache: a value below 1 would block an accept forever, so it falls back to 5000.
        handshake_detection_timeout_ms: if detect < 1 { 5000 } else { detect },
    })
}

/// Reads the TLS properties (after zoo.cfg keys have become `zookeeper.<key>` properties).
pub(crate) fn parse(
    p: &SysProps,
    file: &str,
    keys: TlsKeys,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<TlsConfig, ConfigError> {
    let provider_key = "zookeeper.ssl.authProvider";
    if let Some(name) = p.get(provider_key).map(str::trim) {
        if name != "x509" {
            // Apache registers providers by their scheme; a custom name needs a custom class.
            let class_key = format!("zookeeper.authProvider.{name}");
            let msg = match p.get(&class_key) {
                None => format!(
                    "No auth provider configured for the SSL authentication scheme '{name}'."
                ),
                Some(class) => format!(
                    "the SSL auth provider '{name}' ({class_key}={class}) is a Java class zkserver cannot load; only the built-in x509 provider is available"
                ),
            };
            return Err(p.error(file, provider_key, msg));
        }
    }
    let x509_key = "zookeeper.authProvider.x509";
    if let Some(class) = p.get(x509_key).map(str::trim) {
        if class != X509_PROVIDER_CLASS {
            return Err(p.error(
                file,
                x509_key,
                format!(
                    "only ZooKeeper's own {X509_PROVIDER_CLASS} is available in zkserver, got \"{class}\""
                ),
            ));
        }
    }
    let factory_key = "zookeeper.serverCnxnFactory";
    if let Some(f) = p.get(factory_key).map(str::trim) {
        if !KNOWN_CNXN_FACTORIES.contains(&f) {
            warnings.push(ConfigWarning {
                location: p.location(file, factory_key),
                message: format!(
                    "serverCnxnFactory={f} is ignored: zkserver has one connection layer that serves plaintext and TLS"
                ),
            });
        }
    }
    Ok(TlsConfig {
        client: settings(p, file, "zookeeper.ssl.")?,
        quorum: settings(p, file, "zookeeper.ssl.quorum.")?,
        ssl_quorum: keys.ssl_quorum,
        quorum_port_unification: keys.port_unification,
        client_port_unification: p.bool(file, "zookeeper.client.portUnification", false)?,
        client_cert_reload: p.bool(file, "zookeeper.client.certReload", false)?,
        quorum_cert_reload: keys.ssl_quorum_reload_cert_files,
        x509_super_user: p
            .get("zookeeper.X509AuthenticationProvider.superUser")
            .map(str::to_string),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn props(flags: &str) -> SysProps {
        SysProps::from_jvm_flags(flags)
    }

    #[test]
    fn defaults_are_apaches() {
        let mut w = Vec::new();
        let t = parse(&props(""), "zoo.cfg", TlsKeys::default(), &mut w).unwrap();
        assert_eq!(t.client.client_auth, ClientAuth::Need);
        assert_eq!(t.client.protocol.items, vec!["TLSv1.2"]);
        assert!(t.client.enabled_protocols.is_none() && t.client.cipher_suites.is_none());
        assert!(t.client.hostname_verification);
        assert_eq!(t.client.handshake_detection_timeout_ms, 5000);
        assert!(t.client.key_store.is_none() && t.quorum.trust_store.is_none());
        assert!(!t.client_tls_used(None) && t.client_tls_used(Some(2281)));
        assert!(w.is_empty());
    }

    #[test]
    fn stores_types_and_lists() {
        let mut w = Vec::new();
        let p = props(
            "-Dzookeeper.ssl.keyStore.location=/k/server.pem -Dzookeeper.ssl.keyStore.password=pw \
             -Dzookeeper.ssl.trustStore.location=/k/ca.bin -Dzookeeper.ssl.trustStore.type=pkcs12 \
             -Dzookeeper.ssl.clientAuth=want -Dzookeeper.ssl.enabledProtocols=TLSv1.3,TLSv1.2 \
             -Dzookeeper.ssl.quorum.keyStore.location=/k/q.p12 -Dzookeeper.ssl.quorum.hostnameVerification=false",
        );
        let t = parse(&p, "zoo.cfg", TlsKeys::default(), &mut w).unwrap();
        let ks = t.client.key_store.as_ref().unwrap();
        assert_eq!(
            (ks.store_type, ks.password.as_str()),
            (StoreType::Pem, "pw")
        );
        assert!(!format!("{ks:?}").contains("pw\""));
        assert_eq!(
            t.client.trust_store.as_ref().unwrap().store_type,
            StoreType::Pkcs12
        );
        assert_eq!(t.client.client_auth, ClientAuth::Want);
        assert_eq!(
            t.client.enabled_protocols.unwrap().items,
            vec!["TLSv1.3", "TLSv1.2"]
        );
        let q = t.quorum.key_store.unwrap();
        assert_eq!(q.store_type, StoreType::Pkcs12);
        assert_eq!(q.key, "zookeeper.ssl.quorum.keyStore.location");
        assert!(!t.quorum.hostname_verification);
    }

    #[test]
    fn bad_values_name_their_key() {
        let cases = [
            (
                "-Dzookeeper.ssl.clientAuth=maybe",
                "zookeeper.ssl.clientAuth",
            ),
            (
                "-Dzookeeper.ssl.keyStore.location=/k/server.crt",
                "Unable to auto-detect",
            ),
            (
                "-Dzookeeper.ssl.keyStore.location=/k/a.pem -Dzookeeper.ssl.keyStore.type=DER",
                "zookeeper.ssl.keyStore.type",
            ),
            (
                "-Dzookeeper.ssl.authProvider=mine",
                "No auth provider configured",
            ),
            (
                "-Dzookeeper.ssl.authProvider=mine -Dzookeeper.authProvider.mine=com.x.Mine",
                "cannot load",
            ),
            (
                "-Dzookeeper.authProvider.x509=com.x.Mine",
                "only ZooKeeper's own",
            ),
            (
                "-Dzookeeper.ssl.quorum.crl=true",
                "zookeeper.ssl.quorum.crl",
            ),
            ("-Dzookeeper.ssl.context.supplier.class=a.B", "supplier"),
        ];
        for (flags, want) in cases {
            let e = parse(
                &props(flags),
                "zoo.cfg",
                TlsKeys::default(),
                &mut Vec::new(),
            )
            .unwrap_err()
            .to_string();
            assert!(e.contains(want), "{flags}: {e}");
        }
    }

    #[test]
    fn builtin_provider_names_and_factories_are_accepted() {
        let mut w = Vec::new();
        let p = props(&format!(
            "-Dzookeeper.ssl.authProvider=x509 -Dzookeeper.authProvider.x509={X509_PROVIDER_CLASS} \
             -Dzookeeper.serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory"
        ));
        parse(&p, "zoo.cfg", TlsKeys::default(), &mut w).unwrap();
        assert!(w.is_empty());
        let p = props("-Dzookeeper.serverCnxnFactory=com.example.Other");
        parse(&p, "zoo.cfg", TlsKeys::default(), &mut w).unwrap();
        assert_eq!(w.len(), 1);
    }
}
