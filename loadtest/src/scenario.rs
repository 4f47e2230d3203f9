//! The scenarios and one run of them: who joins which room, publishing or
//! asking for which size; joining at the given rate; waiting for every
//! first frame; measuring for the given duration; the report.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use simpeer::flow::Latency;
use simpeer::{Options, Size, Stats, SIMULCAST};

use crate::layout::Layout;
use crate::progress::{Progress, Totals};
use crate::report::{Media, Parameters, ParticipantReport, Report, Server, Spread};
use crate::server::{self, Sample};
use crate::slo::Slo;
use crate::target::{Participant, Target, TargetError};

#[derive(Debug, Clone)]
pub enum Scenario {
    /// `rooms` 1:1 rooms, both sides publishing camera and microphone and
    /// receiving the other's.
    Consultations { rooms: usize },
    /// One room of `publishers`, each receiving everyone else.
    Meeting { publishers: usize },
    /// One simulcast publisher and receive-only subscribers asking for the
    /// layout's sizes.
    Fanout { layout: Layout },
}

impl Scenario {
    pub fn name(&self) -> &'static str {
        match self {
            Scenario::Consultations { .. } => "consultations",
            Scenario::Meeting { .. } => "meeting",
            Scenario::Fanout { .. } => "fanout",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub scenario: Scenario,
    /// Participants starting to join per second.
    pub join_rate: f64,
    /// The measurement window, after everyone's first frame.
    pub duration: Duration,
    /// The fraction of receivers that decode what they get (the rest only
    /// count): decoding checks the media and shows sizes, and costs the
    /// load generator's CPU.
    pub decode_sample: f64,
    pub fps: u32,
    /// The length of the pre-encoded loop, which starts with a keyframe.
    pub keyframe_every: Duration,
    /// How long to wait for every first frame before measuring anyway.
    pub settle: Duration,
    /// A gap between video frames over this is a freeze.
    pub freeze_after: Duration,
    /// Show the progress line on stderr.
    pub progress: bool,
    pub slo: Slo,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("encoding the media loop: {0}")]
    Encoding(String),
    #[error("nobody to join: the scenario has no participant")]
    Empty,
}

#[derive(Debug, Clone)]
struct Member {
    room: String,
    name: String,
    /// `None` for a publisher; the size asked for by a subscriber.
    want: Option<Size>,
    decode: bool,
    /// Video tracks it should receive.
    expects: usize,
}

/// Spreads `fraction` of `n` evenly: member `i` decodes when the running
/// share crosses a whole number.
fn decodes(i: usize, fraction: f64) -> bool {
    ((i + 1) as f64 * fraction).floor() > (i as f64 * fraction).floor()
}

impl Plan {
    fn members(&self, run: &str) -> Vec<Member> {
        let member = |room: String, name: String, want, expects| Member {
            room,
            name,
            want,
            decode: false,
            expects,
        };
        let mut members: Vec<Member> =
            match &self.scenario {
                Scenario::Consultations { rooms } => (0..*rooms)
                    .flat_map(|r| {
                        let room = format!("{run}-c{r}");
                        ["expert", "client"].map(|n| member(room.clone(), n.to_owned(), None, 1))
                    })
                    .collect(),
                Scenario::Meeting { publishers } => (0..*publishers)
                    .map(|i| member(format!("{run}-m"), format!("p{i}"), None, publishers - 1))
                    .collect(),
                Scenario::Fanout { layout } => {
                    let room = format!("{run}-f");
                    std::iter::once(member(room.clone(), "publisher".to_owned(), None, 0))
                        .chain(
                            layout.sizes().into_iter().enumerate().map(|(i, size)| {
                                member(room.clone(), format!("s{i}"), Some(size), 1)
                            }),
                        )
                        .collect()
                }
            };
        // Only receivers count for the sample.
        for (receiver, m) in members.iter_mut().filter(|m| m.expects > 0).enumerate() {
            m.decode = decodes(receiver, self.decode_sample);
        }
        members
    }

    fn options(&self, member: &Member) -> Options {
        let frames = (self.fps as f64 * self.keyframe_every.as_secs_f64()).round() as u32;
        Options {
            camera: SIMULCAST.to_vec(),
            microphone: true,
            fps: self.fps,
            decode: member.decode,
            prerecorded: Some(frames.max(1)),
            freeze_after: self.freeze_after,
            ..Options::default()
        }
    }
}

