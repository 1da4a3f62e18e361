//! One typed client per downstream. Each call names its URL template (span name, metric label)
//! and says whether it may be retried: reads, and writes keyed by the checkout id (reserve,
//! charge, record order, commit, release, void), are idempotent at their owner, so they are
//! retried within the retry budget; nothing else is.

mod cart;
mod catalog;
mod inventory;
mod orders;
mod payment;
mod shipping;

pub use cart::CartClient;
pub use catalog::CatalogClient;
pub use inventory::InventoryClient;
pub use orders::OrdersClient;
pub use payment::PaymentClient;
pub use shipping::ShippingClient;

use apiary_chassis::resilience::BreakerConfig;

use crate::config::{Config, Downstream};

/// Every client the saga uses.
#[derive(Debug, Clone)]
pub struct Clients {
    pub cart: CartClient,
    pub catalog: CatalogClient,
    pub inventory: InventoryClient,
    pub shipping: ShippingClient,
    pub payment: PaymentClient,
    pub orders: OrdersClient,
}

impl Clients {
    /// `breaker` replaces the default circuit-breaker settings (tests use short cool-downs).
    pub fn new(config: &Config, breaker: Option<BreakerConfig>) -> Result<Self, reqwest::Error> {
        let http = |peer: &str, d: &Downstream| d.client(peer, breaker);
        Ok(Self {
            cart: CartClient(http("cart", &config.cart)?),
            catalog: CatalogClient(http("catalog", &config.catalog)?),
            inventory: InventoryClient(http("inventory", &config.inventory)?),
            shipping: ShippingClient(http("shipping", &config.shipping)?),
            payment: PaymentClient(http("payment", &config.payment)?),
            orders: OrdersClient(http("orders", &config.orders)?),
        })
    }
}
