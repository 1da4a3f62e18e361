//! The contracts between the shop's services (one section per service, the owner's API).
//!
//! Ids: products `BK-0001`; carts, checkouts, orders, reservations and idempotency keys are
//! 1–64 characters of `[A-Za-z0-9_-]` (the gateway mints UUIDs). Services validate what they
//! receive with [`crate::ids`]; these types only describe the shape.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Money;

/// Most units of one product on a line (cart, reservation, quote, order): the documents state
/// it as each quantity's `maximum`.
pub const MAX_LINE_QUANTITY: u32 = 99;
/// Most lines in one reservation, quote or order: each `items`/`lines` array's `maxItems`.
pub const MAX_LINES: usize = 50;

/// A product and a quantity (carts, reservations, quotes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LineItem {
    #[schema(value_type = crate::ids::ProductId)]
    pub product_id: String,
    /// 1 to [`MAX_LINE_QUANTITY`] units.
    #[schema(minimum = 1, maximum = 99)]
    pub quantity: u32,
}

// ---------------------------------------------------------------- cart (:8002)

/// `GET /carts/{cart_id}` (an unknown or expired cart is an empty one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Cart {
    pub cart_id: String,
    pub items: Vec<LineItem>,
    /// When the cart expires unless touched again (ms since the Unix epoch); absent when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<i64>,
}

/// `POST /carts/{cart_id}/items`: adds `quantity` to the line (creating cart and line).
pub type AddToCart = LineItem;

/// `PUT /carts/{cart_id}/items/{product_id}`: sets the line's quantity (0 removes it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SetQuantity {
    /// 0 (removes the line) to [`MAX_LINE_QUANTITY`].
    #[schema(minimum = 0, maximum = 99)]
    pub quantity: u32,
}

/// `GET /carts/stats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CartStats {
    pub active_carts: u64,
    pub units: u64,
    pub expired_total: u64,
}

// ---------------------------------------------------------------- inventory (:8004)

/// One product's stock. `available + reserved + sold` is the seeded stock plus restocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StockLevel {
    pub product_id: String,
    /// Units a shopper can still reserve.
    pub available: u32,
    /// Units held by reservations not yet committed or released.
    pub reserved: u32,
    /// Units of committed reservations.
    pub sold: u32,
}

/// `GET /stock?ids=a,b` and `GET /stock` (every product).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StockLevels {
    pub items: Vec<StockLevel>,
}

/// `POST /reservations`: idempotent by `reservation_id` (the same id with other items is 409).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReserveRequest {
    #[schema(value_type = crate::ids::TokenId)]
    pub reservation_id: String,
    #[schema(min_items = 1, max_items = 50)]
    pub items: Vec<LineItem>,
}

/// `held` -> `committed` | `released` (explicitly, or when the hold expires).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    Held,
    Committed,
    Released,
}

/// A reservation; `POST /reservations/{id}/commit` and `/release` are idempotent and answer it.
/// Refusals: 409 `out_of_stock` (message names the product), 404 `unknown_product`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reservation {
    pub reservation_id: String,
    pub status: ReservationStatus,
    pub items: Vec<LineItem>,
    /// When a `held` reservation is released automatically (ms since the Unix epoch).
    pub expires_at_ms: i64,
}

// ---------------------------------------------------------------- payment (:8005)

/// Card details, only ever sent to payment (never logged, traced or stored in full).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Card {
    /// 12–19 digits; spaces and dashes are ignored. The Luhn check digit must hold (422
    /// `invalid_card_number` otherwise, which no schema can state).
    #[schema(
        pattern = "^[ -]*([0-9][ -]*){12,19}$",
        example = "4242 4242 4242 4242"
    )]
    pub number: String,
    #[schema(minimum = 1, maximum = 12)]
    pub expiry_month: u8,
    /// A year of this century, e.g. 2030 (a past month is a 402 `expired_card` decline).
    #[schema(minimum = 2000, maximum = 2099)]
    pub expiry_year: u16,
    #[schema(pattern = "^[0-9]{3,4}$", example = "123")]
    pub cvc: String,
}

impl std::fmt::Debug for Card {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Card(redacted)")
    }
}

