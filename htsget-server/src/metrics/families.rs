//! The Prometheus metric families (`prometheus-client`), registered under `htsget_`.

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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Request {
    endpoint: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct Endpoint {
    pub(super) endpoint: &'static str,
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

/// The metric families, registered.
#[derive(Debug)]
pub(super) struct Families {
    registry: Registry,
    requests: Family<Request, Counter>,
    latency: Family<Endpoint, Histogram, fn() -> Histogram>,
    pub(super) bytes: Family<Endpoint, Counter>,
    pub(super) open_streams: Gauge,
    facts_hits: Counter,
    facts_misses: Counter,
    facts_entries: Gauge,
    facts_weight: Gauge,
    store_requests: Family<Operation, Counter>,
    store_errors: Family<Operation, Counter>,
    /// Registered in every build (zero without access control), counted with it.
    #[cfg_attr(not(feature = "access"), allow(dead_code))]
    decisions: Family<Decision, Counter>,
    reloads: Family<Outcome, Counter>,
}

impl Families {
    /// A fresh set, registered.
    pub(super) fn new() -> Self {
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
        }
    }

    /// Counts an answered request and the time to its response head.
    pub(super) fn request(&self, endpoint: &'static str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&Request { endpoint, status })
            .inc();
        self.latency
            .get_or_create(&Endpoint { endpoint })
            .observe(seconds);
    }

    /// Counts a facts lookup.
    pub(super) fn facts(&self, hit: bool) {
        if hit {
            self.facts_hits.inc();
        } else {
            self.facts_misses.inc();
        }
    }

    /// Counts a store call, and whether it failed.
    pub(super) fn store(&self, operation: &'static str, failed: bool) {
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
    #[cfg(feature = "access")]
    pub(super) fn decision(&self, decision: &'static str, reason: &'static str) {
        self.decisions
            .get_or_create(&Decision { decision, reason })
            .inc();
    }

    /// Counts a reload.
    pub(super) fn reload(&self, applied: bool) {
        let outcome = if applied { "applied" } else { "refused" };
        self.reloads.get_or_create(&Outcome { outcome }).inc();
    }

    /// The text exposition, with the facts cache's size as of now.
    pub(super) fn render(&self, facts_entries: u64, facts_weight: u64) -> String {
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
