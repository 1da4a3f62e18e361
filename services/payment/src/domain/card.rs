//! Cards: the number (Luhn, brand, last four), the expiry and the CVC, validated at the edge.
//!
//! A [`ValidCard`] keeps the digits only as long as the request lives — the decision rules need
//! them — and its `Debug` is redacted, so neither the number nor the CVC can reach a log line,
//! a span or an error message by accident. The CVC is checked for shape and then dropped.

use std::fmt;

use super::calendar::YearMonth;

/// Why a card is malformed (422): the stable error code and a message that never echoes the
/// card's contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error(
        "the card number must be 12 to 19 digits (spaces and dashes allowed) and pass the Luhn check"
    )]
    InvalidNumber,
    #[error("the expiry must be a month 1-12 and a four-digit year 2000-2099")]
    InvalidExpiry,
    #[error("the CVC must be 3 or 4 digits")]
    InvalidCvc,
}

impl CardError {
    pub fn code(self) -> &'static str {
        match self {
            CardError::InvalidNumber => "invalid_card_number",
            CardError::InvalidExpiry => "invalid_expiry",
            CardError::InvalidCvc => "invalid_cvc",
        }
    }
}

/// The card network, from the number's prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Brand {
    Visa,
    Mastercard,
    Amex,
    Other,
}

impl Brand {
    /// 4 is Visa; 51-55 and 2221-2720 Mastercard; 34 and 37 Amex; anything else Other.
    pub fn of(digits: &str) -> Self {
        let prefix = |n: usize| digits.get(..n).and_then(|p| p.parse::<u32>().ok());
        if digits.starts_with('4') {
            Brand::Visa
        } else if prefix(2).is_some_and(|p| (51..=55).contains(&p))
            || prefix(4).is_some_and(|p| (2221..=2720).contains(&p))
        {
            Brand::Mastercard
        } else if prefix(2).is_some_and(|p| p == 34 || p == 37) {
            Brand::Amex
        } else {
            Brand::Other
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Brand::Visa => "visa",
            Brand::Mastercard => "mastercard",
            Brand::Amex => "amex",
            Brand::Other => "other",
        }
    }
}

/// A card's expiry: valid through the last day of its month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry(YearMonth);

impl Expiry {
    /// Month 1-12, year 2000-2099 (wide integers, so `13` or `300` is this error and not a
    /// JSON shape error).
    pub fn parse(month: i64, year: i64) -> Result<Self, CardError> {
        let month = u8::try_from(month)
            .ok()
            .filter(|m| (1..=12).contains(m))
            .ok_or(CardError::InvalidExpiry)?;
        let year = u16::try_from(year)
            .ok()
            .filter(|y| (2000..=2099).contains(y))
            .ok_or(CardError::InvalidExpiry)?;
        Ok(Self(YearMonth { year, month }))
    }

    /// True once the expiry month has ended (the current month is still good).
    pub fn is_past(self, today: YearMonth) -> bool {
        self.0 < today
    }
}

/// The digits of a card number that passed the checks. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct CardNumber(String);

impl CardNumber {
    pub fn parse(raw: &str) -> Result<Self, CardError> {
        let digits: String = raw.chars().filter(|c| *c != ' ' && *c != '-').collect();
        let well_formed = (12..=19).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && luhn_valid(&digits);
        if well_formed {
            Ok(Self(digits))
        } else {
            Err(CardError::InvalidNumber)
        }
    }

    pub fn brand(&self) -> Brand {
        Brand::of(&self.0)
    }

    /// The last four digits: all that is ever stored or shown.
    pub fn last4(&self) -> String {
        self.0[self.0.len() - 4..].to_owned()
    }

    pub fn digits(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNumber(…{})", self.last4())
    }
}

/// A card whose number, expiry and CVC are well formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidCard {
    pub number: CardNumber,
    pub expiry: Expiry,
}

impl ValidCard {
    /// Checks number, then expiry, then CVC; the first problem is the answer.
    pub fn parse(number: &str, month: i64, year: i64, cvc: &str) -> Result<Self, CardError> {
        let number = CardNumber::parse(number)?;
        let expiry = Expiry::parse(month, year)?;
        let cvc_ok = (3..=4).contains(&cvc.len()) && cvc.bytes().all(|b| b.is_ascii_digit());
        if !cvc_ok {
            return Err(CardError::InvalidCvc);
        }
        Ok(Self { number, expiry })
    }
}

