//! A payout's tax computation, without I/O: integers only, millimes and
//! basis points, every division rounding down.
//!
//! For the expert's share `E` that a payout takes from their earnings:
//!
//! - **Commission and gross.** The split (`ledger::split`) gives the
//!   platform `⌊a / 5⌋` of a captured amount `a` and the expert the rest.
//!   Its exact inverse: `commission = ⌊E / 4⌋`, `gross = E + ⌊E / 4⌋`.
//!   Writing `E = 4q + s` (`0 <= s < 4`), `gross = 5q + s`, whose platform
//!   share is `q` and expert share `4q + s = E`: gross less commission is E
//!   to the millime. `gross + 1` would give the expert `E + 1`, so gross is
//!   the largest amount that splits to E (when `s = 0`, `5q - 1` splits to E
//!   as well; the larger is chosen, so whole coins come back whole: 400 is
//!   500 paid). When the earnings behind a payout come from captures of
//!   multiples of 5 millimes, as every price in whole coins does, gross and
//!   commission are exactly what clients paid for them and what the
//!   platform kept; for a part of the earnings they are what that part
//!   stands for.
//! - **Option `withholding`** (option 2, withheld at source):
//!   `withheld = ⌊E × rate / 10000⌋`, and the bank receives `E - withheld`;
//!   the platform owes `withheld` to the state (`tax_payable`).
//! - **Option `vat`** (option 1): the share is VAT-inclusive.
//!   `vat = ⌊E × rate / (10000 + rate)⌋`, the base is `E - vat`, and the bank
//!   receives `E`: the expert remits the VAT. It is shown on the statement.
//!
//! The rates are the ones in force when the payout is approved, as the
//! option applies them (`TaxRates::implied_by`: the other rate is 0), and
//! they are recorded with the result.

use crate::experts::tax::{TaxRates, MAX_BP};
use crate::experts::TaxOption;

/// The platform's share of a captured amount, as `ledger::split` takes it
/// (20 %, rounded down), in basis points.
pub const COMMISSION_BP: i64 = 2_000;

/// The platform's commission on what earned the expert `earnings`.
pub fn commission_of(earnings: i64) -> i64 {
    earnings.div_euclid(4)
}

/// What clients paid for `earnings`: the largest amount the split gives
/// the expert exactly `earnings` of.
pub fn gross_of(earnings: i64) -> i64 {
    earnings + commission_of(earnings)
}

/// `⌊amount × numerator / denominator⌋` for a non-negative amount and a
/// positive denominator, in 128 bits so no product overflows.
fn share(amount: i64, numerator: i64, denominator: i64) -> i64 {
    let exact = i128::from(amount) * i128::from(numerator) / i128::from(denominator);
    // At most `amount`: the numerator never exceeds the denominator.
    i64::try_from(exact).unwrap_or(amount)
}

/// A payout's computation as recorded when it is approved, in millimes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Computation {
    pub option: TaxOption,
    /// The rates the option applied (the one it does not use is 0).
    pub rates: TaxRates,
    /// The expert's share paid out: what left their earnings.
    pub amount: i64,
    pub gross: i64,
    pub commission: i64,
    /// VAT included in `amount` (option `vat`).
    pub vat: i64,
    /// Withheld at source from `amount` (option `withholding`).
    pub withheld: i64,
    /// What the bank receives.
    pub net: i64,
}

