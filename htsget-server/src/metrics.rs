//! Metrics in the Prometheus text format (through `prometheus-client`): requests by endpoint
//! and status, latency histograms, bytes served, open streams, the facts cache, object-store
//! requests and errors, access decisions, and reloads. They observe; nothing reads them back
//! to decide anything. They outlive reloads.

mod body;
mod storage;

use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

pub(crate) use self::{body::counted, storage::Counted};

/// The media type of the text format.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Request {
    endpoint: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Endpoint {
    endpoint: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Operation {
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Decision {
    decision: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    outcome: &'static str,
}

fn latency_histogram() -> Histogram {
    // 50 µs to about 26 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 20))
}

/// Every metric of the server.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<Request, Counter>,
    latency: Family<Endpoint, Histogram, fn() -> Histogram>,
    bytes: Family<Endpoint, Counter>,
    open_streams: Gauge,
    facts_hits: Counter,
    facts_misses: Counter,
    facts_entries: Gauge,
    facts_weight: Gauge,
    store_requests: Family<Operation, Counter>,
    store_errors: Family<Operation, Counter>,
    decisions: Family<Decision, Counter>,
    reloads: Family<Outcome, Counter>,
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
        let mut registry = Registry::with_prefix("htsget");
        let requests = Family::<Request, Counter>::default();
        let latency = Family::<Endpoint, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let bytes = Family::<Endpoint, Counter>::default();
        let open_streams = Gauge::default();
        let (facts_hits, facts_misses) = (Counter::default(), Counter::default());
        let (facts_entries, facts_weight) = (Gauge::default(), Gauge::default());
        let store_requests = Family::<Operation, Counter>::default();
        let store_errors = Family::<Operation, Counter>::default();
        let decisions = Family::<Decision, Counter>::default();
        let reloads = Family::<Outcome, Counter>::default();

        registry.register(
            "requests",
            "Requests answered, by endpoint and status",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time to the response head, by endpoint",
            latency.clone(),
        );
        registry.register(
            "served_bytes",
            "Response body bytes sent, by endpoint",
            bytes.clone(),
        );
        registry.register(
            "open_streams",
            "Data responses being streamed",
            open_streams.clone(),
        );
        registry.register(
            "facts_cache_hits",
            "Ticket facts found in the cache",
            facts_hits.clone(),
        );
        registry.register(
            "facts_cache_misses",
            "Ticket facts loaded from storage",
            facts_misses.clone(),
        );
        registry.register(
            "facts_cache_entries",
            "Files whose facts are cached",
            facts_entries.clone(),
        );
        registry.register(
            "facts_cache_weight_bytes",
            "Estimated memory of the cached facts",
            facts_weight.clone(),
        );
        registry.register(
            "store_requests",
            "Object-store calls, by operation",
            store_requests.clone(),
        );
        registry.register(
            "store_errors",
            "Object-store calls that failed, by operation",
            store_errors.clone(),
        );
        registry.register(
            "auth_decisions",
            "Access decisions on ticket requests, by decision and reason",
            decisions.clone(),
        );
        registry.register(
            "reloads",
            "Configuration reloads, by outcome",
            reloads.clone(),
        );

        let mut seed = [0; 8];
        let _ = getrandom::fill(&mut seed);
        Self {
            registry,
            requests,
            latency,
            bytes,
            open_streams,
            facts_hits,
            facts_misses,
            facts_entries,
            facts_weight,
            store_requests,
            store_errors,
            decisions,
            reloads,
            ids: AtomicU64::new(0),
            seed: u64::from_le_bytes(seed),
        }
    }

    /// Counts an answered request and the time to its response head.
    pub(crate) fn request(&self, endpoint: &'static str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&Request { endpoint, status })
            .inc();
        self.latency
            .get_or_create(&Endpoint { endpoint })
            .observe(seconds);
    }

    /// Counts a facts lookup.
    pub(crate) fn facts(&self, hit: bool) {
        if hit {
            self.facts_hits.inc();
        } else {
            self.facts_misses.inc();
        }
    }

    /// Counts a store call, and whether it failed.
    pub(crate) fn store(&self, operation: &'static str, failed: bool) {
        self.store_requests
            .get_or_create(&Operation { operation })
            .inc();
        if failed {
            self.store_errors
                .get_or_create(&Operation { operation })
                .inc();
        }
    }

    /// Counts an access decision.
    pub(crate) fn decision(&self, decision: &'static str, reason: &'static str) {
        self.decisions
            .get_or_create(&Decision { decision, reason })
            .inc();
    }

    /// Counts a reload.
    pub(crate) fn reload(&self, applied: bool) {
        let outcome = if applied { "applied" } else { "refused" };
        self.reloads.get_or_create(&Outcome { outcome }).inc();
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

    /// The text exposition, with the facts cache's size as of now.
    pub(crate) fn render(&self, facts_entries: u64, facts_weight: u64) -> String {
        self.facts_entries
            .set(i64::try_from(facts_entries).unwrap_or(i64::MAX));
        self.facts_weight
            .set(i64::try_from(facts_weight).unwrap_or(i64::MAX));
        let mut out = String::with_capacity(8 << 10);
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
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

    #[test]
    fn test_render_counts_requests() {
        let metrics = Metrics::new();
        metrics.request("reads", 200, 0.001);
        metrics.request("reads", 200, 0.002);
        metrics.request("data", 206, 0.5);
        metrics.facts(true);
        metrics.store("get", true);
        let text = metrics.render(3, 4096);
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
