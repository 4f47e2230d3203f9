//! The SFU's Prometheus metrics. Label children are resolved once per worker
//! so the forwarding path only touches atomics.

use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

use crate::demux::{Class, Drop};

#[derive(Clone)]
pub struct Metrics {
    pub rooms: IntGaugeVec,
    pub participants: IntGaugeVec,
    pub tracks: IntGaugeVec,
    packets: IntCounterVec,
    bytes: IntCounterVec,
    pub forwarded: IntCounterVec,
    feedback: IntCounterVec,
    pub layer_switches: IntCounterVec,
    drops: IntCounterVec,
    cpu_seconds: prometheus::CounterVec,
    latency: Histogram,
}

fn register<T: prometheus::core::Collector + Clone + 'static>(registry: &Registry, c: T) -> T {
    // A second node in one process (tests) shares the first one's series.
    let _ = registry.register(Box::new(c.clone()));
    c
}

impl Metrics {
    pub fn new(registry: &Registry) -> Metrics {
        let gauge = |name: &str, help: &str| {
            register(
                registry,
                IntGaugeVec::new(Opts::new(name, help), &["worker"]).expect("valid metric"),
            )
        };
        let counter = |name: &str, help: &str, labels: &[&str]| {
            register(
                registry,
                IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric"),
            )
        };
        Metrics {
            rooms: gauge("sfu_rooms", "Rooms open on this node."),
            participants: gauge("sfu_participants", "Participants connected to this node."),
            tracks: gauge("sfu_tracks", "Published tracks on this node."),
            packets: counter(
                "sfu_packets_total",
                "UDP datagrams by direction and kind.",
                &["worker", "direction", "kind"],
            ),
            bytes: counter(
                "sfu_bytes_total",
                "UDP bytes by direction and kind.",
                &["worker", "direction", "kind"],
            ),
            forwarded: counter(
                "sfu_forwarded_packets_total",
                "RTP packets written towards subscribers.",
                &["worker"],
            ),
            feedback: counter(
                "sfu_feedback_total",
                "NACKs received, keyframe requests sent to publishers.",
                &["worker", "kind"],
            ),
            layer_switches: counter(
                "sfu_layer_switches_total",
                "Simulcast layer changes of subscribers.",
                &["worker"],
            ),
            drops: counter(
                "sfu_dropped_datagrams_total",
                "Input dropped before or by a peer, by reason.",
                &["worker", "reason"],
            ),
            cpu_seconds: register(
                registry,
                prometheus::CounterVec::new(
                    Opts::new(
                        "sfu_worker_cpu_seconds_total",
                        "CPU time of each worker thread.",
                    ),
                    &["worker"],
                )
                .expect("valid metric"),
            ),
            latency: register(
                registry,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "sfu_forwarding_latency_microseconds",
                        "From a datagram's receipt to its forwarded copies handed to the socket.",
                    )
                    .buckets(vec![
                        5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 10000.0,
                    ]),
                )
                .expect("valid metric"),
            ),
        }
    }

    pub fn worker(&self, worker: usize) -> WorkerMetrics {
        let w = worker.to_string();
        let io = |v: &IntCounterVec, dir: &str, kind: &str| v.with_label_values(&[&w, dir, kind]);
        WorkerMetrics {
            rooms: self.rooms.with_label_values(&[&w]),
            participants: self.participants.with_label_values(&[&w]),
            tracks: self.tracks.with_label_values(&[&w]),
            packets_in: Class::LABELS.map(|k| io(&self.packets, "in", k)),
            bytes_in: Class::LABELS.map(|k| io(&self.bytes, "in", k)),
            packets_out: Class::LABELS.map(|k| io(&self.packets, "out", k)),
            bytes_out: Class::LABELS.map(|k| io(&self.bytes, "out", k)),
            forwarded: self.forwarded.with_label_values(&[&w]),
            nacks: self.feedback.with_label_values(&[&w, "nack"]),
            keyframe_requests: self.feedback.with_label_values(&[&w, "pli"]),
            layer_switches: self.layer_switches.with_label_values(&[&w]),
            drops: Drop::ALL.map(|d| self.drops.with_label_values(&[&w, d.label()])),
            peer_errors: self.drops.with_label_values(&[&w, "peer_rejected"]),
            send_failures: self.drops.with_label_values(&[&w, "send_failed"]),
            unroutable: self.drops.with_label_values(&[&w, "unroutable_rtp"]),
            cpu_seconds: self.cpu_seconds.with_label_values(&[&w]),
            latency: self.latency.clone(),
        }
    }
}

pub struct WorkerMetrics {
    pub rooms: IntGauge,
    pub participants: IntGauge,
    pub tracks: IntGauge,
    /// Indexed by `demux::Class`.
    pub packets_in: [IntCounter; Class::LABELS.len()],
    pub bytes_in: [IntCounter; Class::LABELS.len()],
    /// Indexed by `demux::Class`, as `packets_in`.
    pub packets_out: [IntCounter; Class::LABELS.len()],
    pub bytes_out: [IntCounter; Class::LABELS.len()],
    pub forwarded: IntCounter,
    pub nacks: IntCounter,
    pub keyframe_requests: IntCounter,
    pub layer_switches: IntCounter,
    /// Indexed like `Drop::ALL`.
    pub drops: [IntCounter; Drop::ALL.len()],
    pub peer_errors: IntCounter,
    /// Outgoing datagrams the kernel refused.
    pub send_failures: IntCounter,
    pub unroutable: IntCounter,
    pub cpu_seconds: prometheus::Counter,
    pub latency: Histogram,
}

impl WorkerMetrics {
    pub fn dropped(&self, reason: Drop) {
        let i = Drop::ALL.iter().position(|d| *d == reason).unwrap_or(0);
        self.drops[i].inc();
    }
}
