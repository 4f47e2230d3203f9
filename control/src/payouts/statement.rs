//! A paid payout's statement: gross, commission, taxes by kind and rate,
//! net, where it was paid and when, as JSON and as CSV. Built only from
//! what was recorded at approval, so a later change of rates or bank
//! details never alters it.

use serde::Serialize;
use utoipa::ToSchema;

use super::taxes::{Computation, COMMISSION_BP};
use super::{Payout, PayoutError};
use crate::csv;
use crate::experts::TaxOption;

/// Amounts are millimes of TND; rates basis points (1900 = 19 %).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Statement {
    pub payout_id: String,
    pub expert_id: String,
    pub expert_name: String,
    pub currency: &'static str,
    /// Unix ms.
    pub requested_at: i64,
    pub paid_at: i64,
    /// What clients paid for the earnings paid out.
    pub gross: i64,
    pub commission_rate_bp: i64,
    /// The platform's part of `gross`.
    pub commission: i64,
    /// The expert's share: `gross - commission`, what left their earnings.
    pub earnings: i64,
    pub tax_option: TaxOption,
    /// Both kinds; the one the option does not apply has rate and amount 0.
    pub taxes: Vec<TaxLine>,
    /// What the bank received: `earnings` less what was withheld.
    pub net: i64,
    pub bank: BankLine,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TaxLine {
    /// `vat` or `withholding`.
    pub kind: &'static str,
    pub rate_bp: i64,
    /// What the rate applies to: for VAT, the earnings less the VAT they
    /// include; for withholding, the earnings.
    pub base: i64,
    pub amount: i64,
    /// Withheld from the payment and paid to the state by the platform
    /// (withholding), or included in the payment for the expert to remit
    /// (VAT).
    pub withheld_at_source: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BankLine {
    /// `rib` or `iban`.
    pub kind: String,
    pub last4: String,
}

impl Statement {
    /// The statement of `p`, paid to `expert_name`; `NotPaid` until it is.
    pub fn of(p: &Payout, expert_name: &str) -> Result<Statement, PayoutError> {
        let (Some(c), Some(paid_at)) = (p.computation.as_ref(), p.decided_at) else {
            return Err(PayoutError::NotPaid);
        };
        Ok(Statement {
            payout_id: p.id.clone(),
            expert_id: p.expert_id.clone(),
            expert_name: expert_name.to_owned(),
            currency: "TND",
            requested_at: p.requested_at,
            paid_at,
            gross: c.gross,
            commission_rate_bp: COMMISSION_BP,
            commission: c.commission,
            earnings: c.amount,
            tax_option: c.option,
            taxes: tax_lines(c),
            net: c.net,
            bank: BankLine {
                kind: p.bank_kind.clone(),
                last4: p.bank_hint.clone(),
            },
        })
    }

    fn tax(&self, kind: &str) -> Option<&TaxLine> {
        self.taxes.iter().find(|t| t.kind == kind)
    }

    /// One header line and one line of values (RFC 4180, CRLF); times are
    /// RFC 3339, amounts millimes.
    pub fn csv(&self, timestamp: impl Fn(i64) -> String) -> String {
        let vat = self.tax("vat");
        let withholding = self.tax("withholding");
        let number = |v: Option<i64>| v.unwrap_or_default().to_string();
        let fields: [(&str, String); 19] = [
            ("payout_id", self.payout_id.clone()),
            ("expert_id", self.expert_id.clone()),
            ("expert_name", self.expert_name.clone()),
            ("currency", self.currency.to_owned()),
            ("requested_at", timestamp(self.requested_at)),
            ("paid_at", timestamp(self.paid_at)),
            ("gross_millimes", self.gross.to_string()),
            ("commission_rate_bp", self.commission_rate_bp.to_string()),
            ("commission_millimes", self.commission.to_string()),
            ("earnings_millimes", self.earnings.to_string()),
            ("tax_option", self.tax_option.as_str().to_owned()),
            ("vat_rate_bp", number(vat.map(|t| t.rate_bp))),
            ("vat_base_millimes", number(vat.map(|t| t.base))),
            ("vat_millimes", number(vat.map(|t| t.amount))),
            (
                "withholding_rate_bp",
                number(withholding.map(|t| t.rate_bp)),
            ),
            (
                "withholding_millimes",
                number(withholding.map(|t| t.amount)),
            ),
            ("net_millimes", self.net.to_string()),
            ("bank_kind", self.bank.kind.clone()),
            ("bank_last4", self.bank.last4.clone()),
        ];
        let header: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
        let values: Vec<String> = fields.iter().map(|(_, v)| csv::field(v)).collect();
        format!("{}\r\n{}\r\n", header.join(","), values.join(","))
    }
}

fn tax_lines(c: &Computation) -> Vec<TaxLine> {
    vec![
        TaxLine {
            kind: "vat",
            rate_bp: c.rates.vat_percent_bp,
            base: c.amount - c.vat,
            amount: c.vat,
            withheld_at_source: false,
        },
        TaxLine {
            kind: "withholding",
            rate_bp: c.rates.withholding_percent_bp,
            base: c.amount,
            amount: c.withheld,
            withheld_at_source: true,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experts::tax::TaxRates;
    use crate::payouts::{taxes, State};

    fn paid(option: TaxOption) -> Payout {
        let rates: TaxRates = (&crate::settings::ExpertSettings::default()).into();
        Payout {
            id: "p1".into(),
            expert_id: "e1".into(),
            amount: 48_403,
            state: State::Paid,
            bank_kind: "rib".into(),
            bank_hint: "9012".into(),
            requested_at: 1_000,
            decided_at: Some(2_000),
            decided_by: Some("a1".into()),
            reason: None,
            computation: Some(taxes::compute(48_403, option, rates)),
        }
    }

    #[test]
    fn the_statement_adds_up() {
        let s = Statement::of(&paid(TaxOption::Withholding), "Karim, \"K\" Haddad").unwrap();
        assert_eq!(
            (s.gross, s.commission, s.earnings),
            (60_503, 12_100, 48_403)
        );
        assert_eq!(s.gross - s.commission, s.earnings);
        let withheld: i64 = s
            .taxes
            .iter()
            .filter(|t| t.withheld_at_source)
            .map(|t| t.amount)
            .sum();
        assert_eq!(s.net, s.earnings - withheld);
        let csv = s.csv(|ms| ms.to_string());
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines.len(), 3, "a header, a line, and the final CRLF");
        assert!(lines[1].starts_with("p1,e1,\"Karim, \"\"K\"\" Haddad\",TND,1000,2000,60503,2000,"));
        assert!(lines[1].ends_with(",withholding,0,48403,0,1500,7260,41143,rib,9012"));
    }

    #[test]
    fn a_vat_statement_shows_the_vat_included() {
        let s = Statement::of(&paid(TaxOption::Vat), "K").unwrap();
        let vat = &s.taxes[0];
        assert_eq!((vat.rate_bp, vat.base, vat.amount), (1900, 40_675, 7_728));
        assert_eq!(vat.base + vat.amount, s.earnings);
        assert_eq!(s.net, s.earnings);
    }

    #[test]
    fn only_a_paid_payout_has_a_statement() {
        let p = Payout {
            state: State::Requested,
            decided_at: None,
            computation: None,
            ..paid(TaxOption::Vat)
        };
        assert!(matches!(Statement::of(&p, "K"), Err(PayoutError::NotPaid)));
    }
}
