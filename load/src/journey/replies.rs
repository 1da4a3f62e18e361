//! The few fields a session reads from the gateway's answers. Deliberately partial: a
//! journey needs ids, not whole products or orders, and reading only those keeps it cheap and
//! tolerant of fields it does not use. (The category list is `apiary_wire::CategoryList`,
//! which is exactly what the gateway sends.)

use serde::Deserialize;

/// A page of `/api/products` (the gateway sends `apiary_wire::ProductPage`; only ids and the
/// total are read).
#[derive(Deserialize)]
pub(super) struct ProductPage {
    pub(super) items: Vec<ProductRef>,
    #[serde(default)]
    pub(super) total: usize,
}

#[derive(Deserialize)]
pub(super) struct ProductRef {
    pub(super) id: String,
}

/// `POST /api/carts` -> 201 (the gateway's new-cart view).
#[derive(Deserialize)]
pub(super) struct NewCart {
    pub(super) cart_id: String,
}

/// `POST /api/checkout`: the order id, from a completed checkout (201/200,
/// `CheckoutResult`) or one still under way (202, `CheckoutStatus`) alike.
#[derive(Deserialize)]
pub(super) struct NewOrder {
    pub(super) order_id: String,
}
