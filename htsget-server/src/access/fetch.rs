//! The fetches of access control (key sets, OpenID discovery, userinfo), each bounded: in time
//! ([`TIMEOUT`]), in size (the caller's limit, counted as the body arrives), never following a
//! redirect, and for everything but the `--auth-jwks` shorthand https only. Server certificates
//! are checked against the system's roots plus the bundle `SSL_CERT_FILE` names, if set.

use std::time::Duration;

use reqwest::{Client, StatusCode, header};

/// The longest a fetch may take, start to end of body.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(5);

/// Why a fetch failed (never naming the URL, which may carry a secret).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// It could not connect, or the connection broke.
    #[error("{0}")]
    Transport(#[source] reqwest::Error),
    /// It took longer than allowed.
    #[error("it took longer than {} s", TIMEOUT.as_secs())]
    TimedOut,
    /// The URL is not https where https is required.
    #[error("only https URLs are fetched")]
    NotHttps,
    /// An answer other than 200 (a redirect included: none is followed).
    #[error("the server answered {0}")]
    Status(StatusCode),
    /// A body larger than allowed.
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
}

impl FetchError {
    fn of(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            Self::TimedOut
        } else {
            Self::Transport(error.without_url())
        }
    }
}

/// Makes the fetches.
#[derive(Debug)]
pub(crate) struct Fetcher {
    client: Client,
}

impl Fetcher {
    /// A fetcher trusting the system's roots and those of `SSL_CERT_FILE` (a bundle that cannot
    /// be read is reported and left out).
    pub(crate) fn new() -> Result<Self, reqwest::Error> {
        let mut builder = Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none());
        if let Some(path) = std::env::var_os("SSL_CERT_FILE") {
            match std::fs::read(&path).map(|pem| reqwest::Certificate::from_pem_bundle(&pem)) {
                Ok(Ok(certs)) => builder = builder.tls_certs_merge(certs),
                Ok(Err(e)) => tracing::warn!(error = %e, "SSL_CERT_FILE holds no certificates"),
                Err(e) => tracing::warn!(error = %e, "cannot read SSL_CERT_FILE"),
            }
        }
        Ok(Self {
            client: builder.build()?,
        })
    }

    /// The body of `url` (https only when `https_only`), sent `bearer` as a bearer token if
    /// given; at most `max` bytes.
    pub(crate) async fn get(
        &self,
        url: &str,
        bearer: Option<&str>,
        max: usize,
        https_only: bool,
    ) -> Result<Vec<u8>, FetchError> {
        if https_only && !url.starts_with("https://") {
            return Err(FetchError::NotHttps);
        }
        let mut request = self
            .client
            .get(url)
            .header(header::ACCEPT, "application/json");
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let mut response = request.send().await.map_err(FetchError::of)?;
        if response.status() != StatusCode::OK {
            return Err(FetchError::Status(response.status()));
        }
        if response
            .content_length()
            .is_some_and(|len| len > max as u64)
        {
            return Err(FetchError::TooLarge(max));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(FetchError::of)? {
            if body.len() + chunk.len() > max {
                return Err(FetchError::TooLarge(max));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}
