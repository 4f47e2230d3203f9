//! What a receiver measures on one track, for load tests: packets and bytes,
//! packets lost, freezes and end-to-end latency. Updated once per frame
//! str0m delivers (its `MediaData`), never per packet, so counting costs
//! next to nothing beside the network stack.

use std::ops::RangeInclusive;
use std::time::{Duration, Instant, SystemTime};

/// A video frame arriving this long after the previous one is a freeze: a
/// viewer sees the picture stop. 500 ms (the default of
/// `Options::freeze_after`) is well past the gaps of a 15 fps stream whose
/// encoder skips frames for its bitrate (a few frames, some 200 ms), and
/// short enough to catch a lost keyframe waited for.
pub const FREEZE_AFTER: Duration = Duration::from_millis(500);

/// Counts on one received track.
#[derive(Debug, Clone, Default)]
pub struct Flow {
    /// RTP packets in the frames delivered.
    pub packets: u64,
    /// Sequence numbers skipped between delivered frames: packets that
    /// never arrived (str0m gave up retransmitting them) or belonged to a
    /// frame that could not be completed. The SFU numbers a subscriber's
    /// stream without gaps across its layer switches, so every gap is loss.
    pub lost: u64,
    /// Payload bytes delivered (RTP headers not included).
    pub bytes: u64,
    /// When the first and the latest frame arrived.
    pub first_at: Option<Instant>,
    pub last_at: Option<Instant>,
    /// Gaps between consecutive video frames over the freeze threshold.
    pub freezes: u64,
    /// The longest gap between consecutive frames.
    pub longest_gap: Duration,
    /// Capture (the publisher's abs-capture-time) to arrival.
    pub latency: Latency,
    last_seq: Option<u64>,
}

impl Flow {
    /// One frame of the RTP packets `seq` (extended sequence numbers) that
    /// arrived at `arrived`; a video frame more than `freeze_after` after
    /// the previous one counts a freeze.
    pub fn frame(
        &mut self,
        seq: RangeInclusive<u64>,
        bytes: usize,
        video: bool,
        arrived: Instant,
        captured: Option<SystemTime>,
        freeze_after: Duration,
    ) {
        let (first_seq, last_seq) = (*seq.start(), *seq.end());
        self.packets += last_seq.saturating_sub(first_seq) + 1;
        self.bytes += bytes as u64;
        if let Some(previous) = self.last_seq {
            // Late or repeated numbers (reordering) are no gap.
            self.lost += first_seq.saturating_sub(previous + 1);
        }
        self.last_seq = Some(self.last_seq.map_or(last_seq, |p| p.max(last_seq)));
        if let Some(last) = self.last_at {
            let gap = arrived.saturating_duration_since(last);
            self.longest_gap = self.longest_gap.max(gap);
            if video && gap > freeze_after {
                self.freezes += 1;
            }
        }
        self.first_at.get_or_insert(arrived);
        self.last_at = Some(arrived);
        if let Some(captured) = captured {
            // Wall clocks compare only on one machine (or synchronised
            // ones); the time spent since the packet arrived is taken off.
            let waited = arrived.elapsed();
            if let Ok(age) = SystemTime::now().duration_since(captured) {
                self.latency.record(age.saturating_sub(waited));
            }
        }
    }
}

/// Latencies in 1 ms buckets up to one second, and one bucket above.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Latency {
    buckets: Vec<u32>,
    count: u64,
    total_us: u64,
    max: Duration,
}

const BUCKETS: usize = 1001;

impl Latency {
    pub fn record(&mut self, latency: Duration) {
        if self.buckets.is_empty() {
            self.buckets = vec![0; BUCKETS];
        }
        let ms = (latency.as_millis() as usize).min(BUCKETS - 1);
        self.buckets[ms] += 1;
        self.count += 1;
        self.total_us += latency.as_micros() as u64;
        self.max = self.max.max(latency);
    }

    pub fn merge(&mut self, other: &Latency) {
        if other.buckets.is_empty() {
            return;
        }
        if self.buckets.is_empty() {
            self.buckets = vec![0; BUCKETS];
        }
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
        self.count += other.count;
        self.total_us += other.total_us;
        self.max = self.max.max(other.max);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn mean(&self) -> Option<Duration> {
        (self.count > 0).then(|| Duration::from_micros(self.total_us / self.count))
    }

    pub fn max(&self) -> Duration {
        self.max
    }

    /// The upper edge of the bucket holding the `p`-th percentile (0-100):
    /// the latency that many samples were at or under, to the millisecond.
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        if self.count == 0 {
            return None;
        }
        let rank = ((p / 100.0) * self.count as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (ms, n) in self.buckets.iter().enumerate() {
            seen += u64::from(*n);
            if seen >= rank && ms < BUCKETS - 1 {
                return Some(Duration::from_millis(ms as u64 + 1).min(self.max));
            }
            if seen >= rank {
                break;
            }
        }
        Some(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_between_frames_are_lost_packets_and_reordering_is_not() {
        let t = Instant::now();
        let mut f = Flow::default();
        f.frame(10..=12, 100, true, t, None, FREEZE_AFTER);
        f.frame(13..=13, 10, true, t, None, FREEZE_AFTER);
        f.frame(17..=18, 10, true, t, None, FREEZE_AFTER);
        assert_eq!((f.packets, f.lost), (6, 3));
        f.frame(14..=14, 10, true, t, None, FREEZE_AFTER);
        assert_eq!((f.packets, f.lost), (7, 3), "a late frame is no gap");
        f.frame(19..=19, 10, true, t, None, FREEZE_AFTER);
        assert_eq!(f.lost, 3, "numbering goes on from the highest seen");
        assert_eq!(f.bytes, 140);
    }

    #[test]
    fn a_video_gap_over_the_threshold_is_a_freeze_an_audio_one_is_not() {
        let t = Instant::now();
        let mut video = Flow::default();
        let mut audio = Flow::default();
        for (i, at) in [0, 60, 120, 700, 760, 1400].into_iter().enumerate() {
            let at = t + Duration::from_millis(at);
            video.frame(i as u64..=i as u64, 1, true, at, None, FREEZE_AFTER);
            audio.frame(i as u64..=i as u64, 1, false, at, None, FREEZE_AFTER);
        }
        assert_eq!(video.freezes, 2);
        assert_eq!(audio.freezes, 0);
        assert_eq!(video.longest_gap, Duration::from_millis(640));
        assert_eq!(video.first_at, Some(t));
    }

    #[test]
    fn percentiles_come_from_the_buckets_and_merge() {
        let mut a = Latency::default();
        for ms in 1..=90 {
            a.record(Duration::from_micros(ms * 1000 + 500));
        }
        let mut b = Latency::default();
        for _ in 0..10 {
            b.record(Duration::from_secs(3));
        }
        a.merge(&b);
        assert_eq!(a.count(), 100);
        assert_eq!(a.percentile(50.0), Some(Duration::from_millis(51)));
        assert_eq!(a.percentile(90.0), Some(Duration::from_millis(91)));
        assert_eq!(a.percentile(99.0), Some(Duration::from_secs(3)));
        assert_eq!(a.max(), Duration::from_secs(3));
        assert_eq!(Latency::default().percentile(50.0), None);
    }
}
