//! The audit trail: one log line per ticket decision under access control, with the subject,
//! the id, the regions asked, the decision and its reason, and the grant with the issuer and
//! type of the visa (or `grants-claim`) that gave it; never a token or a signature.

use std::fmt::Write as _;

use htsget_core::query::{Class, Query};

use crate::{
    access::{Admission, Denial},
    metrics::Metrics,
};

/// The log target of audit lines.
const TARGET: &str = "htsget::audit";

/// Logs a caller refused before its query was read.
pub(super) fn denied(metrics: &Metrics, id: &str, denial: &Denial) {
    let (subject, reason) = match denial {
        Denial::Unauthenticated(refusal) => ("-", refusal.reason()),
        Denial::Forbidden { subject } => (subject.as_str(), "no-grant"),
        Denial::Unavailable => ("-", "issuer-unavailable"),
    };
    metrics.decision("deny", reason);
    tracing::info!(target: TARGET, subject, id, region = "-", decision = "deny", reason, "ticket decision");
}

/// Logs the decision on an admitted caller's query.
pub(super) fn decided(
    metrics: &Metrics,
    id: &str,
    admission: &Admission,
    query: &Query,
    permitted: bool,
) {
    let (decision, reason) = match (permitted, &admission.grant) {
        (false, _) => ("deny", "outside-regions"),
        (true, Some(_)) => ("allow", "grant"),
        (true, None) => ("allow", "public"),
    };
    metrics.decision(decision, reason);
    if !tracing::enabled!(target: TARGET, tracing::Level::INFO) {
        return;
    }
    let subject = admission.subject.as_deref().unwrap_or("-");
    let region = regions(query);
    let grant = admission.grant.as_deref().unwrap_or("-");
    let (visa_issuer, visa_type) = admission
        .via
        .as_ref()
        .map_or(("-", "-"), |via| (via.issuer.as_str(), via.kind.as_str()));
    tracing::info!(
        target: TARGET,
        subject,
        id,
        region,
        decision,
        reason,
        grant,
        visa_issuer,
        visa_type,
        "ticket decision"
    );
}

/// The regions of a query as `name:start-end` joined by commas; `header` or `all`.
fn regions(query: &Query) -> String {
    if query.class() == Class::Header {
        return "header".to_owned();
    }
    let Some(regions) = query.regions() else {
        return "all".to_owned();
    };
    let mut out = String::new();
    for (i, region) in regions.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(region.reference_name().as_str());
        let interval = region.interval();
        if !interval.is_full() {
            let _ = write!(out, ":{}-", interval.start().unwrap_or(0));
            if let Some(end) = interval.end() {
                let _ = write!(out, "{end}");
            }
        }
    }
    out
}