struct Joined {
    participant: Participant,
    started: Instant,
}

type Slots = Arc<Mutex<Vec<Option<Result<Joined, TargetError>>>>>;

fn totals(slots: &Slots) -> Totals {
    let slots = slots.lock().expect("slots");
    let mut t = Totals::default();
    for slot in slots.iter().flatten() {
        match slot {
            Ok(j) => {
                t.joined += 1;
                for r in j.participant.stats().tracks.values() {
                    t.packets += r.flow.packets;
                    t.lost += r.flow.lost;
                    t.bytes += r.flow.bytes;
                    t.freezes += r.flow.freezes;
                }
            }
            Err(_) => t.failed += 1,
        }
    }
    t
}

/// The video tracks that delivered a frame, and when the first did.
fn video_firsts(stats: &Stats) -> Vec<Instant> {
    stats
        .tracks
        .values()
        .filter(|r| r.video_frames > 0)
        .filter_map(|r| r.flow.first_at)
        .collect()
}

/// Whether a decoded `size` is what a subscriber asking for `want` should
/// get: at least as large, or the largest layer published.
fn as_asked(want: Size, size: Size) -> bool {
    let largest = SIMULCAST[SIMULCAST.len() - 1].1;
    (size.width >= want.width && size.height >= want.height) || size == largest
}

/// Still settling: a video expected but not arrived yet, or a decoding
/// subscriber that never got its size yet (the server's bandwidth
/// estimate ramps up before the larger layers flow).
fn settling(m: &Member, stats: &Stats) -> bool {
    let never_as_asked = |want: Size| {
        stats
            .tracks
            .values()
            .any(|r| !r.sizes.iter().any(|size| as_asked(want, *size)))
    };
    video_firsts(stats).len() < m.expects
        || matches!((m.want, m.decode), (Some(want), true) if never_as_asked(want))
}

/// A decoding subscriber whose last frame was smaller than asked: the
/// server's bandwidth estimate (or a layer gone) holds it lower.
fn below_asked(m: &Member, stats: &Stats) -> bool {
    match (m.want, m.decode) {
        (Some(want), true) => stats
            .tracks
            .values()
            .filter_map(|r| r.size)
            .any(|size| !as_asked(want, size)),
        _ => false,
    }
}

