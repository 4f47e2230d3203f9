//! What the forwarding decisions need from a video payload: whether a packet
//! starts a keyframe, the point where a subscriber can switch layers. VP8's
//! payload descriptor is read by str0m; H.264 (RFC 6184) is read here.
//! Every function takes untrusted bytes and answers `false` for anything it
//! does not understand.

const NAL_IDR: u8 = 5;
const NAL_SPS: u8 = 7;
const NAL_STAP_A: u8 = 24;
const NAL_FU_A: u8 = 28;

/// Whether an H.264 RTP payload begins a keyframe: it carries a sequence
/// parameter set (encoders send SPS and PPS ahead of each IDR, and a decoder
/// switching resolution needs them) or the first fragment of an IDR slice.
pub fn h264_keyframe_start(payload: &[u8]) -> bool {
    let Some(&header) = payload.first() else {
        return false;
    };
    match header & 0x1f {
        NAL_IDR | NAL_SPS => true,
        NAL_STAP_A => {
            stap_a_units(&payload[1..]).any(|nal| matches!(nal & 0x1f, NAL_IDR | NAL_SPS))
        }
        NAL_FU_A => payload
            .get(1)
            .is_some_and(|fu| fu & 0x80 != 0 && fu & 0x1f == NAL_IDR),
        _ => false,
    }
}

/// The NAL header byte of each unit aggregated in a STAP-A, stopping at the
/// first length that runs past the end.
fn stap_a_units(mut rest: &[u8]) -> impl Iterator<Item = u8> + '_ {
    std::iter::from_fn(move || {
        let len = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
        let unit = rest.get(2..2 + len)?;
        rest = &rest[2 + len..];
        unit.first().copied()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_units() {
        assert!(h264_keyframe_start(&[0x67, 0x42]), "SPS");
        assert!(h264_keyframe_start(&[0x65, 0x88]), "IDR");
        assert!(!h264_keyframe_start(&[0x41, 0x9a]), "non-IDR slice");
        assert!(!h264_keyframe_start(&[0x68, 0xce]), "PPS alone");
        assert!(!h264_keyframe_start(&[]));
    }

    #[test]
    fn aggregated_units() {
        // STAP-A: SPS (3 bytes) then PPS (2 bytes).
        assert!(h264_keyframe_start(&[
            0x78, 0, 3, 0x67, 1, 2, 0, 2, 0x68, 1
        ]));
        // STAP-A of two non-IDR slices.
        assert!(!h264_keyframe_start(&[0x78, 0, 2, 0x41, 1, 0, 2, 0x41, 2]));
        // A length running past the end is not read.
        assert!(!h264_keyframe_start(&[0x78, 0, 9, 0x67]));
        assert!(!h264_keyframe_start(&[0x78, 0]));
    }

    #[test]
    fn fragments() {
        assert!(
            h264_keyframe_start(&[0x7c, 0x85, 0xb8]),
            "first IDR fragment"
        );
        assert!(!h264_keyframe_start(&[0x7c, 0x05, 0xb8]), "middle fragment");
        assert!(
            !h264_keyframe_start(&[0x7c, 0x81, 0xb8]),
            "first non-IDR fragment"
        );
        assert!(!h264_keyframe_start(&[0x7c]));
    }
}
