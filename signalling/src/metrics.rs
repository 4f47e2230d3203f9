//! Prometheus metrics of the signalling service.

use prometheus::{IntCounterVec, IntGauge, Opts, Registry};

#[derive(Clone)]
pub struct Metrics {
    /// Joins by outcome: fresh, resumed, resume_refused.
    pub joins: IntCounterVec,
    /// Client messages by type (`invalid` for unreadable ones).
    pub messages: IntCounterVec,
    /// Errors sent to clients, by code.
    pub errors: IntCounterVec,
    pub sockets: IntGauge,
}

impl Metrics {
    pub fn new(registry: &Registry) -> Metrics {
        let counter = |name: &str, help: &str, label: &str| {
            let c = IntCounterVec::new(Opts::new(name, help), &[label]).expect("valid metric");
            // A second hub in one registry (tests) shares the first's series.
            let _ = registry.register(Box::new(c.clone()));
            c
        };
        let sockets = IntGauge::new("signalling_sockets", "Open signalling WebSockets")
            .expect("valid metric");
        let _ = registry.register(Box::new(sockets.clone()));
        Metrics {
            joins: counter("signalling_joins_total", "Joins by outcome", "outcome"),
            messages: counter(
                "signalling_messages_total",
                "Client messages received, by type",
                "type",
            ),
            errors: counter(
                "signalling_errors_total",
                "Errors sent to clients, by code",
                "code",
            ),
            sockets,
        }
    }
}
