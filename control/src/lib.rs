//! The DeepInfluence control plane: the REST API and the marketplace domains
//! behind it. Today: accounts and identity.

pub mod accounts;
pub mod api;
pub mod auth;
pub mod bootstrap;
pub mod cpu;
pub mod ledger;
pub mod mail;
pub mod maintenance;
pub mod metrics;
pub mod objects;
pub mod payments;
pub mod photos;
pub mod settings;
pub mod state;

use axum::Router;
use platform::http::{with_ops, Readiness};
use platform::telemetry::Telemetry;
use platform::Database;
use sqlx::migrate::Migrator;

pub use settings::Settings;
pub use state::AppState;

/// The control plane's schema, in SQL both backends accept.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

pub async fn migrate(db: &Database) -> anyhow::Result<()> {
    db.migrate(&MIGRATOR).await?;
    Ok(())
}

/// The whole HTTP surface: API, docs, health, readiness and metrics.
/// `readiness` lists what `/readyz` checks (the database, the bus).
pub fn router(state: AppState, telemetry: &Telemetry, readiness: Readiness) -> Router {
    with_ops(api::router(state), "control", telemetry, readiness)
}
