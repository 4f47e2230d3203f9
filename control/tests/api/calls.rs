//! Calls on both backends: room tokens inside the join window only, presence
//! reports merged from the bus whatever their order or repetition, the
//! status pushed while a call runs, and settlement from presence, once:
//! the 10-minute minimum, no-shows either way, a balance running out.

use std::time::Duration;

use futures::StreamExt;
use platform::bus::Subscription;
use proto::room_token::RoomClaims;
use proto::signal::{CallEnd, CallStatusUpdate, CALL_STATUS_TOPIC};
use proto::{PresenceReport, Seconds};
use serde_json::json;

use crate::booking_support::*;
use crate::both_backends;
use crate::common::{Backend, Server, Session};

both_backends!(
    parties_get_room_tokens_inside_the_join_window_only,
    a_short_call_settles_once_for_the_minimum_from_presence,
    an_expert_who_never_joined_costs_nothing,
    a_user_who_never_joined_pays_the_no_show_minutes,
    a_balance_running_out_ends_the_call_and_pays_beyond_the_hold,
    administrators_list_calls_and_refund_part_of_one,
    a_completed_call_is_reviewed_once_and_feeds_the_rating,
);

const NOW: &str = "2031-06-02T08:00:00Z";
const START: &str = "2031-06-02T10:00:00Z";

fn secs(rfc3339: &str) -> i64 {
    at(rfc3339) / 1000
}

struct Call {
    s: Server,
    user: Session,
    expert: Session,
    id: String,
}

/// A confirmed booking of `minutes` at `rate` coins a minute, the user
/// funded with `coins`.
async fn booked(backend: Backend, rate: i64, minutes: i64, coins: i64) -> Call {
    let s = server_at(backend, NOW).await;
    let expert = s
        .expert_with_hours("sami@example.tn", "Sami", rate, true, office_hours())
        .await;
    let user = s.user("user@example.tn").await;
    s.fund(&user, coins).await;
    let r = s.book(&user, &expert, START, minutes).await.expect(201);
    let id = r.body["id"].as_str().unwrap().to_owned();
    Call {
        s,
        user,
        expert,
        id,
    }
}

impl Call {
    /// The SFU reports `who` present over `[from, to)` (Unix seconds).
    async fn report(&self, who: &Session, seq: u64, (from, to): (i64, i64), last: bool) {
        let r = PresenceReport {
            node: "sfu-1".into(),
            seq,
            room: self.id.clone(),
            participant: who.id.clone(),
            seconds: Seconds::try_from(vec![(from, to)]).unwrap(),
            last,
        };
        let json = serde_json::to_vec(&r).unwrap();
        self.s
            .bus
            .append(control::calls::PRESENCE_STREAM, json)
            .await
            .unwrap();
    }

    async fn consume(&self) -> usize {
        self.s
            .state
            .calls
            .consume("test", 1000, Duration::ZERO)
            .await
            .unwrap()
    }

    fn advance_to(&self, rfc3339: &str) {
        let ahead = at(rfc3339) - platform::Clock::now_ms(&*self.s.clock);
        assert!(ahead >= 0);
        self.s.clock.advance(Duration::from_millis(ahead as u64));
    }

    async fn view(&self, who: &Session) -> serde_json::Value {
        self.s
            .get(&format!("/api/v1/calls/{}", self.id), Some(&who.access))
            .await
            .expect(200)
            .body
    }

    /// Both sides got one `call_settled` notice.
    async fn both_told_once(&self) {
        for who in [&self.user, &self.expert] {
            let sql = "SELECT COUNT(*) FROM notifications WHERE account_id = $1 \
                       AND kind = 'call_settled'";
            assert_eq!(self.s.count(sql, &who.id).await, 1);
        }
    }

    async fn join(&self, who: &Session) -> crate::common::Resp {
        self.s
            .post(
                &format!("/api/v1/calls/{}/join", self.id),
                Some(&who.access),
                json!({}),
            )
            .await
    }
}

async fn next_status(sub: &mut Subscription) -> CallStatusUpdate {
    let payload = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("a call status within 5 s")
        .expect("the subscription lives");
    serde_json::from_slice(&payload).unwrap()
}

