//! TLS through rustls (with the `access` feature): the certificate chain and key from PEM
//! files, HTTP/1.1 by ALPN. Without the feature there is no acceptor to have.

#[cfg(feature = "access")]
use std::sync::Arc;

#[cfg(feature = "access")]
use rustls::ServerConfig;
#[cfg(feature = "access")]
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
#[cfg(feature = "access")]
use tokio_rustls::TlsAcceptor;

use crate::config::TlsSettings;

/// Accepts TLS connections.
#[cfg(feature = "access")]
#[derive(Clone)]
pub(crate) struct Tls(pub(crate) TlsAcceptor);

/// Accepts TLS connections: none in a build without TLS.
#[cfg(not(feature = "access"))]
#[derive(Clone, Debug)]
pub(crate) enum Tls {}

/// Without the `access` feature, TLS settings are refused.
#[cfg(not(feature = "access"))]
pub(crate) fn acceptor(_: &TlsSettings) -> Result<Tls, String> {
    Err("this build has no TLS (the `access` feature)".to_owned())
}

#[cfg(feature = "access")]
impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls")
    }
}

#[cfg(feature = "access")]
/// The acceptor for `settings`' certificate and key; `Err` says which file is wrong and why
/// (never the key's bytes).
pub(crate) fn acceptor(settings: &TlsSettings) -> Result<Tls, String> {
    let cert = settings.cert.display();
    let certs = CertificateDer::pem_file_iter(&settings.cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| format!("TLS certificate {cert}: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "TLS certificate {cert}: no certificate in the file"
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&settings.key)
        .map_err(|e| format!("TLS key {}: {e}", settings.key.display()))?;

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS certificate {cert} and its key: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls(TlsAcceptor::from(Arc::new(config))))
}
