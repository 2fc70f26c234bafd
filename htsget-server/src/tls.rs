//! TLS through rustls: the certificate chain and key from PEM files, HTTP/1.1 by ALPN.

use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsSettings;

/// Accepts TLS connections.
#[derive(Clone)]
pub(crate) struct Tls(pub(crate) TlsAcceptor);

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls")
    }
}

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
