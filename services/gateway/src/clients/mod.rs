//! Typed clients, one per downstream service.
//!
//! Each wraps one [`apiary_chassis::HttpClient`] (its own span names, circuit breaker and retry budget) and
//! answers contract types from `apiary_wire` or a [`DownstreamError`]. Required reads
//! (catalog, cart, orders) and repeatable cart writes (set, remove) are retried within the
//! retry budget and the deadline; optional reads (inventory, reviews, recommendations) are
//! sent once, because their callers degrade instead of waiting; adding to a cart and the
//! checkout are sent exactly once.

pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod inventory;
pub mod orders;
pub mod product_part;

pub use cart::CartClient;
pub use catalog::CatalogClient;
pub use checkout::CheckoutClient;
pub use inventory::InventoryClient;
pub use orders::OrdersClient;
pub use product_part::{RecommendationsClient, ReviewsClient};

use crate::config::{Config, Downstream};

/// Every downstream the gateway calls.
#[derive(Debug, Clone)]
pub struct Clients {
    pub catalog: CatalogClient,
    pub cart: CartClient,
    pub checkout: CheckoutClient,
    pub inventory: InventoryClient,
    pub reviews: ReviewsClient,
    pub recommendations: RecommendationsClient,
    pub orders: OrdersClient,
}

impl Clients {
    pub fn new(config: &Config) -> Result<Self, reqwest::Error> {
        let http = |peer: &str, downstream: &Downstream| downstream.client(peer, config.breaker);
        Ok(Self {
            catalog: CatalogClient::new(http("catalog", &config.catalog)?),
            cart: CartClient::new(http("cart", &config.cart)?),
            checkout: CheckoutClient::new(http("checkout", &config.checkout)?),
            inventory: InventoryClient::new(http("inventory", &config.inventory)?),
            reviews: ReviewsClient::new(http("reviews", &config.reviews)?),
            recommendations: RecommendationsClient::new(http(
                "recommendations",
                &config.recommendations,
            )?),
            orders: OrdersClient::new(http("orders", &config.orders)?),
        })
    }
}
