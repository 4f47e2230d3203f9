//! Finding experts: keywords ranked by relevance (FTS5 on SQLite, tsvectors on
//! PostgreSQL, both fed text folded here so they match alike),
//! filters, sorts with keyset pagination, and completion as one types.
//!
//! `sql` builds a query from a `Query` without touching a database; `store`
//! runs it (and decides distances); `suggest` completes names and domains.

pub mod cursor;
pub mod density;
pub mod fold;
pub mod geo;
pub mod index;
pub mod sql;
pub mod store;
pub mod suggest;
pub mod tags;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::experts::{Position, Service};

/// Result order. Every order ends with the expert id, so it is total and
/// pages never overlap or skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Best keyword match first (needs keywords; the default with them): see
    /// `sql::Field`; then popularity.
    Relevance,
    /// Most completed consultations, then most recently active (the default
    /// without keywords).
    Popularity,
    /// Cheapest first, for the price's service.
    PriceAsc,
    PriceDesc,
    /// Best average rating, then most ratings.
    Rating,
}

impl Sort {
    pub fn name(self) -> &'static str {
        match self {
            Sort::Relevance => "relevance",
            Sort::Popularity => "popularity",
            Sort::PriceAsc => "price_asc",
            Sort::PriceDesc => "price_desc",
            Sort::Rating => "rating",
        }
    }
}

/// Within `radius_m` of `centre`.
#[derive(Debug, Clone, Copy)]
pub struct Near {
    pub centre: Position,
    pub radius_m: f64,
}

/// Has at least one free slot of the shortest bookable length between
/// `from` and `to` (Unix ms), as the calendar decides it at `now`.
#[derive(Debug, Clone, Copy)]
pub struct Free {
    pub from: i64,
    pub to: i64,
    pub now: i64,
}

#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub domain: Option<String>,
    /// Offers this service; price bounds and price sorts apply to it.
    pub service: Option<Service>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    /// ISO 639-1 code.
    pub language: Option<String>,
    /// Average rating at least this, x 1000.
    pub min_rating_milli: Option<i64>,
    pub near: Option<Near>,
    pub free: Option<Free>,
}

impl Filters {
    /// The service whose price bounds and sorts apply: the one asked for, or
    /// video calls.
    pub fn price_service(&self) -> Service {
        self.service.unwrap_or(Service::VideoCall)
    }
}

#[derive(Debug, Clone)]
pub struct Query {
    /// Folded keywords; all must match (each as a word prefix).
    pub words: Vec<String>,
    pub filters: Filters,
    pub sort: Sort,
    /// The sort keys of the last item already seen.
    pub after: Option<Vec<cursor::Key>>,
    pub limit: usize,
}

/// One expert found.
#[derive(Debug, Clone)]
pub struct Hit {
    pub account_id: String,
    pub first_name: String,
    pub last_name: String,
    pub photo_key: Option<String>,
    pub city: Option<String>,
    pub languages: Vec<String>,
    pub domains: Vec<String>,
    pub prices: crate::experts::Prices,
    pub instant_booking: bool,
    pub rating_count: i64,
    pub rating_sum: i64,
    pub rating_milli: i64,
    pub consultations: i64,
    pub last_active_at: i64,
    pub position: Option<Position>,
    /// Relevance (`sql::Field`); 0 without keywords.
    pub score: f64,
    pub distance_m: Option<f64>,
}

impl Hit {
    /// The values this hit sorts by under `sort`, as a cursor records them.
    pub fn keys(&self, sort: Sort, price_service: Service) -> Vec<cursor::Key> {
        use cursor::Key;
        let id = Key::Text(self.account_id.clone());
        let price = Key::Int(self.prices.of(price_service).unwrap_or_default());
        match sort {
            Sort::Relevance => vec![
                Key::Float(self.score),
                Key::Int(self.consultations),
                Key::Int(self.last_active_at),
                id,
            ],
            Sort::Popularity => vec![
                Key::Int(self.consultations),
                Key::Int(self.last_active_at),
                id,
            ],
            Sort::PriceAsc | Sort::PriceDesc => vec![price, id],
            Sort::Rating => vec![Key::Int(self.rating_milli), Key::Int(self.rating_count), id],
        }
    }
}

pub struct Page {
    pub hits: Vec<Hit>,
    pub next: Option<Vec<cursor::Key>>,
}
