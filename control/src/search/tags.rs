//! Facet tokens: words no text can contain, indexed beside the text, one per
//! domain, language and offered service of an expert, and for ranges a token
//! per bound an expert satisfies (price at most / at least each bound, rating
//! at least each bound) and the grid cells of their position. A filter
//! becomes part of the full-text query, so the index intersects posting
//! lists instead of the database reading each keyword match's row. Range
//! tokens select a superset (the nearest bound outside the asked range, the
//! cells covering the circle); the exact condition is still checked on the
//! few rows left. Whatever changes a price, a rating or a position must
//! re-index the expert (`experts::listing::refresh`).

use super::{fold, geo};
use crate::experts::{Position, Service};

/// Folded text never starts a word with this: `fold` keeps letters and
/// digits, and every token below adds one more letter after it, so no bio
/// word collides unless someone writes "zqd..." on purpose, which then only
/// matches as a tag when also searched as one.
const PREFIX: &str = "zq";

pub fn domain(slug: &str) -> String {
    format!("{PREFIX}d{}", fold::fold(slug).replace(' ', ""))
}

pub fn language(code: &str) -> String {
    format!("{PREFIX}l{}", fold::fold(code).replace(' ', ""))
}

pub fn service(s: Service) -> String {
    format!("{PREFIX}s{}", s.as_str().replace('_', ""))
}

/// Coins.
const PRICE_BOUNDS: [i64; 12] = [2, 3, 5, 8, 10, 15, 20, 30, 50, 100, 200, 500];
/// Average rating x 1000.
const RATING_BOUNDS: [i64; 7] = [1000, 2000, 3000, 3500, 4000, 4500, 4800];
/// Grid steps in microdegrees: about 11 km and 111 km of latitude.
const CELL_STEPS: [(char, i64); 2] = [('f', 100_000), ('c', 1_000_000)];
/// More cells than this and a coarser grid (or none) is used.
const MAX_CELLS: i64 = 36;

fn price_token(s: Service, relation: &str, bound: i64) -> String {
    format!("{PREFIX}p{}{relation}{bound}", s.as_str().replace('_', ""))
}

/// The price tokens of a service offered at `price`.
pub fn prices(s: Service, price: i64) -> Vec<String> {
    PRICE_BOUNDS
        .iter()
        .filter(|b| **b >= price)
        .map(|b| price_token(s, "le", *b))
        .chain(
            PRICE_BOUNDS
                .iter()
                .filter(|b| **b <= price)
                .map(|b| price_token(s, "ge", *b)),
        )
        .collect()
}

/// A token held by every expert charging at most `max` (and some more).
pub fn price_at_most(s: Service, max: i64) -> Option<String> {
    PRICE_BOUNDS
        .iter()
        .find(|b| **b >= max)
        .map(|b| price_token(s, "le", *b))
}

/// A token held by every expert charging at least `min` (and some more).
pub fn price_at_least(s: Service, min: i64) -> Option<String> {
    PRICE_BOUNDS
        .iter()
        .rev()
        .find(|b| **b <= min)
        .map(|b| price_token(s, "ge", *b))
}

/// The rating tokens of an average of `milli` over `count` ratings.
pub fn ratings(count: i64, milli: i64) -> Vec<String> {
    if count == 0 {
        return Vec::new();
    }
    RATING_BOUNDS
        .iter()
        .filter(|b| **b <= milli)
        .map(|b| format!("{PREFIX}rge{b}"))
        .collect()
}

pub fn rating_at_least(min_milli: i64) -> Option<String> {
    RATING_BOUNDS
        .iter()
        .rev()
        .find(|b| **b <= min_milli)
        .map(|b| format!("{PREFIX}rge{b}"))
}

fn cell(kind: char, step: i64, latitude_e6: i64, longitude_e6: i64) -> String {
    let row = (latitude_e6 + 90_000_000) / step;
    let column = (longitude_e6 + 180_000_000) / step;
    format!("{PREFIX}g{kind}{row}x{column}")
}

