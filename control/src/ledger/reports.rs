//! What the ledger shows people: one's own movements (filtered, paged,
//! exportable), an expert's earnings per service and period, and the
//! platform's finances per period. Read-only; periods are UTC calendar
//! days, ISO weeks (from Monday) and months.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use super::{Account, Ledger, LedgerError, TransferKind};

/// One movement of money touching one's own accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Entry {
    pub id: String,
    /// Unix milliseconds.
    pub at: i64,
    pub kind: String,
    /// Millimes.
    pub amount: i64,
    /// Account ids: `wallet:<id>`, `held:<id>`, `earnings:<id>`, `payout:<id>`, `revenue`,
    /// `clearing:<provider>`, `paid_out`, `tax_payable`.
    pub from: String,
    pub to: String,
    pub hold: Option<String>,
    /// What it pays for (`payment:<id>`, `message:<id>`, `booking:<id>`, `payout:<id>`...).
    pub reference: String,
}

#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    pub kinds: Vec<TransferKind>,
    /// Unix ms, inclusive.
    pub from: Option<i64>,
    /// Unix ms, exclusive.
    pub to: Option<i64>,
    /// The last entry of the previous page: `(at, id)`.
    pub before: Option<(i64, String)>,
    pub limit: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    /// The first day of the period holding `ms`.
    fn start(self, ms: i64) -> Date {
        let date = OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
            .map(OffsetDateTime::date)
            .unwrap_or(Date::MIN);
        match self {
            Period::Day => date,
            Period::Week => {
                date - Duration::days(i64::from(date.weekday().number_days_from_monday()))
            }
            Period::Month => date.replace_day(1).unwrap_or(date),
        }
    }
}

/// An expert's earnings in one period from one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Earnings {
    /// First day of the period, `YYYY-MM-DD`.
    pub period: String,
    /// From what the payment was for: `message`, `booking`, `call`...
    pub service: String,
    /// Captured for the expert, less refunds, in millimes.
    pub earned: i64,
    /// Paid consultations (captures).
    pub consultations: i64,
}

/// The platform's money in one period, in millimes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Finance {
    pub period: String,
    /// Coins bought.
    pub deposits: i64,
    /// Captured from holds (expert and platform shares).
    pub captured: i64,
    /// The platform's 20 % of what was captured.
    pub commissions: i64,
    /// Given back after capture.
    pub refunds: i64,
    /// Commissions less the platform's share of refunds.
    pub revenue: i64,
    /// Payouts experts requested.
    pub payouts_requested: i64,
    /// Payouts rejected, back in the experts' earnings.
    pub payouts_rejected: i64,
    /// Paid to experts' banks: settled payouts less the tax withheld.
    pub paid_out: i64,
    /// Withheld at source from settled payouts, owed to the state.
    pub withheld: i64,
}

/// Payouts waiting for a decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PendingPayouts {
    pub count: i64,
    /// Millimes in transit.
    pub amount: i64,
}

/// The service a hold paid for: the part of its reference before `:`.
fn service(reference: &str) -> String {
    reference
        .split_once(':')
        .map_or(reference, |(s, _)| s)
        .to_owned()
}

type Row = (
    String,
    i64,
    String,
    i64,
    String,
    String,
    Option<String>,
    String,
);

fn entry(r: Row) -> Entry {
    Entry {
        id: r.0,
        at: r.1,
        kind: r.2,
        amount: r.3,
        from: r.4,
        to: r.5,
        hold: r.6,
        reference: r.7,
    }
}

impl Ledger {
    /// The movements of `owner`'s wallet, held coins, earnings and payouts
    /// in transit, newest first.
    pub async fn history(
        &self,
        owner: Uuid,
        filter: &HistoryFilter,
    ) -> Result<Vec<Entry>, LedgerError> {
        let mine = [
            Account::Wallet(owner).id(),
            Account::Held(owner).id(),
            Account::Earnings(owner).id(),
            Account::Payout(owner).id(),
        ];
        let mut sql = String::from(
            "SELECT id, at, kind, amount, from_account, to_account, hold_id, reference \
             FROM ledger_transfers WHERE (from_account IN ($1, $2, $3, $4) \
             OR to_account IN ($1, $2, $3, $4)) AND at >= $5 AND at < $6",
        );
        if filter.before.is_some() {
            sql.push_str(" AND (at < $8 OR (at = $8 AND id < $9))");
        }
        if !filter.kinds.is_empty() {
            let kinds: Vec<String> = filter
                .kinds
                .iter()
                .map(|k| format!("'{}'", k.as_str()))
                .collect();
            // Kinds are our own constants, never the client's text.
            sql.push_str(&format!(" AND kind IN ({})", kinds.join(", ")));
        }
        sql.push_str(" ORDER BY at DESC, id DESC LIMIT $7");
        let mut q = sqlx::query_as::<_, Row>(&sql);
        for account in &mine {
            q = q.bind(account);
        }
        q = q
            .bind(filter.from.unwrap_or(i64::MIN))
            .bind(filter.to.unwrap_or(i64::MAX))
            .bind(filter.limit);
        if let Some((at, id)) = &filter.before {
            q = q.bind(*at).bind(id.as_str());
        }
        let rows = q.fetch_all(self.db.pool()).await?;
        Ok(rows.into_iter().map(entry).collect())
    }

