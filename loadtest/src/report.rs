//! The numbers of one run, as JSON (`--json`) and as the summary printed at
//! the end. Every figure is defined in `loadtest/README.md`.

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use simpeer::flow::Latency;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    pub target: String,
    pub parameters: Parameters,
    /// Participants that joined, and the errors of those that did not.
    pub joined: usize,
    pub join_failures: Vec<String>,
    /// The measurement window: after everyone's first frame (or the
    /// settling timeout), for `duration`.
    pub measured_seconds: f64,
    pub media: Media,
    pub server: Server,
    pub slo: SloResult,
    pub participants: Vec<ParticipantReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Parameters {
    pub participants: usize,
    pub rooms: usize,
    pub join_rate: f64,
    pub duration_seconds: f64,
    pub decode_sample: f64,
    pub fps: u32,
    pub keyframe_every_seconds: f64,
    pub freeze_after_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Media {
    /// RTP packets the publishers sent (str0m's count, retransmissions
    /// included), read a second after the receivers' final counts.
    pub sent_packets: u64,
    /// RTP packets in the frames receivers got, over the whole run.
    pub received_packets: u64,
    /// Sequence numbers missing between received frames.
    pub lost_packets: u64,
    /// lost / (received + lost).
    pub loss: f64,
    /// Payload bits per second per receiving participant, averaged over the
    /// measurement window.
    pub bitrate_kbps_per_receiver: f64,
    pub video_frames: u64,
    pub audio_frames: u64,
    /// Video gaps over `freeze_after_ms`, summed over every received track.
    pub freezes: u64,
    /// Those within the measurement window (the rest came while joining
    /// and settling).
    pub freezes_measuring: u64,
    pub receivers_with_freezes: usize,
    pub longest_gap_ms: f64,
    /// abs-capture-time at the publisher to the frame's first packet here.
    pub latency_ms: Option<Spread>,
    /// From joining (or the publisher joining, if later) to every expected
    /// video track's first frame.
    pub first_frame_ms: Option<Spread>,
    /// Receivers that missed the first frame of a video track they expected.
    pub without_first_frame: usize,
    /// Decoding subscribers whose last frame is smaller than they asked
    /// for (and not the largest layer): the server sent a lower layer.
    pub below_asked_size: usize,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Spread {
    pub samples: u64,
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Spread {
    pub fn of_latency(l: &Latency) -> Option<Spread> {
        Some(Spread {
            samples: l.count(),
            mean: ms(l.mean()?),
            p50: ms(l.percentile(50.0)?),
            p95: ms(l.percentile(95.0)?),
            p99: ms(l.percentile(99.0)?),
            max: ms(l.max()),
        })
    }

    /// Nearest-rank percentiles of a few values (one per participant).
    pub fn of(mut values: Vec<Duration>) -> Option<Spread> {
        values.sort_unstable();
        let n = values.len();
        let at = |p: f64| ms(values[((p / 100.0 * n as f64).ceil() as usize).clamp(1, n) - 1]);
        let total: Duration = values.iter().sum();
        (n > 0).then(|| Spread {
            samples: n as u64,
            mean: ms(total / n as u32),
            p50: at(50.0),
            p95: at(95.0),
            p99: at(99.0),
            max: ms(values[n - 1]),
        })
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Server {
    /// Process CPU time spent in the measurement window.
    pub cpu_seconds: Option<f64>,
    /// `sfu_forwarded_packets_total` over the window.
    pub forwarded_packets: Option<f64>,
    pub cpu_us_per_forwarded_packet: Option<f64>,
    /// The media workers' threads only (`sfu_worker_cpu_seconds_total`).
    pub worker_cpu_us_per_forwarded_packet: Option<f64>,
    /// RTP packets all receivers got in the window, counted by them.
    pub received_packets: u64,
    /// Process CPU over `received_packets`: the same measure for any server
    /// (the side-by-side comparison uses it).
    pub cpu_us_per_received_packet: Option<f64>,
    pub rss_before_mb: Option<f64>,
    pub rss_joined_mb: Option<f64>,
    /// (RSS with everyone joined - RSS before) / participants joined.
    pub rss_per_participant_kb: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SloResult {
    pub max_loss: Option<f64>,
    pub max_latency_p99_ms: Option<f64>,
    pub max_freezes: Option<u64>,
    /// One line per objective missed; empty when the run passed.
    pub missed: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParticipantReport {
    pub room: String,
    pub name: String,
    pub publishes: bool,
    /// The size asked for (subscribers).
    pub asked: Option<[u32; 2]>,
    pub decodes: bool,
    pub expected_video_tracks: usize,
    /// Video tracks that delivered at least a frame.
    pub video_tracks: usize,
    pub audio_tracks: usize,
    pub received_packets: u64,
    pub lost_packets: u64,
    pub bytes: u64,
    pub video_frames: u64,
    pub audio_frames: u64,
    pub freezes: u64,
    pub longest_gap_ms: f64,
    pub first_frame_ms: Option<f64>,
    /// The sizes decoded, each change in order, track after track
    /// (decoding participants only).
    pub sizes: Vec<[u32; 2]>,
    pub decode_errors: u64,
    /// What this participant published, when it publishes.
    pub sent_packets: u64,
}

fn opt(v: Option<f64>, unit: &str, digits: usize) -> String {
    v.map_or("n/a".to_owned(), |v| format!("{v:.digits$} {unit}"))
}

fn spread(s: &Option<Spread>) -> String {
    s.map_or("n/a".to_owned(), |s| {
        format!(
            "p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({} samples)",
            s.p50, s.p95, s.p99, s.max, s.samples
        )
    })
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.parameters;
        let m = &self.media;
        let s = &self.server;
        writeln!(
            f,
            "{} against {}: {} participants in {} room(s), {} joined, {:.1} s measured",
            self.scenario, self.target, p.participants, p.rooms, self.joined, self.measured_seconds
        )?;
        for e in &self.join_failures {
            writeln!(f, "  join failed: {e}")?;
        }
        writeln!(
            f,
            "  packets     sent {} / received {} / lost {}  => loss {:.3}%",
            m.sent_packets,
            m.received_packets,
            m.lost_packets,
            m.loss * 100.0
        )?;
        writeln!(
            f,
            "  bitrate     {:.0} kbit/s per receiver; {} video frames, {} audio frames",
            m.bitrate_kbps_per_receiver, m.video_frames, m.audio_frames
        )?;
        writeln!(
            f,
            "  freezes     {} (gaps > {:.0} ms; {} while measuring) on {} receiver(s); longest gap {:.0} ms",
            m.freezes,
            p.freeze_after_ms,
            m.freezes_measuring,
            m.receivers_with_freezes,
            m.longest_gap_ms
        )?;
        writeln!(f, "  latency     {}", spread(&m.latency_ms))?;
        writeln!(
            f,
            "  first frame {}; {} receiver(s) without; {} below the size asked",
            spread(&m.first_frame_ms),
            m.without_first_frame,
            m.below_asked_size
        )?;
        writeln!(
            f,
            "  server CPU  {} for {} forwarded packets => {} per packet (media workers: {})",
            opt(s.cpu_seconds, "s", 2),
            opt(s.forwarded_packets, "", 0).trim_end(),
            opt(s.cpu_us_per_forwarded_packet, "us", 2),
            opt(s.worker_cpu_us_per_forwarded_packet, "us", 2)
        )?;
        writeln!(
            f,
            "  per received packet  {} for the {} RTP packets the receivers got",
            opt(s.cpu_us_per_received_packet, "us", 2),
            s.received_packets
        )?;
        writeln!(
            f,
            "  server RSS  {} before, {} joined => {} per participant",
            opt(s.rss_before_mb, "MB", 1),
            opt(s.rss_joined_mb, "MB", 1),
            opt(s.rss_per_participant_kb, "KB", 0)
        )?;
        match self.slo.missed.is_empty() {
            true => writeln!(f, "  SLO         met"),
            false => {
                for miss in &self.slo.missed {
                    writeln!(f, "  SLO MISSED  {miss}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_of_a_few_values_use_the_nearest_rank() {
        let values = (1..=10).map(Duration::from_millis).collect();
        let s = Spread::of(values).unwrap();
        assert_eq!((s.p50, s.p95, s.max, s.mean), (5.0, 10.0, 10.0, 5.5));
        assert!(Spread::of(Vec::new()).is_none());
    }
}