/// The computation for a payout of `amount` (at least 0) under `option` at
/// `rates` (basis points from 0 to 10,000, as `TaxRates::check` admits).
pub fn compute(amount: i64, option: TaxOption, rates: TaxRates) -> Computation {
    let rates = rates.implied_by(option);
    let vat_bp = rates.vat_percent_bp.clamp(0, MAX_BP);
    let withholding_bp = rates.withholding_percent_bp.clamp(0, MAX_BP);
    let withheld = share(amount, withholding_bp, MAX_BP);
    Computation {
        option,
        rates,
        amount,
        gross: gross_of(amount),
        commission: commission_of(amount),
        vat: share(amount, vat_bp, MAX_BP + vat_bp),
        withheld,
        net: amount - withheld,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{split, MILLIMES_PER_COIN};

    /// The configured defaults: 19 % VAT, 15 % withheld.
    fn rates() -> TaxRates {
        (&crate::settings::ExpertSettings::default()).into()
    }

    #[test]
    fn gross_less_commission_is_the_earnings_to_the_millime() {
        for earnings in 0..200_000 {
            let (gross, commission) = (gross_of(earnings), commission_of(earnings));
            assert_eq!(gross - commission, earnings);
            let s = split(gross);
            assert_eq!((s.expert, s.platform), (earnings, commission), "{earnings}");
            assert_eq!(
                split(gross + 1).expert,
                earnings + 1,
                "{gross} is the largest gross for {earnings}"
            );
        }
    }

    #[test]
    fn whole_coins_come_back_whole() {
        let expert = split(MILLIMES_PER_COIN).expert;
        assert_eq!(gross_of(expert), MILLIMES_PER_COIN);
        assert_eq!(gross_of(37 * expert), 37 * MILLIMES_PER_COIN);
        // 60,503 captured (50,000 and 10,503) earned 48,403.
        assert_eq!((gross_of(48_403), commission_of(48_403)), (60_503, 12_100));
    }

    #[test]
    fn withholding_takes_its_rate_rounded_down_from_what_is_paid() {
        let c = compute(48_403, TaxOption::Withholding, rates());
        // 48,403 x 1,500 / 10,000 = 7,260.45
        assert_eq!((c.withheld, c.net, c.vat), (7_260, 41_143, 0));
        assert_eq!(
            c.rates,
            TaxRates {
                vat_percent_bp: 0,
                withholding_percent_bp: 1500
            }
        );
        for amount in (0..100_000).step_by(7) {
            let c = compute(amount, TaxOption::Withholding, rates());
            assert!(c.withheld * 10_000 <= amount * 1_500);
            assert!((c.withheld + 1) * 10_000 > amount * 1_500);
            assert_eq!(c.net + c.withheld, amount);
        }
    }

    #[test]
    fn vat_is_included_in_what_is_paid() {
        let c = compute(48_403, TaxOption::Vat, rates());
        // 48,403 x 1,900 / 11,900 = 7,728.2
        assert_eq!((c.vat, c.withheld, c.net), (7_728, 0, 48_403));
        assert_eq!(c.rates.withholding_percent_bp, 0);
        for amount in (0..100_000).step_by(7) {
            let c = compute(amount, TaxOption::Vat, rates());
            assert!(c.vat * 11_900 <= amount * 1_900);
            assert!((c.vat + 1) * 11_900 > amount * 1_900);
            assert_eq!(c.net, amount, "the expert is paid all of it");
        }
    }

    #[test]
    fn rates_at_the_bounds_and_large_amounts_stay_exact() {
        let none = TaxRates {
            vat_percent_bp: 0,
            withholding_percent_bp: 0,
        };
        let all = TaxRates {
            vat_percent_bp: MAX_BP,
            withholding_percent_bp: MAX_BP,
        };
        assert_eq!(compute(12_345, TaxOption::Vat, none).vat, 0);
        assert_eq!(compute(12_345, TaxOption::Withholding, none).net, 12_345);
        assert_eq!(compute(12_345, TaxOption::Withholding, all).net, 0);
        assert_eq!(compute(12_345, TaxOption::Vat, all).vat, 6_172);
        let largest = crate::ledger::rules::MAX_AMOUNT;
        let c = compute(largest, TaxOption::Withholding, rates());
        assert_eq!(c.withheld, largest / 100 * 15);
        assert_eq!(c.gross - c.commission, largest);
    }
}
