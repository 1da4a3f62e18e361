//! What the shopper API answers: views composed from several downstreams' contract types.

use apiary_wire::shop::{LineItem, Review};
use apiary_wire::{Money, Product};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One optional part of a composed page: its data, or `unavailable` when the service behind
/// it is down, slow or broken. The page is still served.
///
/// On the wire: `{"status": "ok", ...data}` or `{"status": "unavailable"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Part<T> {
    Ok(T),
    Unavailable,
}

impl<T> Part<T> {
    pub fn as_ok(&self) -> Option<&T> {
        match self {
            Part::Ok(data) => Some(data),
            Part::Unavailable => None,
        }
    }
}

/// `GET /api/products/{id}`: the product with its stock, reviews and recommendations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ProductPageView {
    pub product: Product,
    pub stock: Part<StockView>,
    pub reviews: Part<ReviewsView>,
    pub recommendations: Part<RecommendationsView>,
}

/// How many units a shopper can still buy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StockView {
    pub available: u32,
    pub in_stock: bool,
}

/// The newest reviews and the rating summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReviewsView {
    /// Reviews in total (more than `reviews` holds).
    pub count: u64,
    /// Mean rating 1-5, absent without reviews.
    pub average_rating: Option<f64>,
    /// Newest first.
    pub reviews: Vec<Review>,
}

/// Products bought together with (or similar to) this one, with their details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecommendationsView {
    /// `co-purchase` or `similar`.
    pub model: String,
    /// Best first.
    pub items: Vec<Product>,
}

/// `GET /api/categories`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CategoriesView {
    pub items: Vec<apiary_wire::CategoryCount>,
}

/// `POST /api/carts` -> 201.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NewCartView {
    /// A UUID v4; pass it to the cart routes.
    pub cart_id: String,
}

/// A cart with what the shopper needs to see: titles, prices, totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CartView {
    pub cart_id: String,
    pub lines: Vec<CartLineView>,
    /// Units across all lines.
    pub units: u32,
    /// Sum of the line totals (before shipping).
    pub subtotal: Money,
    /// When the cart expires unless touched again (ms since the Unix epoch); absent when empty.
    pub expires_at_ms: Option<i64>,
    /// Lines whose product the catalog no longer knows (not in `lines` or the subtotal; the
    /// checkout will refuse them).
    pub unknown_items: Vec<LineItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CartLineView {
    pub product_id: String,
    pub title: String,
    pub creator: String,
    pub format: String,
    pub unit_price: Money,
    pub quantity: u32,
    pub line_total: Money,
    /// Units in stock, when inventory answered (the checkout reserves; this is a hint).
    pub available: Option<u32>,
}

/// `POST /api/carts/{cart_id}/items`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AddItemBody {
    #[schema(value_type = apiary_wire::ids::ProductId)]
    pub product_id: String,
    /// 1 to 99.
    #[schema(minimum = 1, maximum = 99)]
    pub quantity: i64,
}

/// `PUT /api/carts/{cart_id}/items/{product_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SetQuantityBody {
    /// 0 (removes the line) to 99.
    #[schema(minimum = 0, maximum = 99)]
    pub quantity: i64,
}

/// `POST /api/checkout`. The `Idempotency-Key` header, when sent, becomes the checkout (and
/// order) id, so a retry after a timeout cannot charge twice.
// `Debug` is safe: the card's own `Debug` prints `Card(redacted)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CheckoutBody {
    #[schema(value_type = apiary_wire::ids::TokenId)]
    pub cart_id: String,
    pub card: apiary_wire::shop::Card,
    pub shipping: apiary_wire::shop::ShippingAddress,
}
