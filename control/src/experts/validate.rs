//! Input rules for expert profiles; each check pushes the field errors it
//! finds so one response lists every problem.

use proto::FieldError;

use crate::accounts::validate::long_text;

use super::{Position, Prices, Service};

pub const MAX_BIO: usize = 4000;
pub const MAX_CITY: usize = 80;
pub const MAX_DOMAINS: usize = 5;
pub const MAX_LANGUAGES: usize = 10;
/// A price above this is almost certainly a typo (1,000 coins = 500 TND).
pub const MAX_PRICE: i64 = 100_000;
/// A rejection's reason: long enough to say what to fix, short enough to read.
pub const MAX_REASON: usize = 1000;

pub fn bio(value: &str, errors: &mut Vec<FieldError>) {
    long_text("bio", value, MAX_BIO, errors);
}

/// Why administrators reject a submission: the expert reads it.
pub fn reason(value: &str, errors: &mut Vec<FieldError>) {
    if value.trim().is_empty() {
        errors.push(FieldError::new("reason", "required", "say what to correct"));
    } else {
        long_text("reason", value, MAX_REASON, errors);
    }
}

pub fn city(value: &str, errors: &mut Vec<FieldError>) {
    let n = value.trim().chars().count();
    if n == 0 || n > MAX_CITY || value.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "city",
            "invalid",
            format!("1 to {MAX_CITY} printable characters, or null"),
        ));
    }
}

/// ISO 639-1 codes: two lower-case letters, each once.
pub fn languages(values: &[String], errors: &mut Vec<FieldError>) {
    if values.len() > MAX_LANGUAGES {
        errors.push(FieldError::new(
            "languages",
            "too_long",
            format!("at most {MAX_LANGUAGES} languages"),
        ));
    }
    for (i, v) in values.iter().enumerate() {
        if v.len() != 2 || !v.bytes().all(|b| b.is_ascii_lowercase()) {
            errors.push(FieldError::new(
                format!("languages[{i}]"),
                "invalid",
                "an ISO 639-1 code such as fr, ar or en",
            ));
        } else if values[..i].contains(v) {
            errors.push(FieldError::new(
                format!("languages[{i}]"),
                "duplicate",
                "listed twice",
            ));
        }
    }
}

/// Count and duplicates; whether each is in the taxonomy needs the database.
pub fn domains(values: &[String], errors: &mut Vec<FieldError>) {
    if values.len() > MAX_DOMAINS {
        errors.push(FieldError::new(
            "domains",
            "too_long",
            format!("at most {MAX_DOMAINS} domains"),
        ));
    }
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            errors.push(FieldError::new(
                format!("domains[{i}]"),
                "duplicate",
                "listed twice",
            ));
        }
    }
}

pub fn position(p: &Position, errors: &mut Vec<FieldError>) {
    if !(-90_000_000..=90_000_000).contains(&p.latitude_e6) {
        errors.push(FieldError::new(
            "position.latitude_e6",
            "out_of_range",
            "microdegrees between -90000000 and 90000000",
        ));
    }
    if !(-180_000_000..=180_000_000).contains(&p.longitude_e6) {
        errors.push(FieldError::new(
            "position.longitude_e6",
            "out_of_range",
            "microdegrees between -180000000 and 180000000",
        ));
    }
}

pub fn prices(p: &Prices, errors: &mut Vec<FieldError>) {
    for service in Service::ALL {
        if let Some(price) = p.of(service) {
            if !(1..=MAX_PRICE).contains(&price) {
                errors.push(FieldError::new(
                    format!("prices.{}", service.as_str()),
                    "out_of_range",
                    format!("whole coins from 1 to {MAX_PRICE}, or null when not offered"),
                ));
            }
        }
    }
}
