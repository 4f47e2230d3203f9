//! Active-speaker detection from the audio level each Opus packet carries
//! (RFC 6464: 0 is the loudest, 127 silence, in -dBov). Levels are smoothed
//! per participant over a short window so a cough does not take the floor;
//! the speakers are those above the voice threshold, loudest first.

use std::collections::HashMap;

/// Louder than this (in -dBov, so numerically lower) counts as speech.
const VOICE_THRESHOLD: u8 = 50;

#[derive(Debug)]
pub struct Speakers {
    window_ms: i64,
    /// Recent (time, level) samples per participant.
    samples: HashMap<String, Vec<(i64, u8)>>,
    last_published: Vec<String>,
}

impl Speakers {
    pub fn new(window_ms: i64) -> Self {
        Speakers {
            window_ms,
            samples: HashMap::new(),
            last_published: Vec::new(),
        }
    }

    /// The audio level of one packet from `participant`.
    pub fn level(&mut self, participant: &str, level: u8, now: i64) {
        let level = level.min(127);
        // Once per audio packet: look up by `&str`, allocate only for a newcomer.
        match self.samples.get_mut(participant) {
            Some(samples) => samples.push((now, level)),
            None => {
                self.samples
                    .insert(participant.to_owned(), vec![(now, level)]);
            }
        }
    }

    pub fn forget(&mut self, participant: &str) {
        self.samples.remove(participant);
    }

    /// Current speakers, loudest first, or `None` when unchanged since the
    /// last call (so the driver publishes only changes, a few times a second).
    pub fn poll(&mut self, now: i64) -> Option<Vec<String>> {
        let cutoff = now - self.window_ms;
        let mut loud: Vec<(u32, &String)> = Vec::new();
        for (who, samples) in self.samples.iter_mut() {
            samples.retain(|(t, _)| *t > cutoff);
            if samples.is_empty() {
                continue;
            }
            // Mean level; packets missing from the window (muted, DTX) count as silence.
            let expected = (self.window_ms / 20).max(1) as u32; // Opus sends every 20 ms
            let present = samples.len() as u32;
            let sum: u32 = samples.iter().map(|(_, l)| u32::from(*l)).sum::<u32>()
                + 127 * expected.saturating_sub(present);
            let mean = sum / expected.max(present);
            if mean < u32::from(VOICE_THRESHOLD) {
                loud.push((mean, who));
            }
        }
        loud.sort();
        let speakers: Vec<String> = loud.into_iter().map(|(_, w)| w.clone()).collect();
        self.samples.retain(|_, s| !s.is_empty());
        if speakers == self.last_published {
            return None;
        }
        self.last_published = speakers.clone();
        Some(speakers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn talk(s: &mut Speakers, who: &str, level: u8, from: i64, to: i64) {
        for t in (from..to).step_by(20) {
            s.level(who, level, t);
        }
    }

    #[test]
    fn loudest_first_and_only_changes_are_published() {
        let mut s = Speakers::new(500);
        talk(&mut s, "amira", 20, 0, 500);
        talk(&mut s, "karim", 35, 0, 500);
        talk(&mut s, "quiet", 110, 0, 500);
        assert_eq!(
            s.poll(500),
            Some(vec!["amira".to_owned(), "karim".to_owned()])
        );
        talk(&mut s, "amira", 20, 500, 700);
        talk(&mut s, "karim", 35, 500, 700);
        assert_eq!(s.poll(700), None, "no change, nothing to publish");
    }

    #[test]
    fn a_short_sound_does_not_take_the_floor_and_silence_ends_speech() {
        let mut s = Speakers::new(500);
        talk(&mut s, "cough", 5, 0, 60);
        assert_eq!(
            s.poll(500),
            None,
            "three loud packets in a quiet window are not speech"
        );
        talk(&mut s, "amira", 20, 0, 500);
        assert_eq!(s.poll(500), Some(vec!["amira".to_owned()]));
        // Amira goes quiet (muted: no packets at all).
        assert_eq!(s.poll(1_100), Some(vec![]));
    }
}