/// Runs `plan` against `target` and reports; the SLO verdict is in
/// `report.slo`.
pub async fn run(target: Arc<dyn Target>, plan: &Plan) -> Result<Report, RunError> {
    let http = reqwest::Client::new();
    let probe = target.server();
    let frames = plan.options(&Member {
        room: String::new(),
        name: String::new(),
        want: None,
        decode: false,
        expects: 0,
    });
    // Encoded once, before anyone joins, and shared by every publisher.
    let (fps, loop_frames) = (frames.fps, frames.prerecorded.unwrap_or(1));
    tokio::task::spawn_blocking(move || {
        SIMULCAST
            .iter()
            .try_for_each(|(_, size)| simpeer::prerecorded(*size, fps, loop_frames).map(drop))
    })
    .await
    .map_err(|e| RunError::Encoding(e.to_string()))?
    .map_err(RunError::Encoding)?;

    let run_id = format!(
        "lt{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
    );
    let members = plan.members(&run_id);
    if members.is_empty() {
        return Err(RunError::Empty);
    }
    let before = server::sample(&probe, &http).await;
    let mut progress = plan.progress.then(|| Progress::new(members.len()));
    let slots: Slots = Arc::new(Mutex::new((0..members.len()).map(|_| None).collect()));

    // Join at the rate asked, each join on its own task so a slow one does
    // not hold the schedule up.
    let start = tokio::time::Instant::now();
    let mut joins = Vec::new();
    let mut next_progress = start + Progress::EVERY;
    for (i, m) in members.iter().enumerate() {
        let at = start + Duration::from_secs_f64(i as f64 / plan.join_rate.max(1e-3));
        while next_progress < at {
            tokio::time::sleep_until(next_progress).await;
            if let Some(p) = &mut progress {
                p.show("joining", totals(&slots));
            }
            next_progress += Progress::EVERY;
        }
        tokio::time::sleep_until(at).await;
        let (target, slots, m, options) =
            (target.clone(), slots.clone(), m.clone(), plan.options(m));
        joins.push(tokio::spawn(async move {
            let started = Instant::now();
            let joined = match m.want {
                None => target.publish(&m.room, &m.name, options).await,
                Some(size) => target.subscribe(&m.room, &m.name, size, options).await,
            };
            slots.lock().expect("slots")[i] = Some(joined.map(|participant| Joined {
                participant,
                started,
            }));
        }));
    }
    for j in joins {
        let _ = j.await;
    }

    // Everyone's first frames, or the settling time, whichever first.
    let settled_by = Instant::now() + plan.settle;
    loop {
        let waiting = {
            let slots = slots.lock().expect("slots");
            members.iter().zip(slots.iter()).any(|(m, s)| match s {
                Some(Ok(j)) => settling(m, &j.participant.stats()),
                _ => false,
            })
        };
        if !waiting || Instant::now() > settled_by {
            break;
        }
        if let Some(p) = &mut progress {
            p.show("settling", totals(&slots));
        }
        tokio::time::sleep(Progress::EVERY).await;
    }

    let joined_sample = server::sample(&probe, &http).await;
    let window_start = window_counts(&slots);
    let measure_end = tokio::time::Instant::now() + plan.duration;
    while tokio::time::Instant::now() < measure_end {
        tokio::time::sleep_until((tokio::time::Instant::now() + Progress::EVERY).min(measure_end))
            .await;
        if let Some(p) = &mut progress {
            p.show("measuring", totals(&slots));
        }
    }
    let end_sample = server::sample(&probe, &http).await;
    let window_end = window_counts(&slots);
    let finals: Vec<Option<Stats>> = stats_of(&slots);
    // Publishers' sent counts come from str0m's statistics, up to a second
    // late: read after a second more so they cover what was received.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let sent: Vec<u64> = stats_of(&slots)
        .iter()
        .map(|s| {
            s.as_ref()
                .map_or(0, |s| s.sent.values().map(|v| v.packets).sum())
        })
        .collect();
    if let Some(p) = &progress {
        p.finish();
    }

    let slots_taken: Vec<Option<Result<Joined, TargetError>>> =
        std::mem::take(&mut *slots.lock().expect("slots"));
    for j in slots_taken.iter().flatten().flatten() {
        j.participant.session.leave();
    }
    let starts: Vec<Option<Instant>> = slots_taken
        .iter()
        .map(|s| match s {
            Some(Ok(j)) => Some(j.started),
            _ => None,
        })
        .collect();
    let failures: Vec<String> = slots_taken
        .iter()
        .flatten()
        .filter_map(|s| s.as_ref().err().map(|e| e.to_string()))
        .collect();
    // Leaving is sent; give the sockets a moment before the peers stop.
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(slots_taken);

    let window = end_sample.at.duration_since(joined_sample.at);
    let mut report = Report {
        scenario: plan.scenario.name().to_owned(),
        target: target.name().to_owned(),
        parameters: Parameters {
            participants: members.len(),
            rooms: {
                let mut rooms: Vec<&str> = members.iter().map(|m| m.room.as_str()).collect();
                rooms.dedup();
                rooms.len()
            },
            join_rate: plan.join_rate,
            duration_seconds: plan.duration.as_secs_f64(),
            decode_sample: plan.decode_sample,
            fps: plan.fps,
            keyframe_every_seconds: plan.keyframe_every.as_secs_f64(),
            freeze_after_ms: plan.freeze_after.as_secs_f64() * 1000.0,
        },
        joined: starts.iter().flatten().count(),
        join_failures: failures,
        measured_seconds: window.as_secs_f64(),
        media: media(
            &members,
            &finals,
            &starts,
            &sent,
            &window_start,
            &window_end,
            window,
        ),
        server: server_figures(
            &before,
            &joined_sample,
            &end_sample,
            window_end
                .iter()
                .zip(&window_start)
                .map(|(e, s)| e.packets.saturating_sub(s.packets))
                .sum(),
        ),
        slo: Default::default(),
        participants: participants(&members, &finals, &starts, &sent),
    };
    if let Some(rss) = report.server.rss_joined_mb.zip(report.server.rss_before_mb) {
        report.server.rss_per_participant_kb =
            (report.joined > 0).then(|| (rss.0 - rss.1) * 1024.0 / report.joined as f64);
    }
    report.slo = plan.slo.check(&report);
    Ok(report)
}

