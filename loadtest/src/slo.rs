//! Service-level objectives a run must meet, and which one it missed.

use std::time::Duration;

use crate::report::{Report, SloResult};

#[derive(Debug, Clone, Copy, Default)]
pub struct Slo {
    /// Largest packet loss, as a fraction (0.01 is 1%).
    pub max_loss: Option<f64>,
    /// Largest 99th percentile of end-to-end latency.
    pub max_latency: Option<Duration>,
    /// Most freezes, over every received video track.
    pub max_freezes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?}: expected a fraction (0.01) or a percentage (1%) between 0 and 100%")]
pub struct BadFraction(pub String);

/// `1%` or `0.01`.
pub fn parse_fraction(text: &str) -> Result<f64, BadFraction> {
    let bad = || BadFraction(text.to_owned());
    let value = match text.trim().strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map_err(|_| bad())? / 100.0,
        None => text.trim().parse::<f64>().map_err(|_| bad())?,
    };
    match (0.0..=1.0).contains(&value) {
        true => Ok(value),
        false => Err(bad()),
    }
}

impl Slo {
    /// The objectives against the report's figures. A run where someone
    /// could not join, or waited in vain for a video, always misses.
    pub fn check(&self, report: &Report) -> SloResult {
        let m = &report.media;
        let mut missed = Vec::new();
        if !report.join_failures.is_empty() {
            missed.push(format!(
                "joins: {} participant(s) could not join",
                report.join_failures.len()
            ));
        }
        if m.without_first_frame > 0 {
            missed.push(format!(
                "first frame: {} receiver(s) never got a video they expected",
                m.without_first_frame
            ));
        }
        if let Some(max) = self.max_loss {
            if m.loss > max {
                missed.push(format!(
                    "loss: {:.3}% > {:.3}%",
                    m.loss * 100.0,
                    max * 100.0
                ));
            }
        }
        if let Some(max) = self.max_latency {
            match &m.latency_ms {
                Some(l) if l.p99 > max.as_secs_f64() * 1000.0 => missed.push(format!(
                    "latency: p99 {:.0} ms > {} ms",
                    l.p99,
                    max.as_millis()
                )),
                Some(_) => {}
                None => missed.push("latency: no sample measured".to_owned()),
            }
        }
        if let Some(max) = self.max_freezes {
            if m.freezes > max {
                missed.push(format!("freezes: {} > {max}", m.freezes));
            }
        }
        SloResult {
            max_loss: self.max_loss,
            max_latency_p99_ms: self.max_latency.map(|d| d.as_secs_f64() * 1000.0),
            max_freezes: self.max_freezes,
            missed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_read_as_percentages_or_plain() {
        assert_eq!(parse_fraction("1%"), Ok(0.01));
        assert_eq!(parse_fraction("0.5"), Ok(0.5));
        assert_eq!(parse_fraction(" 0 % "), Ok(0.0));
        assert!(parse_fraction("150%").is_err());
        assert!(parse_fraction("one").is_err());
    }
}
