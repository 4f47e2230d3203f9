//! Tax rates on expert payouts. The law changes them, so administrators set
//! them at run time (`platform_settings`); the configuration only gives the
//! values before anyone has. Rates are basis points (1900 = 19 %), integers
//! like every amount.

use proto::FieldError;
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use utoipa::ToSchema;

use super::TaxOption;
use crate::settings::ExpertSettings;

pub const MAX_BP: i64 = 10_000;
const VAT_KEY: &str = "tax.vat_percent_bp";
const WITHHOLDING_KEY: &str = "tax.withholding_percent_bp";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxRates {
    /// VAT, in basis points (1900 = 19 %).
    pub vat_percent_bp: i64,
    /// Withholding at source, in basis points (1500 = 15 %).
    pub withholding_percent_bp: i64,
}

impl TaxRates {
    /// What `option` applies of these rates: option 1 is VAT, option 2
    /// withholding at source; the rate the option does not use is 0.
    pub fn implied_by(self, option: TaxOption) -> TaxRates {
        match option {
            TaxOption::Vat => TaxRates {
                withholding_percent_bp: 0,
                ..self
            },
            TaxOption::Withholding => TaxRates {
                vat_percent_bp: 0,
                ..self
            },
        }
    }

    /// Field errors for rates outside 0 to 100 %.
    pub fn check(&self) -> Vec<FieldError> {
        [
            ("vat_percent_bp", self.vat_percent_bp),
            ("withholding_percent_bp", self.withholding_percent_bp),
        ]
        .into_iter()
        .filter(|(_, bp)| !(0..=MAX_BP).contains(bp))
        .map(|(field, _)| {
            FieldError::new(
                field,
                "out_of_range",
                format!("basis points from 0 to {MAX_BP}"),
            )
        })
        .collect()
    }
}

impl From<&ExpertSettings> for TaxRates {
    /// The configured defaults.
    fn from(s: &ExpertSettings) -> Self {
        TaxRates {
            vat_percent_bp: s.vat_percent_bp,
            withholding_percent_bp: s.withholding_percent_bp,
        }
    }
}

/// The rates in force, and who set them last (nobody: the defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformTax {
    pub rates: TaxRates,
    pub updated_by: Option<String>,
    pub updated_at: Option<i64>,
}

pub async fn load(
    conn: &mut AnyConnection,
    defaults: TaxRates,
) -> Result<PlatformTax, sqlx::Error> {
    let rows: Vec<(String, String, Option<String>, i64)> = sqlx::query_as(
        "SELECT key, value, updated_by, updated_at FROM platform_settings WHERE key IN ($1, $2) \
         ORDER BY updated_at",
    )
    .bind(VAT_KEY)
    .bind(WITHHOLDING_KEY)
    .fetch_all(conn)
    .await?;
    let mut tax = PlatformTax {
        rates: defaults,
        updated_by: None,
        updated_at: None,
    };
    for (key, value, by, at) in rows {
        let bp = value
            .parse()
            .map_err(|_| sqlx::Error::Decode(format!("bad {key} {value:?}").into()))?;
        if key == VAT_KEY {
            tax.rates.vat_percent_bp = bp;
        } else {
            tax.rates.withholding_percent_bp = bp;
        }
        tax.updated_by = by;
        tax.updated_at = Some(at);
    }
    Ok(tax)
}

pub async fn save(
    conn: &mut AnyConnection,
    rates: TaxRates,
    admin_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    for (key, bp) in [
        (VAT_KEY, rates.vat_percent_bp),
        (WITHHOLDING_KEY, rates.withholding_percent_bp),
    ] {
        sqlx::query(
            "INSERT INTO platform_settings (key, value, updated_by, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (key) DO UPDATE SET value = $2, updated_by = $3, updated_at = $4",
        )
        .bind(key)
        .bind(bp.to_string())
        .bind(admin_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATES: TaxRates = TaxRates {
        vat_percent_bp: 1900,
        withholding_percent_bp: 1500,
    };

    #[test]
    fn each_option_implies_its_own_rate() {
        assert_eq!(
            RATES.implied_by(TaxOption::Vat),
            TaxRates {
                vat_percent_bp: 1900,
                withholding_percent_bp: 0
            }
        );
        assert_eq!(
            RATES.implied_by(TaxOption::Withholding),
            TaxRates {
                vat_percent_bp: 0,
                withholding_percent_bp: 1500
            }
        );
    }

    #[test]
    fn rates_are_between_0_and_100_percent() {
        assert!(RATES.check().is_empty());
        let fields: Vec<_> = TaxRates {
            vat_percent_bp: -1,
            withholding_percent_bp: 10_001,
        }
        .check()
        .into_iter()
        .map(|e| e.field)
        .collect();
        assert_eq!(fields, ["vat_percent_bp", "withholding_percent_bp"]);
    }
}
