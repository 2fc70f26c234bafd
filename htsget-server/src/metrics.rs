//! Metrics in the Prometheus text format (through `prometheus-client`, with the `metrics`
//! feature): requests by endpoint and status, latency histograms, bytes served, open streams,
//! the facts cache, object-store requests and errors, access decisions, and reloads. They
//! observe; nothing reads them back to decide anything. They outlive reloads. Without the
//! feature they count nothing and `/metrics` is not served; request ids are made either way.

#[cfg(feature = "metrics")]
mod body;
#[cfg(feature = "metrics")]
mod families;
#[cfg(feature = "metrics")]
mod storage;

use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(feature = "metrics")]
pub(crate) use self::storage::Counted;

/// The media type of the text format.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Every metric of the server.
#[derive(Debug)]
pub struct Metrics {
    #[cfg(feature = "metrics")]
    families: families::Families,
    /// Request ids handed out.
    ids: AtomicU64,
    seed: u64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh set, registered.
    pub fn new() -> Self {
        let mut seed = [0; 8];
        let _ = getrandom::fill(&mut seed);
        Self {
            #[cfg(feature = "metrics")]
            families: families::Families::new(),
            ids: AtomicU64::new(0),
            seed: u64::from_le_bytes(seed),
        }
    }

    /// Counts an answered request and the time to its response head.
    pub(crate) fn request(&self, endpoint: &'static str, status: u16, seconds: f64) {
        #[cfg(feature = "metrics")]
        self.families.request(endpoint, status, seconds);
        #[cfg(not(feature = "metrics"))]
        let _ = (endpoint, status, seconds);
    }

    /// Counts a facts lookup.
    pub(crate) fn facts(&self, hit: bool) {
        #[cfg(feature = "metrics")]
        self.families.facts(hit);
        #[cfg(not(feature = "metrics"))]
        let _ = hit;
    }

    /// Counts a store call, and whether it failed.
    #[cfg(feature = "metrics")]
    pub(crate) fn store(&self, operation: &'static str, failed: bool) {
        self.families.store(operation, failed);
    }

    /// Counts an access decision.
    #[cfg(feature = "access")]
    pub(crate) fn decision(&self, decision: &'static str, reason: &'static str) {
        #[cfg(feature = "metrics")]
        self.families.decision(decision, reason);
        #[cfg(not(feature = "metrics"))]
        let _ = (decision, reason);
    }

    /// Counts a reload.
    pub(crate) fn reload(&self, applied: bool) {
        #[cfg(feature = "metrics")]
        self.families.reload(applied);
        #[cfg(not(feature = "metrics"))]
        let _ = applied;
    }

    /// A fresh request id: 16 hex digits, unique in this process.
    pub(crate) fn request_id(&self) -> String {
        let n = self.ids.fetch_add(1, Ordering::Relaxed);
        // A bijective mix, so ids look unrelated while staying unique.
        let mut x = n ^ self.seed;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^= x >> 31;
        format!("{x:016x}")
    }

    /// The text exposition, with the facts cache's size as of now; `None` in a build without
    /// the `metrics` feature.
    pub(crate) fn render(&self, facts_entries: u64, facts_weight: u64) -> Option<String> {
        #[cfg(feature = "metrics")]
        return Some(self.families.render(facts_entries, facts_weight));
        #[cfg(not(feature = "metrics"))]
        {
            let _ = (facts_entries, facts_weight);
            None
        }
    }
}

/// `body`, its data frames counted as bytes served by `endpoint`, and counted as an open
/// stream while it lives when `stream` is set (as it is, without the `metrics` feature).
pub(crate) fn counted(
    body: crate::body::Body,
    metrics: &std::sync::Arc<Metrics>,
    endpoint: &'static str,
    stream: bool,
) -> crate::body::Body {
    #[cfg(feature = "metrics")]
    return body::counted(body, metrics, endpoint, stream);
    #[cfg(not(feature = "metrics"))]
    {
        let _ = (metrics, endpoint, stream);
        body
    }
}

/// The endpoint label of a request path (a fixed set, whatever the path).
pub(crate) fn endpoint_of(path: &str) -> &'static str {
    match path {
        "/healthz" => "healthz",
        "/readyz" => "readyz",
        "/metrics" => "metrics",
        "/viewer" => "viewer",
        "/reads/service-info" | "/variants/service-info" => "service-info",
        p if p.starts_with("/reads/") => "reads",
        p if p.starts_with("/variants/") => "variants",
        p if p.starts_with("/data/") => "data",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "metrics")]
    #[test]
    fn test_render_counts_requests() {
        let metrics = Metrics::new();
        metrics.request("reads", 200, 0.001);
        metrics.request("reads", 200, 0.002);
        metrics.request("data", 206, 0.5);
        metrics.facts(true);
        metrics.store("get", true);
        let text = metrics.render(3, 4096).expect("a build with metrics");
        assert!(
            text.contains(r#"htsget_requests_total{endpoint="reads",status="200"} 2"#),
            "{text}"
        );
        assert!(text.contains(r#"htsget_request_duration_seconds_count{endpoint="reads"} 2"#));
        assert!(text.contains("htsget_facts_cache_hits_total 1"));
        assert!(text.contains("htsget_facts_cache_entries 3"));
        assert!(text.contains(r#"htsget_store_errors_total{operation="get"} 1"#));
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn test_request_ids_are_unique() {
        let metrics = Metrics::new();
        let ids: std::collections::BTreeSet<_> = (0..1000).map(|_| metrics.request_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|id| id.len() == 16));
    }

    #[test]
    fn test_endpoint_of() {
        assert_eq!(endpoint_of("/reads/x/y"), "reads");
        assert_eq!(endpoint_of("/reads/service-info"), "service-info");
        assert_eq!(endpoint_of("/data/x.bam"), "data");
        assert_eq!(endpoint_of("/nope"), "other");
    }
}
