//! Accounts: who someone is on the platform, their profile and their standing.

pub mod store;
pub mod validate;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Expert,
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    Deactivated,
    /// Anonymised; the row stays so financial records keep their counterpart.
    Deleted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Privacy {
    /// Anyone can see the profile.
    Public,
    /// Only the owner and administrators can see it.
    Private,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Fr,
    En,
}

/// Which channels a person wants notifications on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NotificationPrefs {
    pub email: bool,
    pub sms: bool,
    pub push: bool,
}

macro_rules! text_enum {
    ($t:ty { $($v:ident = $s:literal),* $(,)? }) => {
        impl $t {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
            /// Parses the stored form; the database's CHECK constraints
            /// guarantee one of the known values.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(Self::$v),)* _ => None }
            }
        }
    };
}

pub(crate) use text_enum;

text_enum!(Role { User = "user", Expert = "expert", Admin = "admin" });
text_enum!(Status { Active = "active", Deactivated = "deactivated", Deleted = "deleted" });
text_enum!(Privacy { Public = "public", Private = "private" });
text_enum!(Language { Fr = "fr", En = "en" });

/// An account as stored.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    pub status: Status,
    pub first_name: String,
    pub last_name: String,
    pub bio: Option<String>,
    pub interests: Vec<String>,
    pub privacy: Privacy,
    pub language: Language,
    pub notifications: NotificationPrefs,
    /// E.164 (`+21620123456`), for SMS.
    pub phone: Option<String>,
    pub photo_key: Option<String>,
    pub email_verified_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Account {
    /// A new active account with the platform's defaults: public profile,
    /// email and push notifications on, email not verified yet.
    pub fn new(
        email: &str,
        password_hash: String,
        role: Role,
        first_name: &str,
        last_name: &str,
        now: i64,
    ) -> Self {
        Account {
            id: uuid::Uuid::now_v7().to_string(),
            email: email.trim().to_owned(),
            password_hash,
            role,
            status: Status::Active,
            first_name: first_name.trim().to_owned(),
            last_name: last_name.trim().to_owned(),
            bio: None,
            interests: Vec::new(),
            privacy: Privacy::Public,
            language: Language::Fr,
            notifications: NotificationPrefs {
                email: true,
                sms: false,
                push: true,
            },
            phone: None,
            photo_key: None,
            email_verified_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// What admin search matches against, lower-cased here rather than in SQL
    /// so both backends fold letter case (Unicode included) the same way.
    pub fn search_text(&self) -> String {
        format!("{} {} {}", self.first_name, self.last_name, self.email).to_lowercase()
    }
}
