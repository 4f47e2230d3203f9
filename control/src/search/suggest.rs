//! Completion as one types: domains and listed experts' names whose words
//! start with what was typed, or, when nothing does, near misses (one typo in
//! words of three to five letters, two beyond). Like most engines, near misses
//! keep the first letter: it bounds the words compared to those sharing it.

use platform::Database;
use serde::Serialize;
use utoipa::ToSchema;

use super::fold;
use crate::experts::store::Domain;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Domain,
    Expert,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Suggestion {
    pub kind: Kind,
    /// What to show: the domain's name or the expert's full name.
    pub text: String,
    /// The domain's slug, to filter by it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// The expert's id, to open their page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// Typos tolerated in a typed word of `len` characters.
fn tolerance(len: usize) -> usize {
    match len {
        0..=2 => 0,
        3..=5 => 1,
        _ => 2,
    }
}

/// The fewest edits (insertions, deletions, substitutions, swaps of two
/// neighbours) that turn `typed` into some prefix of `word`.
pub fn prefix_distance(typed: &str, word: &str) -> usize {
    let a: Vec<char> = typed.chars().collect();
    let b: Vec<char> = word.chars().collect();
    // rows[i][j]: distance between a[..i] and b[..j] (optimal string alignment).
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()].iter().copied().min().unwrap_or(0)
}

/// How well `typed` words match `words`: `Some(0)` when each is a prefix of
/// one of them, `Some(n)` with n typos within tolerance, `None` otherwise.
fn matches(typed: &[String], words: &[String]) -> Option<usize> {
    typed.iter().try_fold(0, |total, t| {
        let best = words.iter().map(|w| prefix_distance(t, w)).min()?;
        (best <= tolerance(t.chars().count())).then_some(total + best)
    })
}

/// The byte range of words starting with `prefix` (terms compare as bytes on
/// both backends).
pub fn range(prefix: &str) -> (String, String) {
    (prefix.to_owned(), format!("{prefix}{}", char::MAX))
}

pub async fn suggest(
    db: &Database,
    domains: &[Domain],
    input: &str,
    limit: usize,
) -> Result<Vec<Suggestion>, sqlx::Error> {
    let typed = fold::words(input);
    let Some(last) = typed.last() else {
        return Ok(Vec::new());
    };
    // Exact word starts of the last word, most consulted experts first.
    let (from, to) = range(last);
    let experts = candidates(db, "t.term >= $1 AND t.term < $2", &[from, to]).await?;
    let exact = ranked(domains, experts, &typed, 0);
    if !exact.is_empty() || tolerance(last.chars().count()) == 0 {
        return Ok(exact.into_iter().take(limit).collect());
    }
    // Nothing starts that way: near misses, among words sharing the first letter.
    let first: String = last.chars().take(1).collect();
    let (from, to) = range(&first);
    let terms: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT term FROM expert_terms WHERE term >= $1 AND term < $2")
            .bind(from)
            .bind(to)
            .fetch_all(db.pool())
            .await?;
    let mut near: Vec<(usize, String)> = terms
        .into_iter()
        .map(|t| (prefix_distance(last, &t), t))
        .filter(|(d, _)| *d <= tolerance(last.chars().count()))
        .collect();
    // The closest words only: one typo away beats two, and a handful of
    // words is plenty for a list of suggestions.
    near.sort();
    let closest = near.first().map(|(d, _)| *d).unwrap_or_default();
    near.retain(|(d, _)| *d == closest);
    near.truncate(5);
    let experts = if near.is_empty() {
        Vec::new()
    } else {
        let placeholders: Vec<String> = (1..=near.len()).map(|i| format!("${i}")).collect();
        let terms: Vec<String> = near.into_iter().map(|(_, t)| t).collect();
        candidates(
            db,
            &format!("t.term IN ({})", placeholders.join(", ")),
            &terms,
        )
        .await?
    };
    let tolerated = typed.iter().map(|t| tolerance(t.chars().count())).sum();
    Ok(ranked(domains, experts, &typed, tolerated)
        .into_iter()
        .take(limit)
        .collect())
}

