//! Input rules for account fields. Each check returns the field errors it
//! finds, so one response can list every problem of a request at once.

use proto::FieldError;

pub const MAX_NAME: usize = 80;
pub const MAX_BIO: usize = 2000;
pub const MAX_INTERESTS: usize = 20;
pub const MAX_INTEREST: usize = 40;
pub const MIN_PASSWORD: usize = 10;
pub const MAX_PASSWORD: usize = 128;

/// The form emails are compared and stored unique in: trimmed, lower case.
/// Addresses differing only in letter case are one mailbox in practice.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

pub fn email(field: &str, value: &str, errors: &mut Vec<FieldError>) {
    let v = value.trim();
    let valid = v.len() <= 254
        && !v.chars().any(|c| c.is_whitespace() || c.is_control())
        && match v.rsplit_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && local.len() <= 64
                    && !local.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
                    && domain
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
            }
            None => false,
        };
    if !valid {
        errors.push(FieldError::new(
            field,
            "invalid",
            "not a valid email address",
        ));
    }
}

/// A name: non-empty after trimming, bounded, printable.
pub fn name(field: &str, value: &str, errors: &mut Vec<FieldError>) {
    let v = value.trim();
    if v.is_empty() {
        errors.push(FieldError::new(field, "required", "must not be empty"));
    } else if v.chars().count() > MAX_NAME {
        errors.push(FieldError::new(
            field,
            "too_long",
            format!("at most {MAX_NAME} characters"),
        ));
    } else if v.chars().any(char::is_control) {
        errors.push(FieldError::new(
            field,
            "invalid",
            "must not contain control characters",
        ));
    }
}

/// A phone number in E.164 form: `+`, then 8 to 15 digits, the first not 0.
/// Spaces, dots, dashes and brackets people write are dropped; the number as
/// stored, or `None` with an error.
pub fn phone(field: &str, value: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    let compact: String = value
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
        .collect();
    let valid = compact.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len())
            && digits.chars().all(|c| c.is_ascii_digit())
            && !digits.starts_with('0')
    });
    if valid {
        Some(compact)
    } else {
        errors.push(FieldError::new(
            field,
            "invalid",
            "must be an international number: + and 8 to 15 digits",
        ));
        None
    }
}

pub fn bio(field: &str, value: &str, errors: &mut Vec<FieldError>) {
    long_text(field, value, MAX_BIO, errors);
}

/// Prose: at most `max` characters, printable, line breaks and tabs allowed.
pub fn long_text(field: &str, value: &str, max: usize, errors: &mut Vec<FieldError>) {
    if value.chars().count() > max {
        errors.push(FieldError::new(
            field,
            "too_long",
            format!("at most {max} characters"),
        ));
    } else if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        errors.push(FieldError::new(
            field,
            "invalid",
            "must not contain control characters",
        ));
    }
}

pub fn interests(field: &str, values: &[String], errors: &mut Vec<FieldError>) {
    if values.len() > MAX_INTERESTS {
        errors.push(FieldError::new(
            field,
            "too_long",
            format!("at most {MAX_INTERESTS} interests"),
        ));
    }
    for (i, v) in values.iter().enumerate() {
        let n = v.trim().chars().count();
        if n == 0 || n > MAX_INTEREST || v.chars().any(char::is_control) {
            errors.push(FieldError::new(
                format!("{field}[{i}]"),
                "invalid",
                format!("each interest has 1 to {MAX_INTEREST} printable characters"),
            ));
        }
    }
}

