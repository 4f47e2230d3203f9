//! Buying coins: a purchase starts a payment with a provider, the buyer pays
//! on the provider's page, and the coins are credited once the provider
//! confirms it, server to server.
//!
//! A provider's notification (webhook, redirect) is only a hint: whatever it
//! says, the payment is settled from the provider's answer to our own
//! status call (`Gateway::verify`), and the coins go to the ledger as a
//! deposit keyed `payment:<id>`, so a payment credits its coins exactly once
//! however many notifications, retries and reconciliation passes confirm it.
//! Reconciliation (`Payments::reconcile`) asks the provider about payments
//! whose notification never came.

mod clictopay;
mod flouci;
mod http;
mod konnect;
pub mod paypal;
mod sandbox;
pub mod service;

use serde::Serialize;

pub use sandbox::Sandbox;
pub use service::{Payments, PaymentsError, Purchase};

/// Where a payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    /// Waiting for the buyer to pay, or for the provider to say so.
    Pending,
    /// Confirmed by the provider; the coins are in the wallet.
    Paid,
    Failed,
}

impl PaymentState {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentState::Pending => "pending",
            PaymentState::Paid => "paid",
            PaymentState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<PaymentState> {
        [
            PaymentState::Pending,
            PaymentState::Paid,
            PaymentState::Failed,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }
}

/// What we ask a provider to charge.
#[derive(Debug, Clone)]
pub struct Charge {
    /// Our payment id, given to the provider as its order id.
    pub payment: String,
    /// Millimes of TND.
    pub amount: i64,
    pub description: String,
    /// Where the provider notifies us.
    pub webhook_url: String,
    /// Where the buyer's browser returns, paid or not: it settles the
    /// payment from the provider's answer, like a notification.
    pub return_url: String,
}

/// The provider's side of a started payment.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub provider_ref: String,
    /// The page where the buyer pays.
    pub url: String,
}

/// A provider's answer to "was this payment made?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// Paid, with the amount (millimes of TND) the provider collected.
    Paid {
        amount: i64,
    },
    /// Paid, but not what was asked (described): a case for a human.
    Mismatch(String),
    Pending,
    Failed(String),
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The provider could not be reached or answered with a server error:
    /// worth trying again later.
    #[error("{provider} is unavailable: {detail}")]
    Unavailable {
        provider: &'static str,
        detail: String,
    },
    /// The provider refused the request (bad key, unknown payment...).
    #[error("{provider} refused the request: {detail}")]
    Refused {
        provider: &'static str,
        detail: String,
    },
}

/// The providers, each an adapter to its public API.
pub enum Gateway {
    Sandbox(sandbox::Sandbox),
    Konnect(konnect::Konnect),
    Flouci(flouci::Flouci),
    ClicToPay(clictopay::ClicToPay),
    PayPal(paypal::PayPal),
}

impl Gateway {
    pub fn name(&self) -> &'static str {
        match self {
            Gateway::Sandbox(_) => sandbox::NAME,
            Gateway::Konnect(_) => konnect::NAME,
            Gateway::Flouci(_) => flouci::NAME,
            Gateway::ClicToPay(_) => clictopay::NAME,
            Gateway::PayPal(_) => paypal::NAME,
        }
    }

    pub async fn create(&self, charge: &Charge) -> Result<Checkout, GatewayError> {
        match self {
            Gateway::Sandbox(g) => g.create(charge).await,
            Gateway::Konnect(g) => g.create(charge).await,
            Gateway::Flouci(g) => g.create(charge).await,
            Gateway::ClicToPay(g) => g.create(charge).await,
            Gateway::PayPal(g) => g.create(charge).await,
        }
    }

    /// Whether the payment of `price` millimes was made.
    pub async fn verify(&self, provider_ref: &str, price: i64) -> Result<Verified, GatewayError> {
        match self {
            Gateway::Sandbox(g) => g.verify(provider_ref).await,
            Gateway::Konnect(g) => g.verify(provider_ref).await,
            Gateway::Flouci(g) => g.verify(provider_ref).await,
            Gateway::ClicToPay(g) => g.verify(provider_ref).await,
            Gateway::PayPal(g) => g.verify(provider_ref, price).await,
        }
    }
}
