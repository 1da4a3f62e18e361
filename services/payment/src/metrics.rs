//! The payment KPIs (`shop_payment*`). Recorded only for outcomes decided now — a replayed
//! answer was counted the first time — and labelled only by reason or currency: never by
//! anything from the card.

use apiary_telemetry::metrics::{counter, describe_counter};
use apiary_wire::shop::Charge;

use crate::domain::{CardError, DeclineReason};

pub const FAILURES: &str = "shop_payment_failures_total";
pub const CAPTURED: &str = "shop_payments_captured_total";
pub const VOIDED: &str = "shop_payments_voided_total";
pub const CAPTURED_MINOR: &str = "shop_payment_captured_minor_total";
pub const VOIDED_MINOR: &str = "shop_payment_voided_minor_total";

/// Describes the KPIs and creates every series at zero, so a dashboard's `rate()` has a
/// baseline before the first failure of each kind.
pub fn describe() {
    describe_counter!(
        FAILURES,
        "Card payments refused, by reason (declines and malformed cards)."
    );
    describe_counter!(CAPTURED, "Charges captured.");
    describe_counter!(VOIDED, "Charges voided (a checkout's compensation).");
    describe_counter!(
        CAPTURED_MINOR,
        "Captured amounts in minor units, by currency."
    );
    describe_counter!(VOIDED_MINOR, "Voided amounts in minor units, by currency.");
    for reason in DeclineReason::ALL {
        counter!(FAILURES, "reason" => reason.code()).increment(0);
    }
    for err in [
        CardError::InvalidNumber,
        CardError::InvalidExpiry,
        CardError::InvalidCvc,
    ] {
        counter!(FAILURES, "reason" => err.code()).increment(0);
    }
    counter!(CAPTURED).increment(0);
    counter!(VOIDED).increment(0);
}

/// A new decline or a malformed card, by its error code.
pub fn failure(reason: &'static str) {
    counter!(FAILURES, "reason" => reason).increment(1);
}

pub fn captured(charge: &Charge) {
    counter!(CAPTURED).increment(1);
    counter!(CAPTURED_MINOR, "currency" => charge.amount.currency.as_str().to_owned())
        .increment(minor(charge));
}

pub fn voided(charge: &Charge) {
    counter!(VOIDED).increment(1);
    counter!(VOIDED_MINOR, "currency" => charge.amount.currency.as_str().to_owned())
        .increment(minor(charge));
}

/// Charges are positive by construction; a corrupt row counts as nothing rather than wrapping.
fn minor(charge: &Charge) -> u64 {
    u64::try_from(charge.amount.amount_minor).unwrap_or(0)
}
