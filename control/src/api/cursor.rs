//! Page cursors: the `(time, id)` of the last item of a page, opaque to
//! clients (URL-safe base64), so the next page starts strictly after it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;

pub fn encode(at: i64, id: &str) -> String {
    B64.encode(format!("{at}:{id}"))
}

/// `None` for anything we did not give.
pub fn decode(cursor: &str) -> Option<(i64, String)> {
    let raw = String::from_utf8(B64.decode(cursor).ok()?).ok()?;
    let (at, id) = raw.split_once(':')?;
    Some((at.parse().ok()?, id.to_owned()))
}
