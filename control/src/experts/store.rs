//! SQL for expert profiles, their domains and languages, and the taxonomy.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Expert, Position, Prices, State, TaxOption};

const COLUMNS: &str = "account_id, bio, languages, city, latitude_e6, longitude_e6, price_text, \
    price_video, price_call, instant_booking, state, state_reason, submitted_at, decided_at, \
    tax_option, bank_kind, bank_hint, hidden, listed, consultations, rating_count, rating_sum, \
    last_active_at, created_at, updated_at";

/// The `latitude_e6` and `longitude_e6` columns of a row, when both are set.
pub(crate) fn position_of(r: &AnyRow) -> Result<Option<Position>, sqlx::Error> {
    Ok(
        match (r.try_get("latitude_e6")?, r.try_get("longitude_e6")?) {
            (Some(latitude_e6), Some(longitude_e6)) => Some(Position {
                latitude_e6,
                longitude_e6,
            }),
            _ => None,
        },
    )
}

fn from_row(r: &AnyRow, domains: Vec<String>) -> Result<Expert, sqlx::Error> {
    let text = |name: &str| -> Result<String, sqlx::Error> { r.try_get(name) };
    let bad = |what: &str, v: String| sqlx::Error::Decode(format!("bad {what} {v:?}").into());
    let languages: String = text("languages")?;
    let position = position_of(r)?;
    let state = text("state")?;
    let tax: Option<String> = r.try_get("tax_option")?;
    Ok(Expert {
        account_id: text("account_id")?,
        bio: text("bio")?,
        domains,
        languages: serde_json::from_str(&languages).map_err(|_| bad("languages", languages))?,
        city: r.try_get("city")?,
        position,
        prices: Prices {
            text_message: r.try_get("price_text")?,
            video_message: r.try_get("price_video")?,
            video_call: r.try_get("price_call")?,
        },
        instant_booking: r.try_get::<i64, _>("instant_booking")? != 0,
        state: State::parse(&state).ok_or_else(|| bad("state", state.clone()))?,
        state_reason: r.try_get("state_reason")?,
        submitted_at: r.try_get("submitted_at")?,
        decided_at: r.try_get("decided_at")?,
        tax_option: match tax {
            Some(t) => Some(TaxOption::parse(&t).ok_or_else(|| bad("tax option", t.clone()))?),
            None => None,
        },
        bank_kind: r.try_get("bank_kind")?,
        bank_hint: r.try_get("bank_hint")?,
        hidden: r.try_get::<i64, _>("hidden")? != 0,
        listed: r.try_get::<i64, _>("listed")? != 0,
        consultations: r.try_get("consultations")?,
        rating_count: r.try_get("rating_count")?,
        rating_sum: r.try_get("rating_sum")?,
        last_active_at: r.try_get("last_active_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// The expert profile of `account_id`, if one was started.
pub async fn get(
    conn: &mut AnyConnection,
    account_id: &str,
) -> Result<Option<Expert>, sqlx::Error> {
    if uuid::Uuid::parse_str(account_id).is_err() {
        return Ok(None);
    }
    let Some(row) = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM experts WHERE account_id = $1"
    ))
    .bind(account_id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let domains = domains_of(conn, account_id).await?;
    from_row(&row, domains).map(Some)
}

async fn domains_of(
    conn: &mut AnyConnection,
    account_id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT domain FROM expert_domains WHERE account_id = $1 ORDER BY domain")
        .bind(account_id)
        .fetch_all(conn)
        .await
}

/// Inserts or rewrites the fields an expert edits (not state, documents or
/// counters), with their domains and languages.
pub async fn save_profile(
    conn: &mut AnyConnection,
    e: &Expert,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO experts (account_id, bio, languages, city, latitude_e6, longitude_e6, \
         price_text, price_video, price_call, instant_booking, last_active_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $11) \
         ON CONFLICT (account_id) DO UPDATE SET bio = $2, languages = $3, city = $4, \
         latitude_e6 = $5, longitude_e6 = $6, price_text = $7, price_video = $8, price_call = $9, \
         instant_booking = $10, last_active_at = $11, updated_at = $11",
    )
    .bind(&e.account_id)
    .bind(&e.bio)
    .bind(serde_json::to_string(&e.languages).expect("strings serialise"))
    .bind(&e.city)
    .bind(e.position.map(|p| p.latitude_e6))
    .bind(e.position.map(|p| p.longitude_e6))
    .bind(e.prices.text_message)
    .bind(e.prices.video_message)
    .bind(e.prices.video_call)
    .bind(i64::from(e.instant_booking))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM expert_domains WHERE account_id = $1")
        .bind(&e.account_id)
        .execute(&mut *conn)
        .await?;
    for d in &e.domains {
        sqlx::query("INSERT INTO expert_domains (account_id, domain) VALUES ($1, $2)")
            .bind(&e.account_id)
            .bind(d)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("DELETE FROM expert_languages WHERE account_id = $1")
        .bind(&e.account_id)
        .execute(&mut *conn)
        .await?;
    for l in &e.languages {
        sqlx::query("INSERT INTO expert_languages (account_id, language) VALUES ($1, $2)")
            .bind(&e.account_id)
            .bind(l)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A domain of the taxonomy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Domain {
    pub slug: String,
    pub name_fr: String,
    pub name_en: String,
}

pub async fn domains(conn: &mut AnyConnection) -> Result<Vec<Domain>, sqlx::Error> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT slug, name_fr, name_en FROM domains ORDER BY slug")
            .fetch_all(conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(slug, name_fr, name_en)| Domain {
            slug,
            name_fr,
            name_en,
        })
        .collect())
}

/// Which of `slugs` are not in the taxonomy.
pub async fn unknown_domains(
    conn: &mut AnyConnection,
    slugs: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    let known: Vec<String> = domains(conn).await?.into_iter().map(|d| d.slug).collect();
    Ok(slugs
        .iter()
        .filter(|s| !known.contains(s))
        .cloned()
        .collect())
}

/// Records an expert's activity (a sign-in), which popularity ranks by after
/// consultations.
pub async fn touch(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    account_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE experts SET last_active_at = $2 WHERE account_id = $1")
        .bind(account_id)
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}
