//! TLS for the client port and the quorum, built from ZooKeeper's `ssl.*` / `ssl.quorum.*`
//! settings with rustls: key and trust stores (`store`), protocols and cipher suites
//! (`suites`), Apache-like certificate checks (`verify`), the x509 id and host name rules
//! (`x509`), and hot reload of changed store files.
//!
//! A [`TlsContext`] is built once at startup — a missing or unreadable file stops the server
//! with the property, where it was set, and the path — and can be rebuilt in place when the
//! files change (`client.certReload`, `sslQuorumReloadCertFiles`); a failed reload keeps the
//! previous configuration and logs why.
//!
//! Must not: touch sockets beyond handing out acceptors/connectors, or know ZooKeeper's
//! protocol.

mod store;
pub mod suites;
pub mod verify;
pub mod x509;

use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::ServerName;
use rustls::server::danger::ClientCertVerifier;
use rustls::server::WebPkiClientVerifier;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::config::{ClientAuth, StoreSpec, TlsSettings};

/// Why TLS could not be set up; the text names the property, its source and the file.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(pub String);

/// What the context is for: Apache's `ClientX509Util` or `QuorumX509Util`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The secure client port (or the client port with port unification).
    Client,
    /// The election and quorum ports; both ends check each other's host name.
    Quorum,
}

/// The parts a configuration is assembled from (kept to build per-peer quorum configs).
#[derive(Debug, Clone)]
struct Parts {
    key: Arc<CertifiedKey>,
    roots: Arc<RootCertStore>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    versions: Vec<&'static rustls::SupportedProtocolVersion>,
}

/// One generation of the configuration.
#[derive(Debug, Clone)]
struct Built {
    parts: Parts,
    /// The client-port server configuration (shared by every connection).
    server: Arc<ServerConfig>,
    /// File fingerprints at build time, to notice changes.
    stamps: Vec<Option<(std::time::SystemTime, u64)>>,
}

/// A TLS configuration that can be swapped when its files change.
#[derive(Debug)]
pub struct TlsContext {
    settings: TlsSettings,
    role: Role,
    current: RwLock<Arc<Built>>,
}

/// Serves one fixed certificate to every peer.
#[derive(Debug)]
struct Fixed(Arc<CertifiedKey>);

impl rustls::server::ResolvesServerCert for Fixed {
    fn resolve(&self, _: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

impl rustls::client::ResolvesClientCert for Fixed {
    fn resolve(&self, _: &[&[u8]], _: &[rustls::SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
    fn has_certs(&self) -> bool {
        true
    }
}

fn required<'a>(
    s: &'a TlsSettings,
    spec: &'a Option<StoreSpec>,
    which: &str,
    why: &str,
) -> Result<&'a StoreSpec, TlsError> {
    spec.as_ref().ok_or_else(|| {
        TlsError(format!(
            "{} is not set; {why}",
            s.property(&format!("{which}.location"))
        ))
    })
}

fn build(s: &TlsSettings, role: Role) -> Result<Built, TlsError> {
    let what = match role {
        Role::Client => "the secure client port needs",
        Role::Quorum => "sslQuorum/portUnification needs",
    };
    let ks = required(
        s,
        &s.key_store,
        "keyStore",
        &format!("{what} this server's private key and certificate"),
    )?;
    // Apache would fall back to the JVM's default CAs; zkserver has none, so a trust store
    // is needed whenever peers present certificates.
    let ts = required(
        s,
        &s.trust_store,
        "trustStore",
        &format!(
            "{what} the CA certificates that peers' certificates must chain to{}",
            if role == Role::Client {
                " (or set ssl.clientAuth=none)"
            } else {
                ""
            }
        ),
    );
    let ts = match (ts, role, s.client_auth) {
        (Ok(t), _, _) => Some(t),
        (Err(_), Role::Client, ClientAuth::None) => None,
        (Err(e), _, _) => return Err(e),
    };
    let sel = suites::select(s)?;
    for d in &sel.dropped {
        tracing::warn!("{d}; ignored");
    }
    let material = store::load_key_store(ks)?;
    let key = CertifiedKey::from_der(material.chain, material.key, &sel.provider).map_err(|e| {
        TlsError(format!(
            "{} ({}): {}: the private key is unusable or does not match the certificate: {e}",
            ks.key,
            ks.source,
            ks.path.display()
        ))
    })?;
    let roots = match ts {
        Some(t) => store::load_trust_store(t)?,
        None => RootCertStore::empty(),
    };
    let parts = Parts {
        key: Arc::new(key),
        roots: Arc::new(roots),
        provider: sel.provider,
        versions: sel.versions,
    };
    Ok(Built {
        server: Arc::new(server_config(s, &parts, None)?),
        parts,
        stamps: stamps(s),
    })
}

fn stamps(s: &TlsSettings) -> Vec<Option<(std::time::SystemTime, u64)>> {
    [&s.key_store, &s.trust_store]
        .into_iter()
        .map(|spec| spec.as_ref().and_then(store::fingerprint))
        .collect()
}

fn client_verifier(
    s: &TlsSettings,
    b: &Parts,
    check_host_of: Option<IpAddr>,
) -> Result<Arc<dyn ClientCertVerifier>, TlsError> {
    if s.client_auth == ClientAuth::None {
        return Ok(Arc::new(rustls::server::NoClientAuth));
    }
    let mut builder =
        WebPkiClientVerifier::builder_with_provider(b.roots.clone(), b.provider.clone());
    if s.client_auth == ClientAuth::Want {
        builder = builder.allow_unauthenticated();
    }
    let inner = builder
        .build()
        .map_err(|e| TlsError(format!("{}: {e}", s.property("trustStore.location"))))?;
    Ok(Arc::new(verify::ClientCerts {
        inner,
        check_host_of,
    }))
}

fn server_config(
    s: &TlsSettings,
    b: &Parts,
    check_host_of: Option<IpAddr>,
) -> Result<ServerConfig, TlsError> {
    let verifier = client_verifier(s, b, check_host_of)?;
    Ok(ServerConfig::builder_with_provider(b.provider.clone())
        .with_protocol_versions(&b.versions)
        .map_err(|e| TlsError(format!("{}: {e}", s.property("enabledProtocols"))))?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(Fixed(b.key.clone()))))
}

impl TlsContext {
    /// Loads the stores and builds the configuration; errors name the setting and the file.
    pub fn new(settings: &TlsSettings, role: Role) -> Result<Arc<TlsContext>, TlsError> {
        let built = build(settings, role)?;
        Ok(Arc::new(TlsContext {
            settings: settings.clone(),
            role,
            current: RwLock::new(Arc::new(built)),
        }))
    }

