//! Key stores and trust stores from files, as Apache's `X509Util.loadKeyStore/loadTrustStore`
//! read them: PEM (one file holding the private key — PKCS#8, optionally encrypted with the
//! store password — and the certificate chain; a trust store is every certificate in the
//! file) and PKCS#12. JKS and BCFKS are Java-only formats and are refused with a hint.
//!
//! Every error names the property and where it was set, and the file.
//!
//! Must not: build TLS configurations (that is `tls::context`).

use std::path::Path;

use base64::Engine;
use p12_keystore::Pkcs12Archive;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::RootCertStore;

use super::TlsError;
use crate::config::{StoreSpec, StoreType};

/// A loaded key store: the certificate chain (leaf first) and its private key.
#[derive(Debug)]
pub struct KeyMaterial {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

fn fail(spec: &StoreSpec, msg: impl std::fmt::Display) -> TlsError {
    TlsError(format!(
        "{} ({}): {}: {msg}",
        spec.key,
        spec.source,
        spec.path.display()
    ))
}

fn read(spec: &StoreSpec) -> Result<Vec<u8>, TlsError> {
    std::fs::read(&spec.path).map_err(|e| fail(spec, format!("cannot read: {e}")))
}

/// The store password: the `…passwordPath` file's contents win over `…password`.
fn password(spec: &StoreSpec) -> Result<String, TlsError> {
    match &spec.password_path {
        None => Ok(spec.password.clone()),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| {
                TlsError(format!(
                    "{}: cannot read the password file {}: {e}",
                    spec.key.replace(".location", ".passwordPath"),
                    p.display()
                ))
            })?;
            Ok(text.trim_end_matches(['\r', '\n']).to_string())
        }
    }
}

fn java_only(spec: &StoreSpec) -> TlsError {
    fail(
        spec,
        format!(
            "{:?} stores are Java-only; convert it with `keytool -importkeystore -srckeystore {} -destkeystore store.p12 -deststoretype PKCS12` or use PEM",
            spec.store_type,
            spec.path.display()
        ),
    )
}

/// Loads `…keyStore.*`.
pub fn load_key_store(spec: &StoreSpec) -> Result<KeyMaterial, TlsError> {
    if matches!(spec.store_type, StoreType::Jks | StoreType::Bcfks) {
        return Err(java_only(spec));
    }
    let data = read(spec)?;
    let password = password(spec)?;
    match spec.store_type {
        StoreType::Pem => pem_key_store(spec, &data, &password),
        StoreType::Pkcs12 => p12_key_store(spec, &data, &password),
        StoreType::Jks | StoreType::Bcfks => Err(java_only(spec)),
    }
}

/// Loads `…trustStore.*` into the roots that peer certificates must chain to.
pub fn load_trust_store(spec: &StoreSpec) -> Result<RootCertStore, TlsError> {
    if matches!(spec.store_type, StoreType::Jks | StoreType::Bcfks) {
        return Err(java_only(spec));
    }
    let data = read(spec)?;
    let certs = match spec.store_type {
        StoreType::Pem => pem_certs(&data),
        StoreType::Pkcs12 => {
            let archive = Pkcs12Archive::from_pkcs12(&data, &password(spec)?)
                .map_err(|e| fail(spec, format!("not a readable PKCS#12 store: {e}")))?;
            archive
                .certs
                .iter()
                .map(|b| CertificateDer::from(b.cert.as_der().to_vec()))
                .collect()
        }
        StoreType::Jks | StoreType::Bcfks => return Err(java_only(spec)),
    };
    if certs.is_empty() {
        return Err(fail(spec, "the trust store holds no certificates"));
    }
    let mut roots = RootCertStore::empty();
    for (i, c) in certs.into_iter().enumerate() {
        roots
            .add(c)
            .map_err(|e| fail(spec, format!("certificate {} is not usable: {e}", i + 1)))?;
    }
    Ok(roots)
}

fn pem_certs(data: &[u8]) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(data)
        .filter_map(Result::ok)
        .collect()
}

fn pem_key_store(spec: &StoreSpec, data: &[u8], password: &str) -> Result<KeyMaterial, TlsError> {
    let chain = pem_certs(data);
    if chain.is_empty() {
        return Err(fail(
            spec,
            "Certificate file does not contain any certificates",
        ));
    }
    let key = pem_private_key(data, password).map_err(|m| fail(spec, m))?;
    Ok(KeyMaterial { chain, key })
}

