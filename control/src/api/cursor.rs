//! Page cursors: the `(time, id)` of the last item of a page, opaque to
//! clients (URL-safe base64), so the next page starts strictly after it.

use axum::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;

use super::error::ApiError;

pub fn encode(at: i64, id: &str) -> String {
    B64.encode(format!("{at}:{id}"))
}

/// `None` for anything we did not give.
pub fn decode(cursor: &str) -> Option<(i64, String)> {
    let raw = String::from_utf8(B64.decode(cursor).ok()?).ok()?;
    let (at, id) = raw.split_once(':')?;
    Some((at.parse().ok()?, id.to_owned()))
}

/// A listing's `limit` (1 to `max`, `default` when absent) and where it
/// resumes, or 400 `invalid_query`.
pub fn page_request(
    limit: Option<i64>,
    cursor: Option<&str>,
    default: i64,
    max: i64,
) -> Result<(i64, Option<(i64, String)>), ApiError> {
    let invalid = |why: &str| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", why);
    let limit = limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(invalid(&format!("limit must be between 1 and {max}")));
    }
    let after = cursor
        .map(|c| decode(c).ok_or_else(|| invalid("Unknown cursor")))
        .transpose()?;
    Ok((limit, after))
}

/// Given the rows of a query for `limit + 1`, drops the extra one and returns
/// the cursor of the next page when there is one.
pub fn next_page<T>(
    rows: &mut Vec<T>,
    limit: i64,
    key: impl Fn(&T) -> (i64, &str),
) -> Option<String> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    rows.last().filter(|_| more).map(|last| {
        let (at, id) = key(last);
        encode(at, id)
    })
}
