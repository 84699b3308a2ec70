//! The node's Prometheus metrics (`GET /metrics`, text exposition format).

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// `complete`, or a failure reason (`witness_error`, `proving_timeout`, ...).
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PhaseLabel {
    /// `queue`, `witness`, `execute`, `shards`, `aggregation_tail`, `total`.
    pub phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub status: String,
}

pub struct Metrics {
    registry: Registry,
    pub queue_depth: Gauge,
    pub lanes_busy: Gauge,
    pub lane_busy_seconds: Counter<f64, AtomicU64>,
    pub requests: Counter,
    pub rejected_queue_full: Counter,
    pub proofs: Family<OutcomeLabel, Counter>,
    pub phase_seconds: Family<PhaseLabel, Histogram>,
    pub proof_bytes: Histogram,
    pub verifications: Family<StatusLabel, Counter>,
}

fn phase_histogram() -> Histogram {
    // 10 ms to ~160 s.
    Histogram::new(exponential_buckets(0.01, 2.0, 15))
}

impl Metrics {
    pub fn new(lanes: usize) -> Self {
        let mut registry = Registry::with_prefix("slotproof_node");
        let queue_depth = Gauge::default();
        let lanes_busy = Gauge::default();
        let lanes_gauge: Gauge = Gauge::default();
        lanes_gauge.set(lanes as i64);
        let lane_busy_seconds = Counter::<f64, AtomicU64>::default();
        let requests = Counter::default();
        let rejected_queue_full = Counter::default();
        let proofs = Family::<OutcomeLabel, Counter>::default();
        let phase_seconds = Family::<PhaseLabel, Histogram>::new_with_constructor(
            phase_histogram as fn() -> Histogram,
        );
        let proof_bytes = Histogram::new(exponential_buckets(16_384.0, 2.0, 12));
        let verifications = Family::<StatusLabel, Counter>::default();
        registry.register(
            "queue_depth",
            "Proof jobs waiting for a lane",
            queue_depth.clone(),
        );
        registry.register("lanes", "Proving lanes", lanes_gauge);
        registry.register("lanes_busy", "Lanes proving now", lanes_busy.clone());
        registry.register(
            "lane_busy_seconds",
            "Seconds lanes spent proving (utilisation: its rate over lanes)",
            lane_busy_seconds.clone(),
        );
        registry.register(
            "proof_requests",
            "Proof requests accepted (HTTP and JSON-RPC)",
            requests.clone(),
        );
        registry.register(
            "rejected_queue_full",
            "Proof requests refused because the queue was full",
            rejected_queue_full.clone(),
        );
        registry.register("proofs", "Proof jobs finished, by outcome", proofs.clone());
        registry.register(
            "phase_seconds",
            "Wall time of a proof job's phases",
            phase_seconds.clone(),
        );
        registry.register(
            "proof_bytes",
            "Size of finished proofs",
            proof_bytes.clone(),
        );
        registry.register(
            "verifications",
            "Proof verifications, by status",
            verifications.clone(),
        );
        Self {
            registry,
            queue_depth,
            lanes_busy,
            lane_busy_seconds,
            requests,
            rejected_queue_full,
            proofs,
            phase_seconds,
            proof_bytes,
            verifications,
        }
    }

    pub fn observe_phase(&self, phase: &str, seconds: f64) {
        self.phase_seconds
            .get_or_create(&PhaseLabel {
                phase: phase.into(),
            })
            .observe(seconds);
    }

    pub fn count_outcome(&self, outcome: &str) {
        self.proofs
            .get_or_create(&OutcomeLabel {
                outcome: outcome.into(),
            })
            .inc();
    }

    pub fn count_verification(&self, status: &str) {
        self.verifications
            .get_or_create(&StatusLabel {
                status: status.into(),
            })
            .inc();
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