/// The Luhn (mod 10) check digit test, on ASCII digits.
pub fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b.wrapping_sub(b'0'));
        if d > 9 {
            return false;
        }
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_the_test_cards_and_refuses_a_changed_digit() {
        for ok in [
            "4242424242424242",
            "5555555555554444",
            "378282246310005",
            "4000000000000002",
            "4000000000009995",
            "4000000000000069",
            "4000000000000127",
            "4100000000000019",
            "6011111111111117",
        ] {
            assert!(luhn_valid(ok), "{ok}");
        }
        for bad in ["4242424242424241", "5555555555554445", "", "42a2"] {
            assert!(!luhn_valid(bad), "{bad}");
        }
    }

    #[test]
    fn numbers_ignore_spaces_and_dashes_and_need_12_to_19_digits() {
        let n = CardNumber::parse("4242 4242-4242 4242").expect("valid");
        assert_eq!(n.digits(), "4242424242424242");
        assert_eq!(n.last4(), "4242");
        // 12 and 19 digits that pass Luhn are accepted; 11 and 20 are not.
        assert!(CardNumber::parse("000000000000").is_ok());
        assert!(CardNumber::parse("0000000000000000000").is_ok());
        assert_eq!(
            CardNumber::parse("00000000000"),
            Err(CardError::InvalidNumber)
        );
        assert_eq!(
            CardNumber::parse("00000000000000000000"),
            Err(CardError::InvalidNumber)
        );
        for bad in [
            "4242424242424241",
            "4242x42424242424",
            "４２４２４２４２４２４２",
            "",
        ] {
            assert_eq!(
                CardNumber::parse(bad),
                Err(CardError::InvalidNumber),
                "{bad}"
            );
        }
    }

    #[test]
    fn brands_come_from_the_prefix() {
        for (number, brand) in [
            ("4242424242424242", Brand::Visa),
            ("5105105105105100", Brand::Mastercard),
            ("5555555555554444", Brand::Mastercard),
            ("2221000000000009", Brand::Mastercard),
            ("2720990000000000", Brand::Mastercard),
            ("2220990000000000", Brand::Other),
            ("2721000000000000", Brand::Other),
            ("5600000000000000", Brand::Other),
            ("378282246310005", Brand::Amex),
            ("341111111111111", Brand::Amex),
            ("6011111111111117", Brand::Other),
        ] {
            assert_eq!(Brand::of(number), brand, "{number}");
        }
    }

    #[test]
    fn expiry_needs_a_real_month_and_a_four_digit_year() {
        assert!(Expiry::parse(1, 2000).is_ok());
        assert!(Expiry::parse(12, 2099).is_ok());
        for (m, y) in [
            (0, 2030),
            (13, 2030),
            (-1, 2030),
            (300, 2030),
            (6, 1999),
            (6, 2100),
            (6, 30),
        ] {
            assert_eq!(
                Expiry::parse(m, y),
                Err(CardError::InvalidExpiry),
                "{m}/{y}"
            );
        }
    }

    #[test]
    fn a_card_is_good_through_its_expiry_month() {
        let today = YearMonth {
            year: 2030,
            month: 6,
        };
        let exp = |m, y| Expiry::parse(m, y).expect("valid");
        assert!(!exp(6, 2030).is_past(today));
        assert!(!exp(1, 2031).is_past(today));
        assert!(exp(5, 2030).is_past(today));
        assert!(exp(12, 2029).is_past(today));
    }

    #[test]
    fn cvc_is_three_or_four_digits() {
        let card = |cvc: &str| ValidCard::parse("4242424242424242", 12, 2099, cvc);
        assert!(card("123").is_ok());
        assert!(card("1234").is_ok());
        for bad in ["12", "12345", "12a", "", " 123"] {
            assert_eq!(card(bad), Err(CardError::InvalidCvc), "{bad:?}");
        }
    }

    #[test]
    fn the_first_problem_is_the_answer() {
        assert_eq!(
            ValidCard::parse("1234", 13, 1, "x"),
            Err(CardError::InvalidNumber)
        );
        assert_eq!(
            ValidCard::parse("4242424242424242", 13, 1, "x"),
            Err(CardError::InvalidExpiry)
        );
    }

    #[test]
    fn debug_output_never_shows_the_number() {
        let card = ValidCard::parse("4242424242424242", 12, 2099, "123").expect("valid");
        let text = format!("{card:?}");
        assert!(!text.contains("4242424242424242"), "{text}");
        assert!(!text.contains("123"), "{text}");
    }
}
