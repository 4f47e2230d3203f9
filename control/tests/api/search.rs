//! Search over a seeded catalogue, on both backends: relevance, every filter
//! and sort, pages without duplicates or gaps, suggestions, bad queries.

use serde_json::{json, Value};

use crate::both_backends;
use crate::common::*;

both_backends!(
    keywords_rank_by_relevance,
    each_filter_narrows_the_results,
    each_sort_orders_and_pages_without_duplicates_or_gaps,
    suggestions_complete_domains_and_names_despite_typos,
    unlisted_experts_are_never_found,
    bad_queries_are_refused,
);

/// email, first name, last name, profile, consultations, ratings (count, sum).
type Entry = (
    &'static str,
    &'static str,
    &'static str,
    Value,
    i64,
    (i64, i64),
);

fn catalogue() -> Vec<Entry> {
    vec![
        (
            "amira@example.tn",
            "Amira",
            "Ben Salah",
            json!({ "bio": "Conseillère en épargne et finance personnelle. Finance islamique, budget familial.",
                 "domains": ["finance"], "languages": ["fr", "ar"], "city": "Tunis",
                 "position": { "latitude_e6": 36_806_500, "longitude_e6": 10_181_500 },
                 "prices": { "text_message": 5, "video_message": 12, "video_call": 4 } }),
            30,
            (10, 48),
        ),
        (
            "karim@example.tn",
            "Karim",
            "Haddad",
            json!({ "bio": "Développeur cloud et intelligence artificielle.",
                 "domains": ["technology"], "languages": ["en", "fr"], "city": "Sfax",
                 "position": { "latitude_e6": 34_740_600, "longitude_e6": 10_760_300 },
                 "prices": { "text_message": 3, "video_call": 5 } }),
            5,
            (5, 21),
        ),
        (
            "nour@example.tn",
            "Nour",
            "Trabelsi",
            json!({ "bio": "Yoga, méditation et sommeil. Le yoga au quotidien.",
                 "domains": ["well-being"], "languages": ["fr"], "city": "Sousse",
                 "position": { "latitude_e6": 35_825_600, "longitude_e6": 10_608_400 },
                 "prices": { "video_message": 8, "video_call": 2 } }),
            50,
            (20, 98),
        ),
        (
            "leila@example.tn",
            "Leila",
            "Mansour",
            json!({ "bio": "Coach sportive: musculation, course à pied, nutrition, récupération, mobilité, un peu de yoga le dimanche. Active sur les réseaux.",
                 "domains": ["well-being", "lifestyle"], "languages": ["fr", "en"], "city": "La Marsa",
                 "position": { "latitude_e6": 36_878_000, "longitude_e6": 10_324_700 },
                 "prices": { "video_call": 3 } }),
            12,
            (0, 0),
        ),
        (
            "hedi@example.tn",
            "Hedi",
            "Gharbi",
            json!({ "bio": "Stratégie d'entreprise, levée de fonds et finance d'entreprise pour les PME.",
                 "domains": ["business"], "languages": ["fr"], "city": "Bizerte",
                 "position": { "latitude_e6": 37_274_400, "longitude_e6": 9_873_900 },
                 "prices": { "text_message": 8, "video_call": 10 } }),
            0,
            (2, 7),
        ),
        (
            "mehdi@example.tn",
            "Mehdi",
            "Ben Amor",
            json!({ "bio": "Cybersécurité et réseaux, audit des réseaux. Ancien élève de Karim Haddad.",
                 "domains": ["technology"], "languages": ["ar", "fr"], "city": "Gabès",
                 "position": { "latitude_e6": 33_881_500, "longitude_e6": 10_098_200 },
                 "prices": { "video_call": 5 } }),
            8,
            (1, 4),
        ),
    ]
}