async fn parties_get_room_tokens_inside_the_join_window_only(backend: Backend) {
    let c = booked(backend, 2, 30, 100).await;
    let stranger = c.s.user("stranger@example.tn").await;
    c.join(&c.user).await.expect_problem(409, "call_not_open");
    c.advance_to("2031-06-02T09:50:00Z");
    let user = c.join(&c.user).await.expect(200);
    let expert = c.join(&c.expert).await.expect(200);
    c.join(&stranger).await.expect_problem(404, "not_found");
    assert_eq!(user.body["room"], c.id.as_str());
    assert_eq!(user.body["participant"], c.user.id.as_str());
    assert_eq!(
        (user.body["role"].as_str(), expert.body["role"].as_str()),
        (Some("participant"), Some("host"))
    );
    assert_eq!(
        user.body["signalling_url"].as_str(),
        Some(c.s.state.signalling_url.as_str())
    );
    // The token is for this call's room and expires when its window closes:
    // the end (10:30) plus the overrun (10 minutes).
    let claims: RoomClaims =
        c.s.state
            .room_tokens
            .verify(user.body["token"].as_str().unwrap(), secs(NOW) + 7200)
            .unwrap();
    assert_eq!(claims.room, c.id);
    assert_eq!(claims.call.as_deref(), Some(c.id.as_str()));
    assert_eq!(claims.exp, secs("2031-06-02T10:40:00Z"));
    assert!(c
        .s
        .state
        .room_tokens
        .verify(user.body["token"].as_str().unwrap(), claims.exp)
        .is_err());
    c.advance_to("2031-06-02T10:40:00Z");
    c.join(&c.user).await.expect_problem(409, "call_over");
}

async fn a_short_call_settles_once_for_the_minimum_from_presence(backend: Backend) {
    let c = booked(backend, 2, 30, 100).await;
    assert_eq!(c.s.money(&c.user).await, (20_000, 30_000, 0));
    let t = secs(START);
    // Twenty seconds together, reported in pieces, one of them twice and
    // the last one first.
    c.report(&c.user, 3, (t + 10, t + 21), true).await;
    c.report(&c.expert, 1, (t, t + 10), false).await;
    c.report(&c.user, 2, (t + 1, t + 10), false).await;
    c.report(&c.expert, 4, (t + 10, t + 22), true).await;
    c.report(&c.expert, 1, (t, t + 10), false).await;
    assert_eq!(c.consume().await, 5);
    assert_eq!(c.consume().await, 0, "acknowledged");
    let view = c.view(&c.user).await;
    let total = |who: &Session| {
        view["presence"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["participant"] == who.id.as_str())
            .unwrap()["total_seconds"]
            .as_i64()
    };
    assert_eq!((total(&c.user), total(&c.expert)), (Some(20), Some(22)));

    // Everyone left at 10:00:22; the call is over once nobody came back
    // within the grace (2 minutes).
    c.advance_to("2031-06-02T10:02:00Z");
    assert_eq!(c.s.state.calls.tick(100).await.unwrap().settled, 0);
    c.advance_to("2031-06-02T10:02:23Z");
    let replica = c.s.replica(false).await;
    let (a, b) = futures::join!(
        c.s.state.calls.settle(&c.id),
        replica.state.calls.settle(&c.id)
    );
    let settled = [a.unwrap(), b.unwrap()];
    assert_eq!(
        settled.iter().filter(|d| d.is_some()).count(),
        1,
        "two replicas racing settle once"
    );
    assert_eq!(c.s.state.calls.tick(100).await.unwrap().settled, 0);
    let view = c.view(&c.expert).await;
    assert_eq!(view["end_reason"], "completed");
    assert_eq!(view["billed_seconds"], 20);
    // The 10-minute minimum at 2 coins a minute: 20 coins, 10,000 millimes,
    // 80% to the expert; the rest of the 30-minute hold goes back.
    assert_eq!(view["owed"], 10_000);
    assert_eq!(c.s.money(&c.user).await, (40_000, 0, 0));
    assert_eq!(c.s.money(&c.expert).await, (0, 0, 8_000));
    let b = c.s.get_booking(&c.user, &c.id).await;
    assert_eq!(b.body["state"], "completed");
    c.both_told_once().await;
    // A report arriving late changes the timeline, not the settled charge.
    c.report(&c.user, 9, (t + 30, t + 40), true).await;
    c.consume().await;
    assert_eq!(c.view(&c.user).await["owed"], 10_000);
    c.join(&c.user)
        .await
        .expect_problem(409, "call_not_joinable");
    c.s.assert_ledger_clean().await;
}

