//! Experts: the profile people book, the verification that lets them be
//! listed, and the one rule that decides who is listed.

pub mod bank;
pub mod documents;
pub mod listing;
pub mod review;
pub mod seal;
pub mod store;
pub mod tax;
pub mod validate;
pub mod verification;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::text_enum;

/// Where an expert stands in verification. Only approved experts can be
/// listed (searched, shown, booked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Being filled in; never reviewed, or withdrawn.
    Draft,
    /// Waiting in the administrators' queue.
    Submitted,
    Approved,
    /// Refused with a reason; the expert may correct and resubmit.
    Rejected,
}

text_enum!(State { Draft = "draft", Submitted = "submitted", Approved = "approved", Rejected = "rejected" });

/// The services an expert may offer, each with its own price in coins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// A reply to a text message, per message.
    TextMessage,
    /// A reply to a video message, per message.
    VideoMessage,
    /// A video call, per minute (10 minutes at least).
    VideoCall,
}

text_enum!(Service { TextMessage = "text_message", VideoMessage = "video_message", VideoCall = "video_call" });

impl Service {
    pub const ALL: [Service; 3] = [
        Service::TextMessage,
        Service::VideoMessage,
        Service::VideoCall,
    ];

    /// The `experts` column holding this service's price.
    pub fn price_column(self) -> &'static str {
        match self {
            Service::TextMessage => "price_text",
            Service::VideoMessage => "price_video",
            Service::VideoCall => "price_call",
        }
    }
}

/// Prices in coins; `None` means the service is not offered. Whatever is
/// bought copies the price of the moment, so changing these never changes
/// something already booked or sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    pub text_message: Option<i64>,
    pub video_message: Option<i64>,
    /// Per minute.
    pub video_call: Option<i64>,
}

impl Prices {
    pub fn of(&self, service: Service) -> Option<i64> {
        match service {
            Service::TextMessage => self.text_message,
            Service::VideoMessage => self.video_message,
            Service::VideoCall => self.video_call,
        }
    }
}

/// How an expert is taxed on payouts (rates are platform settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TaxOption {
    /// Option 1: VAT on the earnings.
    Vat,
    /// Option 2: withholding at source.
    Withholding,
}

text_enum!(TaxOption { Vat = "vat", Withholding = "withholding" });

/// A point on Earth in microdegrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub latitude_e6: i64,
    pub longitude_e6: i64,
}

/// An expert's profile as stored (the name and photo live on the account).
#[derive(Debug, Clone)]
pub struct Expert {
    pub account_id: String,
    pub bio: String,
    pub domains: Vec<String>,
    pub languages: Vec<String>,
    pub city: Option<String>,
    pub position: Option<Position>,
    pub prices: Prices,
    pub instant_booking: bool,
    pub state: State,
    pub state_reason: Option<String>,
    pub submitted_at: Option<i64>,
    pub decided_at: Option<i64>,
    pub tax_option: Option<TaxOption>,
    pub bank_kind: Option<String>,
    pub bank_hint: Option<String>,
    pub hidden: bool,
    pub listed: bool,
    pub consultations: i64,
    pub rating_count: i64,
    pub rating_sum: i64,
    pub last_active_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Expert {
    /// A fresh draft profile.
    pub fn new(account_id: &str, now: i64) -> Self {
        Expert {
            account_id: account_id.to_owned(),
            bio: String::new(),
            domains: Vec::new(),
            languages: Vec::new(),
            city: None,
            position: None,
            prices: Prices::default(),
            instant_booking: false,
            state: State::Draft,
            state_reason: None,
            submitted_at: None,
            decided_at: None,
            tax_option: None,
            bank_kind: None,
            bank_hint: None,
            hidden: false,
            listed: false,
            consultations: 0,
            rating_count: 0,
            rating_sum: 0,
            last_active_at: now,
            created_at: now,
            updated_at: now,
        }
    }
}