struct Catalogue {
    s: Server,
    /// First name to account id.
    ids: Vec<(&'static str, String)>,
}

impl Catalogue {
    async fn seed(backend: Backend) -> Catalogue {
        let s = Server::start(backend).await;
        let mut ids = Vec::new();
        for (email, first, last, profile, consultations, (count, sum)) in catalogue() {
            let e = s.approved_expert(email, first, last, profile).await;
            // Consultations and ratings come from calls and reviews; seeded here.
            sqlx::query(
                "UPDATE experts SET consultations = $2, rating_count = $3, rating_sum = $4, \
                 rating_milli = $5 WHERE account_id = $1",
            )
            .bind(&e.id)
            .bind(consultations)
            .bind(count)
            .bind(sum)
            .bind(if count > 0 { sum * 1000 / count } else { 0 })
            .execute(s.db.pool())
            .await
            .unwrap();
            // As reviews will: a rating change re-indexes the expert.
            let mut conn = s.db.pool().acquire().await.unwrap();
            control::experts::listing::refresh(&mut conn, s.db.backend(), &e.id)
                .await
                .unwrap();
            ids.push((first, e.id));
        }
        // Not listed: a draft whose bio would match.
        let draft = s.expert_account("draft@example.tn", "Fatma", "Draft").await;
        s.patch(
            "/api/v1/experts/me",
            Some(&draft.access),
            json!({ "bio": "Yoga et finance", "domains": ["finance"], "languages": ["fr"],
                    "prices": { "video_call": 1 } }),
        )
        .await
        .expect(200);
        Catalogue { s, ids }
    }

    fn name_of(&self, id: &str) -> &'static str {
        self.ids
            .iter()
            .find(|(_, i)| i == id)
            .map(|(n, _)| *n)
            .unwrap()
    }

