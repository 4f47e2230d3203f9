//! What operators watch on the identity side: login outcomes, lockouts and
//! rate-limit refusals (a rise in either is an attack or a broken client).

use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

#[derive(Clone)]
pub struct AuthMetrics {
    logins: IntCounterVec,
    lockouts: IntCounter,
    rate_limited: IntCounter,
}

/// How a login attempt ended.
#[derive(Clone, Copy)]
pub enum LoginOutcome {
    Success,
    InvalidCredentials,
    Locked,
    Deactivated,
}

impl AuthMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let logins = IntCounterVec::new(
            Opts::new("auth_logins_total", "Login attempts by outcome"),
            &["outcome"],
        )?;
        let lockouts = IntCounter::new(
            "auth_lockouts_total",
            "Accounts locked after repeated failed logins",
        )?;
        let rate_limited = IntCounter::new(
            "auth_rate_limited_total",
            "Requests refused by the per-address limit",
        )?;
        registry.register(Box::new(logins.clone()))?;
        registry.register(Box::new(lockouts.clone()))?;
        registry.register(Box::new(rate_limited.clone()))?;
        Ok(AuthMetrics {
            logins,
            lockouts,
            rate_limited,
        })
    }

    pub fn login(&self, outcome: LoginOutcome) {
        let label = match outcome {
            LoginOutcome::Success => "success",
            LoginOutcome::InvalidCredentials => "invalid_credentials",
            LoginOutcome::Locked => "locked",
            LoginOutcome::Deactivated => "deactivated",
        };
        self.logins.with_label_values(&[label]).inc();
    }

    pub fn lockout(&self) {
        self.lockouts.inc();
    }

    pub fn rate_limited(&self) {
        self.rate_limited.inc();
    }
}
