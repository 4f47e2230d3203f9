//! The decisions of messaging, without I/O: what a draft may hold, what a
//! message costs, and which pending messages a reply settles.

use super::{Draft, Kind, MessagingError};
use crate::ledger::MILLIMES_PER_COIN;

/// What the policy needs of a pending paid message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub id: String,
    pub kind: Kind,
    pub created_at: i64,
}

/// The checks a draft passes before anything is read or written. Text is
/// kept exactly as sent: only its length (in characters, emojis count one
/// each) and control characters other than line breaks and tabs are
/// refused. `max_chars` bounds text bodies and video captions alike.
pub fn check_draft(
    draft: &Draft,
    from_expert: bool,
    max_chars: usize,
) -> Result<(), MessagingError> {
    let chars = draft.body.chars().count();
    if chars > max_chars {
        return Err(MessagingError::invalid(
            "body",
            "too_long",
            format!("at most {max_chars} characters"),
        ));
    }
    if draft
        .body
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(MessagingError::invalid(
            "body",
            "invalid",
            "must not contain control characters",
        ));
    }
    match draft.kind {
        Kind::Text if draft.body.trim().is_empty() => {
            return Err(MessagingError::invalid(
                "body",
                "required",
                "a text message needs text",
            ))
        }
        Kind::Text if draft.video_id.is_some() => {
            return Err(MessagingError::invalid(
                "video_id",
                "unexpected",
                "only video messages carry a video",
            ))
        }
        Kind::Video if draft.video_id.is_none() => {
            return Err(MessagingError::invalid(
                "video_id",
                "required",
                "a video message names a complete upload",
            ))
        }
        _ => {}
    }
    if !from_expert {
        if draft.answers.is_some() {
            return Err(MessagingError::invalid(
                "answers",
                "experts_only",
                "only the expert's replies answer messages",
            ));
        }
        if draft.proposal.is_some() {
            return Err(MessagingError::invalid(
                "proposal",
                "experts_only",
                "only the expert proposes a booking",
            ));
        }
    }
    Ok(())
}

/// What a user's message of `kind` costs, in millimes, at the expert's
/// current prices in coins (`None`: not offered).
pub fn price(kind: Kind, text: Option<i64>, video: Option<i64>) -> Result<i64, MessagingError> {
    let coins = match kind {
        Kind::Text => text,
        Kind::Video => video,
    }
    .ok_or(MessagingError::NotOffered(kind))?;
    coins
        .checked_mul(MILLIMES_PER_COIN)
        .filter(|m| *m > 0)
        .ok_or(MessagingError::NotOffered(kind))
}

/// The pending messages (of one conversation) an expert's reply of `kind`
/// settles, oldest first: the one it names, which must be pending and of
/// the same kind, or, naming none, every pending one of its kind. See the
/// module docs of `messaging`.
pub fn settles(
    kind: Kind,
    answers: Option<&str>,
    pending: &[Pending],
) -> Result<Vec<String>, MessagingError> {
    let mut ordered: Vec<&Pending> = pending.iter().collect();
    ordered.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    match answers {
        Some(id) => {
            let named = ordered.iter().find(|p| p.id == id).ok_or_else(|| {
                MessagingError::invalid(
                    "answers",
                    "not_pending",
                    "names no message of this conversation waiting for a reply",
                )
            })?;
            if named.kind != kind {
                return Err(MessagingError::invalid(
                    "answers",
                    "kind_mismatch",
                    format!(
                        "a {} message is answered by a {} reply",
                        named.kind.as_str(),
                        named.kind.as_str()
                    ),
                ));
            }
            Ok(vec![named.id.clone()])
        }
        None => Ok(ordered
            .into_iter()
            .filter(|p| p.kind == kind)
            .map(|p| p.id.clone())
            .collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(id: &str, kind: Kind, at: i64) -> Pending {
        Pending {
            id: id.into(),
            kind,
            created_at: at,
        }
    }

    fn draft(kind: Kind, body: &str) -> Draft {
        Draft {
            kind,
            body: body.into(),
            video_id: (kind == Kind::Video).then(|| "v".into()),
            answers: None,
            proposal: None,
            client_key: None,
        }
    }

    #[test]
    fn a_reply_naming_none_settles_its_kind_oldest_first() {
        let pending = [
            p("c", Kind::Text, 3),
            p("v", Kind::Video, 2),
            p("a", Kind::Text, 1),
        ];
        assert_eq!(settles(Kind::Text, None, &pending).unwrap(), ["a", "c"]);
        assert_eq!(settles(Kind::Video, None, &pending).unwrap(), ["v"]);
        assert!(settles(Kind::Text, None, &[]).unwrap().is_empty());
    }

    #[test]
    fn a_reply_naming_one_settles_that_one_of_its_kind() {
        let pending = [p("a", Kind::Text, 1), p("v", Kind::Video, 2)];
        assert_eq!(settles(Kind::Text, Some("a"), &pending).unwrap(), ["a"]);
        let code = |r: Result<Vec<String>, MessagingError>| match r {
            Err(MessagingError::Invalid { code, .. }) => code,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            code(settles(Kind::Text, Some("v"), &pending)),
            "kind_mismatch"
        );
        assert_eq!(
            code(settles(Kind::Text, Some("zz"), &pending)),
            "not_pending"
        );
    }

    #[test]
    fn prices_are_the_current_coins_in_millimes() {
        assert_eq!(price(Kind::Text, Some(3), None).unwrap(), 1500);
        assert_eq!(price(Kind::Video, Some(3), Some(10)).unwrap(), 5000);
        assert!(matches!(
            price(Kind::Video, Some(3), None),
            Err(MessagingError::NotOffered(Kind::Video))
        ));
    }

    #[test]
    fn drafts_keep_any_unicode_and_refuse_what_they_may_not_hold() {
        assert!(check_draft(&draft(Kind::Text, "Salut 👋🏽 مرحبا\nçà"), false, 20).is_ok());
        let code = |d: &Draft, expert: bool| match check_draft(d, expert, 5) {
            Err(MessagingError::Invalid { field, code, .. }) => (field, code),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            check_draft(&draft(Kind::Text, "👋👋👋👋👋"), false, 5).ok(),
            Some(())
        );
        assert_eq!(
            code(&draft(Kind::Text, "123456"), false),
            ("body", "too_long")
        );
        assert_eq!(code(&draft(Kind::Text, "  "), false), ("body", "required"));
        assert_eq!(
            code(&draft(Kind::Text, "a\u{0}"), false),
            ("body", "invalid")
        );
        let mut no_video = draft(Kind::Video, "");
        no_video.video_id = None;
        assert_eq!(code(&no_video, false), ("video_id", "required"));
        let mut answering = draft(Kind::Text, "ok");
        answering.answers = Some("m".into());
        assert_eq!(code(&answering, false), ("answers", "experts_only"));
        assert!(check_draft(&answering, true, 5).is_ok());
    }
}
