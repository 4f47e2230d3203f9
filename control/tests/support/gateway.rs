//! What the local payment-provider servers share: the payments they were
//! asked for, what the buyer did, and whether the provider is down. Each
//! provider's module speaks its own API over it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;

#[derive(Debug, Clone)]
pub struct Payment {
    pub amount: i64,
    /// Our payment id, as the provider was given it.
    pub order_id: String,
    /// Where the provider notifies us (empty for providers that do not).
    pub webhook: String,
    /// Where the provider sends the buyer back.
    pub return_url: String,
    pub paid: bool,
    /// What the provider reports as paid, when not the amount asked.
    pub paid_amount: Option<i64>,
    /// A second step done by the provider after the buyer paid (PayPal's
    /// capture).
    pub captured: bool,
}

impl Payment {
    pub fn reported_amount(&self) -> i64 {
        self.paid_amount.unwrap_or(self.amount)
    }
}

#[derive(Default)]
struct Inner {
    payments: HashMap<String, Payment>,
    down: bool,
    next: u64,
}

#[derive(Clone)]
pub struct Gateway {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

impl Gateway {
    /// Serves `routes` (given this gateway as their state) on a loopback port.
    pub async fn start(routes: impl FnOnce(Gateway) -> Router) -> Gateway {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gateway = Gateway {
            base: format!("http://{}", listener.local_addr().unwrap()),
            inner: Arc::default(),
        };
        let app = routes(gateway.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        gateway
    }

    /// Records a payment asked for; returns its new reference, made with
    /// `format` from a counter.
    pub fn open(&self, payment: Payment, format: fn(u64) -> String) -> String {
        let mut inner = self.inner.lock().unwrap();
        inner.next += 1;
        let reference = format(inner.next);
        inner.payments.insert(reference.clone(), payment);
        reference
    }

    pub fn payment(&self, reference: &str) -> Option<Payment> {
        self.inner.lock().unwrap().payments.get(reference).cloned()
    }

    /// The buyer pays `amount` (the amount asked when `None`).
    pub fn pay(&self, reference: &str, amount: Option<i64>) {
        let mut inner = self.inner.lock().unwrap();
        let p = inner.payments.get_mut(reference).unwrap();
        p.paid = true;
        p.paid_amount = amount;
    }

    /// Runs `change` on a payment; false if there is none.
    pub fn update(&self, reference: &str, change: impl FnOnce(&mut Payment)) -> bool {
        let mut inner = self.inner.lock().unwrap();
        inner.payments.get_mut(reference).map(change).is_some()
    }

    pub fn set_down(&self, down: bool) {
        self.inner.lock().unwrap().down = down;
    }

    pub fn is_down(&self) -> bool {
        self.inner.lock().unwrap().down
    }
}
