//! Response shapes of the accounts API.

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::accounts::{Account, Language, NotificationPrefs, Privacy, Role, Status};

/// RFC 3339 UTC timestamp of a Unix-millisecond instant.
pub fn timestamp(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

pub(crate) fn photo_url(a: &Account) -> Option<String> {
    account_photo_url(&a.id, a.photo_key.as_deref())
}

pub(crate) fn account_photo_url(id: &str, photo_key: Option<&str>) -> Option<String> {
    photo_key.map(|key| {
        // The key changes with every upload, so it doubles as a cache buster.
        let version = key
            .rsplit('/')
            .next()
            .unwrap_or(key)
            .trim_end_matches(".jpg");
        format!("/api/v1/accounts/{id}/photo?v={version}")
    })
}

/// An account as its owner and administrators see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub role: Role,
    pub status: Status,
    pub first_name: String,
    pub last_name: String,
    pub bio: Option<String>,
    pub interests: Vec<String>,
    pub privacy: Privacy,
    pub language: Language,
    pub notifications: NotificationPrefs,
    /// E.164, where SMS notifications go.
    pub phone: Option<String>,
    pub photo_url: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&Account> for AccountView {
    fn from(a: &Account) -> Self {
        AccountView {
            id: a.id.clone(),
            email: a.email.clone(),
            email_verified: a.email_verified_at.is_some(),
            role: a.role,
            status: a.status,
            first_name: a.first_name.clone(),
            last_name: a.last_name.clone(),
            bio: a.bio.clone(),
            interests: a.interests.clone(),
            privacy: a.privacy,
            language: a.language,
            notifications: a.notifications,
            phone: a.phone.clone(),
            photo_url: photo_url(a),
            created_at: timestamp(a.created_at),
            updated_at: timestamp(a.updated_at),
        }
    }
}

/// What anyone may see of a public profile.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicProfile {
    pub id: String,
    pub role: Role,
    pub first_name: String,
    pub last_name: String,
    pub bio: Option<String>,
    pub interests: Vec<String>,
    pub photo_url: Option<String>,
}

impl From<&Account> for PublicProfile {
    fn from(a: &Account) -> Self {
        PublicProfile {
            id: a.id.clone(),
            role: a.role,
            first_name: a.first_name.clone(),
            last_name: a.last_name.clone(),
            bio: a.bio.clone(),
            interests: a.interests.clone(),
            photo_url: photo_url(a),
        }
    }
}

/// Credentials after a login or a refresh.
#[derive(Debug, Serialize, ToSchema)]
pub struct Tokens {
    pub access_token: String,
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Single use: each refresh returns the next one.
    pub refresh_token: String,
    pub account: AccountView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusMessage {
    pub status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountPage {
    pub items: Vec<AccountView>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}
