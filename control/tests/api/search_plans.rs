//! Relevance on a catalogue large enough for PostgreSQL's popularity windows
//! to matter: every plan (tier by tier with windows of several sizes, or
//! every match scored) pages through exactly the order the definition gives,
//! computed here in Rust from the seeded data.

use control::experts::listing;
use control::search::store::{self, Plan};
use control::search::{fold, Filters, Query, Sort};

use crate::both_backends;
use crate::testdb::{Backend, TestDb};

both_backends!(every_plan_pages_through_the_defined_relevance_order);

/// xorshift64*: the catalogue is the same on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

struct Expert {
    id: String,
    name: String,
    domains: Vec<String>,
    bio: String,
    language: &'static str,
    price_call: Option<i64>,
    consultations: i64,
    last_active_at: i64,
}

const EXPERTS: usize = 240;

async fn seed(db: &platform::Database) -> Vec<Expert> {
    let mut rng = Rng(0x5EA2_C4F1_A7E5_0001);
    let now = 1_764_000_000_000_i64;
    // Few values, so popularity ties often and the id decides.
    let mut experts = Vec::new();
    let mut conn = db.pool().acquire().await.unwrap();
    for i in 0..EXPERTS {
        let id = uuid::Uuid::now_v7().to_string();
        let first = ["amira", "karim", "nour", "sami"][rng.below(4) as usize];
        // One in ten has a name the commonest bio word starts.
        let last = if i % 10 == 3 { "conseiller" } else { "haddad" };
        let domains: Vec<String> = match rng.below(3) {
            0 => vec!["finance".into()],
            1 => vec!["technology".into(), "well-being".into()],
            _ => vec!["lifestyle".into()],
        };
        // "conseil" in about 70% of bios, "finance" 40%, "yoga" 20%, "rare" 2%.
        let mut words = vec!["avec", "des", "clients"];
        for (word, percent) in [("conseil", 70), ("finance", 40), ("yoga", 20), ("rare", 2)] {
            if rng.below(100) < percent {
                words.push(word);
            }
        }
        let expert = Expert {
            id: id.clone(),
            name: format!("{first} {last}"),
            domains,
            bio: words.join(" "),
            language: ["fr", "ar"][rng.below(2) as usize],
            price_call: (rng.below(4) > 0).then(|| 1 + rng.below(40) as i64),
            consultations: rng.below(4) as i64,
            last_active_at: now - rng.below(3) as i64,
        };
        let email = format!("{id}@plans.example");
        sqlx::query(
            "INSERT INTO accounts (id, email, email_normalized, password_hash, role, status, \
             first_name, last_name, search_text, created_at, updated_at) \
             VALUES ($1, $2, $2, '!', 'expert', 'active', $3, $4, $5, $6, $6)",
        )
        .bind(&id)
        .bind(&email)
        .bind(first)
        .bind(last)
        .bind(&expert.name)
        .bind(now)
        .execute(&mut *conn)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO experts (account_id, bio, languages, price_call, instant_booking, state, \
             consultations, rating_count, rating_sum, rating_milli, last_active_at, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, 0, 'approved', $5, 0, 0, 0, $6, $7, $7)",
        )
        .bind(&id)
        .bind(&expert.bio)
        .bind(format!("[\"{}\"]", expert.language))
        .bind(expert.price_call)
        .bind(expert.consultations)
        .bind(expert.last_active_at)
        .bind(now)
        .execute(&mut *conn)
        .await
        .unwrap();
        for domain in &expert.domains {
            sqlx::query("INSERT INTO expert_domains (account_id, domain) VALUES ($1, $2)")
                .bind(&id)
                .bind(domain)
                .execute(&mut *conn)
                .await
                .unwrap();
        }
        sqlx::query("INSERT INTO expert_languages (account_id, language) VALUES ($1, $2)")
            .bind(&id)
            .bind(expert.language)
            .execute(&mut *conn)
            .await
            .unwrap();
        listing::refresh(&mut conn, db.backend(), &id)
            .await
            .unwrap();
        experts.push(expert);
    }
    if db.backend() == platform::db::Backend::Postgres {
        sqlx::query("ANALYZE").execute(&mut *conn).await.unwrap();
    }
    experts
}