/// The grid cells of a position, one per grid.
pub fn cells(p: Position) -> Vec<String> {
    CELL_STEPS
        .iter()
        .map(|(kind, step)| cell(*kind, *step, p.latitude_e6, p.longitude_e6))
        .collect()
}

/// Cells of one grid covering every point within `radius_m` of `centre`,
/// any of which an expert there holds; `None` when no grid has few enough.
pub fn near(centre: Position, radius_m: f64) -> Option<Vec<String>> {
    let bbox = geo::bounding_box(centre, radius_m);
    let (west, east) = bbox.longitude?;
    let (south, north) = bbox.latitude;
    CELL_STEPS.iter().find_map(|(kind, step)| {
        let rows = (south + 90_000_000) / step..=(north + 90_000_000) / step;
        let columns = (west + 180_000_000) / step..=(east + 180_000_000) / step;
        let count = (rows.end() - rows.start() + 1) * (columns.end() - columns.start() + 1);
        (count <= MAX_CELLS).then(|| {
            rows.flat_map(|r| {
                columns
                    .clone()
                    .map(move |c| format!("{PREFIX}g{kind}{r}x{c}"))
            })
            .collect()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_single_words() {
        assert_eq!(domain("well-being"), "zqdwellbeing");
        assert_eq!(language("fr"), "zqlfr");
        assert_eq!(service(Service::VideoCall), "zqsvideocall");
        // Whatever a client sends, a token stays one folded word.
        assert_eq!(domain("Fin ance; DROP"), "zqdfinancedrop");
        assert_eq!(fold::words(&domain("a\"b*c")), vec!["zqdabc".to_owned()]);
    }

    #[test]
    fn range_tokens_select_a_superset_of_the_range() {
        for price in 1..700 {
            let held = prices(Service::VideoCall, price);
            for bound in 1..700 {
                if let Some(t) = price_at_most(Service::VideoCall, bound) {
                    if price <= bound {
                        assert!(held.contains(&t), "{price} <= {bound}");
                    }
                }
                if let Some(t) = price_at_least(Service::VideoCall, bound) {
                    if price >= bound {
                        assert!(held.contains(&t), "{price} >= {bound}");
                    }
                }
            }
        }
        for milli in 1000..=5000 {
            let held = ratings(3, milli);
            for min in (1000..=5000).step_by(50) {
                if let (true, Some(t)) = (milli >= min, rating_at_least(min)) {
                    assert!(held.contains(&t), "{milli} >= {min}");
                }
            }
        }
        assert!(ratings(0, 0).is_empty());
    }

    #[test]
    fn the_cells_near_a_point_hold_everyone_within_the_radius() {
        let centre = Position {
            latitude_e6: 36_806_500,
            longitude_e6: 10_181_500,
        };
        let around = near(centre, 20_000.0).unwrap();
        assert!(around.len() <= MAX_CELLS as usize);
        // Points up to 19.9 km away in many directions hold one of them.
        for step in 0..72 {
            let bearing = f64::from(step * 5).to_radians();
            let (dlat, dlon) = (
                19_900.0 * bearing.cos() / 111_195.0,
                19_900.0 * bearing.sin() / (111_195.0 * 36.8f64.to_radians().cos()),
            );
            let p = Position {
                latitude_e6: centre.latitude_e6 + (dlat * 1e6) as i64,
                longitude_e6: centre.longitude_e6 + (dlon * 1e6) as i64,
            };
            assert!(geo::distance_m(centre, p) < 20_000.0);
            assert!(
                cells(p).iter().any(|c| around.contains(c)),
                "bearing {step}"
            );
        }
        // A large circle falls back to the coarse grid, a huge one to none.
        assert!(near(centre, 150_000.0).unwrap()[0].starts_with("zqgc"));
        assert!(near(centre, 900_000.0).is_none());
    }
}
