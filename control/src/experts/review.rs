//! Verification as a state machine, without I/O: what an expert may submit,
//! what administrators may decide, and when the reviewed details (documents,
//! bank account, tax option) may change.
//!
//! ```text
//! draft ──submit──► submitted ──approve──► approved
//!   ▲                  │
//!   │               reject (with a reason)
//!   │                  ▼
//!   └── (edit) ──── rejected ──submit──► submitted ...
//! ```

use super::documents::DocumentKind;
use super::{Expert, State};
use crate::accounts::text_enum;

/// A row of the review history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Submitted,
    Approved,
    Rejected,
}

text_enum!(Action { Submitted = "submitted", Approved = "approved", Rejected = "rejected" });

impl Action {
    /// The state the step leads to.
    pub fn state(self) -> State {
        match self {
            Action::Submitted => State::Submitted,
            Action::Approved => State::Approved,
            Action::Rejected => State::Rejected,
        }
    }
}

/// An administrator's verdict on a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

/// Something a submission lacks; each becomes a field error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Bio,
    Domains,
    Languages,
    Services,
    IdentityCard,
    BankAccount,
    TaxOption,
}

impl Missing {
    /// The field a client fixes.
    pub fn field(self) -> &'static str {
        match self {
            Missing::Bio => "bio",
            Missing::Domains => "domains",
            Missing::Languages => "languages",
            Missing::Services => "prices",
            Missing::IdentityCard => "documents",
            Missing::BankAccount => "bank_account",
            Missing::TaxOption => "tax_option",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Missing::Bio => "a professional bio",
            Missing::Domains => "at least one domain",
            Missing::Languages => "at least one language",
            Missing::Services => "at least one priced service",
            Missing::IdentityCard => "the identity card: cin_front and cin_back, or cin_pdf",
            Missing::BankAccount => "a bank account (PUT /api/v1/experts/me/bank)",
            Missing::TaxOption => "a tax option (PUT /api/v1/experts/me/tax)",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Incomplete(Vec<Missing>),
    AlreadySubmitted,
    AlreadyApproved,
    /// Submitted: the reviewed details are frozen until the decision.
    UnderReview,
    /// Only a submission can be decided.
    NotSubmitted,
}

/// Submits `e`, given the kinds of its current identity documents: the step
/// to record, or why not.
pub fn submit(e: &Expert, documents: &[DocumentKind]) -> Result<Action, Refusal> {
    match e.state {
        State::Submitted => return Err(Refusal::AlreadySubmitted),
        State::Approved => return Err(Refusal::AlreadyApproved),
        State::Draft | State::Rejected => {}
    }
    let missing = missing(e, documents);
    if missing.is_empty() {
        Ok(Action::Submitted)
    } else {
        Err(Refusal::Incomplete(missing))
    }
}

/// Everything a submission needs that `e` lacks, in a stable order.
pub fn missing(e: &Expert, documents: &[DocumentKind]) -> Vec<Missing> {
    let has = |k| documents.contains(&k);
    let card =
        has(DocumentKind::CinPdf) || (has(DocumentKind::CinFront) && has(DocumentKind::CinBack));
    [
        (e.bio.trim().is_empty(), Missing::Bio),
        (e.domains.is_empty(), Missing::Domains),
        (e.languages.is_empty(), Missing::Languages),
        (
            super::Service::ALL
                .iter()
                .all(|s| e.prices.of(*s).is_none()),
            Missing::Services,
        ),
        (!card, Missing::IdentityCard),
        (e.bank_kind.is_none(), Missing::BankAccount),
        (e.tax_option.is_none(), Missing::TaxOption),
    ]
    .into_iter()
    .filter_map(|(lacking, what)| lacking.then_some(what))
    .collect()
}

/// An administrator's decision on an expert in `state`: the step to record.
pub fn decide(state: State, decision: Decision) -> Result<Action, Refusal> {
    match (state, decision) {
        (State::Submitted, Decision::Approve) => Ok(Action::Approved),
        (State::Submitted, Decision::Reject) => Ok(Action::Rejected),
        _ => Err(Refusal::NotSubmitted),
    }
}

/// Whether documents, bank account and tax option may change now. After
/// approval they are what payouts go by; changing them comes with payouts.
pub fn may_edit_details(state: State) -> Result<(), Refusal> {
    match state {
        State::Draft | State::Rejected => Ok(()),
        State::Submitted => Err(Refusal::UnderReview),
        State::Approved => Err(Refusal::AlreadyApproved),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experts::{Prices, TaxOption};
    use DocumentKind::*;

    fn complete() -> Expert {
        let mut e = Expert::new("a", 0);
        e.bio = "Conseil".into();
        e.domains = vec!["finance".into()];
        e.languages = vec!["fr".into()];
        e.prices = Prices {
            video_call: Some(3),
            ..Prices::default()
        };
        e.bank_kind = Some("rib".into());
        e.tax_option = Some(TaxOption::Vat);
        e
    }

    #[test]
    fn a_complete_draft_or_rejected_profile_is_submitted() {
        let mut e = complete();
        assert_eq!(submit(&e, &[CinFront, CinBack]), Ok(Action::Submitted));
        assert_eq!(submit(&e, &[CinPdf]), Ok(Action::Submitted));
        e.state = State::Rejected;
        assert_eq!(submit(&e, &[CinPdf]), Ok(Action::Submitted));
    }

    #[test]
    fn every_missing_item_is_named() {
        let e = Expert::new("a", 0);
        assert_eq!(
            submit(&e, &[CinFront]),
            Err(Refusal::Incomplete(vec![
                Missing::Bio,
                Missing::Domains,
                Missing::Languages,
                Missing::Services,
                Missing::IdentityCard,
                Missing::BankAccount,
                Missing::TaxOption,
            ]))
        );
        let mut e = complete();
        e.bio = "  ".into();
        assert_eq!(
            submit(&e, &[CinBack]),
            Err(Refusal::Incomplete(vec![
                Missing::Bio,
                Missing::IdentityCard
            ]))
        );
        assert_eq!(missing(&complete(), &[CinFront, CinBack]), []);
    }

    #[test]
    fn submitting_twice_or_after_approval_is_refused() {
        let mut e = complete();
        e.state = State::Submitted;
        assert_eq!(submit(&e, &[CinPdf]), Err(Refusal::AlreadySubmitted));
        e.state = State::Approved;
        assert_eq!(submit(&e, &[CinPdf]), Err(Refusal::AlreadyApproved));
    }

    #[test]
    fn only_submissions_are_decided() {
        assert_eq!(
            decide(State::Submitted, Decision::Approve),
            Ok(Action::Approved)
        );
        assert_eq!(
            decide(State::Submitted, Decision::Reject),
            Ok(Action::Rejected)
        );
        for state in [State::Draft, State::Approved, State::Rejected] {
            for d in [Decision::Approve, Decision::Reject] {
                assert_eq!(decide(state, d), Err(Refusal::NotSubmitted));
            }
        }
    }

    #[test]
    fn details_change_only_before_submission_or_after_rejection() {
        assert_eq!(may_edit_details(State::Draft), Ok(()));
        assert_eq!(may_edit_details(State::Rejected), Ok(()));
        assert_eq!(
            may_edit_details(State::Submitted),
            Err(Refusal::UnderReview)
        );
        assert_eq!(
            may_edit_details(State::Approved),
            Err(Refusal::AlreadyApproved)
        );
    }
}