fn stats_of(slots: &Slots) -> Vec<Option<Stats>> {
    slots
        .lock()
        .expect("slots")
        .iter()
        .map(|s| match s {
            Some(Ok(j)) => Some(j.participant.stats()),
            _ => None,
        })
        .collect()
}

/// Bytes received and freezes so far, by participant: the measurement
/// window's figures are the differences.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    bytes: u64,
    freezes: u64,
    packets: u64,
}

fn window_counts(slots: &Slots) -> Vec<Counts> {
    stats_of(slots)
        .iter()
        .map(|s| {
            s.as_ref().map_or(Counts::default(), |s| Counts {
                bytes: s.tracks.values().map(|r| r.flow.bytes).sum(),
                freezes: s.tracks.values().map(|r| r.flow.freezes).sum(),
                packets: s.tracks.values().map(|r| r.flow.packets).sum(),
            })
        })
        .collect()
}

/// When each member's video could first arrive: its own join, or the
/// latest join of a publisher in its room if that came later.
fn baselines(members: &[Member], starts: &[Option<Instant>]) -> Vec<Option<Instant>> {
    let mut last_publisher: HashMap<&str, Instant> = HashMap::new();
    for (m, s) in members.iter().zip(starts) {
        if let (None, Some(s)) = (m.want, s) {
            let e = last_publisher.entry(m.room.as_str()).or_insert(*s);
            *e = (*e).max(*s);
        }
    }
    members
        .iter()
        .zip(starts)
        .map(|(m, s)| {
            let s = (*s)?;
            Some(last_publisher.get(m.room.as_str()).map_or(s, |p| s.max(*p)))
        })
        .collect()
}

/// The time to the last expected video's first frame, if all came.
fn first_frame(m: &Member, stats: &Stats, baseline: Option<Instant>) -> Option<Duration> {
    let firsts = video_firsts(stats);
    if m.expects == 0 || firsts.len() < m.expects {
        return None;
    }
    let last = firsts.into_iter().max()?;
    Some(last.saturating_duration_since(baseline?))
}

fn media(
    members: &[Member],
    finals: &[Option<Stats>],
    starts: &[Option<Instant>],
    sent: &[u64],
    window_start: &[Counts],
    window_end: &[Counts],
    window: Duration,
) -> Media {
    let baselines = baselines(members, starts);
    let mut latency = Latency::default();
    let mut firsts = Vec::new();
    let (mut packets, mut lost, mut video, mut audio, mut freezes) = (0, 0, 0, 0, 0);
    let (mut with_freezes, mut without_first, mut receivers, mut below) = (0, 0, 0, 0);
    let mut longest = Duration::ZERO;
    for (i, m) in members.iter().enumerate() {
        let Some(s) = &finals[i] else { continue };
        let mut froze = false;
        for r in s.tracks.values() {
            packets += r.flow.packets;
            lost += r.flow.lost;
            video += r.video_frames;
            audio += r.audio_frames;
            freezes += r.flow.freezes;
            froze |= r.flow.freezes > 0;
            longest = longest.max(r.flow.longest_gap);
            latency.merge(&r.flow.latency);
        }
        with_freezes += usize::from(froze);
        below += usize::from(below_asked(m, s));
        if m.expects > 0 {
            receivers += 1;
            match first_frame(m, s, baselines[i]) {
                Some(d) => firsts.push(d),
                None => without_first += 1,
            }
        }
    }
    let in_window = |count: fn(&Counts) -> u64| -> u64 {
        window_end
            .iter()
            .zip(window_start)
            .map(|(e, s)| count(e).saturating_sub(count(s)))
            .sum()
    };
    let bytes = in_window(|c| c.bytes);
    Media {
        sent_packets: sent.iter().sum(),
        received_packets: packets,
        lost_packets: lost,
        loss: match packets + lost {
            0 => 0.0,
            n => lost as f64 / n as f64,
        },
        bitrate_kbps_per_receiver: match receivers {
            0 => 0.0,
            n => bytes as f64 * 8.0 / 1000.0 / window.as_secs_f64().max(1e-3) / n as f64,
        },
        video_frames: video,
        audio_frames: audio,
        freezes,
        freezes_measuring: in_window(|c| c.freezes),
        receivers_with_freezes: with_freezes,
        longest_gap_ms: longest.as_secs_f64() * 1000.0,
        latency_ms: Spread::of_latency(&latency),
        first_frame_ms: Spread::of(firsts),
        without_first_frame: without_first,
        below_asked_size: below,
    }
}

