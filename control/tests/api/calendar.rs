//! Calendars over HTTP on both backends: availability rules, free slots in
//! the viewer's zone across daylight-saving changes, the iCalendar feed read
//! back by a parser, and search's free-time filter.

use icalendar::parser::{read_calendar, unfold};
use serde_json::{json, Value};

use crate::booking_support::*;
use crate::both_backends;
use crate::common::{Backend, Server, Session};

both_backends!(
    slots_keep_the_experts_local_hours_across_dst_changes_in_any_viewers_zone,
    exceptions_buffers_and_bookings_shape_the_slots,
    availability_is_checked_and_belongs_to_the_expert,
    the_feed_is_valid_icalendar_that_follows_changes_and_can_be_revoked,
    search_finds_experts_with_a_free_slot_in_the_range,
);

fn hours(tz: &str, days: &[&str], start: &str, end: &str) -> Value {
    json!({
        "time_zone": tz,
        "rules": days.iter().map(|d| json!({ "weekday": d, "start": start, "end": end }))
            .collect::<Vec<_>>(),
        "min_notice_minutes": 0,
        "horizon_days": 90,
    })
}

const WEEKDAYS: [&str; 5] = ["monday", "tuesday", "wednesday", "thursday", "friday"];

/// Slot starts (and local dates) of `expert` for a query string.
async fn slots(s: &Server, expert: &Session, query: &str) -> Vec<(String, String)> {
    let r = s
        .get(
            &format!("/api/v1/experts/{}/slots?{query}", expert.id),
            None,
        )
        .await
        .expect(200);
    r.body["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["start"].as_str().unwrap().to_owned(),
                s["date"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn starts(slots: &[(String, String)]) -> Vec<&str> {
    slots.iter().map(|(s, _)| s.as_str()).collect()
}

async fn slots_keep_the_experts_local_hours_across_dst_changes_in_any_viewers_zone(
    backend: Backend,
) {
    let s = server_at(backend, "2031-03-01T00:00:00Z").await;
    // Paris goes from UTC+1 to UTC+2 on Sunday 30 March 2031; New York from
    // UTC-5 to UTC-4 on Sunday 9 March.
    let paris = s
        .expert_with_hours(
            "paris@example.tn",
            "Claire",
            2,
            true,
            hours("Europe/Paris", &["sunday"], "09:00", "11:00"),
        )
        .await;
    let got = slots(
        &s,
        &paris,
        "from=2031-03-22&to=2031-03-30&tz=America/New_York&duration=60",
    )
    .await;
    assert_eq!(
        starts(&got),
        [
            "2031-03-23T04:00:00-04:00",
            "2031-03-23T04:15:00-04:00",
            "2031-03-23T04:30:00-04:00",
            "2031-03-23T04:45:00-04:00",
            "2031-03-23T05:00:00-04:00",
            "2031-03-30T03:00:00-04:00",
            "2031-03-30T03:15:00-04:00",
            "2031-03-30T03:30:00-04:00",
            "2031-03-30T03:45:00-04:00",
            "2031-03-30T04:00:00-04:00",
        ]
    );
    assert_eq!(got[5].1, "2031-03-30");
    // In Paris, 09:00 both Sundays.
    let local = slots(
        &s,
        &paris,
        "from=2031-03-22&to=2031-03-30&tz=Europe/Paris&duration=120",
    )
    .await;
    assert_eq!(
        starts(&local),
        ["2031-03-23T09:00:00+01:00", "2031-03-30T09:00:00+02:00"]
    );
    // UTC by default; RFC 3339 bounds.
    let utc = slots(
        &s,
        &paris,
        "from=2031-03-30T00:00:00Z&to=2031-03-31T00:00:00Z&duration=120",
    )
    .await;
    assert_eq!(starts(&utc), ["2031-03-30T07:00:00+00:00"]);

    let ny = s
        .expert_with_hours(
            "ny@example.tn",
            "Joe",
            2,
            true,
            hours("America/New_York", &WEEKDAYS, "09:00", "10:00"),
        )
        .await;
    let tunis = slots(
        &s,
        &ny,
        "from=2031-03-07&to=2031-03-10&tz=Africa/Tunis&duration=60",
    )
    .await;
    assert_eq!(
        starts(&tunis),
        ["2031-03-07T15:00:00+01:00", "2031-03-10T14:00:00+01:00"]
    );

    let bad = |q: &'static str| {
        let s = &s;
        let id = paris.id.clone();
        async move {
            s.get(&format!("/api/v1/experts/{id}/slots?{q}"), None)
                .await
                .expect_problem(400, "invalid_query");
        }
    };
    bad("from=2031-03-22&to=2031-03-30&tz=Mars/Olympus").await;
    bad("from=2031-03-22&to=2031-06-30").await;
    bad("from=2031-03-22&to=2031-03-21").await;
    bad("from=2031-03-22&to=2031-03-30&duration=5").await;
    bad("from=yesterday&to=2031-03-30").await;
    let stranger = s
        .expert_account("draft@example.tn", "Draft", "Expert")
        .await;
    s.get(
        &format!(
            "/api/v1/experts/{}/slots?from=2031-03-22&to=2031-03-30",
            stranger.id
        ),
        None,
    )
    .await
    .expect_problem(404, "not_found");
}

async fn exceptions_buffers_and_bookings_shape_the_slots(backend: Backend) {
    let s = server_at(backend, "2031-06-02T08:00:00Z").await;
    let mut body = hours("UTC", &WEEKDAYS, "09:00", "11:00");
    body["buffer_minutes"] = json!(15);
    body["exceptions"] = json!([
        { "date": "2031-06-04", "kind": "day_off" },
        { "date": "2031-06-04", "kind": "extra", "start": "18:00", "end": "19:00" },
        { "date": "2031-06-07", "kind": "extra", "start": "10:00", "end": "11:00" },
    ]);
    let e = s
        .expert_with_hours("rim@example.tn", "Rim", 1, true, body)
        .await;
    let day = |d: &'static str| format!("from=2031-06-{d}&to=2031-06-{d}&duration=60");
    // A Wednesday off but for its evening; extra hours on a Saturday.
    assert_eq!(
        starts(&slots(&s, &e, &day("04")).await),
        ["2031-06-04T18:00:00+00:00"]
    );
    assert_eq!(
        starts(&slots(&s, &e, &day("07")).await),
        ["2031-06-07T10:00:00+00:00"]
    );
    // A booking 09:45-10:15 and its 15-minute buffer leave nothing an hour long.
    let u = s.user("user@example.tn").await;
    s.fund(&u, 100).await;
    s.book(&u, &e, "2031-06-05T09:45:00Z", 30).await.expect(201);
    assert!(slots(&s, &e, &day("05")).await.is_empty());
    let short = slots(&s, &e, "from=2031-06-05&to=2031-06-05&duration=30").await;
    assert_eq!(
        starts(&short),
        ["2031-06-05T09:00:00+00:00", "2031-06-05T10:30:00+00:00"]
    );
    // The buffer also keeps bookings apart.
    s.book(&u, &e, "2031-06-05T09:05:00Z", 30)
        .await
        .expect_problem(409, "slot_unavailable");
    s.book(&u, &e, "2031-06-05T10:30:00Z", 30).await.expect(201);
}

async fn availability_is_checked_and_belongs_to_the_expert(backend: Backend) {
    let s = server_at(backend, "2031-06-02T08:00:00Z").await;
    let e = s
        .approved_expert(
            "amel@example.tn",
            "Amel",
            "Expert",
            json!({ "bio": "x", "domains": ["finance"], "languages": ["fr"],
                    "prices": { "video_call": 1 } }),
        )
        .await;
    let path = "/api/v1/experts/me/availability";
    s.get(path, Some(&e.access))
        .await
        .expect_problem(404, "not_found");
    let bad = s
        .put(path, Some(&e.access), json!({
            "time_zone": "Europe/Pariss",
            "rules": [{ "weekday": "monday", "start": "12:00", "end": "09:00" },
                      { "weekday": "monday", "start": "9h", "end": "10:00" }],
            "exceptions": [{ "date": "2031-02-30", "kind": "day_off" },
                           { "date": "2031-03-01", "kind": "extra", "start": "10:00" },
                           { "date": "2031-03-02", "kind": "day_off", "start": "10:00", "end": "11:00" }],
            "buffer_minutes": 600,
        }))
        .await
        .expect_problem(422, "validation_failed");
    let mut fields = bad.field_codes();
    fields.sort();
    assert_eq!(
        fields,
        [
            ("buffer_minutes", "out_of_range"),
            ("exceptions[0].date", "invalid"),
            ("exceptions[1].end", "required"),
            ("exceptions[2].start", "invalid"),
            ("rules[0].end", "invalid"),
            ("rules[1].start", "invalid"),
            ("time_zone", "invalid"),
        ]
        .map(|(f, c)| (f.to_owned(), c.to_owned()))
    );
    s.put(
        path,
        Some(&e.access),
        json!({ "time_zone": "UTC", "rules": [{ "weekday": "fri" }] }),
    )
    .await
    .expect_problem(422, "validation_failed");

    let good = json!({
        "time_zone": "Africa/Tunis",
        "rules": [{ "weekday": "tuesday", "start": "20:00", "end": "24:00" },
                  { "weekday": "monday", "start": "09:00", "end": "12:30" }],
        "exceptions": [{ "date": "2031-06-10", "kind": "day_off" }],
        "buffer_minutes": 10,
    });
    let saved = s.put(path, Some(&e.access), good).await.expect(200);
    assert_eq!(
        saved.body["rules"][0],
        json!({ "weekday": "monday", "start": "09:00", "end": "12:30" })
    );
    assert_eq!(saved.body["rules"][1]["end"], "24:00");
    assert_eq!(
        (
            saved.body["min_notice_minutes"].as_i64(),
            saved.body["horizon_days"].as_i64()
        ),
        (Some(60), Some(60))
    );
    assert_eq!(
        s.get(path, Some(&e.access)).await.expect(200).body,
        saved.body
    );

    let u = s.user("user@example.tn").await;
    s.get(path, Some(&u.access))
        .await
        .expect_problem(403, "forbidden");
    s.put(path, Some(&u.access), json!({ "time_zone": "UTC" }))
        .await
        .expect_problem(403, "forbidden");
    let fresh = s
        .expert_account("fresh@example.tn", "Fresh", "Expert")
        .await;
    s.put(path, Some(&fresh.access), json!({ "time_zone": "UTC" }))
        .await
        .expect_problem(409, "no_expert_profile");
}

/// The feed's events, parsed by an iCalendar parser, as (UID, property map).
async fn feed_events(s: &Server, url: &str) -> Vec<std::collections::HashMap<String, String>> {
    let path = url.strip_prefix(&s.base).expect("a URL of ours");
    let r = s.get(path, None).await.expect(200);
    assert_eq!(
        r.header("content-type"),
        Some("text/calendar; charset=utf-8")
    );
    let text = String::from_utf8(r.bytes).unwrap();
    text.parse::<icalendar::Calendar>()
        .expect("a calendar the crate reads");
    let unfolded = unfold(&text);
    let calendar = read_calendar(&unfolded).expect("valid iCalendar");
    assert!(calendar
        .properties
        .iter()
        .any(|p| p.name == "VERSION" && p.val == "2.0"));
    calendar
        .components
        .iter()
        .filter(|c| c.name == "VEVENT")
        .map(|c| {
            c.properties
                .iter()
                .map(|p| (p.name.to_string(), p.val.to_string()))
                .collect()
        })
        .collect()
}

async fn the_feed_is_valid_icalendar_that_follows_changes_and_can_be_revoked(backend: Backend) {
    let s = server_at(backend, "2031-06-02T08:00:00Z").await;
    let e = s
        .expert_with_hours("sonia@example.tn", "Sonia", 2, true, office_hours())
        .await;
    let u = s.user("user@example.tn").await;
    s.fund(&u, 100).await;
    let b = s.book(&u, &e, "2031-06-05T10:00:00Z", 30).await.expect(201);
    let id = b.body["id"].as_str().unwrap().to_owned();

    let feed = s
        .get("/api/v1/calendar/feed", Some(&u.access))
        .await
        .expect(200);
    let url = feed.body["url"].as_str().unwrap().to_owned();
    assert!(url.ends_with(".ics"));
    assert!(feed.body["webcal_url"]
        .as_str()
        .unwrap()
        .starts_with("webcal://"));
    let events = feed_events(&s, &url).await;
    assert_eq!(events.len(), 1);
    let ev = &events[0];
    assert_eq!(ev["UID"], format!("booking-{id}@deepinfluence"));
    assert_eq!(
        (ev["DTSTART"].as_str(), ev["DTEND"].as_str()),
        ("20310605T100000Z", "20310605T103000Z")
    );
    assert_eq!(
        (ev["STATUS"].as_str(), ev["SEQUENCE"].as_str()),
        ("CONFIRMED", "0")
    );
    assert_eq!(ev["SUMMARY"], "Video call with Sonia Expert");

    s.act(
        &u,
        &id,
        "reschedule",
        json!({ "start": "2031-06-05T14:00:00Z" }),
    )
    .await
    .expect(200);
    let ev = &feed_events(&s, &url).await[0];
    assert_eq!(
        (ev["DTSTART"].as_str(), ev["SEQUENCE"].as_str()),
        ("20310605T140000Z", "1")
    );
    // The expert's own feed names the user.
    let theirs = s
        .get("/api/v1/calendar/feed", Some(&e.access))
        .await
        .expect(200);
    let ev = &feed_events(&s, theirs.body["url"].as_str().unwrap()).await[0];
    assert_eq!(ev["SUMMARY"], "Video call with Amira Ben Salah");

    s.act(&u, &id, "cancel", json!({})).await.expect(200);
    let ev = &feed_events(&s, &url).await[0];
    assert_eq!(
        (ev["STATUS"].as_str(), ev["SEQUENCE"].as_str()),
        ("CANCELLED", "2")
    );

    // The same URL until rotated; the old one then stops working.
    let again = s
        .get("/api/v1/calendar/feed", Some(&u.access))
        .await
        .expect(200);
    assert_eq!(again.body["url"], url.as_str());
    let rotated = s
        .post("/api/v1/calendar/feed", Some(&u.access), json!({}))
        .await
        .expect(200);
    let new_url = rotated.body["url"].as_str().unwrap().to_owned();
    assert_ne!(new_url, url);
    let old_path = url.strip_prefix(&s.base).unwrap();
    s.get(old_path, None).await.expect_problem(404, "not_found");
    assert_eq!(feed_events(&s, &new_url).await.len(), 1);
    s.delete("/api/v1/calendar/feed", Some(&u.access))
        .await
        .expect(204);
    s.get(new_url.strip_prefix(&s.base).unwrap(), None)
        .await
        .expect_problem(404, "not_found");
    s.get("/api/v1/calendar/nothing", None)
        .await
        .expect_problem(404, "not_found");
    s.get("/api/v1/calendar/feed", None)
        .await
        .expect_problem(401, "unauthenticated");
}

async fn search_finds_experts_with_a_free_slot_in_the_range(backend: Backend) {
    let s = server_at(backend, "2031-06-02T08:00:00Z").await;
    let all_week = [WEEKDAYS.as_slice(), &["saturday", "sunday"]].concat();
    let a = s
        .expert_with_hours(
            "a@example.tn",
            "Anis",
            1,
            true,
            hours("UTC", &all_week, "08:00", "20:00"),
        )
        .await;
    let b = s
        .expert_with_hours(
            "b@example.tn",
            "Basma",
            1,
            true,
            hours("Europe/Paris", &WEEKDAYS, "09:00", "10:00"),
        )
        .await;
    // No hours at all.
    s.approved_expert("c@example.tn", "Chokri", "Expert",
        json!({ "bio": "x", "domains": ["finance"], "languages": ["fr"], "prices": { "video_call": 1 } }))
        .await;
    let mut off = hours("UTC", &all_week, "08:00", "20:00");
    off["exceptions"] = json!([{ "date": "2031-06-04", "kind": "day_off" }]);
    s.expert_with_hours("d@example.tn", "Dalila", 1, true, off)
        .await;
    let e = s
        .expert_with_hours(
            "e@example.tn",
            "Emna",
            1,
            true,
            hours("UTC", &["wednesday"], "12:00", "12:30"),
        )
        .await;
    let u = s.user("user@example.tn").await;
    s.fund(&u, 100).await;
    let taken = s.book(&u, &e, "2031-06-04T12:00:00Z", 30).await.expect(201);

    let names = |range: &'static str| {
        let s = &s;
        async move {
            let r = s
                .get(&format!("/api/v1/experts?{range}"), None)
                .await
                .expect(200);
            let mut names: Vec<String> = r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["first_name"].as_str().unwrap().to_owned())
                .collect();
            names.sort();
            names
        }
    };
    let noon = "available_from=2031-06-04T12:00:00Z&available_to=2031-06-04T13:00:00Z";
    assert_eq!(names(noon).await, ["Anis"]);
    // 09:00 in Paris is 07:00 UTC in June.
    let early = "available_from=2031-06-04T07:00:00Z&available_to=2031-06-04T08:00:00Z";
    assert_eq!(names(early).await, ["Basma"]);
    let wednesday = "available_from=2031-06-04T00:00:00Z&available_to=2031-06-05T00:00:00Z";
    assert_eq!(names(wednesday).await, ["Anis", "Basma"]);
    // Less than ten free minutes is no slot.
    let tight = "available_from=2031-06-04T07:55:00Z&available_to=2031-06-04T08:04:00Z";
    assert!(names(tight).await.is_empty());

    let id = taken.body["id"].as_str().unwrap();
    s.act(&u, id, "cancel", json!({})).await.expect(200);
    assert_eq!(names(noon).await, ["Anis", "Emna"]);

    // Pages hold only experts with room, without repeats.
    let first = s
        .get(
            &format!("/api/v1/experts?{wednesday}&limit=1&sort=price_asc"),
            None,
        )
        .await
        .expect(200);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = s
        .get(
            &format!("/api/v1/experts?{wednesday}&limit=1&sort=price_asc&cursor={cursor}"),
            None,
        )
        .await
        .expect(200);
    let third = second.body["next_cursor"].as_str().unwrap();
    let last = s
        .get(
            &format!("/api/v1/experts?{wednesday}&limit=1&sort=price_asc&cursor={third}"),
            None,
        )
        .await
        .expect(200);
    let mut seen: Vec<&str> = [&first, &second, &last]
        .iter()
        .map(|r| r.body["items"][0]["id"].as_str().unwrap())
        .collect();
    assert!(last.body["next_cursor"].is_null());
    seen.sort();
    let mut expected = vec![a.id.as_str(), b.id.as_str(), e.id.as_str()];
    expected.sort();
    assert_eq!(seen, expected);

    for q in [
        "available_from=2031-06-04T07:00:00Z",
        "available_from=2031-06-04T07:00:00Z&available_to=2031-06-04T06:00:00Z",
        "available_from=tomorrow&available_to=2031-06-04T06:00:00Z",
    ] {
        s.get(&format!("/api/v1/experts?{q}"), None)
            .await
            .expect_problem(400, "invalid_query");
    }
}
