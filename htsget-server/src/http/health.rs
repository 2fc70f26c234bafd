//! Health and metrics endpoints: `/healthz` (the process serves), `/readyz` (every data root
//! reachable, token keys loaded) and `/metrics` (Prometheus text format). None needs a token;
//! none names a path or a secret.

use std::time::Duration;

use hyper::StatusCode;
use serde_json::json;

use htsget_core::Error;

use super::{ApiError, Response, uncached};
use crate::{metrics, state::State};

/// How long a readiness probe may wait on a store.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    uncached(status, "application/json", body.to_string())
}

/// 200: the process is up and serving.
pub(crate) fn healthz() -> Response {
    json_response(StatusCode::OK, json!({ "status": "ok" }))
}

/// 200 when every data root answers and, with access control on, token keys are loaded;
/// else 503 with the reasons.
pub(crate) async fn readyz(state: &State) -> Response {
    let mut reasons = state.storage.unready(PROBE_TIMEOUT).await;
    if let Some(reason) = state.access_unready() {
        reasons.push(reason.to_owned());
    }
    if reasons.is_empty() {
        json_response(StatusCode::OK, json!({ "status": "ready" }))
    } else {
        json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "status": "unready", "reasons": reasons }),
        )
    }
}

/// The metrics, as of now (not found in a build without them).
pub(crate) fn metrics(state: &State) -> Response {
    let (entries, weight) = state.facts_cached();
    match state.metrics.render(entries, weight) {
        Some(text) => uncached(StatusCode::OK, metrics::CONTENT_TYPE, text),
        None => ApiError::from(Error::NotFound {
            what: "metrics: this build has none (the `metrics` feature)".to_owned(),
        })
        .into_response(),
    }
}
