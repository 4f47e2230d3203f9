//! Who a notification is for, as routing and sending need them: language,
//! preferences, addresses.

use sqlx::AnyConnection;

use super::channels::Reach;
use crate::accounts::{Language, NotificationPrefs, Status};

#[derive(Debug, Clone)]
pub struct Recipient {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub language: Language,
    pub status: Status,
    pub prefs: NotificationPrefs,
}

impl Recipient {
    pub fn reach(&self, push_subscriptions: usize) -> Reach {
        Reach {
            prefs: self.prefs,
            active: self.status == Status::Active,
            has_phone: self.phone.is_some(),
            push_subscriptions,
        }
    }

    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

type Row = (
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    i64,
    i64,
    i64,
);

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<Recipient>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT first_name, last_name, email, phone, language, status, notify_email, notify_sms, notify_push \
         FROM accounts WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((first_name, last_name, email, phone, language, status, e, s, p)) = row else {
        return Ok(None);
    };
    let corrupt = |col: &str, v: &str| {
        sqlx::Error::Decode(format!("accounts.{col}: unexpected value {v:?}").into())
    };
    Ok(Some(Recipient {
        language: Language::parse(&language).ok_or_else(|| corrupt("language", &language))?,
        status: Status::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        first_name,
        last_name,
        email,
        phone,
        prefs: NotificationPrefs {
            email: e != 0,
            sms: s != 0,
            push: p != 0,
        },
    }))
}

/// The ids of the account's push subscriptions.
pub async fn push_subscriptions(
    conn: &mut AnyConnection,
    account_id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM push_subscriptions WHERE account_id = $1 ORDER BY id")
        .bind(account_id)
        .fetch_all(&mut *conn)
        .await
}
