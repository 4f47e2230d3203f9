//! Choosing the simulcast layer a subscriber receives.
//!
//! The target is the smallest active layer at least as large as the size the
//! subscriber renders (no upscaling, no wasted pixels), or the largest active
//! layer if none is that large; then, while its bitrate does not fit the
//! subscriber's bandwidth estimate (with headroom), the next layer down. A
//! paused subscription (hidden video element) has no target.

/// One layer the publisher announced, in the order they were announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layer {
    pub width: u32,
    pub height: u32,
    /// Recent measured bitrate of the layer, bits per second.
    pub bitrate_bps: u64,
    /// The publisher is sending it (it may stop layers nobody watches).
    pub active: bool,
}

/// Fraction of the bandwidth estimate a layer may use, in percent: the
/// estimate is noisy and audio and retransmissions need room too.
const HEADROOM_PERCENT: u64 = 85;

pub use proto::sfu::Want;

/// The index of the layer to forward, if any.
pub fn target(layers: &[Layer], want: Want, bandwidth_bps: Option<u64>) -> Option<usize> {
    let Want::Size { width, height } = want else {
        return None;
    };
    let mut active: Vec<usize> = (0..layers.len()).filter(|&i| layers[i].active).collect();
    active.sort_by_key(|&i| (u64::from(layers[i].width) * u64::from(layers[i].height), i));
    let mut pick = active
        .iter()
        .position(|&i| layers[i].width >= width && layers[i].height >= height)
        .unwrap_or(active.len().checked_sub(1)?);
    if let Some(bw) = bandwidth_bps {
        let budget = bw * HEADROOM_PERCENT / 100;
        while pick > 0 && layers[active[pick]].bitrate_bps > budget {
            pick -= 1;
        }
    }
    Some(active[pick])
}

/// Keyframe requests towards a publisher, at most one per layer per
/// `interval_ms`, however many subscribers ask.
#[derive(Debug)]
pub struct KeyframeGate {
    interval_ms: i64,
    last: Vec<Option<i64>>,
}

impl KeyframeGate {
    pub const DEFAULT_INTERVAL_MS: i64 = 500;

    pub fn new(interval_ms: i64) -> Self {
        KeyframeGate {
            interval_ms,
            last: Vec::new(),
        }
    }

    /// Whether a request for `layer` goes out now; if so, it is recorded.
    pub fn allow(&mut self, layer: usize, now: i64) -> bool {
        if self.last.len() <= layer {
            self.last.resize(layer + 1, None);
        }
        match self.last[layer] {
            Some(at) if now - at < self.interval_ms => false,
            _ => {
                self.last[layer] = Some(now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three() -> Vec<Layer> {
        vec![
            Layer {
                width: 320,
                height: 180,
                bitrate_bps: 150_000,
                active: true,
            },
            Layer {
                width: 640,
                height: 360,
                bitrate_bps: 500_000,
                active: true,
            },
            Layer {
                width: 1280,
                height: 720,
                bitrate_bps: 1_700_000,
                active: true,
            },
        ]
    }

    fn size(width: u32, height: u32) -> Want {
        Want::Size { width, height }
    }

    #[test]
    fn the_smallest_layer_covering_the_rendered_size() {
        let l = three();
        assert_eq!(target(&l, size(160, 90), None), Some(0));
        assert_eq!(target(&l, size(320, 180), None), Some(0));
        assert_eq!(target(&l, size(321, 180), None), Some(1));
        assert_eq!(target(&l, size(1280, 720), None), Some(2));
        assert_eq!(
            target(&l, size(1920, 1080), None),
            Some(2),
            "the largest when none covers it"
        );
        assert_eq!(target(&l, Want::Paused, None), None);
    }

    #[test]
    fn bandwidth_caps_the_layer_and_inactive_layers_are_skipped() {
        let mut l = three();
        assert_eq!(target(&l, size(1280, 720), Some(2_000_000)), Some(2));
        assert_eq!(target(&l, size(1280, 720), Some(1_000_000)), Some(1));
        assert_eq!(
            target(&l, size(1280, 720), Some(100_000)),
            Some(0),
            "never below the lowest layer"
        );
        l[1].active = false;
        assert_eq!(target(&l, size(640, 360), None), Some(2));
        assert_eq!(target(&l, size(640, 360), Some(1_000_000)), Some(0));
        for layer in &mut l {
            layer.active = false;
        }
        assert_eq!(target(&l, size(640, 360), None), None);
    }

    #[test]
    fn keyframe_requests_are_throttled_per_layer() {
        let mut g = KeyframeGate::new(500);
        assert!(g.allow(2, 0));
        assert!(!g.allow(2, 499));
        assert!(g.allow(0, 100), "another layer has its own budget");
        assert!(g.allow(2, 500));
    }
}