async fn an_expert_who_never_joined_costs_nothing(backend: Backend) {
    let c = booked(backend, 2, 30, 100).await;
    let t = secs(START);
    c.report(&c.user, 1, (t, t + 900), true).await;
    c.consume().await;
    // Over at the end (10:30) plus the overrun (10 min), settled once late
    // reports had their time (30 s).
    c.advance_to("2031-06-02T10:40:00Z");
    assert_eq!(c.s.state.calls.tick(100).await.unwrap().settled, 0);
    c.advance_to("2031-06-02T10:40:30Z");
    assert_eq!(c.s.state.calls.tick(100).await.unwrap().settled, 1);
    let view = c.view(&c.user).await;
    assert_eq!(
        (
            view["end_reason"].as_str(),
            view["no_show"].as_str(),
            view["owed"].as_i64()
        ),
        (Some("time_up"), Some("expert"), Some(0))
    );
    assert_eq!(c.s.money(&c.user).await, (50_000, 0, 0));
    assert_eq!(c.s.money(&c.expert).await, (0, 0, 0));
    let body: (String,) = sqlx::query_as(
        "SELECT body FROM notifications WHERE account_id = $1 AND kind = 'call_settled'",
    )
    .bind(&c.user.id)
    .fetch_one(c.s.db.pool())
    .await
    .unwrap();
    assert!(
        body.0.contains("refund") || body.0.contains("rembours"),
        "{}",
        body.0
    );
    c.s.assert_ledger_clean().await;
}

async fn a_user_who_never_joined_pays_the_no_show_minutes(backend: Backend) {
    let c = booked(backend, 2, 30, 100).await;
    let t = secs(START);
    c.report(&c.expert, 1, (t - 60, t + 1200), true).await;
    c.consume().await;
    c.advance_to("2031-06-02T10:40:30Z");
    assert_eq!(c.s.state.calls.tick(100).await.unwrap().settled, 1);
    let view = c.view(&c.expert).await;
    assert_eq!(
        (
            view["no_show"].as_str(),
            view["owed"].as_i64(),
            view["billed_seconds"].as_i64()
        ),
        (Some("user"), Some(10_000), Some(0))
    );
    assert_eq!(c.s.money(&c.user).await, (40_000, 0, 0));
    assert_eq!(c.s.money(&c.expert).await, (0, 0, 8_000));
    c.both_told_once().await;
    c.s.assert_ledger_clean().await;
}

async fn a_balance_running_out_ends_the_call_and_pays_beyond_the_hold(backend: Backend) {
    // 10 minutes at 1 coin held, 1 coin left in the wallet: 11 minutes in all.
    let c = booked(backend, 1, 10, 11).await;
    assert_eq!(c.s.money(&c.user).await, (500, 5_000, 0));
    let mut statuses = c.s.bus.subscribe(CALL_STATUS_TOPIC).await.unwrap();
    let t = secs(START);
    c.advance_to("2031-06-02T10:09:30Z");
    c.report(&c.expert, 1, (t, t + 570), false).await;
    c.report(&c.user, 2, (t, t + 570), false).await;
    c.consume().await;
    assert_eq!(c.s.state.calls.tick(100).await.unwrap().statuses, 1);
    // Each participant gets their own status; the user's says 1.5 minutes
    // are left (under the 2-minute warning) and shows their balance.
    let mut seen = Vec::new();
    for _ in 0..2 {
        seen.push(next_status(&mut statuses).await);
    }
    let mine = seen
        .iter()
        .find(|u| u.participant.as_deref() == Some(c.user.id.as_str()))
        .expect("the user's status");
    assert_eq!(mine.room, c.id);
    assert_eq!(
        (
            mine.status.billed_seconds,
            mine.status.coins_used,
            mine.status.balance
        ),
        (570, 10, 1)
    );
    assert_eq!(mine.status.minutes_left, Some(2));
    assert_eq!(mine.status.ended, None);
    // 11 minutes together: everything is spent.
    c.advance_to("2031-06-02T10:11:00Z");
    c.report(&c.expert, 3, (t + 570, t + 660), false).await;
    c.report(&c.user, 4, (t + 570, t + 660), false).await;
    c.consume().await;
    assert_eq!(c.s.state.calls.tick(100).await.unwrap().settled, 1);
    let ended = next_status(&mut statuses).await;
    assert_eq!(
        (ended.participant, ended.status.ended),
        (None, Some(CallEnd::BalanceExhausted))
    );
    let view = c.view(&c.user).await;
    assert_eq!(view["end_reason"], "balance_exhausted");
    assert_eq!(
        (
            view["owed"].as_i64(),
            view["from_hold"].as_i64(),
            view["extra"].as_i64()
        ),
        (Some(5_500), Some(5_000), Some(500))
    );
    assert_eq!(c.s.money(&c.user).await, (0, 0, 0));
    assert_eq!(c.s.money(&c.expert).await, (0, 0, 4_400));
    c.s.assert_ledger_clean().await;
}

