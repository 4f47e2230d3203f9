//! Page cursors: the `(time, id)` of the last item of a page, opaque to
//! clients (URL-safe base64), so the next page starts strictly after it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;

use super::error::{ApiError, ApiResult};

pub fn encode(at: i64, id: &str) -> String {
    B64.encode(format!("{at}:{id}"))
}

/// `None` for anything we did not give.
pub fn decode(cursor: &str) -> Option<(i64, String)> {
    let raw = String::from_utf8(B64.decode(cursor).ok()?).ok()?;
    let (at, id) = raw.split_once(':')?;
    Some((at.parse().ok()?, id.to_owned()))
}

/// A page a client asked for with `cursor` and `limit` (1 to 100, 20 by
/// default): fetch `fetch()` rows after `after`, then `cut` them.
pub struct Page {
    pub after: Option<(i64, String)>,
    pub limit: i64,
}

impl Page {
    /// 400 `invalid_query` for a limit out of range or a cursor we did not give.
    pub fn parse(cursor: Option<&str>, limit: Option<i64>) -> ApiResult<Page> {
        Self::parse_within(cursor, limit, 20, 100)
    }

    /// `parse` for a listing whose pages default to `default` rows, at most `max`.
    pub fn parse_within(
        cursor: Option<&str>,
        limit: Option<i64>,
        default: i64,
        max: i64,
    ) -> ApiResult<Page> {
        let bad = |message: &str| ApiError::invalid_query(message);
        let limit = limit.unwrap_or(default);
        if !(1..=max).contains(&limit) {
            return Err(bad(&format!("limit must be between 1 and {max}")));
        }
        let after = match cursor {
            Some(c) => Some(decode(c).ok_or_else(|| bad("Unknown cursor"))?),
            None => None,
        };
        Ok(Page { after, limit })
    }

    /// How many rows to fetch: one more than a page tells whether there is
    /// a next one.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// Cuts fetched rows to the page; the next page's cursor, made from the
    /// last row's `(time, id)`, if there are more.
    pub fn cut<T>(&self, rows: &mut Vec<T>, key: impl Fn(&T) -> (i64, &str)) -> Option<String> {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        rows.last().filter(|_| more).map(|last| {
            let (at, id) = key(last);
            encode(at, id)
        })
    }
}
