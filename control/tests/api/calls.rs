//! Calls on both backends: room tokens inside the join window only, presence
//! reports merged from the bus whatever their order or repetition, the
//! status pushed while a call runs, and settlement from presence, once:
//! the 10-minute minimum, no-shows either way, a balance running out or
//! topped up in time, the host ending the call; refunds, beyond the hold
//! too.

use std::time::Duration;

use futures::StreamExt;
use platform::bus::Subscription;
use proto::room_token::RoomClaims;
use proto::signal::{CallEnd, CallStatus, CallStatusUpdate, CALL_STATUS_TOPIC};
use proto::{PresenceReport, Seconds};
use serde_json::json;

use crate::booking_support::*;
use crate::both_backends;
use crate::common::{Backend, Resp, Server, Session};

both_backends!(
    parties_get_room_tokens_inside_the_join_window_only,
    a_short_call_settles_once_for_the_minimum_from_presence,
    an_expert_who_never_joined_costs_nothing,
    a_user_who_never_joined_pays_the_no_show_minutes,
    a_balance_running_out_ends_the_call_and_pays_beyond_the_hold,
    a_top_up_during_the_call_clears_the_warning_and_the_call_goes_on,
    the_host_ends_the_call_and_it_settles_once,
    administrators_list_calls_and_refund_part_of_one,
    a_refund_returns_what_was_paid_beyond_the_hold_too,
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

    /// Both were there over `[from, to)` (Unix seconds), `left` after it:
    /// the SFU's reports `seq` and `seq + 1`, merged.
    async fn together(&self, seq: u64, range: (i64, i64), left: bool) {
        self.report(&self.expert, seq, range, left).await;
        self.report(&self.user, seq + 1, range, left).await;
        self.consume().await;
    }

    /// The settlement as a party sees it: (end reason, billed seconds, and
    /// millimes owed, from the hold, beyond it).
    async fn settlement(&self) -> (String, i64, i64, i64, i64) {
        let v = self.view(&self.user).await;
        let n = |k: &str| v[k].as_i64().unwrap_or_else(|| panic!("{k} in {v}"));
        (
            v["end_reason"].as_str().unwrap().to_owned(),
            n("billed_seconds"),
            n("owed"),
            n("from_hold"),
            n("extra"),
        )
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

    /// Settled: the user's wallet holds `wallet` millimes and nothing is
    /// held, the expert earned `earned`, both were told once and the ledger
    /// is clean.
    async fn paid(&self, wallet: i64, earned: i64) {
        assert_eq!(self.s.money(&self.user).await, (wallet, 0, 0));
        assert_eq!(self.s.money(&self.expert).await, (0, 0, earned));
        self.both_told_once().await;
        self.s.assert_ledger_clean().await;
    }

    /// Both sides got one `call_settled` notice.
    async fn both_told_once(&self) {
        for who in [&self.user, &self.expert] {
            let sql = "SELECT COUNT(*) FROM notifications WHERE account_id = $1 \
                       AND kind = 'call_settled'";
            assert_eq!(self.s.count(sql, &who.id).await, 1);
        }
    }

    async fn end(&self, who: &Session) -> Resp {
        self.s
            .post(
                &format!("/api/v1/calls/{}/end", self.id),
                Some(&who.access),
                json!({}),
            )
            .await
    }

    async fn tick(&self) -> control::calls::Ticked {
        self.s.state.calls.tick(100).await.unwrap()
    }

    /// A tick that settles nothing and pushes the call's status, one per
    /// participant: the user's.
    async fn pushed(&self, sub: &mut Subscription) -> CallStatus {
        let ticked = self.tick().await;
        assert_eq!((ticked.statuses, ticked.settled), (1, 0));
        let mut mine = None;
        for _ in 0..2 {
            let u = next_status(sub).await;
            assert_eq!(u.room, self.id);
            if u.participant.as_deref() == Some(self.user.id.as_str()) {
                mine = Some(u);
            } else {
                assert_eq!(u.status.balance, 0, "only the user sees their balance");
            }
        }
        mine.expect("the user's status").status
    }

    /// The statuses settlement pushed: the user's own, with their balance
    /// once settled, then the room's without it; both say it ended `why`.
    async fn ended(&self, sub: &mut Subscription, why: CallEnd) -> CallStatusUpdate {
        let mine = next_status(sub).await;
        assert_eq!(mine.participant.as_deref(), Some(self.user.id.as_str()));
        let room = next_status(sub).await;
        assert_eq!(room.participant, None, "then everyone in the room");
        assert_eq!(
            (mine.status.ended, room.status.ended),
            (Some(why), Some(why))
        );
        assert_eq!(room.status.balance, 0);
        assert_eq!(
            (room.status.billed_seconds, room.status.coins_used),
            (mine.status.billed_seconds, mine.status.coins_used)
        );
        mine
    }

    async fn join(&self, who: &Session) -> Resp {
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
    c.paid(40_000, 8_000).await;
}

async fn a_balance_running_out_ends_the_call_and_pays_beyond_the_hold(backend: Backend) {
    // 10 minutes at 1 coin held, 1 coin left in the wallet: 11 minutes in all.
    let c = booked(backend, 1, 10, 11).await;
    assert_eq!(c.s.money(&c.user).await, (500, 5_000, 0));
    let mut statuses = c.s.bus.subscribe(CALL_STATUS_TOPIC).await.unwrap();
    let t = secs(START);
    c.advance_to("2031-06-02T10:09:30Z");
    c.together(1, (t, t + 570), false).await;
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
    c.together(3, (t + 570, t + 660), false).await;
    assert_eq!(c.s.state.calls.tick(100).await.unwrap().settled, 1);
    let ended = c.ended(&mut statuses, CallEnd::BalanceExhausted).await;
    assert_eq!((ended.status.coins_used, ended.status.balance), (11, 0));
    assert_eq!(
        c.settlement().await,
        ("balance_exhausted".into(), 660, 5_500, 5_000, 500)
    );
    c.paid(0, 4_400).await;
}

async fn a_top_up_during_the_call_clears_the_warning_and_the_call_goes_on(backend: Backend) {
    // As above: 10 minutes at 1 coin held, 1 coin in the wallet.
    let c = booked(backend, 1, 10, 11).await;
    let mut statuses = c.s.bus.subscribe(CALL_STATUS_TOPIC).await.unwrap();
    let t = secs(START);
    c.advance_to("2031-06-02T10:09:30Z");
    c.together(1, (t, t + 570), false).await;
    let warned = c.pushed(&mut statuses).await;
    assert_eq!((warned.minutes_left, warned.balance), (Some(2), 1));
    // The user buys the first pack (20 coins) from the sandbox provider,
    // as the wallet page does, during the call.
    c.s.buy_pack(&c.user, 0).await;
    assert_eq!(c.s.money(&c.user).await, (10_500, 5_000, 0));
    let topped = c.pushed(&mut statuses).await;
    assert_eq!(
        (topped.minutes_left, topped.balance, topped.coins_used),
        (None, 21, 10),
        "the warning is gone"
    );
    // 12 minutes together: past the 11 the balance paid for before the
    // top-up, and the call goes on.
    c.advance_to("2031-06-02T10:12:00Z");
    c.together(3, (t + 570, t + 720), false).await;
    let on = c.pushed(&mut statuses).await;
    assert_eq!(
        (on.billed_seconds, on.coins_used, on.minutes_left, on.ended),
        (720, 12, None, None)
    );
    // Both leave; once nobody came back within the grace, it settles for
    // exactly the 12 minutes: the hold, and 1 coin beyond it from the wallet.
    c.together(5, (t + 719, t + 720), true).await;
    c.advance_to("2031-06-02T10:14:00Z");
    assert_eq!(c.tick().await.settled, 1);
    let ended = c.ended(&mut statuses, CallEnd::Completed).await;
    assert_eq!(
        (
            ended.status.billed_seconds,
            ended.status.coins_used,
            ended.status.balance
        ),
        (720, 12, 19)
    );
    assert_eq!(
        c.settlement().await,
        ("completed".into(), 720, 6_000, 5_000, 1_000)
    );
    c.paid(9_500, 4_800).await;
}

async fn the_host_ends_the_call_and_it_settles_once(backend: Backend) {
    // 30 minutes at 2 coins held (60 coins), 40 coins left in the wallet.
    let c = booked(backend, 2, 30, 100).await;
    let stranger = c.s.user("stranger@example.tn").await;
    c.end(&c.expert).await.expect_problem(409, "call_not_open");
    let mut statuses = c.s.bus.subscribe(CALL_STATUS_TOPIC).await.unwrap();
    let t = secs(START);
    c.advance_to("2031-06-02T10:12:00Z");
    c.together(1, (t, t + 720), false).await;
    // Only the host ends the call: the user is told so, a stranger sees
    // no call at all.
    let refused = c.end(&c.user).await.expect_problem(403, "host_only");
    assert!(
        refused.body["title"].as_str().unwrap().contains("host"),
        "{}",
        refused.body
    );
    c.end(&stranger).await.expect_problem(404, "not_found");
    c.end(&c.expert).await.expect(204);
    // They stay 20 seconds more; ending again changes nothing: the first
    // end stands, and what follows it is neither billed nor shown.
    c.advance_to("2031-06-02T10:12:20Z");
    c.together(3, (t + 720, t + 740), false).await;
    c.end(&c.expert).await.expect(204);
    let live = c.pushed(&mut statuses).await;
    assert_eq!(
        (
            live.billed_seconds,
            live.coins_used,
            live.balance,
            live.ended
        ),
        (720, 24, 40, None)
    );
    // Settled once late reports had their time (30 s), once even with two
    // replicas ticking together.
    c.advance_to("2031-06-02T10:12:30Z");
    let replica = c.s.replica(false).await;
    let (a, b) = futures::join!(c.s.state.calls.tick(100), replica.state.calls.tick(100));
    assert_eq!(a.unwrap().settled + b.unwrap().settled, 1);
    let ended = c.ended(&mut statuses, CallEnd::HostEnded).await;
    // 12 minutes at 2 coins; the rest of the hold is back: 100 - 24 coins.
    assert_eq!(
        (
            ended.status.billed_seconds,
            ended.status.coins_used,
            ended.status.balance
        ),
        (720, 24, 76)
    );
    assert_eq!(c.tick().await, control::calls::Ticked::default());
    assert_eq!(
        c.settlement().await,
        ("host_ended".into(), 720, 12_000, 12_000, 0)
    );
    c.paid(38_000, 9_600).await;
    // Over now: ending it once more is a clear conflict, and changes nothing.
    c.end(&c.expert).await.expect_problem(409, "call_over");
    c.end(&c.user).await.expect_problem(403, "host_only");
    assert_eq!(c.view(&c.user).await["owed"], 12_000);
    c.s.assert_ledger_clean().await;
}

async fn administrators_list_calls_and_refund_part_of_one(backend: Backend) {
    let c = booked(backend, 2, 30, 100).await;
    let admin = c.s.admin().await;
    let t = secs(START);
    c.together(1, (t, t + 30), true).await;
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
    c.paid(42_500, 6_000).await;
}

async fn a_completed_call_is_reviewed_once_and_feeds_the_rating(backend: Backend) {
    let c = booked(backend, 2, 30, 100).await;
    let admin = c.s.admin().await;
    let review = format!("/api/v1/calls/{}/review", c.id);
    c.s.post(&review, Some(&c.user.access), json!({ "rating": 4 }))
        .await
        .expect_problem(409, "not_reviewable");
    let t = secs(START);
    c.together(1, (t, t + 30), true).await;
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

/// The platform's revenue, in millimes.
async fn revenue(s: &Server) -> i64 {
    let (v,): (i64,) = sqlx::query_as("SELECT balance FROM ledger_accounts WHERE id = 'revenue'")
        .fetch_one(s.db.pool())
        .await
        .unwrap();
    v
}

async fn a_refund_returns_what_was_paid_beyond_the_hold_too(backend: Backend) {
    // The balance runs out 1 minute past the 10 held: 5,000 millimes from
    // the hold, 500 beyond it from the wallet; 80% to the expert.
    let c = booked(backend, 1, 10, 11).await;
    let admin = c.s.admin().await;
    let t = secs(START);
    c.advance_to("2031-06-02T10:11:00Z");
    c.together(1, (t, t + 660), false).await;
    assert_eq!(c.tick().await.settled, 1);
    assert_eq!(c.view(&c.user).await["extra"], 500);
    assert_eq!(c.s.money(&c.user).await, (0, 0, 0));
    assert_eq!(
        (c.s.money(&c.expert).await.2, revenue(&c.s).await),
        (4_400, 1_100)
    );
    let path = format!("/api/v1/admin/calls/{}/refund", c.id);
    let refund = |amount: i64| {
        c.s.post(
            &path,
            Some(&admin.access),
            json!({ "amount": amount, "reason": "the sound dropped" }),
        )
    };
    over_refund(refund(5_501).await, 5_500);
    // Part of it: all the hold's capture and 200 of the overrun, each
    // taken back 80/20 (4,160 from the expert, 1,040 from the platform).
    let r = refund(5_200).await.expect(200);
    assert_eq!(r.body["refunded"], 5_200);
    assert_eq!(c.s.money(&c.user).await, (5_200, 0, 0));
    assert_eq!(
        (c.s.money(&c.expert).await.2, revenue(&c.s).await),
        (240, 60)
    );
    c.s.assert_ledger_clean().await;
    over_refund(refund(301).await, 300);
    // The rest: everything the call cost is back, and both shares are zero.
    let r = refund(300).await.expect(200);
    assert_eq!(r.body["refunded"], 5_500);
    assert_eq!(c.s.money(&c.user).await, (5_500, 0, 0));
    assert_eq!((c.s.money(&c.expert).await.2, revenue(&c.s).await), (0, 0));
    over_refund(refund(1).await, 0);
    c.s.assert_ledger_clean().await;
}

/// A refund of more than is left: 409 `over_refund`, saying what is left.
fn over_refund(r: Resp, left: i64) {
    let r = r.expect_problem(409, "over_refund");
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("At most {left} millimes")),
        "{detail}"
    );
}