/// The first private key: PKCS#8 (Apache's only form, encrypted when a password is given), or
/// the PKCS#1/SEC1 forms OpenSSL also writes.
fn pem_private_key(data: &[u8], password: &str) -> Result<PrivateKeyDer<'static>, String> {
    use rustls::pki_types::pem::SectionKind;
    for item in <(SectionKind, Vec<u8>)>::pem_slice_iter(data) {
        let Ok((kind, der)) = item else { continue };
        match kind {
            SectionKind::PrivateKey => return Ok(PrivatePkcs8KeyDer::from(der).into()),
            SectionKind::RsaPrivateKey => {
                return Ok(PrivateKeyDer::Pkcs1(der.into()));
            }
            SectionKind::EcPrivateKey => return Ok(PrivateKeyDer::Sec1(der.into())),
            _ => {}
        }
    }
    // pki-types does not parse "ENCRYPTED PRIVATE KEY"; find it by its label.
    let text = String::from_utf8_lossy(data);
    let Some(b64) = encrypted_block(&text) else {
        return Err("did not find a private key".into());
    };
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64.split_whitespace().collect::<String>())
        .map_err(|e| format!("bad base64 in the encrypted private key: {e}"))?;
    if password.is_empty() {
        return Err(
            "the private key is encrypted; set the key store password (…keyStore.password or …keyStore.passwordPath)"
                .into(),
        );
    }
    decrypt_pkcs8(&der, password).map(|k| PrivatePkcs8KeyDer::from(k).into())
}

/// Decrypts an `EncryptedPrivateKeyInfo` — PBES2 (what OpenSSL writes by default) or the
/// PKCS#12 PBE schemes (`PBEWithSHA1AndDESede`, what Apache's PemReader can read on Java 17).
/// It is exactly the content of a PKCS#12 "shrouded key bag", so it is wrapped in a minimal
/// MAC-less PKCS#12 archive and decrypted by the PKCS#12 reader rather than by hand.
fn decrypt_pkcs8(encrypted: &[u8], password: &str) -> Result<Vec<u8>, String> {
    const DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
    const SHROUDED_KEY_BAG: &[u8] = &[
        0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x02,
    ];
    let oid = |o: &[u8]| der(0x06, o);
    let bag = der(
        0x30,
        &[oid(SHROUDED_KEY_BAG), der(0xa0, encrypted)].concat(),
    );
    let safe_contents = der(0x30, &bag);
    let content_info =
        |inner: &[u8]| der(0x30, &[oid(DATA), der(0xa0, &der(0x04, inner))].concat());
    let auth_safe = der(0x30, &content_info(&safe_contents));
    let pfx = der(0x30, &[der(0x02, &[3]), content_info(&auth_safe)].concat());
    let archive = Pkcs12Archive::from_pkcs12(&pfx, password)
        .map_err(|e| format!("cannot decrypt the private key (wrong password?): {e}"))?;
    archive
        .keys
        .first()
        .map(|k| k.key.as_der().to_vec())
        .ok_or_else(|| "cannot decrypt the private key (unsupported encryption)".to_string())
}

/// One DER element: tag, definite length, content.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// The base64 body of the first `ENCRYPTED PRIVATE KEY` PEM block.
fn encrypted_block(text: &str) -> Option<&str> {
    const BEGIN: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
    const END: &str = "-----END ENCRYPTED PRIVATE KEY-----";
    let start = text.find(BEGIN)? + BEGIN.len();
    let end = text[start..].find(END)? + start;
    Some(&text[start..end])
}

fn p12_key_store(spec: &StoreSpec, data: &[u8], password: &str) -> Result<KeyMaterial, TlsError> {
    let archive = Pkcs12Archive::from_pkcs12(data, password).map_err(|e| {
        fail(
            spec,
            format!("not a readable PKCS#12 store (wrong password?): {e}"),
        )
    })?;
    let Some(key) = archive.keys.first() else {
        return Err(fail(spec, "the PKCS#12 store holds no private key"));
    };
    let leaf = archive
        .certs
        .iter()
        .position(|c| {
            key.local_key_id
                .as_ref()
                .is_some_and(|id| c.local_key_id.as_deref() == Some(id.0.as_slice()))
        })
        .unwrap_or(0);
    let mut chain: Vec<CertificateDer<'static>> = Vec::new();
    if let Some(c) = archive.certs.get(leaf) {
        chain.push(CertificateDer::from(c.cert.as_der().to_vec()));
    }
    for (i, c) in archive.certs.iter().enumerate() {
        if i != leaf && !c.trusted {
            chain.push(CertificateDer::from(c.cert.as_der().to_vec()));
        }
    }
    if chain.is_empty() {
        return Err(fail(
            spec,
            "the PKCS#12 store holds no certificate for its key",
        ));
    }
    Ok(KeyMaterial {
        chain,
        key: PrivatePkcs8KeyDer::from(key.key.as_der().to_vec()).into(),
    })
}

/// `(modified time, length)` of a store's files, to notice when they change.
pub fn fingerprint(spec: &StoreSpec) -> Option<(std::time::SystemTime, u64)> {
    let m = std::fs::metadata(Path::new(&spec.path)).ok()?;
    Some((m.modified().ok()?, m.len()))
}
