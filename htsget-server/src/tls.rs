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

/// Why TLS cannot start. Messages name the files, never the key's bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The certificate file cannot be read or parsed.
    #[cfg(feature = "access")]
    #[error("TLS certificate {path}: {source}")]
    Certificate {
        /// The file.
        path: String,
        /// Why.
        source: rustls_pki_types::pem::Error,
    },
    /// The certificate file holds no certificate.
    #[error("TLS certificate {0}: no certificate in the file")]
    NoCertificate(String),
    /// The key file cannot be read or parsed.
    #[cfg(feature = "access")]
    #[error("TLS key {path}: {source}")]
    Key {
        /// The file.
        path: String,
        /// Why.
        source: rustls_pki_types::pem::Error,
    },
    /// rustls refuses the certificate and key together.
    #[cfg(feature = "access")]
    #[error("TLS certificate {path} and its key: {source}")]
    Refused {
        /// The certificate file.
        path: String,
        /// Why.
        source: rustls::Error,
    },
    /// This build has no TLS.
    #[error("TLS needs the `access` feature, which this build has not")]
    NotBuilt,
}

/// Without the `access` feature, TLS settings are refused.
#[cfg(not(feature = "access"))]
pub(crate) fn acceptor(_: &TlsSettings) -> Result<Tls, TlsError> {
    Err(TlsError::NotBuilt)
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
pub(crate) fn acceptor(settings: &TlsSettings) -> Result<Tls, TlsError> {
    let cert = settings.cert.display().to_string();
    let certs = CertificateDer::pem_file_iter(&settings.cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|source| TlsError::Certificate {
            path: cert.clone(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(cert));
    }
    let key = PrivateKeyDer::from_pem_file(&settings.key).map_err(|source| TlsError::Key {
        path: settings.key.display().to_string(),
        source,
    })?;

    let refused = |source| TlsError::Refused {
        path: cert.clone(),
        source,
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(refused)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(refused)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls(TlsAcceptor::from(Arc::new(config))))
}
