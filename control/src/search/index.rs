//! Keeping the search index in step with the listing: one document per listed
//! expert (name, domains in both languages, bio, and the facet tokens of
//! `tags`), and the words of its name for completion. Unlisted experts have
//! neither.

use platform::db::Backend;
use sqlx::AnyConnection;

use super::{fold, tags};
use crate::experts::{Position, Prices, Service};

/// The `experts` columns filters and sorts read, copied beside each index
/// entry (`expert_fts_keys` on SQLite, `expert_search` on PostgreSQL) and kept
/// equal by the migrations' triggers.
const COPIED: &str = "price_text, price_video, price_call, rating_count, rating_milli, \
    consultations, last_active_at, latitude_e6, longitude_e6";

/// What the index holds of a listed expert.
#[derive(sqlx::FromRow)]
struct Listed {
    name: String,
    bio: String,
    name_folded: String,
    languages: String,
    price_text: Option<i64>,
    price_video: Option<i64>,
    price_call: Option<i64>,
    rating_count: i64,
    rating_milli: i64,
    latitude_e6: Option<i64>,
    longitude_e6: Option<i64>,
}

/// Rewrites (or removes) the index entries of one expert.
pub async fn sync(
    conn: &mut AnyConnection,
    backend: Backend,
    account_id: &str,
) -> Result<(), sqlx::Error> {
    remove(conn, backend, account_id).await?;
    let row: Option<Listed> = sqlx::query_as(
        "SELECT a.first_name || ' ' || a.last_name AS name, e.bio, e.name_folded, e.languages, \
         e.price_text, e.price_video, e.price_call, e.rating_count, e.rating_milli, e.latitude_e6, \
         e.longitude_e6 FROM experts e \
         JOIN accounts a ON a.id = e.account_id WHERE e.account_id = $1 AND e.listed = 1",
    )
    .bind(account_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(Listed {
        name,
        bio,
        name_folded,
        languages,
        price_text,
        price_video,
        price_call,
        rating_count,
        rating_milli,
        latitude_e6,
        longitude_e6,
    }) = row
    else {
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
    let languages: Vec<String> = serde_json::from_str(&languages).unwrap_or_default();
    let prices = Prices {
        text_message: price_text,
        video_message: price_video,
        video_call: price_call,
    };
    let tags: Vec<String> = domain_names
        .iter()
        .map(|(slug, _, _)| tags::domain(slug))
        .chain(languages.iter().map(|l| tags::language(l)))
        .chain(Service::ALL.into_iter().flat_map(|s| {
            prices
                .of(s)
                .map(|p| {
                    let mut held = tags::prices(s, p);
                    held.push(tags::service(s));
                    held
                })
                .unwrap_or_default()
        }))
        .chain(tags::ratings(rating_count, rating_milli))
        .chain(
            latitude_e6
                .zip(longitude_e6)
                .map(|(latitude_e6, longitude_e6)| {
                    tags::cells(Position {
                        latitude_e6,
                        longitude_e6,
                    })
                })
                .unwrap_or_default(),
        )
        .collect();
    let tags = tags.join(" ");
    let document = match backend {
        Backend::Sqlite => {
            // The copies follow `experts` through a trigger once the row exists.
            sqlx::query(&format!(
                "INSERT INTO expert_fts_keys (account_id, {COPIED}) \
                 SELECT account_id, {COPIED} FROM experts WHERE account_id = $1 \
                 ON CONFLICT (account_id) DO NOTHING"
            ))
            .bind(account_id)
            .execute(&mut *conn)
            .await?;
            "INSERT INTO expert_fts (rowid, name, domains, bio, tags) \
             SELECT id, $2, $3, $4, $5 FROM expert_fts_keys WHERE account_id = $1"
                .to_owned()
        }
        Backend::Postgres => format!(
            "INSERT INTO expert_search (account_id, name_doc, domains_doc, bio_doc, tags_doc, \
             {COPIED}) \
             SELECT account_id, strip(to_tsvector('simple', $2)), strip(to_tsvector('simple', $3)), \
             strip(to_tsvector('simple', $4)), strip(to_tsvector('simple', $5)), {COPIED} \
             FROM experts WHERE account_id = $1"
        ),
    };
    sqlx::query(&document)
        .bind(account_id)
        .bind(&name)
        .bind(&domains)
        .bind(&bio)
        .bind(&tags)
        .execute(&mut *conn)
        .await?;
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
            sqlx::query("DELETE FROM expert_search WHERE account_id = $1")
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
