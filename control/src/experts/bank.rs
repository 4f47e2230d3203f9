//! Bank account numbers experts are paid to, checked before we keep them, so
//! a typo is caught when it is typed rather than when a transfer bounces.
//!
//! - A Tunisian RIB: 20 digits (bank 2, branch 3, account 13, key 2), valid
//!   when the whole number is 0 modulo 97, i.e. the key is
//!   97 - (first 18 digits x 100 mod 97).
//! - An IBAN (ISO 13616): country, two check digits, the national number;
//!   valid when, its first four characters moved to the end and letters read
//!   as numbers (A = 10 ... Z = 35), it is 1 modulo 97. The length is fixed
//!   per country; a Tunisian IBAN is TN + check digits + a valid RIB.

use crate::accounts::text_enum;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BankKind {
    Rib,
    Iban,
}

text_enum!(BankKind { Rib = "rib", Iban = "iban" });

/// A checked account number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankAccount {
    pub kind: BankKind,
    /// Without spaces, letters in upper case.
    pub number: String,
}

impl BankAccount {
    /// The last four characters: enough for people to recognise their
    /// account, not enough to pay into it.
    pub fn hint(&self) -> &str {
        &self.number[self.number.len().saturating_sub(4)..]
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BankError {
    #[error("only digits, letters and spaces: a 20-digit RIB or an IBAN")]
    InvalidCharacters,
    #[error("{0}")]
    BadLength(String),
    #[error("the RIB key (its last two digits) does not match the number")]
    BadRibKey,
    #[error("the IBAN check digits do not match the number")]
    BadIbanChecksum,
}

impl BankError {
    /// The field error code clients see.
    pub fn code(&self) -> &'static str {
        match self {
            BankError::InvalidCharacters => "invalid_characters",
            BankError::BadLength(_) => "bad_length",
            BankError::BadRibKey => "bad_rib_key",
            BankError::BadIbanChecksum => "bad_iban_checksum",
        }
    }
}

const RIB_DIGITS: usize = 20;

/// IBAN lengths of the countries experts are likeliest to bank in (ISO 13616
/// registry). Another country's IBAN is held to the standard's bounds only.
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AT", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("CH", 21),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FR", 27),
    ("GB", 22),
    ("GR", 27),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("LB", 28),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MT", 31),
    ("NL", 18),
    ("NO", 15),
    ("PL", 28),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("SA", 24),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("TN", 24),
    ("TR", 26),
];
const IBAN_BOUNDS: std::ops::RangeInclusive<usize> = 15..=34;

/// Reads a RIB or an IBAN as people type them (spaces anywhere, any case).
pub fn parse(input: &str) -> Result<BankAccount, BankError> {
    let number: String = input
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(BankError::InvalidCharacters);
    }
    if number.bytes().all(|b| b.is_ascii_digit()) {
        rib(&number)?;
        Ok(BankAccount {
            kind: BankKind::Rib,
            number,
        })
    } else if number.bytes().take(2).all(|b| b.is_ascii_uppercase()) {
        iban(&number)?;
        Ok(BankAccount {
            kind: BankKind::Iban,
            number,
        })
    } else {
        Err(BankError::InvalidCharacters)
    }
}

fn rib(digits: &str) -> Result<(), BankError> {
    if digits.len() != RIB_DIGITS {
        return Err(BankError::BadLength(format!(
            "a RIB has {RIB_DIGITS} digits, not {}",
            digits.len()
        )));
    }
    if mod97(digits) != 0 {
        return Err(BankError::BadRibKey);
    }
    Ok(())
}

fn iban(number: &str) -> Result<(), BankError> {
    let country = &number[..2];
    match IBAN_LENGTHS.iter().find(|(c, _)| *c == country) {
        Some((_, len)) if number.len() != *len => {
            return Err(BankError::BadLength(format!(
                "a {country} IBAN has {len} characters, not {}",
                number.len()
            )))
        }
        None if !IBAN_BOUNDS.contains(&number.len()) => {
            return Err(BankError::BadLength(format!(
                "an IBAN has {} to {} characters, not {}",
                IBAN_BOUNDS.start(),
                IBAN_BOUNDS.end(),
                number.len()
            )))
        }
        _ => {}
    }
    if !number.as_bytes()[2..4].iter().all(u8::is_ascii_digit) {
        return Err(BankError::InvalidCharacters);
    }
    let (head, national) = number.split_at(4);
    if mod97(&format!("{national}{head}")) != 1 {
        return Err(BankError::BadIbanChecksum);
    }
    if country == "TN" {
        if !national.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BankError::InvalidCharacters);
        }
        rib(national)?;
    }
    Ok(())
}

