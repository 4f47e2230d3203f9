//! Keeping the search index in step with the listing: one document per listed
//! expert (name, domains in both languages, bio), and the words of its name
//! for completion. Unlisted experts have neither.

use platform::db::Backend;
use sqlx::AnyConnection;

use super::fold;

/// Rewrites (or removes) the index entries of one expert.
pub async fn sync(
    conn: &mut AnyConnection,
    backend: Backend,
    account_id: &str,
) -> Result<(), sqlx::Error> {
    remove(conn, backend, account_id).await?;
    let row: Option<(String, String, String)> = sqlx::query_as(
        "SELECT a.first_name || ' ' || a.last_name, e.bio, e.name_folded FROM experts e \
         JOIN accounts a ON a.id = e.account_id WHERE e.account_id = $1 AND e.listed = 1",
    )
    .bind(account_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((name, bio, name_folded)) = row else {
        return Ok(());
    };
    let domain_names: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT d.slug, d.name_fr, d.name_en FROM expert_domains x JOIN domains d ON d.slug = x.domain \
         WHERE x.account_id = $1 ORDER BY d.slug",
    )
    .bind(account_id)
    .fetch_all(&mut *conn)
    .await?;
    let domains = fold::fold(
        &domain_names
            .iter()
            .map(|(slug, fr, en)| format!("{slug} {fr} {en}"))
            .collect::<Vec<_>>()
            .join(" "),
    );
    let (name, bio) = (fold::fold(&name), fold::fold(&bio));
    match backend {
        Backend::Sqlite => {
            sqlx::query(
                "INSERT INTO expert_fts_keys (account_id) VALUES ($1) ON CONFLICT DO NOTHING",
            )
            .bind(account_id)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "INSERT INTO expert_fts (rowid, name, domains, bio) \
                 SELECT id, $2, $3, $4 FROM expert_fts_keys WHERE account_id = $1",
            )
            .bind(account_id)
            .bind(&name)
            .bind(&domains)
            .bind(&bio)
            .execute(&mut *conn)
            .await?;
        }
        Backend::Postgres => {
            sqlx::query(
                "UPDATE experts SET search_doc = setweight(to_tsvector('simple', $2), 'A') \
                 || setweight(to_tsvector('simple', $3), 'B') \
                 || setweight(to_tsvector('simple', $4), 'C') WHERE account_id = $1",
            )
            .bind(account_id)
            .bind(&name)
            .bind(&domains)
            .bind(&bio)
            .execute(&mut *conn)
            .await?;
        }
    }
    let mut terms: Vec<&str> = name_folded.split(' ').filter(|w| !w.is_empty()).collect();
    terms.sort_unstable();
    terms.dedup();
    for term in terms {
        sqlx::query("INSERT INTO expert_terms (term, account_id) VALUES ($1, $2)")
            .bind(term)
            .bind(account_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn remove(
    conn: &mut AnyConnection,
    backend: Backend,
    account_id: &str,
) -> Result<(), sqlx::Error> {
    match backend {
        Backend::Sqlite => {
            sqlx::query(
                "DELETE FROM expert_fts WHERE rowid = \
                 (SELECT id FROM expert_fts_keys WHERE account_id = $1)",
            )
            .bind(account_id)
            .execute(&mut *conn)
            .await?;
        }
        Backend::Postgres => {
            sqlx::query("UPDATE experts SET search_doc = NULL WHERE account_id = $1")
                .bind(account_id)
                .execute(&mut *conn)
                .await?;
        }
    }
    sqlx::query("DELETE FROM expert_terms WHERE account_id = $1")
        .bind(account_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
