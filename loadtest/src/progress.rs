//! The line on stderr while a run goes: joined, packet and bit rates over
//! the last second, loss and freezes so far. Rewritten in place on a
//! terminal; a new line every five seconds otherwise (logs).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Totals over every participant at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Totals {
    pub joined: usize,
    pub failed: usize,
    pub packets: u64,
    pub lost: u64,
    pub bytes: u64,
    pub freezes: u64,
}

pub struct Progress {
    started: Instant,
    expected: usize,
    last: Option<(Instant, Totals)>,
    terminal: bool,
    printed: u64,
}

impl Progress {
    pub fn new(expected: usize) -> Progress {
        Progress {
            started: Instant::now(),
            expected,
            last: None,
            terminal: std::io::stderr().is_terminal(),
            printed: 0,
        }
    }

    /// Shows `now`'s totals, with rates since the previous call.
    pub fn show(&mut self, phase: &str, totals: Totals) {
        let now = Instant::now();
        let (pps, bps) = match self.last {
            Some((at, t)) => {
                let dt = now.duration_since(at).as_secs_f64().max(1e-3);
                (
                    totals.packets.saturating_sub(t.packets) as f64 / dt,
                    totals.bytes.saturating_sub(t.bytes) as f64 * 8.0 / dt,
                )
            }
            None => (0.0, 0.0),
        };
        self.last = Some((now, totals));
        let loss = match totals.packets + totals.lost {
            0 => 0.0,
            n => totals.lost as f64 / n as f64 * 100.0,
        };
        let line = format!(
            "[{:>4}s] {phase:<9} joined {}/{}{} | rx {:.0} pkt/s {:.1} Mbit/s | loss {:.3}% | freezes {}",
            now.duration_since(self.started).as_secs(),
            totals.joined,
            self.expected,
            match totals.failed {
                0 => String::new(),
                n => format!(" ({n} failed)"),
            },
            pps,
            bps / 1e6,
            loss,
            totals.freezes
        );
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r{line}\x1b[K");
        } else if self.printed.is_multiple_of(5) {
            let _ = writeln!(err, "{line}");
        }
        self.printed += 1;
        let _ = err.flush();
    }

    /// Ends the line in place before the summary.
    pub fn finish(&self) {
        if self.terminal {
            eprintln!();
        }
    }

    pub const EVERY: Duration = Duration::from_secs(1);
}
