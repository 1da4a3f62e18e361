//! Domain types that parse, and the simulated provider's decision rules.
//!
//! - [`card`] — [`ValidCard`]: Luhn, brand, last four, expiry, CVC shape.
//! - [`calendar`] — [`YearMonth`], for "has this card expired".
//! - [`IdempotencyKey`], [`ChargeAmount`] — the other parts of a charge request.
//! - [`DeclineReason`] and [`decide`] — the documented test-card rules.

pub mod calendar;
pub mod card;

use apiary_wire::Money;

pub use calendar::YearMonth;
pub use card::{Brand, CardError, ValidCard};

/// Largest amount (minor units, any currency) the simulated provider accepts.
pub const AMOUNT_LIMIT_MINOR: i64 = 500_000;

apiary_wire::token_id!(
    /// An idempotency key: 1-64 characters of `[A-Za-z0-9_-]` (checkout sends its checkout id).
    pub IdempotencyKey,
    "idempotency_key"
);

/// A positive amount to charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChargeAmount(Money);

/// A charge of nothing, or less.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("amount.amount_minor must be greater than 0")]
pub struct NotPositive;

impl ChargeAmount {
    pub fn parse(money: Money) -> Result<Self, NotPositive> {
        if money.amount_minor > 0 {
            Ok(Self(money))
        } else {
            Err(NotPositive)
        }
    }

    pub fn money(self) -> Money {
        self.0
    }
}

/// Why the simulated provider declines a well-formed charge (402, the code is the reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclineReason {
    CardDeclined,
    InsufficientFunds,
    ExpiredCard,
    IncorrectCvc,
    FraudSuspected,
    AmountLimitExceeded,
}

impl DeclineReason {
    pub const ALL: [DeclineReason; 6] = [
        DeclineReason::CardDeclined,
        DeclineReason::InsufficientFunds,
        DeclineReason::ExpiredCard,
        DeclineReason::IncorrectCvc,
        DeclineReason::FraudSuspected,
        DeclineReason::AmountLimitExceeded,
    ];

    pub fn code(self) -> &'static str {
        match self {
            DeclineReason::CardDeclined => "card_declined",
            DeclineReason::InsufficientFunds => "insufficient_funds",
            DeclineReason::ExpiredCard => "expired_card",
            DeclineReason::IncorrectCvc => "incorrect_cvc",
            DeclineReason::FraudSuspected => "fraud_suspected",
            DeclineReason::AmountLimitExceeded => "amount_limit_exceeded",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// What the shopper is told.
    pub fn message(self) -> &'static str {
        match self {
            DeclineReason::CardDeclined => "the card was declined",
            DeclineReason::InsufficientFunds => "the card has insufficient funds",
            DeclineReason::ExpiredCard => "the card has expired",
            DeclineReason::IncorrectCvc => "the card's security code is incorrect",
            DeclineReason::FraudSuspected => "the charge was blocked as suspected fraud",
            DeclineReason::AmountLimitExceeded => "the amount is above the card's limit",
        }
    }
}

/// The documented test cards that always decline, and why.
const DECLINING_TEST_CARDS: &[(&str, DeclineReason)] = &[
    ("4000000000000002", DeclineReason::CardDeclined),
    ("4000000000009995", DeclineReason::InsufficientFunds),
    ("4000000000000069", DeclineReason::ExpiredCard),
    ("4000000000000127", DeclineReason::IncorrectCvc),
    ("4100000000000019", DeclineReason::FraudSuspected),
];

/// The simulated provider's verdict, in this order: a declining test card, an expiry month that
/// has ended, an amount above [`AMOUNT_LIMIT_MINOR`]. Everything else is captured.
pub fn decide(
    card: &ValidCard,
    amount: ChargeAmount,
    today: YearMonth,
) -> Result<(), DeclineReason> {
    if let Some((_, reason)) = DECLINING_TEST_CARDS
        .iter()
        .find(|(number, _)| *number == card.number.digits())
    {
        return Err(*reason);
    }
    if card.expiry.is_past(today) {
        return Err(DeclineReason::ExpiredCard);
    }
    if amount.money().amount_minor > AMOUNT_LIMIT_MINOR {
        return Err(DeclineReason::AmountLimitExceeded);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiary_wire::Currency;

    const TODAY: YearMonth = YearMonth {
        year: 2030,
        month: 6,
    };

    fn card(number: &str, month: i64, year: i64) -> ValidCard {
        ValidCard::parse(number, month, year, "123").expect("valid card")
    }

    fn eur(amount_minor: i64) -> ChargeAmount {
        ChargeAmount::parse(Money {
            amount_minor,
            currency: Currency::EUR,
        })
        .expect("positive")
    }

    #[test]
    fn the_succeeding_test_cards_are_captured() {
        for number in [
            "4242424242424242",
            "5555555555554444",
            "378282246310005",
            "6011111111111117",
        ] {
            assert_eq!(
                decide(&card(number, 12, 2031), eur(1999), TODAY),
                Ok(()),
                "{number}"
            );
        }
    }

    #[test]
    fn each_declining_test_card_has_its_reason() {
        for (number, reason) in DECLINING_TEST_CARDS {
            assert_eq!(
                decide(&card(number, 12, 2031), eur(100), TODAY),
                Err(*reason)
            );
        }
        assert_eq!(DECLINING_TEST_CARDS.len(), 5);
    }

    #[test]
    fn an_ended_expiry_month_is_an_expired_card() {
        let good = "4242424242424242";
        assert_eq!(
            decide(&card(good, 5, 2030), eur(100), TODAY),
            Err(DeclineReason::ExpiredCard)
        );
        assert_eq!(decide(&card(good, 6, 2030), eur(100), TODAY), Ok(()));
    }

    #[test]
    fn amounts_above_the_limit_are_declined() {
        let good = card("4242424242424242", 12, 2031);
        assert_eq!(decide(&good, eur(AMOUNT_LIMIT_MINOR), TODAY), Ok(()));
        assert_eq!(
            decide(&good, eur(AMOUNT_LIMIT_MINOR + 1), TODAY),
            Err(DeclineReason::AmountLimitExceeded)
        );
    }

    #[test]
    fn a_test_card_reason_wins_over_the_other_rules() {
        assert_eq!(
            decide(
                &card("4000000000000002", 1, 2001),
                eur(AMOUNT_LIMIT_MINOR + 1),
                TODAY
            ),
            Err(DeclineReason::CardDeclined)
        );
    }

    #[test]
    fn decline_codes_round_trip() {
        for reason in DeclineReason::ALL {
            assert_eq!(DeclineReason::from_code(reason.code()), Some(reason));
        }
        assert_eq!(DeclineReason::from_code("nope"), None);
    }

    #[test]
    fn idempotency_keys_have_a_fixed_alphabet_and_length() {
        assert!(IdempotencyKey::parse("chk_01-AbC").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(64)).is_ok());
        for bad in ["", "has space", "semi;colon", "ü", &"k".repeat(65)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn amounts_must_be_positive() {
        let money = |amount_minor| Money {
            amount_minor,
            currency: Currency::EUR,
        };
        assert!(ChargeAmount::parse(money(1)).is_ok());
        assert!(ChargeAmount::parse(money(0)).is_err());
        assert!(ChargeAmount::parse(money(-5)).is_err());
    }
}
