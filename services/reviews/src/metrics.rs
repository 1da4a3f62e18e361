//! The review KPIs (`shop_review*`), counted for submitted reviews only (not the seed).

use apiary_telemetry::metrics::{counter, describe_counter};

pub const SUBMITTED: &str = "shop_reviews_submitted_total";
pub const RATINGS: &str = "shop_review_ratings_total";

/// Describes the KPIs and creates every series at zero, so the rating distribution has all
/// five bars from the start.
pub fn describe() {
    describe_counter!(SUBMITTED, "Reviews submitted by shoppers (not the seed).");
    describe_counter!(RATINGS, "Submitted reviews by rating (1-5).");
    counter!(SUBMITTED).increment(0);
    for rating in 1..=5u8 {
        counter!(RATINGS, "rating" => rating.to_string()).increment(0);
    }
}

pub fn submitted(rating: u8) {
    counter!(SUBMITTED).increment(1);
    counter!(RATINGS, "rating" => rating.to_string()).increment(1);
}