/// `POST /charges`. The same `idempotency_key` replays the first answer (a charge or a
/// decline); the same key with another amount is 409 `idempotency_conflict`; a voided key is
/// 409 `charge_voided`. Declines are 402 with the reason as the error code
/// (`card_declined`, `insufficient_funds`, `expired_card`, `incorrect_cvc`, `fraud_suspected`,
/// `amount_limit_exceeded`); a malformed card is 422 (`invalid_card_number`, `invalid_expiry`,
/// `invalid_cvc`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChargeRequest {
    #[schema(value_type = crate::ids::TokenId)]
    pub idempotency_key: String,
    pub amount: Money,
    pub card: Card,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatus {
    Captured,
    Voided,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Charge {
    pub charge_id: String,
    pub idempotency_key: String,
    pub status: ChargeStatus,
    pub amount: Money,
    /// `visa`, `mastercard`, `amex` or `other`.
    pub card_brand: String,
    pub card_last4: String,
    pub created_at_ms: i64,
}

/// `POST /voids`: voids the charge made with `idempotency_key` (a refund before settlement).
/// Idempotent; when no charge exists yet the key is tombstoned so a late charge request with
/// it is refused — this is what makes "the charge call timed out, cancel it" safe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VoidRequest {
    #[schema(value_type = crate::ids::TokenId)]
    pub idempotency_key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VoidOutcome {
    /// A captured charge was voided now.
    Voided,
    /// It was voided before.
    AlreadyVoided,
    /// No charge existed; the key is now refused for charging.
    NothingToVoid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VoidResult {
    pub idempotency_key: String,
    pub outcome: VoidOutcome,
    #[serde(default)]
    pub charge_id: Option<String>,
}

/// `GET /ledger?status=captured|voided&after_seq=&limit=`: a page of charges, oldest first
/// (reconciliation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Ledger {
    pub charges: Vec<Charge>,
    /// The cursor for the next page (`after_seq`); absent when this page is the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seq: Option<i64>,
}

// ---------------------------------------------------------------- shipping (:8006)

/// `POST /quotes`. `country` is an ISO 3166 alpha-2 code; an unserved one is 422
/// `unsupported_destination`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QuoteRequest {
    #[schema(pattern = "^[A-Z]{2}$", example = "DE")]
    pub country: String,
    #[schema(min_items = 1, max_items = 50)]
    pub items: Vec<LineItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Quote {
    pub quote_id: String,
    pub country: String,
    pub carrier: String,
    pub amount: Money,
    pub eta_days: u8,
    pub expires_at_ms: i64,
}

// ---------------------------------------------------------------- reviews (:8007)

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Review {
    pub review_id: String,
    pub product_id: String,
    /// 1 to 5.
    pub rating: u8,
    /// A display name (an e-mail address is refused).
    pub author: String,
    pub title: String,
    pub body: String,
    pub created_at_ms: i64,
}

/// `GET /products/{product_id}/reviews?limit=`: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProductReviews {
    pub product_id: String,
    pub count: u64,
    /// Mean rating, absent without reviews.
    pub average_rating: Option<f64>,
    pub reviews: Vec<Review>,
}

/// `POST /products/{product_id}/reviews` -> 201 [`Review`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewReview {
    #[schema(minimum = 1, maximum = 5)]
    pub rating: u8,
    /// A display name: 1-60 characters after trimming, not an e-mail address (no `@`).
    #[schema(pattern = "^[^@]*[^@\\s][^@]*$", max_length = 60)]
    pub author: String,
    /// 1-120 characters after trimming.
    #[schema(pattern = "\\S", max_length = 120)]
    pub title: String,
    /// 1-2000 characters after trimming.
    #[schema(pattern = "\\S", max_length = 2000)]
    pub body: String,
}

// ---------------------------------------------------------------- recommendations (:8008)

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Recommendation {
    pub product_id: String,
    /// Higher is better; comparable within one answer only.
    pub score: f64,
}

/// `GET /recommendations/{product_id}?limit=`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Recommendations {
    pub product_id: String,
    /// `co-purchase` when learned from orders, `similar` when from product attributes.
    pub model: String,
    pub items: Vec<Recommendation>,
}

// ---------------------------------------------------------------- orders (:8009)

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderLine {
    #[schema(value_type = crate::ids::ProductId)]
    pub product_id: String,
    /// 1-500 characters after trimming.
    #[schema(pattern = "\\S", max_length = 500)]
    pub title: String,
    /// Positive, in the order's currency.
    pub unit_price: Money,
    #[schema(minimum = 1, maximum = 99)]
    pub quantity: u32,
}

