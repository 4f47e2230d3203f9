//! What the calendar and booking tests share: a server whose clock starts on
//! a fixed date, experts with hours, funded wallets, the sweep as a replica
//! runs it, balances and the ledger's audit.

use std::sync::Arc;
use std::time::Duration;

use control::bookings::Bookings;
use control::ledger::Request;
use control::settings::BookingSettings;
use platform::Clock;
use serde_json::{json, Value};

use crate::common::{Backend, Resp, Server, Session};

/// Answers to requests are due within this in the tests.
pub const RESPOND_WITHIN: Duration = Duration::from_secs(2 * 3600);

pub fn at(rfc3339: &str) -> i64 {
    rfc3339.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

pub fn booking_settings() -> BookingSettings {
    BookingSettings {
        respond_within: RESPOND_WITHIN,
        ..BookingSettings::default()
    }
}

/// A server whose clock reads `now` (RFC 3339), with sessions that outlive
/// the days the tests move through and no rate limit in the way.
pub async fn server_at(backend: Backend, now: &str) -> Server {
    server_at_with(backend, now, |_| {}).await
}

/// `server_at`, with `tweak` applied to the settings last.
pub async fn server_at_with(
    backend: Backend,
    now: &str,
    tweak: impl FnOnce(&mut control::settings::Settings),
) -> Server {
    let s = Server::start_with(backend, |c| {
        c.auth.access_token_ttl = Duration::from_secs(90 * 24 * 3600);
        c.auth.refresh_token_ttl = Duration::from_secs(180 * 24 * 3600);
        c.auth.ip_requests_per_minute = 100_000;
        c.bookings = booking_settings();
        tweak(c);
    })
    .await;
    let ahead = at(now) - s.clock.now_ms();
    assert!(
        ahead >= 0,
        "the tests' dates must lie ahead of the real time"
    );
    s.clock.advance(Duration::from_millis(ahead as u64));
    s
}

impl Server {
    /// An approved expert charging `rate` coins a minute for calls, with
    /// `availability` (a `PUT /api/v1/experts/me/availability` body).
    pub async fn expert_with_hours(
        &self,
        email: &str,
        first: &str,
        rate: i64,
        instant: bool,
        availability: Value,
    ) -> Session {
        let e = self
            .approved_expert(
                email,
                first,
                "Expert",
                json!({ "bio": "Conseil", "domains": ["finance"], "languages": ["fr"],
                        "prices": { "video_call": rate }, "instant_booking": instant }),
            )
            .await;
        self.put(
            "/api/v1/experts/me/availability",
            Some(&e.access),
            availability,
        )
        .await
        .expect(200);
        e
    }

    /// Deposits `coins` into `who`'s wallet, as a payment would.
    pub async fn fund(&self, who: &Session, coins: i64) {
        let request = Request::Deposit {
            account: who.id.parse().unwrap(),
            amount: coins * 500,
            provider: "sandbox".into(),
            reference: format!("test:{}", who.id),
        };
        let key = format!("test-deposit:{}", uuid::Uuid::new_v4());
        self.ledger().apply(&key, &request).await.unwrap();
    }

    /// (wallet, held, earnings) in millimes.
    pub async fn money(&self, who: &Session) -> (i64, i64, i64) {
        let w = self
            .get("/api/v1/wallet", Some(&who.access))
            .await
            .expect(200);
        let n = |k: &str| w.body[k].as_i64().unwrap();
        (n("balance"), n("held"), n("earnings"))
    }

    pub async fn assert_ledger_clean(&self) {
        let audit = self.ledger().audit().await.unwrap();
        assert!(audit.is_clean(), "{audit:?}");
    }

    /// The bookings service as another replica of the control plane runs it.
    pub fn bookings_replica(&self) -> Bookings {
        Bookings::new(
            self.db.clone(),
            self.clock.clone() as Arc<dyn Clock>,
            self.ledger(),
            booking_settings(),
        )
    }

    pub async fn book(&self, who: &Session, expert: &Session, start: &str, minutes: i64) -> Resp {
        self.post(
            "/api/v1/bookings",
            Some(&who.access),
            json!({ "expert_id": expert.id, "start": start, "minutes": minutes }),
        )
        .await
    }

    pub async fn get_booking(&self, who: &Session, booking: &str) -> Resp {
        self.get(&format!("/api/v1/bookings/{booking}"), Some(&who.access))
            .await
            .expect(200)
    }

    pub async fn act(&self, who: &Session, booking: &str, action: &str, body: Value) -> Resp {
        self.post(
            &format!("/api/v1/bookings/{booking}/{action}"),
            Some(&who.access),
            body,
        )
        .await
    }

    /// Rows of one SQL count.
    pub async fn count(&self, sql: &str, bind: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(sql)
            .bind(bind)
            .fetch_one(self.db.pool())
            .await
            .unwrap();
        n
    }
}

/// Every day, 08:00 to 20:00 UTC, no buffer or notice.
pub fn office_hours() -> Value {
    daily_hours("08:00", "20:00")
}

/// Every day, `start` to `end` UTC, no buffer or notice.
pub fn daily_hours(start: &str, end: &str) -> Value {
    let days = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    json!({
        "time_zone": "UTC",
        "rules": days.iter().map(|d| json!({ "weekday": d, "start": start, "end": end }))
            .collect::<Vec<_>>(),
        "min_notice_minutes": 0,
        "horizon_days": 90,
    })
}