/// Domains, then experts, that `typed` matches with at most `max_typos`,
/// fewest typos first; experts keep their popularity order among equals.
fn ranked(
    domains: &[Domain],
    experts: Vec<(String, String, String)>,
    typed: &[String],
    max_typos: usize,
) -> Vec<Suggestion> {
    let mut found: Vec<(usize, Suggestion)> = domains
        .iter()
        .filter_map(|d| {
            let words = fold::words(&format!("{} {} {}", d.slug, d.name_fr, d.name_en));
            let typos = matches(typed, &words).filter(|n| *n <= max_typos)?;
            Some((
                typos,
                Suggestion {
                    kind: Kind::Domain,
                    text: d.name_fr.clone(),
                    slug: Some(d.slug.clone()),
                    id: None,
                },
            ))
        })
        .collect();
    found.sort_by_key(|(typos, _)| *typos);
    let mut named: Vec<(usize, Suggestion)> = experts
        .into_iter()
        .filter_map(|(id, name, folded)| {
            let words: Vec<String> = folded.split(' ').map(str::to_owned).collect();
            let typos = matches(typed, &words).filter(|n| *n <= max_typos)?;
            Some((
                typos,
                Suggestion {
                    kind: Kind::Expert,
                    text: name,
                    slug: None,
                    id: Some(id),
                },
            ))
        })
        .collect();
    named.sort_by_key(|(typos, _)| *typos);
    found.extend(named);
    found.into_iter().map(|(_, s)| s).collect()
}

/// Past this many name words matched, the most consulted experts are found
/// by walking the popularity index and checking each one's words, which
/// stops after a page; below it, by collecting the few experts and sorting.
const WALK_ABOVE: i64 = 2_000;

/// Listed experts having a name word that `condition` selects (`t` is
/// `expert_terms`), most consulted first: (id, full name, folded name).
async fn candidates(
    db: &Database,
    condition: &str,
    binds: &[String],
) -> Result<Vec<(String, String, String)>, sqlx::Error> {
    let count = format!("SELECT COUNT(*) FROM expert_terms t WHERE {condition}");
    let mut q = sqlx::query_scalar::<_, i64>(&count);
    for b in binds {
        q = q.bind(b);
    }
    let matched = q.fetch_one(db.pool()).await?;
    let words = if matched > WALK_ABOVE {
        format!(
            "EXISTS (SELECT 1 FROM expert_terms t WHERE t.account_id = e.account_id AND {condition})"
        )
    } else {
        format!("e.account_id IN (SELECT t.account_id FROM expert_terms t WHERE {condition})")
    };
    let statement = format!(
        "SELECT e.account_id, a.first_name || ' ' || a.last_name, e.name_folded, e.consultations \
         FROM experts e JOIN accounts a ON a.id = e.account_id \
         WHERE e.listed = 1 AND {words} \
         ORDER BY e.consultations DESC, e.account_id LIMIT 100"
    );
    let mut q = sqlx::query_as::<_, (String, String, String, i64)>(&statement);
    for b in binds {
        q = q.bind(b);
    }
    Ok(q.fetch_all(db.pool())
        .await?
        .into_iter()
        .map(|(id, name, folded, _)| (id, name, folded))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_distance_counts_typos_against_the_closest_prefix() {
        assert_eq!(prefix_distance("ami", "amira"), 0);
        assert_eq!(prefix_distance("amria", "amira"), 1, "swapped neighbours");
        assert_eq!(prefix_distance("amora", "amira"), 1);
        assert_eq!(prefix_distance("amxra", "amira"), 1);
        assert_eq!(prefix_distance("amiraa", "amira"), 1);
        assert_eq!(prefix_distance("zzz", "amira"), 3);
        assert_eq!(prefix_distance("", "amira"), 0);
    }

    #[test]
    fn every_typed_word_must_match_within_tolerance() {
        let name: Vec<String> = ["amira", "ben", "salah"].map(String::from).to_vec();
        let typed = |s: &str| fold::words(s);
        assert_eq!(matches(&typed("ben sa"), &name), Some(0));
        assert_eq!(matches(&typed("amria sal"), &name), Some(1));
        assert_eq!(
            matches(&typed("amira x"), &name),
            None,
            "x is no word's start"
        );
        assert_eq!(matches(&typed("am"), &name), Some(0));
        assert_eq!(
            matches(&typed("an"), &name),
            None,
            "no typos under three letters"
        );
    }
}