/// Password rules: 10 to 128 characters, at least three of lower case, upper
/// case, digits and symbols (or 16+ characters, a passphrase), and not built
/// on the person's own email or name.
pub fn password(field: &str, value: &str, personal: &[&str], errors: &mut Vec<FieldError>) {
    let n = value.chars().count();
    if n < MIN_PASSWORD {
        errors.push(FieldError::new(
            field,
            "too_short",
            format!("at least {MIN_PASSWORD} characters"),
        ));
        return;
    }
    if n > MAX_PASSWORD {
        errors.push(FieldError::new(
            field,
            "too_long",
            format!("at most {MAX_PASSWORD} characters"),
        ));
        return;
    }
    let classes = [
        value.chars().any(|c| c.is_lowercase()),
        value.chars().any(|c| c.is_uppercase()),
        value.chars().any(|c| c.is_ascii_digit()),
        value.chars().any(|c| !c.is_alphanumeric()),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    let lower = value.to_lowercase();
    let distinct = {
        let mut cs: Vec<char> = lower.chars().collect();
        cs.sort_unstable();
        cs.dedup();
        cs.len()
    };
    let personal_hit = personal
        .iter()
        .map(|p| p.trim().to_lowercase())
        .any(|p| p.chars().count() >= 4 && lower.contains(&p));
    if (classes < 3 && n < 16) || distinct < 5 {
        errors.push(FieldError::new(
            field,
            "weak",
            "use at least three of: lower case, upper case, digits, symbols (or a passphrase of 16+ characters)",
        ));
    } else if personal_hit {
        errors.push(FieldError::new(
            field,
            "weak",
            "must not contain your name or email",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(f: impl FnOnce(&mut Vec<FieldError>)) -> Vec<String> {
        let mut e = Vec::new();
        f(&mut e);
        e.into_iter().map(|e| e.code).collect()
    }

    #[test]
    fn phones() {
        let mut errors = Vec::new();
        assert_eq!(
            phone("phone", "+216 20.123-456", &mut errors).as_deref(),
            Some("+21620123456")
        );
        assert_eq!(
            phone("phone", "+1 (415) 555-2671", &mut errors).as_deref(),
            Some("+14155552671")
        );
        assert!(errors.is_empty());
        for bad in [
            "20123456",
            "+0123456789",
            "+216",
            "+1234567890123456",
            "+216 2O 123 456",
            "++21620123456",
        ] {
            assert_eq!(
                check(|e| {
                    phone("phone", bad, e);
                }),
                ["invalid"],
                "{bad}"
            );
        }
    }

    #[test]
    fn emails() {
        for good in ["a@b.co", "Name.Surname+tag@sub.example.tn", "  x@y.org "] {
            assert!(check(|e| email("email", good, e)).is_empty(), "{good}");
        }
        for bad in [
            "",
            "plain",
            "@x.com",
            "a@",
            "a@b",
            "a b@c.com",
            "a@b..com",
            "a@.b.com",
            "a@b.com.",
            "a@b@c.com",
        ] {
            assert_eq!(check(|e| email("email", bad, e)), ["invalid"], "{bad}");
        }
        assert_eq!(normalize_email("  Ali@Example.TN "), "ali@example.tn");
    }

    #[test]
    fn passwords() {
        assert!(check(|e| password("p", "Correct-Horse9", &[], e)).is_empty());
        assert!(check(|e| password("p", "correct horse battery staple", &[], e)).is_empty());
        assert_eq!(check(|e| password("p", "Sh0rt!", &[], e)), ["too_short"]);
        assert_eq!(check(|e| password("p", "alllowercase", &[], e)), ["weak"]);
        assert_eq!(
            check(|e| password("p", "Aa1Aa1Aa1Aa1", &[], e)),
            ["weak"],
            "too few distinct characters"
        );
        assert_eq!(
            check(|e| password("p", "Amira-2024-x", &["amira", "ben salah"], e)),
            ["weak"]
        );
        assert_eq!(
            check(|e| password("p", &"Aa1!".repeat(40), &[], e)),
            ["too_long"]
        );
    }

    #[test]
    fn names_bios_and_interests() {
        assert_eq!(check(|e| name("n", "   ", e)), ["required"]);
        assert_eq!(check(|e| name("n", &"x".repeat(81), e)), ["too_long"]);
        assert_eq!(check(|e| name("n", "a\u{7}b", e)), ["invalid"]);
        assert!(check(|e| name("n", "Zoé 🚀", e)).is_empty());
        assert_eq!(check(|e| bio("b", &"é".repeat(2001), e)), ["too_long"]);
        let many: Vec<String> = (0..21).map(|i| i.to_string()).collect();
        assert_eq!(check(|e| interests("i", &many, e)), ["too_long"]);
        assert_eq!(
            check(|e| interests("i", &["ok".into(), " ".into()], e)),
            ["invalid"]
        );
    }
}
