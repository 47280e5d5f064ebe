//! `…protocol`, `…enabledProtocols` and `…ciphersuites` (Java's names) → what rustls offers.
//!
//! Apache enables exactly `…enabledProtocols`, or else the one `…protocol` (TLSv1.2 by
//! default); rustls speaks TLSv1.2 and TLSv1.3 only, so older names are dropped with a warning
//! (and refused when nothing is left). Cipher suites are Java's (IANA) names; rustls has the
//! AEAD ones only, so the CBC suites in Apache's default list are skipped. Without
//! `…ciphersuites` the set is Apache's default GCM suites plus every TLSv1.3 suite (Apache's
//! default has no TLSv1.3 suite, which would make `enabledProtocols=TLSv1.3` unusable).
//!
//! Must not: read files.

use std::sync::Arc;

use rustls::crypto::{ring, CryptoProvider};
use rustls::{SupportedCipherSuite, SupportedProtocolVersion};

use super::TlsError;
use crate::config::TlsSettings;

/// Apache's default cipher suites that rustls implements (`X509Util.getGCMCiphers`).
const APACHE_DEFAULT_TLS12: &[&str] = &[
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
];

/// What a settings block resolves to.
pub struct Selection {
    pub provider: Arc<CryptoProvider>,
    pub versions: Vec<&'static SupportedProtocolVersion>,
    /// Names that were configured but cannot be honoured (logged by the caller).
    pub dropped: Vec<String>,
}

/// Java's name for a rustls suite: `TLS13_AES_128_GCM_SHA256` is `TLS_AES_128_GCM_SHA256`.
fn java_name(s: &SupportedCipherSuite) -> String {
    let name = s.suite().as_str().unwrap_or_default().to_string();
    match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name,
    }
}

fn version(name: &str) -> Option<&'static SupportedProtocolVersion> {
    match name {
        "TLSv1.2" => Some(&rustls::version::TLS12),
        "TLSv1.3" => Some(&rustls::version::TLS13),
        _ => None,
    }
}

/// Resolves the protocol and cipher settings of `s`.
pub fn select(s: &TlsSettings) -> Result<Selection, TlsError> {
    let mut dropped = Vec::new();
    let protocols = s.enabled_protocols.as_ref().unwrap_or(&s.protocol);
    let mut versions: Vec<&'static SupportedProtocolVersion> = Vec::new();
    for name in &protocols.items {
        // "TLS" is the generic SSLContext name: every version the library has.
        let found: Vec<&'static SupportedProtocolVersion> = if name == "TLS" {
            vec![&rustls::version::TLS13, &rustls::version::TLS12]
        } else {
            version(name).into_iter().collect()
        };
        if found.is_empty() {
            dropped.push(format!(
                "{}: {name} is not supported (TLSv1.2 and TLSv1.3 are)",
                protocols.source
            ));
        }
        for v in found {
            if !versions.iter().any(|have| have.version == v.version) {
                versions.push(v);
            }
        }
    }
    if versions.is_empty() {
        return Err(TlsError(format!(
            "{}: no supported protocol in \"{}\" (TLSv1.2 and TLSv1.3 are supported)",
            protocols.source,
            protocols.items.join(",")
        )));
    }
    let all = ring::default_provider();
    let suites: Vec<SupportedCipherSuite> = match &s.cipher_suites {
        None => all
            .cipher_suites
            .iter()
            .filter(|c| {
                c.version() == &rustls::version::TLS13
                    || APACHE_DEFAULT_TLS12.contains(&java_name(c).as_str())
            })
            .copied()
            .collect(),
        Some(list) => {
            let mut chosen = Vec::new();
            for name in &list.items {
                match all.cipher_suites.iter().find(|c| &java_name(c) == name) {
                    Some(c) => chosen.push(*c),
                    None => dropped.push(format!(
                        "{}: cipher suite {name} is not available in zkserver (rustls has the AEAD suites only)",
                        list.source
                    )),
                }
            }
            chosen
        }
    };
    let usable = suites
        .iter()
        .any(|c| versions.iter().any(|v| v.version == c.version().version));
    if !usable {
        let where_ = s
            .cipher_suites
            .as_ref()
            .map_or_else(|| s.property("ciphersuites"), |l| l.source.clone());
        return Err(TlsError(format!(
            "{where_}: no configured cipher suite works with the enabled protocols ({}); names are Java's, e.g. TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 or TLS_AES_128_GCM_SHA256",
            protocols.items.join(",")
        )));
    }
    let provider = CryptoProvider {
        cipher_suites: suites,
        ..all
    };
    Ok(Selection {
        provider: Arc::new(provider),
        versions,
        dropped,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::{ListSetting, TlsConfig};

    fn list(items: &[&str]) -> ListSetting {
        ListSetting {
            items: items.iter().map(|s| s.to_string()).collect(),
            source: "zoo.cfg:9: x".into(),
        }
    }

    #[test]
    fn default_is_tls12_with_apaches_gcm_suites() {
        let s = TlsConfig::default().client;
        let sel = select(&s).unwrap();
        assert_eq!(sel.versions.len(), 1);
        assert_eq!(sel.versions[0].version, rustls::ProtocolVersion::TLSv1_2);
        let names: Vec<String> = sel.provider.cipher_suites.iter().map(java_name).collect();
        for n in APACHE_DEFAULT_TLS12 {
            assert!(names.contains(&n.to_string()), "{n} missing from {names:?}");
        }
        assert!(names.contains(&"TLS_AES_128_GCM_SHA256".to_string()));
        assert!(sel.dropped.is_empty());
    }

    #[test]
    fn unsupported_names_are_dropped_or_refused() {
        let mut s = TlsConfig::default().client;
        s.enabled_protocols = Some(list(&["TLSv1.1", "TLSv1.3"]));
        s.cipher_suites = Some(list(&[
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
            "TLS_AES_256_GCM_SHA384",
        ]));
        let sel = select(&s).unwrap();
        assert_eq!(sel.versions.len(), 1);
        assert_eq!(sel.provider.cipher_suites.len(), 1);
        assert_eq!(sel.dropped.len(), 2, "{:?}", sel.dropped);
        s.enabled_protocols = Some(list(&["TLSv1.1"]));
        assert!(select(&s).is_err());
        s.enabled_protocols = Some(list(&["TLSv1.2"]));
        let e = select(&s).err().unwrap().0;
        assert!(e.contains("no configured cipher suite"), "{e}");
    }
}