fn participants(
    members: &[Member],
    finals: &[Option<Stats>],
    starts: &[Option<Instant>],
    sent: &[u64],
) -> Vec<ParticipantReport> {
    let baselines = baselines(members, starts);
    members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let empty = Stats::default();
            let s = finals[i].as_ref().unwrap_or(&empty);
            let tracks = || s.tracks.values();
            ParticipantReport {
                room: m.room.clone(),
                name: m.name.clone(),
                publishes: m.want.is_none(),
                asked: m.want.map(|w| [w.width, w.height]),
                decodes: m.decode,
                expected_video_tracks: m.expects,
                video_tracks: tracks().filter(|r| r.video_frames > 0).count(),
                audio_tracks: tracks().filter(|r| r.audio_frames > 0).count(),
                received_packets: tracks().map(|r| r.flow.packets).sum(),
                lost_packets: tracks().map(|r| r.flow.lost).sum(),
                bytes: tracks().map(|r| r.flow.bytes).sum(),
                video_frames: tracks().map(|r| r.video_frames).sum(),
                audio_frames: tracks().map(|r| r.audio_frames).sum(),
                freezes: tracks().map(|r| r.flow.freezes).sum(),
                longest_gap_ms: tracks()
                    .map(|r| r.flow.longest_gap.as_secs_f64() * 1000.0)
                    .fold(0.0, f64::max),
                first_frame_ms: first_frame(m, s, baselines[i]).map(|d| d.as_secs_f64() * 1000.0),
                sizes: tracks()
                    .flat_map(|r| &r.sizes)
                    .map(|s| [s.width, s.height])
                    .collect(),
                decode_errors: tracks().map(|r| r.decode_errors).sum(),
                sent_packets: sent[i],
            }
        })
        .collect()
}

/// `received`: RTP packets all receivers got in the window, which any
/// server can be measured by (Janus exports no forwarded count).
fn server_figures(before: &Sample, joined: &Sample, end: &Sample, received: u64) -> Server {
    let diff = |a: Option<f64>, b: Option<f64>| Some(b? - a?);
    let cpu = diff(joined.cpu_seconds, end.cpu_seconds);
    let forwarded = diff(joined.forwarded, end.forwarded);
    let worker = diff(joined.worker_cpu_seconds, end.worker_cpu_seconds);
    let per_packet = |cpu: Option<f64>| {
        let f = forwarded.filter(|f| *f > 0.0)?;
        Some(cpu? * 1e6 / f)
    };
    let mb = |b: Option<u64>| b.map(|b| b as f64 / (1024.0 * 1024.0));
    Server {
        cpu_seconds: cpu,
        forwarded_packets: forwarded,
        cpu_us_per_forwarded_packet: per_packet(cpu),
        worker_cpu_us_per_forwarded_packet: per_packet(worker),
        received_packets: received,
        cpu_us_per_received_packet: cpu
            .filter(|_| received > 0)
            .map(|c| c * 1e6 / received as f64),
        rss_before_mb: mb(before.rss_bytes),
        rss_joined_mb: mb(joined.rss_bytes),
        rss_per_participant_kb: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_size_is_as_asked_when_at_least_as_large_or_the_largest() {
        let size = |width, height| Size { width, height };
        assert!(as_asked(size(320, 180), size(320, 180)));
        assert!(as_asked(size(200, 100), size(320, 180)));
        assert!(!as_asked(size(640, 360), size(320, 180)));
        assert!(
            as_asked(size(1920, 1080), size(640, 360)),
            "the largest layer"
        );
    }

    #[test]
    fn a_decode_sample_spreads_over_the_receivers() {
        let picked: Vec<usize> = (0..10).filter(|i| decodes(*i, 0.3)).collect();
        assert_eq!(picked, [3, 6, 9]);
        assert_eq!((0..7).filter(|i| decodes(*i, 1.0)).count(), 7);
        assert_eq!((0..7).filter(|i| decodes(*i, 0.0)).count(), 0);
    }
}
