//! How many experts a keyword and the filters leave, estimated from
//! PostgreSQL's statistics on `expert_search` (the fraction of rows holding
//! each of the commonest lexemes and facet tokens, kept by ANALYZE). It
//! decides whether a tier reads a popularity window or goes straight to the
//! exact statement; a wrong estimate costs time, never results.

use std::collections::HashMap;

use platform::Database;

use super::sql::Field;

/// Lexeme or token frequencies of one tsvector column.
#[derive(Debug, Default)]
struct Column {
    frequency: HashMap<String, f64>,
    /// What an element the statistics do not list is taken to have: half the
    /// least frequency they list, as PostgreSQL's own estimates do.
    unlisted: f64,
}

impl Column {
    /// The fraction of rows with a lexeme starting with `prefix` (the sum of
    /// the listed ones', at most 1).
    fn prefix(&self, prefix: &str) -> f64 {
        let listed: f64 = self
            .frequency
            .iter()
            .filter(|(lexeme, _)| lexeme.starts_with(prefix))
            .map(|(_, f)| f)
            .sum();
        if listed > 0.0 {
            listed.min(1.0)
        } else {
            self.unlisted
        }
    }

    fn token(&self, token: &str) -> f64 {
        self.frequency.get(token).copied().unwrap_or(self.unlisted)
    }
}

#[derive(Debug, Default)]
pub struct Densities {
    columns: HashMap<String, Column>,
}

impl Densities {
    /// The statistics as they stand; empty before the first ANALYZE.
    pub async fn load(db: &Database) -> Result<Densities, sqlx::Error> {
        let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT attname::text, most_common_elems::text, \
             array_to_string(most_common_elem_freqs, ',') FROM pg_stats \
             WHERE schemaname = current_schema() AND tablename = 'expert_search' \
             AND attname IN ('domains_doc', 'bio_doc', 'tags_doc')",
        )
        .fetch_all(db.pool())
        .await?;
        let mut columns = HashMap::new();
        for (name, elements, frequencies) in rows {
            let (Some(elements), Some(frequencies)) = (elements, frequencies) else {
                continue;
            };
            // Lexemes and tokens are folded letters and digits: nothing in
            // the array literal is quoted.
            let elements = elements.trim_matches(|c| c == '{' || c == '}').split(',');
            let frequencies: Vec<f64> = frequencies
                .split(',')
                .filter_map(|f| f.parse().ok())
                .collect();
            let frequency: HashMap<String, f64> = elements
                .zip(frequencies.iter().copied())
                .map(|(e, f)| (e.to_owned(), f))
                .collect();
            // After one frequency per element come the least and the
            // greatest of them.
            let least = frequencies.get(frequency.len()).copied().unwrap_or(0.0);
            columns.insert(
                name,
                Column {
                    frequency,
                    unlisted: least / 2.0,
                },
            );
        }
        Ok(Densities { columns })
    }

    /// The estimated fraction of experts with `word` in `field` and every
    /// group of `tags` (any token of a group), taken as independent; `None`
    /// without statistics.
    pub fn estimate(&self, field: Field, word: &str, tags: &[Vec<String>]) -> Option<f64> {
        let column = match field {
            Field::Name => return None,
            Field::Domains => "domains_doc",
            Field::Bio => "bio_doc",
        };
        let text = self.columns.get(column)?;
        let mut density = text.prefix(word);
        if !tags.is_empty() {
            let facets = self.columns.get("tags_doc")?;
            for group in tags {
                let any: f64 = group.iter().map(|t| facets.token(t)).sum();
                density *= any.min(1.0);
            }
        }
        Some(density)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(pairs: &[(&str, f64)], unlisted: f64) -> Column {
        Column {
            frequency: pairs.iter().map(|(e, f)| (e.to_string(), *f)).collect(),
            unlisted,
        }
    }

    #[test]
    fn estimates_multiply_the_word_and_each_tag_group() {
        let mut d = Densities::default();
        d.columns.insert(
            "bio_doc".into(),
            column(
                &[("conseil", 0.6), ("conseiller", 0.2), ("yoga", 0.1)],
                0.01,
            ),
        );
        d.columns.insert(
            "tags_doc".into(),
            column(&[("zqlfr", 0.5), ("zqc1", 0.1), ("zqc2", 0.05)], 0.001),
        );
        let close = |a: Option<f64>, b: f64| assert!((a.unwrap() - b).abs() < 1e-9, "{a:?}");
        // A prefix adds up its lexemes.
        close(d.estimate(Field::Bio, "conseil", &[]), 0.8);
        close(d.estimate(Field::Bio, "c", &[]), 0.8);
        // An unlisted word is rare.
        close(d.estimate(Field::Bio, "zzz", &[]), 0.01);
        let tags = vec![vec!["zqlfr".to_owned()], vec!["zqc1".into(), "zqc2".into()]];
        close(d.estimate(Field::Bio, "yoga", &tags), 0.1 * 0.5 * 0.15);
        // No statistics for a column, or names: no estimate.
        assert_eq!(d.estimate(Field::Domains, "finance", &[]), None);
        assert_eq!(d.estimate(Field::Name, "haddad", &[]), None);
    }
}
