//! Expert search latency on a catalogue of many experts, per backend,
//! through `control::search` (the code the API runs, minus HTTP).
//!
//! `cargo run --release -p bench --bin expert-search -- [experts] [queries]`
//! (default 100,000 experts, 400 queries of each kind). Each backend gets a
//! scratch database made and dropped as the control tests' are (PostgreSQL:
//! `TEST_POSTGRES_URL`, default postgres://postgres:postgres@127.0.0.1:5432/postgres).
//!
//! The catalogue is generated from a fixed seed: names from lists of first
//! and last names, one to three domains, one to three languages, a city
//! among Tunisia's largest with a few kilometres of jitter, prices (some
//! services not offered), consultations and ratings skewed as a marketplace's
//! are, and bios of 15 to 40 words drawn from a 98-word vocabulary with
//! Zipf-Mandelbrot frequencies (weight 1/(rank + 8)): the most common word is
//! in about 72% of bios, the rarest in about 9%. Every expert is indexed by
//! `experts::listing::refresh`, the same call the API makes on approval.
//!
//! Queries: a keyword any of the vocabulary's words (uniformly: what people
//! type is a topic, whatever its frequency) with two filters; the same with
//! the most common word only (the worst case); a keyword alone; two filters
//! with a sort and no keyword; and suggestions as one types. Arguments after
//! the counts pick a backend (`sqlite` or `postgres`; both by default).

use std::time::{Duration, Instant};

use futures::StreamExt;

use control::experts::{listing, Position, Service};
use control::search::sql::{Field, Part};
use control::search::{fold, store, suggest, Filters, Near, Query, Sort};
use platform::Database;

#[path = "../../../control/tests/support/testdb.rs"]
mod testdb;

