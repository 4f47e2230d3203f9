//! The DeepInfluence control plane: the REST API and the marketplace domains
//! behind it. Today: accounts and identity.

/// `From` conversions for a domain error from the errors of what it calls
/// (the ledger, notifications): their database failure stays a database
/// failure (`Db`), anything else is wrapped in the named variant.
macro_rules! db_preserving_from {
    ($target:ident: $($source:ident => $variant:ident),+ $(,)?) => {$(
        impl From<$source> for $target {
            fn from(e: $source) -> Self {
                match e {
                    $source::Db(e) => $target::Db(e),
                    e => $target::$variant(e),
                }
            }
        }
    )+};
}
pub(crate) use db_preserving_from;

pub mod accounts;
pub mod api;
pub mod auth;
pub mod bookings;
pub mod bootstrap;
pub mod calendar;
pub mod calls;
pub mod cpu;
pub mod csv;
pub mod experts;
pub mod ledger;
pub mod mail;
pub mod maintenance;
pub mod messaging;
pub mod metrics;
pub mod moderation;
pub mod notify;
pub mod objects;
pub mod payments;
pub mod payouts;
pub mod photos;
pub mod search;
pub mod settings;
pub mod social;
pub mod state;

use axum::Router;
use platform::db::Backend;
use platform::http::{with_ops, Readiness};
use platform::telemetry::Telemetry;
use platform::Database;
use sqlx::migrate::Migrator;

pub use settings::Settings;
pub use state::AppState;

/// The control plane's schema, in SQL both backends accept, ...
static PORTABLE: Migrator = sqlx::migrate!("./migrations");
/// ... and the few migrations whose SQL differs (full-text search). Each
/// backend's set uses versions the portable set leaves free.
static SQLITE_ONLY: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_ONLY: Migrator = sqlx::migrate!("./migrations/postgres");

/// The migrations for `backend`, in version order.
pub fn migrator(backend: Backend) -> Migrator {
    let own = match backend {
        Backend::Sqlite => &SQLITE_ONLY,
        Backend::Postgres => &POSTGRES_ONLY,
    };
    let mut migrations: Vec<_> = PORTABLE.iter().chain(own.iter()).cloned().collect();
    migrations.sort_by_key(|m| m.version);
    Migrator {
        migrations: migrations.into(),
        ..Migrator::DEFAULT
    }
}

pub async fn migrate(db: &Database) -> anyhow::Result<()> {
    db.migrate(&migrator(db.backend())).await?;
    Ok(())
}

/// The whole HTTP surface: API, docs, health, readiness and metrics.
/// `readiness` lists what `/readyz` checks (the database, the bus).
pub fn router(state: AppState, telemetry: &Telemetry, readiness: Readiness) -> Router {
    with_ops(api::router(state), "control", telemetry, readiness)
}