/// The number modulo 97, a digit (or a letter, as two digits) at a time, so
/// any length fits in a u32.
fn mod97(s: &str) -> u32 {
    s.bytes().fold(0, |r, b| match b {
        b'0'..=b'9' => (r * 10 + u32::from(b - b'0')) % 97,
        _ => (r * 100 + u32::from(b - b'A') + 10) % 97,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bank 08, branch 006, account 0123456789012: the key by the formula.
    fn rib_of(first18: &str) -> String {
        let r = first18
            .bytes()
            .fold(0u64, |r, b| (r * 10 + u64::from(b - b'0')) % 97);
        format!("{first18}{:02}", 97 - (r * 100) % 97)
    }

    /// A TN IBAN around `rib`, check digits by ISO 13616's formula.
    fn tn_iban(rib: &str) -> String {
        format!("TN{:02}{rib}", 98 - mod97(&format!("{rib}TN00")))
    }

    #[test]
    fn a_rib_with_the_right_key_is_accepted_as_typed() {
        let rib = rib_of("080060123456789012");
        let spaced = format!(
            "{} {} {} {}",
            &rib[..2],
            &rib[2..5],
            &rib[5..18],
            &rib[18..]
        );
        let account = parse(&spaced).unwrap();
        assert_eq!(account.kind, BankKind::Rib);
        assert_eq!(account.number, rib);
        assert_eq!(account.hint(), &rib[16..]);
        // The registry's example RIB, inside its example IBAN.
        assert!(parse("10006035183598478831").is_ok());
    }

    #[test]
    fn every_other_rib_key_is_refused() {
        let rib = rib_of("080060123456789012");
        let good: u32 = rib[18..].parse().unwrap();
        for key in (0..100).filter(|k| k % 97 != good % 97) {
            let other = format!("{}{key:02}", &rib[..18]);
            assert_eq!(parse(&other), Err(BankError::BadRibKey), "{other}");
        }
        // A changed digit in the account part breaks the key too.
        let mut typo = rib.into_bytes();
        typo[10] = if typo[10] == b'9' { b'0' } else { typo[10] + 1 };
        assert_eq!(
            parse(std::str::from_utf8(&typo).unwrap()),
            Err(BankError::BadRibKey)
        );
    }

    #[test]
    fn lengths_and_characters_are_checked() {
        let rib = rib_of("080060123456789012");
        assert_eq!(parse(&rib[..19]).unwrap_err().code(), "bad_length");
        assert_eq!(parse(&format!("{rib}0")).unwrap_err().code(), "bad_length");
        for bad in [
            "",
            "   ",
            "0800-6012",
            "08006012345678901Z34",
            "1TN59",
            "TN59 1000 6035 1835 9847 883é",
        ] {
            assert_eq!(parse(bad), Err(BankError::InvalidCharacters), "{bad:?}");
        }
        assert_eq!(
            parse("TN59 1000 6035 1835 9847 883").unwrap_err().code(),
            "bad_length"
        );
        assert_eq!(parse("XX12 3456").unwrap_err().code(), "bad_length");
    }

    #[test]
    fn ibans_are_checked_by_iso_13616() {
        let account = parse("tn59 1000 6035 1835 9847 8831").unwrap();
        assert_eq!(account.kind, BankKind::Iban);
        assert_eq!(account.number, "TN5910006035183598478831");
        assert_eq!(account.hint(), "8831");
        let gb = parse("GB82 WEST 1234 5698 7654 32").unwrap();
        assert_eq!((gb.kind, gb.hint()), (BankKind::Iban, "5432"));
        assert!(parse("FR14 2004 1010 0505 0001 3M02 606").is_ok());

        assert_eq!(
            parse("GB83 WEST 1234 5698 7654 32"),
            Err(BankError::BadIbanChecksum)
        );
        assert_eq!(
            parse("GB82 WEST 1234 5698 7654 33"),
            Err(BankError::BadIbanChecksum)
        );
        assert_eq!(
            parse("GB8X WEST 1234 5698 7654 32"),
            Err(BankError::InvalidCharacters)
        );
    }

    #[test]
    fn a_tunisian_iban_must_hold_a_valid_rib() {
        let rib = rib_of("080060123456789012");
        assert!(parse(&tn_iban(&rib)).is_ok());
        let bad_key = format!(
            "{}{:02}",
            &rib[..18],
            (rib[18..].parse::<u32>().unwrap() + 1) % 97
        );
        let iban = tn_iban(&bad_key);
        assert_eq!(mod97(&format!("{}{}", &iban[4..], &iban[..4])), 1);
        assert_eq!(parse(&iban), Err(BankError::BadRibKey));
    }
}
