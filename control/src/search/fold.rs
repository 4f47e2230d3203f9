//! Folding text for matching: lower case, diacritics removed, anything but
//! letters and digits turned into spaces. Done in Rust so SQLite and
//! PostgreSQL index and query exactly the same words ("Bien-être" and
//! "bien etre" are the same two words everywhere).

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    for c in text.nfd().filter(|c| !is_combining_mark(*c)) {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// The folded words of `text`.
pub fn words(text: &str) -> Vec<String> {
    fold(text)
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_diacritics_and_punctuation() {
        assert_eq!(fold("  Bien-Être, Éducation!  "), "bien etre education");
        assert_eq!(fold("ÇA coûte 20€"), "ca coute 20");
        assert_eq!(words("Amira  Ben-Salah"), vec!["amira", "ben", "salah"]);
        assert_eq!(fold("مالية"), "مالية");
        assert_eq!(fold("--"), "");
    }
}