/// The relevance order by its definition (`sql::Field`): the weight of the
/// best field the word starts a word of (name 4, domains 2, bio 1), then
/// consultations, then activity, both most first, then the id.
fn expected(
    experts: &[Expert],
    domain_text: &dyn Fn(&str) -> String,
    word: &str,
    keep: &dyn Fn(&Expert) -> bool,
) -> Vec<String> {
    let has = |text: &str| fold::words(text).iter().any(|t| t.starts_with(word));
    let mut found: Vec<(i64, &Expert)> = experts
        .iter()
        .filter(|e| keep(e))
        .filter_map(|e| {
            let domains: Vec<String> = e.domains.iter().map(|d| domain_text(d)).collect();
            if has(&e.name) {
                Some((4, e))
            } else if has(&domains.join(" ")) {
                Some((2, e))
            } else if has(&e.bio) {
                Some((1, e))
            } else {
                None
            }
        })
        .collect();
    found.sort_by(|(sa, a), (sb, b)| {
        sb.cmp(sa)
            .then(b.consultations.cmp(&a.consultations))
            .then(b.last_active_at.cmp(&a.last_active_at))
            .then(a.id.cmp(&b.id))
    });
    found.into_iter().map(|(_, e)| e.id.clone()).collect()
}

async fn all_pages(db: &platform::Database, q: &Query, plan: Plan) -> Vec<String> {
    let mut q = q.clone();
    let mut ids = Vec::new();
    loop {
        let page = store::search_with(db, &q, plan).await.unwrap();
        assert!(page.hits.len() <= q.limit);
        ids.extend(page.hits.into_iter().map(|h| h.account_id));
        match page.next {
            Some(next) => q.after = Some(next),
            None => return ids,
        }
    }
}

async fn every_plan_pages_through_the_defined_relevance_order(backend: Backend) {
    let scratch = TestDb::create(backend).await;
    let db = &scratch.db;
    let experts = seed(db).await;
    let names: Vec<(String, String, String)> =
        sqlx::query_as("SELECT slug, name_fr, name_en FROM domains")
            .fetch_all(db.pool())
            .await
            .unwrap();
    let domain_text = |slug: &str| {
        let (_, fr, en) = names.iter().find(|(s, _, _)| s == slug).unwrap();
        format!("{slug} {fr} {en}")
    };
    let plans = [
        Plan {
            tiers: false,
            window_per_row: 1,
            estimates: false,
        },
        // Windows too small for most pages: the exact statement takes over.
        Plan {
            tiers: true,
            window_per_row: 1,
            estimates: false,
        },
        Plan {
            tiers: true,
            window_per_row: 3,
            estimates: false,
        },
        // Windows skipped where the statistics say they are too sparse.
        Plan {
            tiers: true,
            window_per_row: 3,
            estimates: true,
        },
        Plan::default(),
    ];
    type Keep = Box<dyn Fn(&Expert) -> bool>;
    let filters: Vec<(Filters, Keep)> = vec![
        (Filters::default(), Box::new(|_| true)),
        (
            Filters {
                language: Some("fr".into()),
                ..Filters::default()
            },
            Box::new(|e| e.language == "fr"),
        ),
        (
            Filters {
                domain: Some("finance".into()),
                max_price: Some(20),
                ..Filters::default()
            },
            Box::new(|e| {
                e.domains.iter().any(|d| d == "finance") && e.price_call.is_some_and(|p| p <= 20)
            }),
        ),
    ];
    for word in ["conseil", "finance", "yoga", "rare", "tech", "b", "zzz"] {
        for (filters, keep) in &filters {
            let want = expected(&experts, &domain_text, word, keep.as_ref());
            for limit in [3, 50] {
                let q = Query {
                    words: vec![word.to_owned()],
                    filters: filters.clone(),
                    sort: Sort::Relevance,
                    after: None,
                    limit,
                };
                for plan in plans {
                    assert_eq!(
                        all_pages(db, &q, plan).await,
                        want,
                        "{word:?} with {filters:?}, pages of {limit}, {plan:?}"
                    );
                }
            }
        }
    }
    // The common word really spans the tiers and ties.
    let common = expected(&experts, &domain_text, "conseil", &|_| true);
    assert!(common.len() > EXPERTS / 2, "{}", common.len());
}
