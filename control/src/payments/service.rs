//! Purchases: the payments table, the providers, and settling a payment
//! into the ledger exactly once.

use std::sync::Arc;

use platform::config::ConfigError;
use platform::{Clock, Database};
use serde::Serialize;
use uuid::Uuid;

use super::clictopay::ClicToPay;
use super::flouci::Flouci;
use super::konnect::Konnect;
use super::paypal::PayPal;
use super::sandbox::Sandbox;
use super::{Charge, Gateway, GatewayError, PaymentState, Verified};
use crate::ledger::{Ledger, LedgerError, Request, MILLIMES_PER_COIN};
use crate::notify::{self, Event, Notice};
use crate::settings::PaymentSettings;

/// What is being bought.
#[derive(Debug, Clone, Copy)]
pub enum Order {
    /// One of the configured packs, by its place in the list.
    Pack(usize),
    /// A chosen number of coins at the coin price.
    Coins(i64),
}

/// A purchase of coins, as its buyer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Purchase {
    pub id: String,
    #[serde(skip)]
    pub account_id: String,
    pub coins: i64,
    /// Millimes of TND.
    pub price: i64,
    pub provider: String,
    #[serde(skip)]
    pub provider_ref: Option<String>,
    pub state: PaymentState,
    /// The provider's page where the buyer pays (while pending).
    pub checkout_url: Option<String>,
    pub failure: Option<String>,
    pub created_at: i64,
    pub settled_at: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum PaymentsError {
    #[error("{field} {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("this idempotency key was used for another purchase")]
    KeyReused,
    #[error("no such payment")]
    NotFound,
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Notify(#[from] crate::notify::NotifyError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    account_id: String,
    coins: i64,
    price: i64,
    provider: String,
    provider_ref: Option<String>,
    state: String,
    checkout_url: Option<String>,
    failure: Option<String>,
    created_at: i64,
    settled_at: Option<i64>,
}

const COLUMNS: &str = "id, account_id, coins, price, provider, provider_ref, state, checkout_url, \
                       failure, created_at, settled_at";

fn purchase(r: Row) -> Result<Purchase, sqlx::Error> {
    let state = PaymentState::parse(&r.state)
        .ok_or_else(|| sqlx::Error::Decode(format!("payments.state: {:?}", r.state).into()))?;
    Ok(Purchase {
        id: r.id,
        account_id: r.account_id,
        coins: r.coins,
        price: r.price,
        provider: r.provider,
        provider_ref: r.provider_ref,
        state,
        checkout_url: r.checkout_url,
        failure: r.failure,
        created_at: r.created_at,
        settled_at: r.settled_at,
    })
}

pub struct Payments {
    db: Database,
    clock: Arc<dyn Clock>,
    ledger: Ledger,
    gateways: Vec<Gateway>,
    settings: PaymentSettings,
    public_url: String,
}

impl Payments {
    pub fn new(
        db: Database,
        clock: Arc<dyn Clock>,
        ledger: Ledger,
        settings: &PaymentSettings,
        public_url: &str,
    ) -> Result<Payments, ConfigError> {
        let mut gateways = Vec::new();
        for name in &settings.providers {
            gateways.push(match name.as_str() {
                super::sandbox::NAME => {
                    Gateway::Sandbox(Sandbox::new(db.clone(), clock.clone(), public_url))
                }
                super::konnect::NAME => Gateway::Konnect(
                    Konnect::new(&settings.konnect)
                        .map_err(|key| ConfigError::key(key, "must be set to offer konnect"))?,
                ),
                super::clictopay::NAME => Gateway::ClicToPay(
                    ClicToPay::new(&settings.clictopay)
                        .map_err(|key| ConfigError::key(key, "must be set to offer clictopay"))?,
                ),
                super::paypal::NAME => {
                    Gateway::PayPal(PayPal::new(&settings.paypal).map_err(|key| {
                        ConfigError::key(key, "must be set (and valid) to offer paypal")
                    })?)
                }
                super::flouci::NAME => Gateway::Flouci(
                    Flouci::new(&settings.flouci)
                        .map_err(|key| ConfigError::key(key, "must be set to offer flouci"))?,
                ),
                other => {
                    return Err(ConfigError::key(
                        "control.payments.providers",
                        format!(
                        "{other:?} is not a provider (sandbox, konnect, flouci, clictopay, paypal)"
                    ),
                    ))
                }
            });
        }
        let packs_ok = settings.packs.iter().all(|p| p.coins > 0 && p.price > 0);
        if !packs_ok
            || settings.coin_price <= 0
            || settings.min_coins < 1
            || settings.max_coins < settings.min_coins
        {
            return Err(ConfigError::key(
                "control.payments",
                "packs, coin_price and min_coins must be positive, max_coins at least min_coins",
            ));
        }
        Ok(Payments {
            db,
            clock,
            ledger,
            gateways,
            settings: settings.clone(),
            public_url: public_url.to_owned(),
        })
    }

    pub fn providers(&self) -> Vec<&'static str> {
        self.gateways.iter().map(Gateway::name).collect()
    }

    pub fn settings(&self) -> &PaymentSettings {
        &self.settings
    }

    fn gateway(&self, name: &str) -> Option<&Gateway> {
        self.gateways.iter().find(|g| g.name() == name)
    }

    pub fn paypal(&self) -> Option<&PayPal> {
        self.gateways.iter().find_map(|g| match g {
            Gateway::PayPal(p) => Some(p),
            _ => None,
        })
    }

    pub fn sandbox(&self) -> Option<&Sandbox> {
        self.gateways.iter().find_map(|g| match g {
            Gateway::Sandbox(s) => Some(s),
            _ => None,
        })
    }

    /// Starts a purchase, or returns the one started with the same key.
    pub async fn start(
        &self,
        account: &str,
        key: &str,
        order: Order,
        provider: &str,
    ) -> Result<Purchase, PaymentsError> {
        let invalid = |field, reason: String| PaymentsError::Invalid { field, reason };
        if key.is_empty() || key.len() > 200 {
            return Err(invalid(
                "Idempotency-Key",
                "must be 1 to 200 characters".into(),
            ));
        }
        let gateway = self.gateway(provider).ok_or_else(|| {
            invalid(
                "provider",
                format!("must be one of {}", self.providers().join(", ")),
            )
        })?;
        let s = &self.settings;
        let (coins, price) = match order {
            Order::Pack(i) => {
                let pack = s.packs.get(i).ok_or_else(|| {
                    invalid(
                        "pack",
                        format!("must be 0 to {}", s.packs.len().saturating_sub(1)),
                    )
                })?;
                (pack.coins, pack.price)
            }
            Order::Coins(n) if (s.min_coins..=s.max_coins).contains(&n) => (n, n * s.coin_price),
            Order::Coins(_) => {
                return Err(invalid(
                    "coins",
                    format!("must be {} to {}", s.min_coins, s.max_coins),
                ))
            }
        };
        let now = self.clock.now_ms();
        let id = Uuid::new_v4().to_string();
        let inserted = sqlx::query(
            "INSERT INTO payments (id, account_id, idempotency_key, coins, price, provider, state, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7) \
             ON CONFLICT (account_id, idempotency_key) DO NOTHING",
        )
        .bind(&id)
        .bind(account)
        .bind(key)
        .bind(coins)
        .bind(price)
        .bind(provider)
        .bind(now)
        .execute(self.db.pool())
        .await?
        .rows_affected();
        if inserted == 0 {
            let row: Row = sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM payments WHERE account_id = $1 AND idempotency_key = $2"
            ))
            .bind(account)
            .bind(key)
            .fetch_one(self.db.pool())
            .await?;
            let first = purchase(row)?;
            if (first.coins, first.price, first.provider.as_str()) != (coins, price, provider) {
                return Err(PaymentsError::KeyReused);
            }
            return Ok(first);
        }
        let charge = Charge {
            payment: id.clone(),
            amount: price,
            description: format!("{coins} DeepInfluence coins"),
            webhook_url: format!("{}/api/v1/payments/{provider}/webhook", self.public_url),
            return_url: format!("{}/api/v1/payments/return/{id}", self.public_url),
        };
        match gateway.create(&charge).await {
            Ok(checkout) => {
                sqlx::query(
                    "UPDATE payments SET provider_ref = $1, checkout_url = $2, updated_at = $3 \
                     WHERE id = $4",
                )
                .bind(&checkout.provider_ref)
                .bind(&checkout.url)
                .bind(self.clock.now_ms())
                .bind(&id)
                .execute(self.db.pool())
                .await?;
            }
            Err(e) => {
                self.fail(&id, &e.to_string()).await?;
                return Err(e.into());
            }
        }
        self.get(&id).await?.ok_or(PaymentsError::NotFound)
    }

    pub async fn get(&self, id: &str) -> Result<Option<Purchase>, PaymentsError> {
        let row: Option<Row> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM payments WHERE id = $1"))
                .bind(id)
                .fetch_optional(self.db.pool())
                .await?;
        Ok(row.map(purchase).transpose()?)
    }

    /// An account's purchases, newest first.
    pub async fn list(&self, account: &str, limit: i64) -> Result<Vec<Purchase>, PaymentsError> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM payments WHERE account_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(account)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows.into_iter().map(purchase).collect::<Result<_, _>>()?)
    }

    /// Pending purchases of everyone, oldest first.
    pub async fn pending(&self, limit: i64) -> Result<Vec<Purchase>, PaymentsError> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM payments WHERE state = 'pending' ORDER BY created_at, id LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows.into_iter().map(purchase).collect::<Result<_, _>>()?)
    }

    /// A provider said something happened to one of its payments: ask it
    /// what, and settle.
    pub async fn notified(
        &self,
        provider: &str,
        provider_ref: &str,
    ) -> Result<Purchase, PaymentsError> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM payments WHERE provider = $1 AND provider_ref = $2"
        ))
        .bind(provider)
        .bind(provider_ref)
        .fetch_optional(self.db.pool())
        .await?;
        let p = row
            .map(purchase)
            .transpose()?
            .ok_or(PaymentsError::NotFound)?;
        self.settle(p).await
    }

    /// Settles a pending payment from the provider's own answer. Paid: the
    /// coins go to the wallet by a ledger deposit keyed by the payment, so a
    /// second settlement (a duplicate webhook, a replica racing, a crash
    /// between the deposit and the state change) credits nothing more.
    pub async fn settle(&self, p: Purchase) -> Result<Purchase, PaymentsError> {
        let (PaymentState::Pending, Some(reference), Some(gateway)) =
            (p.state, &p.provider_ref, self.gateway(&p.provider))
        else {
            return Ok(p);
        };
        let verified = match gateway.verify(reference, p.price).await? {
            Verified::Paid { amount } if amount != p.price => {
                Verified::Mismatch(format!("paid {amount} millimes, expected {}", p.price))
            }
            v => v,
        };
        match verified {
            Verified::Pending => return Ok(p),
            Verified::Failed(why) => self.fail(&p.id, &why).await?,
            Verified::Mismatch(what) => {
                // Money moved, but not what we asked: a human has to look at it.
                tracing::error!(payment = %p.id, %what, "payment amount mismatch");
                self.fail(&p.id, &what).await?;
            }
            Verified::Paid { .. } => {
                let account = Uuid::parse_str(&p.account_id)
                    .map_err(|_| sqlx::Error::Decode("payments.account_id".into()))?;
                let deposit = Request::Deposit {
                    account,
                    amount: p.coins * MILLIMES_PER_COIN,
                    provider: p.provider.clone(),
                    reference: format!("payment:{}", p.id),
                };
                self.ledger
                    .apply(&format!("payment:{}", p.id), &deposit)
                    .await?;
                let now = self.clock.now_ms();
                let mut tx = self.db.begin_write().await?;
                let settled = sqlx::query(
                    "UPDATE payments SET state = 'paid', settled_at = $1, updated_at = $1 \
                     WHERE id = $2 AND state = 'pending'",
                )
                .bind(now)
                .bind(&p.id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                // Told with the change, by whoever makes it.
                if settled == 1 {
                    let notice = Notice {
                        account_id: p.account_id.clone(),
                        event: Event::PaymentSucceeded {
                            payment_id: p.id.clone(),
                            coins: p.coins,
                        },
                        dedupe_key: format!("payment:{}:paid", p.id),
                    };
                    notify::emit(&mut tx, now, notice).await?;
                }
                tx.commit().await?;
            }
        }
        self.get(&p.id).await?.ok_or(PaymentsError::NotFound)
    }

    async fn fail(&self, id: &str, why: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE payments SET state = 'failed', failure = $1, updated_at = $2 \
             WHERE id = $3 AND state = 'pending'",
        )
        .bind(why)
        .bind(self.clock.now_ms())
        .bind(id)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Asks the providers about pending payments started more than
    /// `quiet_ms` ago (their notification may never come), settling what
    /// they answer; those pending past `give_up_after` are marked failed.
    /// Returns how many it settled as paid or failed.
    pub async fn reconcile(&self, quiet_ms: i64, limit: i64) -> Result<usize, PaymentsError> {
        let now = self.clock.now_ms();
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM payments WHERE state = 'pending' AND created_at <= $1 \
             ORDER BY created_at LIMIT $2"
        ))
        .bind(now - quiet_ms)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        let give_up = now - self.settings.give_up_after.as_millis() as i64;
        let mut settled = 0;
        for row in rows {
            let p = purchase(row)?;
            let (id, started) = (p.id.clone(), p.created_at);
            let after = match self.settle(p).await {
                Ok(after) => after,
                // One provider being down does not stop the others.
                Err(PaymentsError::Gateway(e)) => {
                    tracing::warn!(payment = %id, error = %e, "reconciliation could not ask the provider");
                    continue;
                }
                Err(e) => return Err(e),
            };
            if after.state == PaymentState::Pending && started <= give_up {
                self.fail(&id, "not paid in time").await?;
                settled += 1;
            } else if after.state != PaymentState::Pending {
                settled += 1;
            }
        }
        Ok(settled)
    }
}