    fn built(&self) -> Arc<Built> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn settings(&self) -> &TlsSettings {
        &self.settings
    }

    /// The acceptor for a client connection.
    pub fn client_acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.built().server.clone())
    }

    /// The acceptor for a peer connecting from `ip` (its certificate must name `ip` when
    /// `ssl.quorum.hostnameVerification` is on).
    pub fn peer_acceptor(&self, ip: IpAddr) -> Result<TlsAcceptor, TlsError> {
        let b = self.built();
        let check = self.settings.hostname_verification.then_some(ip);
        Ok(TlsAcceptor::from(Arc::new(server_config(
            &self.settings,
            &b.parts,
            check,
        )?)))
    }

    /// A connector (and the name to present) for dialling the peer at `ip`; this member
    /// shows its own certificate and checks the peer's against `ip`.
    pub fn peer_connector(
        &self,
        ip: IpAddr,
    ) -> Result<(TlsConnector, ServerName<'static>), TlsError> {
        let b = &self.built().parts;
        let inner =
            WebPkiServerVerifier::builder_with_provider(b.roots.clone(), b.provider.clone())
                .build()
                .map_err(|e| {
                    TlsError(format!(
                        "{}: {e}",
                        self.settings.property("trustStore.location")
                    ))
                })?;
        let verifier = verify::PeerServerCert {
            inner,
            check_host_of: self.settings.hostname_verification.then_some(ip),
        };
        let config = ClientConfig::builder_with_provider(b.provider.clone())
            .with_protocol_versions(&b.versions)
            .map_err(|e| TlsError(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_client_cert_resolver(Arc::new(Fixed(b.key.clone())));
        Ok((
            TlsConnector::from(Arc::new(config)),
            ServerName::IpAddress(ip.into()),
        ))
    }

    /// Rebuilds the configuration if a store file changed since the last build. Returns
    /// whether a new configuration is in place; a broken new file keeps the old one.
    pub fn reload_if_changed(&self) -> bool {
        let now = stamps(&self.settings);
        if now == self.built().stamps {
            return false;
        }
        match build(&self.settings, self.role) {
            Ok(b) => {
                match self.current.write() {
                    Ok(mut g) => *g = Arc::new(b),
                    Err(poisoned) => *poisoned.into_inner() = Arc::new(b),
                }
                tracing::info!(
                    prefix = self.settings.prefix,
                    "reloaded the TLS key and trust stores"
                );
                true
            }
            Err(e) => {
                tracing::error!(
                    prefix = self.settings.prefix,
                    "changed TLS store files could not be loaded; keeping the previous ones: {e}"
                );
                // Remember these stamps so the same broken files are not retried every tick.
                let mut b = self.built().as_ref().clone();
                b.stamps = now;
                match self.current.write() {
                    Ok(mut g) => *g = Arc::new(b),
                    Err(poisoned) => *poisoned.into_inner() = Arc::new(b),
                }
                false
            }
        }
    }

    /// Watches the store files and reloads them when they change (Apache uses a directory
    /// watch; a stat every `every` is as cheap and needs no extra thread per file).
    pub fn spawn_reloader(self: &Arc<Self>, every: Duration) {
        let ctx = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(ctx) = ctx.upgrade() else { return };
                let c = ctx.clone();
                let _ = tokio::task::spawn_blocking(move || c.reload_if_changed()).await;
            }
        });
    }
}