/// `POST /orders`: idempotent by `order_id` (the same id with another body is 409).
/// `total` must equal the lines plus shipping (422 otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewOrder {
    #[schema(value_type = crate::ids::TokenId)]
    pub order_id: String,
    #[schema(value_type = crate::ids::TokenId)]
    pub cart_id: String,
    #[schema(min_items = 1, max_items = 50)]
    pub lines: Vec<OrderLine>,
    pub shipping: Money,
    pub total: Money,
    #[schema(value_type = crate::ids::TokenId)]
    pub charge_id: String,
    #[schema(value_type = crate::ids::TokenId)]
    pub reservation_id: String,
    #[schema(value_type = crate::ids::TokenId)]
    pub quote_id: String,
}

/// An order as recorded. `seq` orders the feed (`GET /orders?after_seq=&limit=`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Order {
    pub order_id: String,
    pub seq: i64,
    pub status: String,
    pub cart_id: String,
    pub lines: Vec<OrderLine>,
    pub shipping: Money,
    pub total: Money,
    pub charge_id: String,
    pub reservation_id: String,
    pub quote_id: String,
    pub created_at_ms: i64,
}

/// `GET /orders?after_seq=&limit=`: the feed, ascending by `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderFeed {
    pub items: Vec<Order>,
    /// Pass as `after_seq` for the next page (equal to the input when nothing new).
    pub last_seq: i64,
}

/// `GET /orders/summary`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderSummary {
    pub orders: u64,
    pub units: u64,
    /// Revenue per currency.
    pub revenue: Vec<Money>,
}

// ---------------------------------------------------------------- checkout (:8003)

/// Where to ship.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShippingAddress {
    /// ISO 3166 alpha-2; a country shipping does not serve is 422 `unsupported_destination`.
    #[schema(pattern = "^[A-Z]{2}$", example = "DE")]
    pub country: String,
}

/// `POST /checkouts`: runs the saga. Idempotent by `checkout_id` (it becomes the order id,
/// the reservation id and the payment idempotency key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckoutRequest {
    #[schema(value_type = crate::ids::TokenId)]
    pub checkout_id: String,
    #[schema(value_type = crate::ids::TokenId)]
    pub cart_id: String,
    pub card: Card,
    pub shipping: ShippingAddress,
}

/// A completed checkout (201). Failures are the JSON error body: 409 `cart_empty`,
/// 409 `out_of_stock`, 402 with the decline reason, 422 for card or address problems,
/// 502/503/504 when a service the saga needs is failing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckoutResult {
    pub order_id: String,
    pub status: String,
    pub lines: Vec<OrderLine>,
    pub shipping: Money,
    pub total: Money,
    pub charge_id: String,
    pub carrier: String,
    pub eta_days: u8,
}

/// Where a checkout saga stands (`GET /checkouts/{checkout_id}`, and the body of a 202).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SagaState {
    /// Steps are still being taken.
    Running,
    /// Charged; the order's recording had an unknown outcome and is being finished.
    Pending,
    /// The order is recorded (what remains is bookkeeping: commit the stock, empty the cart).
    Placed,
    /// No order: whatever was held or charged is being (or has been) undone.
    Failed,
}

impl SagaState {
    pub fn as_str(self) -> &'static str {
        match self {
            SagaState::Running => "running",
            SagaState::Pending => "pending",
            SagaState::Placed => "placed",
            SagaState::Failed => "failed",
        }
    }

    /// `placed` and `failed` never change again.
    pub fn is_final(self) -> bool {
        matches!(self, SagaState::Placed | SagaState::Failed)
    }
}

/// One entry of a saga's log: a step's intent (written before the call) or its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SagaLogEntry {
    /// `read_cart`, `price_items`, `reserve_stock`, `quote_shipping`, `charge_payment`,
    /// `record_order`, or a compensation (`release_stock`, `void_charge`, ...).
    pub step: String,
    /// `intent`, `done` or `failed`.
    pub phase: String,
    pub at_ms: i64,
}

