//! Video files of messages, without I/O: what a file is by its first bytes,
//! the chunks of a resumable upload (`Content-Range`), and the byte ranges
//! playback asks for (`Range`).

/// The content types accepted, and what their first bytes must be.
pub const CONTENT_TYPES: [&str; 2] = ["video/webm", "video/mp4"];

/// Bytes the first chunk must carry for the type to be checked.
pub const SNIFF_BYTES: usize = 12;

/// The content type `head` (a file's first bytes) starts like: WebM (and
/// Matroska) open with the EBML magic `1A 45 DF A3`; MP4 (ISO BMFF) with a
/// box whose type, at bytes 4 to 8, is `ftyp`.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        Some("video/webm")
    } else if head.get(4..8) == Some(b"ftyp") {
        Some("video/mp4")
    } else {
        None
    }
}

/// A chunk's place in the upload, from `Content-Range: bytes
/// <first>-<last>/<total>`: (first, last inclusive, total).
pub fn content_range(header: &str) -> Option<(i64, i64, i64)> {
    let rest = header.trim().strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let (first, last) = span.split_once('-')?;
    let num = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i64>().ok())
            .flatten()
    };
    let (first, last, total) = (num(first)?, num(last)?, num(total)?);
    (first <= last && last < total).then_some((first, last, total))
}

/// What a `Range` header asks of a file of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Wanted {
    /// No range: the whole file.
    Whole,
    /// Bytes `first..=last`.
    Part(u64, u64),
    /// Nothing we can serve: 416.
    Unsatisfiable,
}

/// One range of `bytes=<first>-<last>`, `bytes=<first>-` or
/// `bytes=-<suffix length>`. Several ranges, another unit or a malformed
/// header are refused as unsatisfiable rather than guessed at.
pub fn range(header: Option<&str>, size: u64) -> Wanted {
    let Some(header) = header else {
        return Wanted::Whole;
    };
    let num = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    let parsed = header
        .trim()
        .strip_prefix("bytes=")
        .filter(|r| !r.contains(','))
        .and_then(|r| r.split_once('-'))
        .and_then(|(first, last)| match (first.trim(), last.trim()) {
            ("", suffix) => {
                let n = num(suffix)?;
                (n > 0 && size > 0).then(|| (size.saturating_sub(n), size - 1))
            }
            (first, "") => Some((num(first)?, size.checked_sub(1)?)),
            (first, last) => {
                let (first, last) = (num(first)?, num(last)?);
                let end = size.checked_sub(1)?;
                (first <= last).then(|| (first, last.min(end)))
            }
        });
    match parsed {
        Some((first, last)) if first < size && first <= last => Wanted::Part(first, last),
        _ => Wanted::Unsatisfiable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_known_by_their_magic_bytes() {
        assert_eq!(sniff(&[0x1A, 0x45, 0xDF, 0xA3, 1, 2]), Some("video/webm"));
        assert_eq!(sniff(b"\0\0\0\x20ftypisom\0\0"), Some("video/mp4"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\0"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn chunks_name_their_place() {
        assert_eq!(content_range("bytes 0-99/1000"), Some((0, 99, 1000)));
        assert_eq!(content_range("bytes 900-999/1000"), Some((900, 999, 1000)));
        for bad in [
            "bytes 0-1000/1000",
            "bytes 5-4/10",
            "bytes */10",
            "0-9/10",
            "bytes -1-9/10",
            "bytes 0-9/+10",
        ] {
            assert_eq!(content_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn ranges_are_served_or_refused() {
        assert_eq!(range(None, 10), Wanted::Whole);
        assert_eq!(range(Some("bytes=0-3"), 10), Wanted::Part(0, 3));
        assert_eq!(range(Some("bytes=4-"), 10), Wanted::Part(4, 9));
        assert_eq!(range(Some("bytes=-3"), 10), Wanted::Part(7, 9));
        assert_eq!(range(Some("bytes=-30"), 10), Wanted::Part(0, 9));
        assert_eq!(range(Some("bytes=8-20"), 10), Wanted::Part(8, 9));
        for bad in [
            "bytes=10-",
            "bytes=10-12",
            "bytes=3-2",
            "bytes=0-1,4-5",
            "items=0-1",
            "bytes=-0",
            "bytes=x-",
        ] {
            assert_eq!(range(Some(bad), 10), Wanted::Unsatisfiable, "{bad}");
        }
    }
}