    /// First names of one page's items, and its next cursor.
    async fn page(&self, query: &str) -> (Vec<&'static str>, Option<String>) {
        let r = self
            .s
            .get(&format!("/api/v1/experts?{query}"), None)
            .await
            .expect(200);
        let names = r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| self.name_of(i["id"].as_str().unwrap()))
            .collect();
        (names, r.body["next_cursor"].as_str().map(str::to_owned))
    }

    async fn names(&self, query: &str) -> Vec<&'static str> {
        let (names, next) = self.page(&format!("{query}&limit=50")).await;
        assert_eq!(next, None);
        names
    }

    /// Every page of `query` with `limit` items each, followed to the end.
    async fn all_pages(&self, query: &str, limit: usize) -> Vec<&'static str> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let q = match &cursor {
                Some(c) => format!("{query}&limit={limit}&cursor={c}"),
                None => format!("{query}&limit={limit}"),
            };
            let (names, next) = self.page(&q).await;
            assert!(names.len() <= limit);
            all.extend(names);
            match next {
                Some(c) => cursor = Some(c),
                None => return all,
            }
        }
    }

    async fn suggest(&self, q: &str) -> Vec<(String, String)> {
        let r = self
            .s
            .get(&format!("/api/v1/experts/suggest?q={}", urlencode(q)), None)
            .await
            .expect(200);
        r.body
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["kind"].as_str().unwrap().to_owned(),
                    s["text"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

/// `s` as a query-string value.
fn urlencode(s: &str) -> String {
    let url = reqwest::Url::parse_with_params("http://x/", [("v", s)]).unwrap();
    url.query().unwrap()["v=".len()..].to_owned()
}

async fn keywords_rank_by_relevance(backend: Backend) {
    let c = Catalogue::seed(backend).await;
    // In the same field, the more popular first (50 consultations, 12).
    assert_eq!(c.names("q=yoga").await, ["Nour", "Leila"]);
    // Repeating a word gains nothing: once in Leila's bio (12 consultations)
    // beats twice in Mehdi's (8).
    assert_eq!(c.names("q=reseaux").await, ["Leila", "Mehdi"]);
    // A domain outranks a bio.
    assert_eq!(c.names("q=finance").await, ["Amira", "Hedi"]);
    // A name outranks a bio, whatever the popularity (5 consultations, 8).
    assert_eq!(c.names("q=haddad").await, ["Karim", "Mehdi"]);
    // Over several keywords the best fields add up: Karim's name and domain
    // beat Mehdi's bio and domain.
    assert_eq!(c.names("q=haddad%20tech").await, ["Karim", "Mehdi"]);
    // Case, accents and word starts.
    assert_eq!(
        c.names(&format!("q={}", urlencode("MÉDITATION"))).await,
        ["Nour"]
    );
    assert_eq!(c.names("q=medit").await, ["Nour"]);
    // Every keyword must match.
    assert_eq!(
        c.names(&format!("q={}", urlencode("yoga sommeil"))).await,
        ["Nour"]
    );
    assert_eq!(
        c.names(&format!("q={}", urlencode("yoga cloud"))).await,
        Vec::<&str>::new()
    );
    // Domain names in either language find their experts.
    assert_eq!(
        c.names(&format!("q={}", urlencode("bien-être")))
            .await
            .len(),
        2
    );
    assert_eq!(c.names("q=technology").await.len(), 2);
    // Punctuation alone is no keyword: everything, by popularity.
    assert_eq!(c.names(&format!("q={}", urlencode("\"*:&"))).await.len(), 6);
}

async fn each_filter_narrows_the_results(backend: Backend) {
    let c = Catalogue::seed(backend).await;
    let sorted = |mut v: Vec<&'static str>| {
        v.sort_unstable();
        v
    };
    assert_eq!(
        sorted(c.names("domain=technology").await),
        ["Karim", "Mehdi"]
    );
    assert_eq!(
        sorted(c.names("service=video_message").await),
        ["Amira", "Nour"]
    );
    assert_eq!(
        sorted(c.names("service=video_call&max_price=4").await),
        ["Amira", "Leila", "Nour"]
    );
    assert_eq!(
        sorted(c.names("min_price=5").await),
        ["Hedi", "Karim", "Mehdi"]
    );
    assert_eq!(
        sorted(
            c.names("service=text_message&min_price=4&max_price=8")
                .await
        ),
        ["Amira", "Hedi"]
    );
    assert_eq!(sorted(c.names("language=ar").await), ["Amira", "Mehdi"]);
    assert_eq!(sorted(c.names("min_rating=4.5").await), ["Amira", "Nour"]);
    // Tunis centre: La Marsa is 15 km away, Bizerte about 60.
    assert_eq!(
        sorted(c.names("lat=36.8065&lon=10.1815&radius_km=30").await),
        ["Amira", "Leila"]
    );
    assert_eq!(
        sorted(c.names("lat=36.8065&lon=10.1815&radius_km=70").await),
        ["Amira", "Hedi", "Leila"]
    );
    let r =
        c.s.get(
            "/api/v1/experts?lat=36.8065&lon=10.1815&radius_km=30&sort=price_asc",
            None,
        )
        .await
        .expect(200);
    let marsa = &r.body["items"][0];
    assert_eq!(marsa["city"], "La Marsa");
    let km = marsa["distance_km"].as_f64().unwrap();
    assert!((12.0..18.0).contains(&km), "{km}");
    // Filters combine with keywords (the range filters through their index
    // tokens, then exactly).
    assert_eq!(c.names("q=yoga&max_price=2").await, ["Nour"]);
    assert_eq!(c.names("q=yoga&max_price=3").await, ["Nour", "Leila"]);
    assert_eq!(c.names("q=yoga&min_price=3").await, ["Leila"]);
    assert_eq!(c.names("q=yoga&min_rating=4.9").await, ["Nour"]);
    assert_eq!(c.names("q=yoga&min_rating=4.95").await, Vec::<&str>::new());
    assert_eq!(
        c.names("q=a&min_rating=4.2&sort=rating").await,
        ["Nour", "Amira", "Karim"]
    );
    assert_eq!(
        c.names("q=e&lat=36.8065&lon=10.1815&radius_km=30&sort=price_asc")
            .await,
        ["Leila", "Amira"]
    );
    assert_eq!(
        c.names("q=e&lat=36.8065&lon=10.1815&radius_km=70&sort=price_asc")
            .await,
        ["Leila", "Amira", "Hedi"]
    );
    assert_eq!(
        c.names("q=b&service=text_message&min_price=4&max_price=8&sort=price_asc")
            .await,
        ["Amira", "Hedi"]
    );
    assert_eq!(
        c.names("q=finance&language=ar&domain=finance").await,
        ["Amira"]
    );
    assert_eq!(c.names("domain=law").await, Vec::<&str>::new());
    // Results carry what a visitor compares.
    let r =
        c.s.get("/api/v1/experts?q=yoga&limit=1", None)
            .await
            .expect(200);
    let nour = &r.body["items"][0];
    assert_eq!(nour["domains"], json!(["well-being"]));
    assert_eq!(nour["rating"], json!({ "average": 4.9, "count": 20 }));
    assert_eq!(
        nour["services"],
        json!([{ "service": "video_message", "price": 8 },
               { "service": "video_call", "price": 2, "minimum_minutes": 10 }])
    );
}

async fn each_sort_orders_and_pages_without_duplicates_or_gaps(backend: Backend) {
    let c = Catalogue::seed(backend).await;
    let expected_price: Vec<&str> = {
        // Karim and Mehdi both charge 5: the id decides, the same on every page.
        let (k, m) = (c.ids[1].1.clone(), c.ids[5].1.clone());
        let tie = if k < m {
            ["Karim", "Mehdi"]
        } else {
            ["Mehdi", "Karim"]
        };
        ["Nour", "Leila", "Amira", tie[0], tie[1], "Hedi"].to_vec()
    };
    let cases: [(&str, Vec<&str>); 4] = [
        (
            "sort=popularity",
            vec!["Nour", "Amira", "Leila", "Mehdi", "Karim", "Hedi"],
        ),
        ("sort=price_asc", expected_price.clone()),
        ("sort=price_desc", {
            let mut v = expected_price.clone();
            v.reverse();
            // Reversing the price keeps the id tie-break ascending.
            let i = v
                .iter()
                .position(|n| *n == "Karim" || *n == "Mehdi")
                .unwrap();
            v.swap(i, i + 1);
            v
        }),
        (
            "sort=rating",
            vec!["Nour", "Amira", "Karim", "Mehdi", "Hedi", "Leila"],
        ),
    ];
    for (query, expected) in &cases {
        assert_eq!(&c.names(query).await, expected, "{query}");
        for limit in [1, 2, 4] {
            assert_eq!(
                &c.all_pages(query, limit).await,
                expected,
                "{query} in pages of {limit}"
            );
        }
    }
    // Relevance pages, with a keyword several experts match.
    let whole = c.names("q=technology").await;
    assert_eq!(c.all_pages("q=technology", 1).await, whole);
    let whole = c.names("q=b").await;
    assert!(whole.len() >= 3, "{whole:?}");
    assert_eq!(c.all_pages("q=b", 1).await, whole);
    // Without keywords the default is popularity.
    assert_eq!(c.names("domain=technology").await, ["Mehdi", "Karim"]);
    // Between equal consultation counts, the more recently active comes first.
    sqlx::query("UPDATE experts SET consultations = 8 WHERE account_id = $1")
        .bind(&c.ids[1].1)
        .execute(c.s.db.pool())
        .await
        .unwrap();
    for (email, first) in [("karim@example.tn", "Karim"), ("mehdi@example.tn", "Mehdi")] {
        c.s.clock.advance(std::time::Duration::from_secs(60));
        c.s.login(email, PASSWORD).await.expect(200);
        assert_eq!(c.names("domain=technology").await[0], first);
        // With keywords the order comes from the copies beside the index
        // entry, which the sign-in's update reached through the trigger.
        assert_eq!(
            c.names("q=et&domain=technology&sort=popularity").await,
            if first == "Karim" {
                ["Karim", "Mehdi"]
            } else {
                ["Mehdi", "Karim"]
            }
        );
    }
}

async fn suggestions_complete_domains_and_names_despite_typos(backend: Backend) {
    let c = Catalogue::seed(backend).await;
    let domain = |t: &str| ("domain".to_owned(), t.to_owned());
    let expert = |t: &str| ("expert".to_owned(), t.to_owned());
    assert_eq!(c.suggest("fin").await, [domain("Finance")]);
    assert_eq!(c.suggest("bien").await, [domain("Bien-être")]);
    assert_eq!(c.suggest("well").await, [domain("Bien-être")]);
    assert_eq!(c.suggest("ami").await, [expert("Amira Ben Salah")]);
    // Typos: a swap, a wrong letter.
    assert_eq!(c.suggest("amria").await, [expert("Amira Ben Salah")]);
    assert_eq!(c.suggest("trabelso").await, [expert("Nour Trabelsi")]);
    // Every word counts; the most consulted first.
    assert_eq!(
        c.suggest("ben").await,
        [expert("Amira Ben Salah"), expert("Mehdi Ben Amor")]
    );
    assert_eq!(c.suggest("Ben Amo").await, [expert("Mehdi Ben Amor")]);
    assert_eq!(c.suggest("ben s").await, [expert("Amira Ben Salah")]);
    // Domains come before names.
    let tech = c.suggest("te").await;
    assert_eq!(tech.first(), Some(&domain("Technologie")));
    assert_eq!(c.suggest("zzzz").await, []);
    assert_eq!(c.suggest("  ").await, []);
    // The draft is not suggested.
    assert_eq!(c.suggest("fatma").await, []);
}

async fn unlisted_experts_are_never_found(backend: Backend) {
    let c = Catalogue::seed(backend).await;
    assert!(!c.names("q=yoga").await.contains(&"Fatma"));
    let admin = c.s.admin().await;
    let amira = c.ids[0].1.clone();
    c.s.post(
        &format!("/api/v1/admin/accounts/{amira}/deactivate"),
        Some(&admin.access),
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(c.names("q=finance").await, ["Hedi"]);
    assert_eq!(c.suggest("amira").await, []);
    assert!(!c.names("sort=popularity").await.contains(&"Amira"));
    c.s.post(
        &format!("/api/v1/admin/accounts/{amira}/activate"),
        Some(&admin.access),
        json!({}),
    )
    .await
    .expect(200);
    assert_eq!(c.names("q=finance").await, ["Amira", "Hedi"]);
    // A renamed expert is found by the new name only.
    let login = c.s.login("nour@example.tn", PASSWORD).await.expect(200);
    let token = login.body["access_token"].as_str().unwrap().to_owned();
    let nour = c.ids[2].1.clone();
    c.s.patch(
        &format!("/api/v1/accounts/{nour}"),
        Some(&token),
        json!({ "last_name": "Jaziri" }),
    )
    .await
    .expect(200);
    assert_eq!(c.names("q=trabelsi").await, Vec::<&str>::new());
    assert_eq!(c.names("q=jaziri").await, ["Nour"]);
    assert_eq!(
        c.suggest("jaz").await,
        [("expert".to_owned(), "Nour Jaziri".to_owned())]
    );
}

async fn bad_queries_are_refused(backend: Backend) {
    let c = Catalogue::seed(backend).await;
    let (_, next) = c.page("sort=popularity&limit=1").await;
    let popularity_cursor = next.unwrap();
    for query in [
        "sort=relevance".to_owned(),
        "limit=0".to_owned(),
        "limit=51".to_owned(),
        "lat=36.8".to_owned(),
        "lat=91&lon=10&radius_km=5".to_owned(),
        "lat=36&lon=10&radius_km=0".to_owned(),
        "min_rating=6".to_owned(),
        "min_price=-1".to_owned(),
        "min_price=9&max_price=2".to_owned(),
        "service=telepathy".to_owned(),
        "sort=cheapest".to_owned(),
        "cursor=garbage".to_owned(),
        format!("sort=rating&cursor={popularity_cursor}"),
        "unknown=1".to_owned(),
        "q=a%00b".to_owned(),
    ] {
        c.s.get(&format!("/api/v1/experts?{query}"), None)
            .await
            .expect_problem(400, "invalid_query");
    }
    for query in ["q=ab&limit=0", "limit=3", &format!("q={}", "a".repeat(101))] {
        c.s.get(&format!("/api/v1/experts/suggest?{query}"), None)
            .await
            .expect_problem(400, "invalid_query");
    }
}