    /// An expert's earnings per period and service, from captures less
    /// refunds, between `from` (inclusive) and `to` (exclusive).
    pub async fn earnings(
        &self,
        payee: Uuid,
        from: i64,
        to: i64,
        period: Period,
    ) -> Result<Vec<Earnings>, LedgerError> {
        let rows: Vec<(i64, String, i64, String)> = sqlx::query_as(
            "SELECT at, kind, amount, reference FROM ledger_transfers \
             WHERE (to_account = $1 OR from_account = $1) AND kind IN ('capture_expert', 'refund_expert') \
             AND at >= $2 AND at < $3",
        )
        .bind(Account::Earnings(payee).id())
        .bind(from)
        .bind(to)
        .fetch_all(self.db.pool())
        .await?;
        let mut table: BTreeMap<(Date, String), (i64, i64)> = BTreeMap::new();
        for (at, kind, amount, reference) in rows {
            let cell = table
                .entry((period.start(at), service(&reference)))
                .or_default();
            if kind == TransferKind::CaptureExpert.as_str() {
                cell.0 += amount;
                cell.1 += 1;
            } else {
                cell.0 -= amount;
            }
        }
        Ok(table
            .into_iter()
            .map(|((day, service), (earned, consultations))| Earnings {
                period: day.to_string(),
                service,
                earned,
                consultations,
            })
            .collect())
    }

    /// The platform's money per period between `from` and `to`.
    pub async fn finance(
        &self,
        from: i64,
        to: i64,
        period: Period,
    ) -> Result<Vec<Finance>, LedgerError> {
        // Summed per UTC day in the database (integer division is the one
        // date arithmetic both backends share), then per period here.
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT at / 86400000, kind, CAST(SUM(amount) AS BIGINT) FROM ledger_transfers \
             WHERE at >= $1 AND at < $2 AND kind IN \
             ('deposit', 'capture_expert', 'capture_platform', 'refund_expert', 'refund_platform', \
              'payout_requested', 'payout_returned', 'payout_paid', 'payout_withheld') \
             GROUP BY at / 86400000, kind",
        )
        .bind(from)
        .bind(to)
        .fetch_all(self.db.pool())
        .await?;
        let mut table: BTreeMap<Date, Finance> = BTreeMap::new();
        for (day, kind, amount) in rows {
            let f = table.entry(period.start(day * 86_400_000)).or_default();
            match kind.as_str() {
                "deposit" => f.deposits += amount,
                "capture_expert" => f.captured += amount,
                "capture_platform" => {
                    f.captured += amount;
                    f.commissions += amount;
                    f.revenue += amount;
                }
                "refund_expert" => f.refunds += amount,
                "refund_platform" => {
                    f.refunds += amount;
                    f.revenue -= amount;
                }
                "payout_requested" => f.payouts_requested += amount,
                "payout_returned" => f.payouts_rejected += amount,
                "payout_paid" => f.paid_out += amount,
                "payout_withheld" => f.withheld += amount,
                _ => {}
            }
        }
        Ok(table
            .into_iter()
            .map(|(day, f)| Finance {
                period: day.to_string(),
                ..f
            })
            .collect())
    }

    /// Payouts requested and not yet decided, over all experts: how many,
    /// and the millimes in transit.
    pub async fn pending_payouts(&self) -> Result<PendingPayouts, LedgerError> {
        let (count, amount): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(CAST(SUM(amount) AS BIGINT), 0) FROM ledger_payouts \
             WHERE state = 'pending'",
        )
        .fetch_one(self.db.pool())
        .await?;
        Ok(PendingPayouts { count, amount })
    }

    /// Every hold still waiting, oldest first, at most `limit`.
    pub async fn all_pending_holds(
        &self,
        limit: i64,
    ) -> Result<Vec<super::rules::HoldRecord>, LedgerError> {
        self.holds_where("state = $1", "pending", limit).await
    }

    /// Holds still waiting, paid by `payer`, oldest first (at most 1,000).
    pub async fn pending_holds(
        &self,
        payer: Uuid,
    ) -> Result<Vec<super::rules::HoldRecord>, LedgerError> {
        self.holds_where(
            "payer = $1 AND state = 'pending'",
            &payer.to_string(),
            1_000,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_start_on_the_first_day_utc() {
        // 2026-11-25 is a Wednesday; 23:59:59.999 UTC.
        let ms = 1_795_651_199_999;
        assert_eq!(Period::Day.start(ms).to_string(), "2026-11-25");
        assert_eq!(Period::Week.start(ms).to_string(), "2026-11-23");
        assert_eq!(Period::Month.start(ms).to_string(), "2026-11-01");
        assert_eq!(Period::Day.start(ms + 1).to_string(), "2026-11-26");
    }

    #[test]
    fn a_service_is_the_reference_before_its_colon() {
        assert_eq!(service("booking:42"), "booking");
        assert_eq!(service("call"), "call");
    }
}
