//! The sandbox provider, for development and the embedded default: it
//! keeps what it was asked to charge in its own table and is "paid" when
//! someone presses pay on its page (`POST /api/v1/payments/sandbox/{ref}/pay`).
//! No money moves; everything after that (verification, crediting the
//! coins exactly once) is the same path as a real provider's.

use std::sync::Arc;

use platform::{Clock, Database};
use uuid::Uuid;

use super::{Charge, Checkout, GatewayError, Verified};

pub const NAME: &str = "sandbox";

pub struct Sandbox {
    db: Database,
    clock: Arc<dyn Clock>,
    public_url: String,
}

impl Sandbox {
    pub fn new(db: Database, clock: Arc<dyn Clock>, public_url: &str) -> Sandbox {
        Sandbox {
            db,
            clock,
            public_url: public_url.to_owned(),
        }
    }

    pub async fn create(&self, charge: &Charge) -> Result<Checkout, GatewayError> {
        let id = Uuid::new_v4().to_string();
        sqlx::query("INSERT INTO sandbox_charges (id, amount, created_at) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(charge.amount)
            .bind(self.clock.now_ms())
            .execute(self.db.pool())
            .await
            .map_err(unavailable)?;
        Ok(Checkout {
            url: format!("{}/api/v1/payments/sandbox/{id}", self.public_url),
            provider_ref: id,
        })
    }

    pub async fn verify(&self, provider_ref: &str) -> Result<Verified, GatewayError> {
        let row: Option<(i64, Option<i64>)> =
            sqlx::query_as("SELECT amount, paid_at FROM sandbox_charges WHERE id = $1")
                .bind(provider_ref)
                .fetch_optional(self.db.pool())
                .await
                .map_err(unavailable)?;
        match row {
            Some((amount, Some(_))) => Ok(Verified::Paid { amount }),
            Some((_, None)) => Ok(Verified::Pending),
            None => Err(GatewayError::Refused {
                provider: NAME,
                detail: "no such charge".into(),
            }),
        }
    }

    /// The buyer pays: true the first time.
    pub async fn pay(&self, provider_ref: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE sandbox_charges SET paid_at = $1 WHERE id = $2 AND paid_at IS NULL",
        )
        .bind(self.clock.now_ms())
        .bind(provider_ref)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

fn unavailable(e: sqlx::Error) -> GatewayError {
    GatewayError::Unavailable {
        provider: NAME,
        detail: e.to_string(),
    }
}
