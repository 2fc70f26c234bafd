//! GA4GH service-info with the htsget object (htsget 1.3 §"Service info").

use htsget_core::Endpoint;
use hyper::header::{self, HeaderValue};
use serde_json::json;

use super::{Response, full};
use crate::config::ServiceConfig;

/// The service-info document for `endpoint`. Mind the spellings: `fieldsParameterEffective`
/// (singular) and `tagsParametersEffective` (plural) are what the specification says.
/// `encryptionSchemes` (ours, after the `encryptionScheme` parameter of hts-specs PR #808)
/// lists the values that parameter may take here.
pub(crate) fn document(service: &ServiceConfig, endpoint: Endpoint) -> serde_json::Value {
    let formats: Vec<&str> = endpoint.formats().iter().map(|f| f.as_str()).collect();
    let mut info = json!({
        "id": format!("{}.{}", service.id, endpoint.as_str()),
        "name": service.name,
        "type": { "group": "org.ga4gh", "artifact": "htsget", "version": "1.3.0" },
        "organization": { "name": service.organization_name, "url": service.organization_url },
        "version": env!("CARGO_PKG_VERSION"),
        "htsget": {
            "datatype": endpoint.as_str(),
            "formats": formats,
            "fieldsParameterEffective": false,
            "tagsParametersEffective": false,
            "encryptionSchemes": super::ticket::SCHEMES,
        },
    });

    if let Some(description) = &service.description {
        info["description"] = json!(description);
    }
    if let Some(environment) = &service.environment {
        info["environment"] = json!(environment);
    }

    info
}

/// The service-info response.
pub(crate) fn response(service: &ServiceConfig, endpoint: Endpoint) -> Response {
    let mut response = hyper::Response::new(full(document(service, endpoint).to_string()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}