use testdb::{Backend, TestDb};

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Skewed towards 0: the square of a uniform draw.
    fn skewed(&mut self, n: usize) -> usize {
        let u = self.below(10_000) as f64 / 10_000.0;
        ((u * u) * n as f64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const FIRST: &[&str] = &[
    "Amira", "Karim", "Nour", "Leila", "Hedi", "Mehdi", "Sami", "Yasmine", "Fatma", "Ahmed",
    "Mohamed", "Ines", "Sarra", "Youssef", "Aymen", "Rania", "Oussama", "Salma", "Hamza", "Meriem",
    "Walid", "Asma", "Bilel", "Emna", "Fares", "Hiba", "Imen", "Jihed", "Khalil", "Lina", "Malek",
    "Nadia", "Omar", "Rim", "Skander", "Tarek", "Wafa", "Zied", "Chaima", "Dorra",
];
const LAST: &[&str] = &[
    "Ben Salah",
    "Haddad",
    "Trabelsi",
    "Mansour",
    "Gharbi",
    "Ben Amor",
    "Jaziri",
    "Bouazizi",
    "Chaabane",
    "Dridi",
    "Ferchichi",
    "Hammami",
    "Jebali",
    "Karoui",
    "Laabidi",
    "Mejri",
    "Nasri",
    "Ouertani",
    "Riahi",
    "Sassi",
    "Tlili",
    "Zouari",
    "Ben Ali",
    "Ayari",
    "Baccouche",
    "Cherif",
    "Dhaouadi",
    "Essid",
    "Guesmi",
    "Hajji",
    "Kchaou",
    "Lahmar",
    "Masmoudi",
    "Rekik",
    "Saidi",
    "Toumi",
    "Yahyaoui",
    "Zghal",
    "Abid",
    "Belhaj",
];
const DOMAINS: &[&str] = &[
    "finance",
    "well-being",
    "technology",
    "lifestyle",
    "health",
    "law",
    "education",
    "business",
];
const LANGUAGES: &[&str] = &["fr", "ar", "en", "de", "it", "es"];
/// City, latitude and longitude in microdegrees.
const CITIES: &[(&str, i64, i64)] = &[
    ("Tunis", 36_806_500, 10_181_500),
    ("Sfax", 34_740_600, 10_760_300),
    ("Sousse", 35_825_600, 10_608_400),
    ("Kairouan", 35_678_100, 10_096_300),
    ("Bizerte", 37_274_400, 9_873_900),
    ("Gabès", 33_881_500, 10_098_200),
    ("Ariana", 36_866_200, 10_164_700),
    ("Gafsa", 34_425_000, 8_784_200),
    ("Monastir", 35_777_900, 10_826_200),
    ("Nabeul", 36_456_100, 10_737_600),
];
/// Common words first; a bio draws from the front far more often.
const VOCABULARY: &[&str] = &[
    "conseil",
    "accompagnement",
    "experience",
    "clients",
    "projets",
    "formation",
    "coaching",
    "strategie",
    "finance",
    "epargne",
    "investissement",
    "budget",
    "fiscalite",
    "bourse",
    "credit",
    "yoga",
    "meditation",
    "sommeil",
    "stress",
    "nutrition",
    "sport",
    "musculation",
    "sante",
    "developpement",
    "logiciel",
    "cloud",
    "donnees",
    "intelligence",
    "artificielle",
    "securite",
    "reseaux",
    "mobile",
    "web",
    "startup",
    "entreprise",
    "marketing",
    "vente",
    "management",
    "leadership",
    "communication",
    "droit",
    "contrats",
    "famille",
    "travail",
    "immobilier",
    "mode",
    "beaute",
    "voyage",
    "cuisine",
    "photographie",
    "musique",
    "langues",
    "anglais",
    "mathematiques",
    "physique",
    "examens",
    "orientation",
    "carriere",
    "entretien",
    "cv",
    "psychologie",
    "parentalite",
    "couple",
    "confiance",
    "motivation",
    "productivite",
    "ecommerce",
    "export",
    "comptabilite",
    "audit",
    "assurance",
    "retraite",
    "crypto",
    "blockchain",
    "design",
    "ux",
    "produit",
    "agile",
    "devops",
    "kubernetes",
    "python",
    "rust",
    "architecture",
    "decoration",
    "jardinage",
    "ecologie",
    "energie",
    "agriculture",
    "tourisme",
    "evenementiel",
    "influence",
    "reseaux sociaux",
    "instagram",
    "tiktok",
    "video",
    "podcast",
];

/// A vocabulary rank drawn with weight 1/(rank + 8).
fn zipf(rng: &mut Rng) -> usize {
    let weights: Vec<f64> = (0..VOCABULARY.len())
        .map(|r| 1.0 / (r as f64 + 8.0))
        .collect();
    let total: f64 = weights.iter().sum();
    let mut u = rng.below(1_000_000) as f64 / 1_000_000.0 * total;
    for (r, w) in weights.iter().enumerate() {
        if u < *w {
            return r;
        }
        u -= w;
    }
    VOCABULARY.len() - 1
}

fn bio(rng: &mut Rng) -> String {
    let n = 15 + rng.below(26);
    (0..n)
        .map(|_| VOCABULARY[zipf(rng)])
        .collect::<Vec<_>>()
        .join(" ")
}

/// A value of a multi-row INSERT.
enum V {
    I(i64),
    Null,
    T(String),
}

impl From<&str> for V {
    fn from(s: &str) -> V {
        V::T(s.to_owned())
    }
}

impl From<Option<i64>> for V {
    fn from(v: Option<i64>) -> V {
        v.map_or(V::Null, V::I)
    }
}

/// `head VALUES ($1, ...), (...)`: numbered placeholders, which both
/// backends read through the `Any` driver.
async fn insert(conn: &mut sqlx::AnyConnection, head: &str, rows: Vec<Vec<V>>) {
    let mut sql = format!("{head} VALUES ");
    let mut n = 0;
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let marks: Vec<String> = row
            .iter()
            .map(|_| {
                n += 1;
                format!("${n}")
            })
            .collect();
        sql.push_str(&format!("({})", marks.join(", ")));
    }
    let mut q = sqlx::query(&sql);
    for v in rows.into_iter().flatten() {
        q = match v {
            V::I(x) => q.bind(x),
            V::Null => q.bind(None::<i64>),
            V::T(s) => q.bind(s),
        };
    }
    q.execute(conn).await.expect(head);
}

async fn seed(db: &Database, experts: usize) -> Duration {
    let started = Instant::now();
    const ROWS: usize = 250;
    // PostgreSQL takes chunks from four connections at once; SQLite has one
    // writer. Each chunk draws from its own seed, so the catalogue is the
    // same whatever the order chunks finish in.
    let parallel = match db.backend() {
        platform::db::Backend::Sqlite => 1,
        platform::db::Backend::Postgres => 4,
    };
    let chunks: Vec<usize> = (0..experts).step_by(ROWS).collect();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    futures::stream::iter(chunks)
        .for_each_concurrent(parallel, |chunk_start| {
            let (db, done) = (db.clone(), done.clone());
            async move {
                let n = ROWS.min(experts - chunk_start);
                seed_chunk(&db, chunk_start, n).await;
                let total = done.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
                if (total / ROWS).is_multiple_of(40) {
                    eprint!("\r  seeded {total:>6} / {experts}");
                }
            }
        })
        .await;
    eprintln!("\r  seeded {experts} / {experts}");
    if db.backend() == platform::db::Backend::Postgres {
        // Statistics as autovacuum keeps them; and the seeding's dirty pages
        // written out, as a checkpoint does within minutes, so searches do
        // not pay for writing them back while they evict them.
        for statement in ["VACUUM ANALYZE", "CHECKPOINT"] {
            sqlx::query(statement)
                .execute(db.pool())
                .await
                .expect(statement);
        }
    }
    started.elapsed()
}

/// Generates and indexes `n` experts in one transaction.
async fn seed_chunk(db: &Database, chunk_start: usize, n: usize) {
    let mut rng =
        Rng(0x5EED_1234_ABCD_0001 ^ (chunk_start as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let now = 1_764_000_000_000_i64;
    let mut tx = db.begin_write().await.expect("begin");
    let rows: Vec<(String, String, String)> = (0..n)
        .map(|_| {
            let id = uuid::Uuid::now_v7().to_string();
            let first = rng.pick(FIRST).to_owned();
            let last = rng.pick(LAST).to_owned();
            (id, first, last)
        })
        .collect();
    let accounts = rows
        .iter()
        .map(|(id, first, last)| {
            let email = format!("{id}@bench.example");
            vec![
                V::from(id.as_str()),
                V::from(email.as_str()),
                V::from(email.as_str()),
                V::from("!"),
                V::from("expert"),
                V::from("active"),
                V::from(first.as_str()),
                V::from(last.as_str()),
                V::T(format!("{first} {last}").to_lowercase()),
                V::I(now),
                V::I(now),
            ]
        })
        .collect();
    insert(
        &mut tx,
        "INSERT INTO accounts (id, email, email_normalized, password_hash, role, status, \
         first_name, last_name, search_text, created_at, updated_at)",
        accounts,
    )
    .await;
    let mut links: Vec<(String, &str, &str)> = Vec::new();
    let mut profiles = Vec::with_capacity(n);
    for (id, _, _) in &rows {
        let mut languages: Vec<&str> = (0..1 + rng.below(3)).map(|_| rng.pick(LANGUAGES)).collect();
        languages.sort_unstable();
        languages.dedup();
        let mut domains: Vec<&str> = (0..1 + rng.below(3)).map(|_| rng.pick(DOMAINS)).collect();
        domains.sort_unstable();
        domains.dedup();
        links.extend(languages.iter().map(|l| (id.clone(), "l", *l)));
        links.extend(domains.iter().map(|d| (id.clone(), "d", *d)));
        let (city, lat, lon) = CITIES[rng.below(CITIES.len())];
        let jitter = |rng: &mut Rng| rng.below(60_001) as i64 - 30_000;
        let price = |rng: &mut Rng, offered: usize| {
            V::from((rng.below(100) < offered).then(|| 1 + rng.skewed(60) as i64))
        };
        let ratings = rng.skewed(200) as i64;
        let sum = (ratings * (3 + rng.below(3) as i64)
            - rng.below(ratings as usize + 1) as i64 / 2)
            .max(ratings);
        profiles.push(vec![
            V::from(id.as_str()),
            V::T(bio(&mut rng)),
            V::T(format!(
                "[{}]",
                languages
                    .iter()
                    .map(|l| format!("\"{l}\""))
                    .collect::<Vec<_>>()
                    .join(",")
            )),
            V::from(city),
            V::I(lat + jitter(&mut rng)),
            V::I(lon + jitter(&mut rng)),
            price(&mut rng, 70),
            price(&mut rng, 50),
            price(&mut rng, 85),
            V::I(rng.below(2) as i64),
            V::from("approved"),
            V::I(rng.skewed(500) as i64),
            V::I(ratings),
            V::I(sum),
            V::I(if ratings > 0 { sum * 1000 / ratings } else { 0 }),
            V::I(now - rng.below(90 * 86_400_000) as i64),
            V::I(now),
            V::I(now),
        ]);
    }
    insert(
        &mut tx,
        "INSERT INTO experts (account_id, bio, languages, city, latitude_e6, longitude_e6, \
         price_text, price_video, price_call, instant_booking, state, consultations, \
         rating_count, rating_sum, rating_milli, last_active_at, created_at, updated_at)",
        profiles,
    )
    .await;
    for (kind, table, column) in [
        ("d", "expert_domains", "domain"),
        ("l", "expert_languages", "language"),
    ] {
        let these = links
            .iter()
            .filter(|(_, k, _)| *k == kind)
            .map(|(id, _, v)| vec![V::from(id.as_str()), V::from(*v)])
            .collect();
        insert(
            &mut tx,
            &format!("INSERT INTO {table} (account_id, {column})"),
            these,
        )
        .await;
    }
    for (id, _, _) in &rows {
        listing::refresh(&mut tx, db.backend(), id)
            .await
            .expect("index");
    }
    tx.commit().await.expect("commit");
}

/// A keyword (`word`, or any of the vocabulary) and two filters, varied from
/// query to query.
fn keyword_and_two_filters(rng: &mut Rng, word: Option<&str>) -> Query {
    let word = fold::words(word.unwrap_or_else(|| VOCABULARY[rng.below(VOCABULARY.len())]));
    let mut filters = Filters::default();
    match rng.below(4) {
        0 => {
            filters.domain = Some(rng.pick(DOMAINS).to_owned());
            filters.language = Some(rng.pick(LANGUAGES).to_owned());
        }
        1 => {
            filters.service = Some(Service::VideoCall);
            filters.max_price = Some(5 + rng.below(30) as i64);
        }
        2 => {
            filters.language = Some(rng.pick(LANGUAGES).to_owned());
            filters.min_rating_milli = Some(4000);
        }
        _ => {
            let (_, lat, lon) = CITIES[rng.below(CITIES.len())];
            filters.domain = Some(rng.pick(DOMAINS).to_owned());
            filters.near = Some(Near {
                centre: Position {
                    latitude_e6: lat,
                    longitude_e6: lon,
                },
                radius_m: 20_000.0,
            });
        }
    }
    Query {
        words: word,
        filters,
        sort: Sort::Relevance,
        after: None,
        limit: 20,
    }
}

fn browse(rng: &mut Rng) -> Query {
    let sorts = [Sort::Popularity, Sort::PriceAsc, Sort::Rating];
    Query {
        words: Vec::new(),
        filters: Filters {
            domain: Some(rng.pick(DOMAINS).to_owned()),
            language: Some(rng.pick(LANGUAGES).to_owned()),
            ..Filters::default()
        },
        sort: sorts[rng.below(sorts.len())],
        after: None,
        limit: 20,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn report(label: &str, mut samples: Vec<Duration>) {
    samples.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "  {label:<34} p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms   ({} queries)",
        ms(percentile(&samples, 0.50)),
        ms(percentile(&samples, 0.99)),
        ms(*samples.last().unwrap()),
        samples.len()
    );
}

/// Prints the database's plan for one query of each kind (`EXPLAIN=1`).
async fn explain(db: &Database) {
    let mut rng = Rng(7);
    for q in [
        keyword_and_two_filters(&mut rng, None),
        keyword_and_two_filters(&mut rng, Some(VOCABULARY[0])),
        browse(&mut rng),
    ] {
        // On PostgreSQL one keyword runs tier by tier; the bio tier's window
        // is the statement that finds a common word's page.
        let part = match (db.backend(), q.words.is_empty()) {
            (platform::db::Backend::Postgres, false) => Part::Tier {
                field: Field::Bio,
                window: Some(21 * 64),
            },
            _ => Part::All,
        };
        let (statement, binds) = control::search::sql::build(db.backend(), &q, part, None, 21);
        let prefix = match db.backend() {
            platform::db::Backend::Sqlite => "EXPLAIN QUERY PLAN ",
            platform::db::Backend::Postgres => "EXPLAIN ANALYZE ",
        };
        let text = format!("{prefix}{statement}");
        let mut query = sqlx::query(&text);
        for b in binds {
            query = match b {
                control::search::sql::Bind::Int(v) => query.bind(v),
                control::search::sql::Bind::Float(v) => query.bind(v),
                control::search::sql::Bind::Text(v) => query.bind(v),
            };
        }
        println!("  {statement}");
        for row in query.fetch_all(db.pool()).await.expect("explain") {
            use sqlx::Row;
            let line: String = match db.backend() {
                platform::db::Backend::Sqlite => row.try_get(3).unwrap_or_default(),
                platform::db::Backend::Postgres => row.try_get(0).unwrap_or_default(),
            };
            println!("    {line}");
        }
    }
}

async fn measure(db: &Database, queries: usize) {
    if std::env::var_os("EXPLAIN").is_some() {
        explain(db).await;
    }
    let mut rng = Rng(0xBEEF_0000_0000_0042);
    // Warm the caches as a running server's would be.
    for _ in 0..50 {
        store::search(db, &keyword_and_two_filters(&mut rng, None))
            .await
            .expect("search");
    }
    for (label, word) in [
        ("keyword + two filters, relevance", None),
        ("commonest word + two filters", Some(VOCABULARY[0])),
    ] {
        let mut samples = Vec::with_capacity(queries);
        let mut hits = 0;
        for _ in 0..queries {
            let q = keyword_and_two_filters(&mut rng, word);
            let t = Instant::now();
            hits += store::search(db, &q).await.expect("search").hits.len();
            samples.push(t.elapsed());
        }
        report(label, samples);
        println!(
            "    (average {:.1} hits a page)",
            hits as f64 / queries as f64
        );
    }

    let mut samples = Vec::with_capacity(queries);
    for _ in 0..queries {
        let mut q = keyword_and_two_filters(&mut rng, None);
        q.filters = Filters::default();
        let t = Instant::now();
        store::search(db, &q).await.expect("search");
        samples.push(t.elapsed());
    }
    report("keyword alone, relevance", samples);

    let mut samples = Vec::with_capacity(queries);
    for _ in 0..queries {
        let q = browse(&mut rng);
        let t = Instant::now();
        store::search(db, &q).await.expect("search");
        samples.push(t.elapsed());
    }
    report("two filters, sorted, no keyword", samples);

    let mut conn = db.pool().acquire().await.expect("conn");
    let domains = control::experts::store::domains(&mut conn)
        .await
        .expect("domains");
    drop(conn);
    let mut samples = Vec::with_capacity(queries);
    for i in 0..queries {
        let name = format!("{} {}", FIRST[i % FIRST.len()], LAST[(i / 3) % LAST.len()]);
        // Three to eight letters typed, one in four with a swapped pair.
        let mut typed: String = name.chars().take(3 + i % 6).collect();
        if i % 4 == 0 && typed.len() > 3 {
            let mut c: Vec<char> = typed.chars().collect();
            c.swap(1, 2);
            typed = c.into_iter().collect();
        }
        let t = Instant::now();
        suggest::suggest(db, &domains, &typed, 8)
            .await
            .expect("suggest");
        samples.push(t.elapsed());
    }
    report("suggestions as one types", samples);
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let experts: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let queries: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(400);
    let only = args.get(3).map(String::as_str);
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let name = match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        if only.is_some_and(|o| o != name) {
            continue;
        }
        let name = match backend {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        };
        println!("{name}: {experts} listed experts");
        let scratch = TestDb::create(backend).await;
        let took = seed(&scratch.db, experts).await;
        println!("  seeded and indexed in {:.1} s", took.as_secs_f64());
        measure(&scratch.db, queries).await;
    }
}
