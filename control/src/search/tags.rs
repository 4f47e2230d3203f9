//! Facet tokens: words no text can contain, one per domain, language and
//! offered service of an expert, indexed beside the text. A filter on them
//! becomes part of the full-text query, so the index intersects posting
//! lists instead of the database checking each keyword match against the
//! filter tables.

use super::fold;
use crate::experts::Service;

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
}
