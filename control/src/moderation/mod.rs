//! Moderation: people report profiles and messages, administrators work the
//! queue of open reports and act (dismiss, hide an expert, hide a message,
//! suspend an account). Every
//! action is recorded with its author and reason.

pub mod store;

use proto::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::{text_enum, validate};

/// What a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// An account's profile; the target id is the account's.
    Profile,
    /// A message; the target id is the message's. Only the participants of
    /// its conversation may report it.
    Message,
}

text_enum!(TargetKind { Profile = "profile", Message = "message" });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    Spam,
    Abuse,
    Fraud,
    Inappropriate,
    Other,
}

text_enum!(Reason { Spam = "spam", Abuse = "abuse", Fraud = "fraud", Inappropriate = "inappropriate", Other = "other" });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportState {
    Open,
    Closed,
}

text_enum!(ReportState { Open = "open", Closed = "closed" });

/// What an administrator did, as `moderation_actions` records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Closed reports without acting on the target.
    Dismiss,
    /// Took an expert out of search and public pages.
    HideProfile,
    UnhideProfile,
    /// Deactivated the account and ended its sessions.
    SuspendAccount,
    /// Withheld a message's text and video from its participants.
    HideMessage,
    UnhideMessage,
}

text_enum!(Action { Dismiss = "dismiss", HideProfile = "hide_profile", UnhideProfile = "unhide_profile", SuspendAccount = "suspend_account", HideMessage = "hide_message", UnhideMessage = "unhide_message" });

impl Action {
    /// The `experts.hidden` this action sets, if it sets it.
    pub fn hides(self) -> Option<bool> {
        match self {
            Action::HideProfile => Some(true),
            Action::UnhideProfile => Some(false),
            _ => None,
        }
    }

    /// The `messages.hidden` this action sets, if it sets it.
    pub fn hides_message(self) -> Option<bool> {
        match self {
            Action::HideMessage => Some(true),
            Action::UnhideMessage => Some(false),
            _ => None,
        }
    }
}

pub const MAX_DETAILS: usize = 2000;
pub const MAX_ACTION_REASON: usize = 1000;

/// Free text of a report or an action: trimmed, then as
/// `accounts::validate::long_text` wants it; blank is `None`.
pub fn text(
    field: &str,
    value: Option<String>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let value = value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())?;
    validate::long_text(field, &value, max, errors);
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_text_is_trimmed_bounded_and_printable() {
        let mut errors = Vec::new();
        assert_eq!(text("d", None, 5, &mut errors), None);
        assert_eq!(text("d", Some("  ".into()), 5, &mut errors), None);
        assert_eq!(
            text("d", Some(" a\nb ".into()), 5, &mut errors).as_deref(),
            Some("a\nb")
        );
        assert!(errors.is_empty());
        text("d", Some("ééééééé".into()), 5, &mut errors);
        text("e", Some("a\u{7}".into()), 5, &mut errors);
        let codes: Vec<_> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(codes, [("d", "too_long"), ("e", "invalid")]);
    }
}