/// A checkout that has not finished yet (202 from `POST /checkouts`), or any checkout
/// (`GET /checkouts/{checkout_id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckoutStatus {
    pub checkout_id: String,
    /// The order this checkout records (the same id).
    pub order_id: String,
    pub state: SagaState,
    /// Where to ask again.
    pub status_url: String,
    /// The order, once its totals are known (`pending`, `placed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<CheckoutResult>,
    /// Why no order was placed (`failed`): the answer the checkout gave or would have given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::ErrorDetail>,
    /// The saga log, oldest first (empty in a 202).
    #[serde(default)]
    pub log: Vec<SagaLogEntry>,
}

/// `GET /compensations`: saga clean-up work that could not finish yet (a peer was down) and is
/// being retried in the background.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CompensationStatus {
    pub pending: u64,
    pub completed_total: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::PartialSchema;

    fn schema_of<T: PartialSchema>() -> serde_json::Value {
        serde_json::to_value(T::schema()).expect("schema serializes")
    }

    fn number(v: &serde_json::Value) -> f64 {
        v.as_f64().unwrap_or_else(|| panic!("a number, got {v}"))
    }

    #[test]
    fn the_documented_bounds_are_the_limits_the_services_enforce() {
        let quantity_max = f64::from(MAX_LINE_QUANTITY);
        let lines_max = MAX_LINES as f64;
        let line = schema_of::<LineItem>();
        assert_eq!(
            number(&line["properties"]["quantity"]["maximum"]),
            quantity_max
        );
        let set = schema_of::<SetQuantity>();
        assert_eq!(
            number(&set["properties"]["quantity"]["maximum"]),
            quantity_max
        );
        let order_line = schema_of::<OrderLine>();
        assert_eq!(
            number(&order_line["properties"]["quantity"]["maximum"]),
            quantity_max
        );
        for (name, schema, field) in [
            ("ReserveRequest", schema_of::<ReserveRequest>(), "items"),
            ("QuoteRequest", schema_of::<QuoteRequest>(), "items"),
            ("NewOrder", schema_of::<NewOrder>(), "lines"),
        ] {
            assert_eq!(
                number(&schema["properties"][field]["maxItems"]),
                lines_max,
                "{name}"
            );
            assert_eq!(
                number(&schema["properties"][field]["minItems"]),
                1.0,
                "{name}"
            );
        }
    }

    #[test]
    fn the_card_patterns_accept_what_payment_accepts_and_refuse_the_rest() {
        let card = schema_of::<Card>();
        let pattern = |field: &str| {
            regex::Regex::new(
                card["properties"][field]["pattern"]
                    .as_str()
                    .expect("pattern"),
            )
            .expect("a valid pattern")
        };
        let number = pattern("number");
        for ok in [
            "4242424242424242",
            "4242 4242 4242 4242",
            "4242-4242-4242",
            " 5555555555554444 ",
        ] {
            assert!(number.is_match(ok), "{ok}");
        }
        for bad in ["4242", "4242x4242424242424", "42424242424242424242"] {
            assert!(!number.is_match(bad), "{bad}");
        }
        let cvc = pattern("cvc");
        assert!(cvc.is_match("123") && cvc.is_match("1234"));
        assert!(!cvc.is_match("12") && !cvc.is_match("12a"));
    }
}

/// An order confirmation the notifications service rendered from an `order.placed` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Notification {
    /// Grows with every stored message.
    pub notification_id: i64,
    /// The event's message id (`order.placed/<order id>`).
    pub message_id: String,
    pub order_id: String,
    /// Who it is for: the shopper of the order's cart (no e-mail addresses are kept).
    pub to: String,
    pub subject: String,
    /// Plain text.
    pub body: String,
    /// When the order was placed, and when this was rendered (Unix ms): the gap is how far
    /// behind the consumer was.
    pub placed_at_ms: i64,
    pub created_at_ms: i64,
}

/// `GET /notifications?order_id=&limit=`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NotificationList {
    pub items: Vec<Notification>,
}

/// A shipment: the fulfilment of one order, created from its `order.placed` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Shipment {
    pub order_id: String,
    /// `pending` (waiting for the warehouse) or `shipped`.
    #[schema(example = "pending")]
    pub status: String,
    pub units: u32,
    /// Set when shipped.
    pub tracking_id: Option<String>,
    pub placed_at_ms: i64,
    pub created_at_ms: i64,
    pub shipped_at_ms: Option<i64>,
}

/// `GET /shipments/summary`: fulfilment at a glance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShipmentSummary {
    pub pending: u64,
    pub shipped: u64,
}
