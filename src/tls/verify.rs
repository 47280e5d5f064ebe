//! Certificate checks wrapped around webpki's, so that a refusal looks like Apache's:
//!
//! - A peer certificate that does not chain to the trust store is answered with the
//!   `certificate_unknown` alert, as Java's `X509TrustManager` failure is (webpki's own choice
//!   would be `unknown_ca`).
//! - For the quorum (`QuorumX509Util`, `…hostnameVerification=true`), both ends check the
//!   other's certificate against its address as Apache's `ZKTrustManager` does: the IP
//!   address first, then the name a reverse lookup gives. webpki's own name check is replaced
//!   by that one (the chain is still fully checked by webpki).
//!
//! Must not: decide what is trusted (that is the trust store) or keep connection state.

use std::net::IpAddr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, Error, OtherError};
use rustls::{SignatureScheme, SignatureScheme as Scheme};

use super::x509::verify_host;

/// A verification failure reported with the `certificate_unknown` alert.
fn unknown(msg: String) -> Error {
    Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(
        super::TlsError(msg),
    ))))
}

/// Java answers an untrusted chain with `certificate_unknown`; so do we.
fn as_java(e: Error) -> Error {
    match e {
        Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            unknown("PKIX path building failed: unable to find valid certification path to requested target".into())
        }
        other => other,
    }
}

fn is_name_error(e: &Error) -> bool {
    matches!(
        e,
        Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        )
    )
}

/// `ZKTrustManager.performHostVerification`: the peer's IP address, then its reverse-DNS name.
/// The lookup is blocking, like Java's `InetAddress.getHostName()`, and only happens when the
/// address alone does not match.
pub fn check_peer_host(cert: &CertificateDer<'_>, ip: IpAddr) -> Result<(), Error> {
    let by_ip = match verify_host(cert.as_ref(), &ip.to_string()) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    let name = dns_lookup::lookup_addr(&ip).unwrap_or_default();
    if !name.is_empty() && name != ip.to_string() {
        if verify_host(cert.as_ref(), &name).is_ok() {
            return Ok(());
        }
        return Err(unknown(format!(
            "Failed to verify both host address and host name: {by_ip}; and for <{name}>"
        )));
    }
    Err(unknown(format!("Failed to verify host address: {by_ip}")))
}

/// Client certificates on the client port and the quorum ports.
#[derive(Debug)]
pub struct ClientCerts {
    pub inner: Arc<dyn ClientCertVerifier>,
    /// The connecting peer's address, when its certificate must name it (quorum).
    pub check_host_of: Option<IpAddr>,
}

impl ClientCertVerifier for ClientCerts {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }
    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }
    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        let ok = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)
            .map_err(as_java)?;
        if let Some(ip) = self.check_host_of {
            check_peer_host(end_entity, ip)?;
        }
        Ok(ok)
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A quorum peer's server certificate, when this member dials it.
#[derive(Debug)]
pub struct PeerServerCert {
    pub inner: Arc<WebPkiServerVerifier>,
    /// Check the certificate against this address (`…hostnameVerification=true`).
    pub check_host_of: Option<IpAddr>,
}

impl ServerCertVerifier for PeerServerCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(_) => {}
            // webpki checks the name after the whole chain, so the chain is good here; the
            // name is checked below by ZooKeeper's rules instead.
            Err(e) if is_name_error(&e) => {}
            Err(e) => return Err(as_java(e)),
        }
        if let Some(ip) = self.check_host_of {
            check_peer_host(end_entity, ip)?;
        }
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<Scheme> {
        self.inner.supported_verify_schemes()
    }
}
