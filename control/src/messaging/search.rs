//! Full-text search in one's own messages, on both backends: SQLite's FTS5
//! table `message_fts`, PostgreSQL's `message_search` tsvector under GIN
//! (migrations `0010_message_search.sql`). Text is folded in Rust
//! (`search::fold`) before it is indexed or queried, so both backends match
//! the same words; every query word matches as a prefix, all must match.

use platform::Backend;
use sqlx::AnyConnection;

use crate::search::fold;

/// Indexes message `id`'s text, in the caller's transaction.
pub async fn index(
    conn: &mut AnyConnection,
    backend: Backend,
    id: &str,
    text: &str,
) -> Result<(), sqlx::Error> {
    let sql = match backend {
        Backend::Sqlite => "INSERT INTO message_fts (message_id, folded) VALUES ($1, $2)",
        Backend::Postgres => {
            "INSERT INTO message_search (message_id, doc) VALUES ($1, to_tsvector('simple', $2))"
        }
    };
    sqlx::query(sql)
        .bind(id)
        .bind(fold::fold(text))
        .execute(conn)
        .await?;
    Ok(())
}

/// The query for `words` (folded: letters and digits only, so nothing in
/// them is query syntax) and the SQL condition on `messages m` it binds
/// as `$1`.
pub fn matching(backend: Backend, words: &[String]) -> (String, &'static str) {
    match backend {
        Backend::Sqlite => (
            words
                .iter()
                .map(|w| format!("\"{w}\"*"))
                .collect::<Vec<_>>()
                .join(" AND "),
            "m.id IN (SELECT message_id FROM message_fts WHERE message_fts MATCH $1)",
        ),
        Backend::Postgres => (
            words
                .iter()
                .map(|w| format!("{w}:*"))
                .collect::<Vec<_>>()
                .join(" & "),
            "m.id IN (SELECT message_id FROM message_search WHERE doc @@ to_tsquery('simple', $1))",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_matches_as_a_prefix() {
        let words = fold::words("Bien-être 2026");
        assert_eq!(
            matching(Backend::Sqlite, &words).0,
            "\"bien\"* AND \"etre\"* AND \"2026\"*"
        );
        assert_eq!(
            matching(Backend::Postgres, &words).0,
            "bien:* & etre:* & 2026:*"
        );
    }
}