async fn administrators_list_calls_and_refund_part_of_one(backend: Backend) {
    let c = booked(backend, 2, 30, 100).await;
    let admin = c.s.admin().await;
    let t = secs(START);
    c.report(&c.expert, 1, (t, t + 30), true).await;
    c.report(&c.user, 2, (t, t + 30), true).await;
    c.consume().await;
    let live =
        c.s.get("/api/v1/admin/calls?status=live", Some(&admin.access))
            .await
            .expect(200);
    assert_eq!(live.body.as_array().unwrap().len(), 1);
    assert_eq!(live.body[0]["presence"].as_array().unwrap().len(), 2);
    c.s.get("/api/v1/admin/calls", Some(&c.user.access))
        .await
        .expect(403);
    c.advance_to("2031-06-02T10:03:00Z");
    assert_eq!(c.s.state.calls.tick(100).await.unwrap().settled, 1);
    let past =
        c.s.get("/api/v1/admin/calls?status=past", Some(&admin.access))
            .await
            .expect(200);
    assert_eq!(past.body[0]["owed"], 10_000);
    let path = format!("/api/v1/admin/calls/{}/refund", c.id);
    c.s.post(
        &path,
        Some(&admin.access),
        json!({ "amount": 20_000, "reason": "too much" }),
    )
    .await
    .expect_problem(409, "over_refund");
    let r =
        c.s.post(
            &path,
            Some(&admin.access),
            json!({ "amount": 2_500, "reason": "bad sound" }),
        )
        .await
        .expect(200);
    assert_eq!(r.body["refunded"], 2_500);
    assert_eq!(c.s.money(&c.user).await, (42_500, 0, 0));
    assert_eq!(c.s.money(&c.expert).await, (0, 0, 6_000));
    c.s.assert_ledger_clean().await;
}

async fn a_completed_call_is_reviewed_once_and_feeds_the_rating(backend: Backend) {
    let c = booked(backend, 2, 30, 100).await;
    let admin = c.s.admin().await;
    let review = format!("/api/v1/calls/{}/review", c.id);
    c.s.post(&review, Some(&c.user.access), json!({ "rating": 4 }))
        .await
        .expect_problem(409, "not_reviewable");
    let t = secs(START);
    c.report(&c.expert, 1, (t, t + 30), true).await;
    c.report(&c.user, 2, (t, t + 30), true).await;
    c.consume().await;
    c.advance_to("2031-06-02T10:03:00Z");
    assert_eq!(c.s.state.calls.tick(100).await.unwrap().settled, 1);
    c.s.post(&review, Some(&c.expert.access), json!({ "rating": 5 }))
        .await
        .expect_problem(404, "not_found");
    c.s.post(&review, Some(&c.user.access), json!({ "rating": 6 }))
        .await
        .expect(422);
    c.s.post(
        &review,
        Some(&c.user.access),
        json!({ "rating": 4, "body": "Très clair" }),
    )
    .await
    .expect(204);
    c.s.post(&review, Some(&c.user.access), json!({ "rating": 1 }))
        .await
        .expect_problem(409, "already_done");
    let rating = |v: &serde_json::Value| {
        (
            v["rating"]["count"].as_i64(),
            v["rating"]["average"].as_f64(),
        )
    };
    let page =
        c.s.get(&format!("/api/v1/experts/{}", c.expert.id), None)
            .await
            .expect(200);
    assert_eq!(rating(&page.body), (Some(1), Some(4.0)));
    let reply = format!("{review}/reply");
    c.s.post(&reply, Some(&c.user.access), json!({ "reply": "moi" }))
        .await
        .expect_problem(404, "not_found");
    c.s.post(
        &reply,
        Some(&c.expert.access),
        json!({ "reply": "Merci !" }),
    )
    .await
    .expect(204);
    c.s.post(&reply, Some(&c.expert.access), json!({ "reply": "Encore" }))
        .await
        .expect_problem(409, "already_done");
    let listed =
        c.s.get(&format!("/api/v1/experts/{}/reviews", c.expert.id), None)
            .await
            .expect(200);
    assert_eq!(listed.body[0]["reply"], "Merci !");
    assert_eq!(listed.body[0]["rating"], 4);
    // Hidden by an administrator: out of the list and of the rating.
    let hide = format!("/api/v1/admin/calls/{}/review/hide", c.id);
    c.s.post(&hide, Some(&c.user.access), json!({ "hidden": true }))
        .await
        .expect(403);
    c.s.post(
        &hide,
        Some(&admin.access),
        json!({ "hidden": true, "reason": "abuse" }),
    )
    .await
    .expect(204);
    let page =
        c.s.get(&format!("/api/v1/experts/{}", c.expert.id), None)
            .await
            .expect(200);
    assert_eq!(rating(&page.body), (Some(0), None));
    let listed =
        c.s.get(&format!("/api/v1/experts/{}/reviews", c.expert.id), None)
            .await
            .expect(200);
    assert_eq!(listed.body.as_array().unwrap().len(), 0);
}
