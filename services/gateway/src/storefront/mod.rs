//! The shop's use cases, shared by the JSON API ([`crate::routes`]) and the HTML shop
//! ([`crate::html`]): compose a product page, show and change a cart, check out.
//!
//! Required data (the product, the cart) fails the request with a [`ShopError`]; optional
//! parts (stock, reviews, recommendations) degrade to [`Part::Unavailable`] so a failing
//! neighbour costs a box on the page, not the page.

pub mod views;

use std::collections::HashMap;

use apiary_chassis::DownstreamError;
use apiary_telemetry::metrics::counter;
use apiary_wire::shop::{
    Card, Cart, CheckoutRequest, CheckoutStatus, LineItem, Order, ShippingAddress, StockLevel,
};
use apiary_wire::{Currency, Money, Product};
use axum::http::StatusCode;

use crate::clients::Clients;
use crate::clients::checkout::CheckoutAnswer;
use crate::domain::{CartId, CheckoutId, InvalidInput, LineQuantity, OrderId, ProductId, Quantity};
pub use views::*;

/// Reviews shown on a product page.
pub const REVIEWS_ON_PAGE: u32 = 5;
/// Recommendations shown on a product page.
pub const RECOMMENDATIONS_ON_PAGE: u32 = 4;

/// Why a shop operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ShopError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error("no product with id {0}")]
    UnknownProduct(ProductId),
    #[error("only {available} of {product_id} in stock")]
    OutOfStock {
        product_id: ProductId,
        available: u32,
    },
    #[error(transparent)]
    Downstream(#[from] DownstreamError),
}

impl ShopError {
    /// The status, error code and message a shopper gets (the JSON API sends them as the error
    /// body, the HTML shop as an error page). A downstream's 4xx verdict is relayed as it came.
    pub fn answer(&self) -> (StatusCode, String, String) {
        let own = |status, code: &str| (status, code.to_owned(), self.to_string());
        match self {
            ShopError::Invalid(InvalidInput::Id { .. }) => {
                own(StatusCode::BAD_REQUEST, "invalid_id")
            }
            ShopError::Invalid(InvalidInput::Quantity { .. }) => {
                own(StatusCode::UNPROCESSABLE_ENTITY, "invalid_quantity")
            }
            ShopError::UnknownProduct(_) => own(StatusCode::NOT_FOUND, "unknown_product"),
            ShopError::OutOfStock { .. } => own(StatusCode::CONFLICT, "out_of_stock"),
            ShopError::Downstream(DownstreamError::Rejected { status, body, .. }) => (
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST),
                body.error.code.clone(),
                body.error.message.clone(),
            ),
            ShopError::Downstream(err) => {
                let (status, code) = match err {
                    DownstreamError::Unavailable { .. } => {
                        (StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable")
                    }
                    DownstreamError::Timeout { .. } => {
                        (StatusCode::GATEWAY_TIMEOUT, "upstream_timeout")
                    }
                    _ => (StatusCode::BAD_GATEWAY, "upstream_error"),
                };
                (
                    status,
                    code.to_owned(),
                    format!(
                        "the {} service is not answering properly; try again shortly",
                        err.peer()
                    ),
                )
            }
        }
    }
}

/// The product page: the product (required) and, concurrently, its stock, reviews and
/// recommendations (each optional). Counts `shop_product_views_total` when served.
#[tracing::instrument(name = "product_page", skip_all, fields(product.id = %id))]
pub async fn product_page(clients: &Clients, id: &ProductId) -> Result<ProductPageView, ShopError> {
    let (product, stock, reviews, recommendations) = tokio::join!(
        clients.catalog.get(id.as_str()),
        clients.inventory.stock(id.as_str()),
        clients.reviews.for_product(id.as_str(), REVIEWS_ON_PAGE),
        recommended_products(clients, id),
    );
    let product = product?;
    counter!(crate::metrics::PRODUCT_VIEWS).increment(1);
    Ok(ProductPageView {
        product,
        stock: part(
            "stock",
            stock.map(|level| StockView {
                available: level.available,
                in_stock: level.available > 0,
            }),
        ),
        reviews: part(
            "reviews",
            reviews.map(|r| ReviewsView {
                count: r.count,
                average_rating: r.average_rating,
                reviews: r.reviews,
            }),
        ),
        recommendations: part("recommendations", recommendations),
    })
}

/// Recommended product ids, then their details in one catalog call (in the recommender's
/// order; the product itself and ids the catalog does not know are left out).
async fn recommended_products(
    clients: &Clients,
    id: &ProductId,
) -> Result<RecommendationsView, DownstreamError> {
    let recs = clients
        .recommendations
        .for_product(id.as_str(), RECOMMENDATIONS_ON_PAGE)
        .await?;
    // Ids go into a comma-separated query: anything not id-shaped is dropped, not forwarded.
    let ids: Vec<&str> = recs
        .items
        .iter()
        .map(|r| r.product_id.as_str())
        .filter(|p| *p != id.as_str() && ProductId::parse(p).is_ok())
        .take(RECOMMENDATIONS_ON_PAGE as usize)
        .collect();
    let mut found: HashMap<String, Product> = clients
        .catalog
        .by_ids(&ids)
        .await?
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    Ok(RecommendationsView {
        model: recs.model,
        items: ids.iter().filter_map(|p| found.remove(*p)).collect(),
    })
}

/// An optional part: its data, or `unavailable` (logged and counted by part).
fn part<T>(name: &'static str, result: Result<T, DownstreamError>) -> Part<T> {
    match result {
        Ok(data) => Part::Ok(data),
        Err(err) => {
            tracing::warn!(part = name, peer = err.peer(), error.type = err.kind(), error = %err, "product page part unavailable");
            counter!(crate::metrics::PART_UNAVAILABLE, "part" => name).increment(1);
            Part::Unavailable
        }
    }
}

/// The cart with titles, prices and totals from the catalog, and stock hints from inventory.
pub async fn show_cart(clients: &Clients, cart_id: &CartId) -> Result<CartView, ShopError> {
    let cart = clients.cart.get(cart_id.as_str()).await?;
    cart_view(clients, cart).await
}

/// Adds `quantity` of a product that must exist and, as far as inventory can tell, be in stock.
/// When inventory does not answer the add is allowed: the checkout reserves stock anyway, and
/// a shopper should not be kept from filling a cart by a slow stock service.
#[tracing::instrument(name = "add_to_cart", skip_all, fields(product.id = %product_id, quantity = quantity.get()))]
pub async fn add_to_cart(
    clients: &Clients,
    cart_id: &CartId,
    product_id: &ProductId,
    quantity: Quantity,
) -> Result<CartView, ShopError> {
    let (product, stock) = tokio::join!(
        clients.catalog.get(product_id.as_str()),
        clients.inventory.stock(product_id.as_str()),
    );
    match product {
        Ok(_) => {}
        Err(err) if err.rejected_status() == Some(404) => {
            return Err(ShopError::UnknownProduct(product_id.clone()));
        }
        Err(err) => return Err(err.into()),
    }
    check_stock(product_id, quantity.get(), stock)?;
    let item = LineItem {
        product_id: product_id.to_string(),
        quantity: quantity.get(),
    };
    let cart = clients.cart.add(cart_id.as_str(), &item).await?;
    cart_view(clients, cart).await
}

/// Sets a line's quantity (0 removes it), with the same stock check as adding.
pub async fn set_quantity(
    clients: &Clients,
    cart_id: &CartId,
    product_id: &ProductId,
    quantity: LineQuantity,
) -> Result<CartView, ShopError> {
    if quantity.get() > 0 {
        let stock = clients.inventory.stock(product_id.as_str()).await;
        check_stock(product_id, quantity.get(), stock)?;
    }
    let cart = clients
        .cart
        .set_quantity(cart_id.as_str(), product_id.as_str(), quantity.get())
        .await?;
    cart_view(clients, cart).await
}

pub async fn remove_line(
    clients: &Clients,
    cart_id: &CartId,
    product_id: &ProductId,
) -> Result<CartView, ShopError> {
    let cart = clients
        .cart
        .remove(cart_id.as_str(), product_id.as_str())
        .await?;
    cart_view(clients, cart).await
}

fn check_stock(
    product_id: &ProductId,
    wanted: u32,
    stock: Result<StockLevel, DownstreamError>,
) -> Result<(), ShopError> {
    match stock {
        Ok(level) if level.available < wanted => {
            // A shopper wanted more than is left: a stock-out seen at the cart. Inventory counts
            // the ones seen at checkout (`stage="reservation"`); the dashboard sums both.
            apiary_telemetry::metrics::counter!(crate::metrics::STOCKOUTS, "stage" => "cart")
                .increment(1);
            Err(ShopError::OutOfStock {
                product_id: product_id.clone(),
                available: level.available,
            })
        }
        Ok(_) => Ok(()),
        Err(err) => {
            tracing::info!(error = %err, "stock unknown; allowing the cart change");
            Ok(())
        }
    }
}

/// Enriches a cart: one catalog call for every line's product, one inventory call for stock.
async fn cart_view(clients: &Clients, cart: Cart) -> Result<CartView, ShopError> {
    let ids: Vec<&str> = cart.items.iter().map(|i| i.product_id.as_str()).collect();
    let (products, stock) = tokio::join!(
        clients.catalog.by_ids(&ids),
        clients.inventory.stock_of(&ids),
    );
    let products: HashMap<String, Product> =
        products?.into_iter().map(|p| (p.id.clone(), p)).collect();
    let available: HashMap<String, u32> = match stock {
        Ok(levels) => levels
            .items
            .into_iter()
            .map(|l| (l.product_id, l.available))
            .collect(),
        Err(err) => {
            tracing::info!(error = %err, "stock unknown; cart shown without stock hints");
            HashMap::new()
        }
    };
    let mut lines = Vec::with_capacity(cart.items.len());
    let mut unknown_items = Vec::new();
    for item in cart.items {
        let Some(product) = products.get(&item.product_id) else {
            unknown_items.push(item);
            continue;
        };
        lines.push(CartLineView {
            available: available.get(&item.product_id).copied(),
            line_total: Money {
                amount_minor: product
                    .price
                    .amount_minor
                    .saturating_mul(i64::from(item.quantity)),
                currency: product.price.currency,
            },
            product_id: item.product_id,
            title: product.title.clone(),
            creator: product.creator.clone(),
            format: product.format.clone(),
            unit_price: product.price,
            quantity: item.quantity,
        });
    }
    let subtotal = subtotal(&lines)?;
    Ok(CartView {
        cart_id: cart.cart_id,
        units: lines.iter().map(|l| l.quantity).sum(),
        lines,
        subtotal,
        expires_at_ms: cart.expires_at_ms,
        unknown_items,
    })
}

/// The shop prices in one currency; lines in several would be a catalog contract breach.
fn subtotal(lines: &[CartLineView]) -> Result<Money, ShopError> {
    let currency = lines
        .first()
        .map_or(Currency::EUR, |l| l.line_total.currency);
    let mut amount_minor = 0i64;
    for line in lines {
        if line.line_total.currency != currency {
            return Err(ShopError::Downstream(DownstreamError::Failed {
                peer: "catalog".to_owned(),
                detail: "cart lines priced in different currencies".to_owned(),
            }));
        }
        amount_minor = amount_minor.saturating_add(line.line_total.amount_minor);
    }
    Ok(Money {
        amount_minor,
        currency,
    })
}

/// Runs the checkout saga once. The card goes to the checkout service and nowhere else: not
/// into a span field, a log line or a metric label.
#[tracing::instrument(name = "checkout", skip_all, fields(checkout.id = %checkout_id, cart.id = %cart_id))]
pub async fn checkout(
    clients: &Clients,
    checkout_id: &CheckoutId,
    cart_id: &CartId,
    card: Card,
    shipping: ShippingAddress,
) -> Result<CheckoutAnswer, ShopError> {
    let request = CheckoutRequest {
        checkout_id: checkout_id.to_string(),
        cart_id: cart_id.to_string(),
        card,
        shipping,
    };
    Ok(clients.checkout.checkout(&request).await?)
}

/// Where a checkout stands, with its status URL on this API.
pub async fn checkout_status(
    clients: &Clients,
    checkout_id: &CheckoutId,
) -> Result<CheckoutStatus, ShopError> {
    let status = clients.checkout.status(&checkout_id.to_string()).await?;
    Ok(on_this_api(status))
}

/// A checkout's status with its URL on the shop's API instead of checkout's.
pub fn on_this_api(mut status: CheckoutStatus) -> CheckoutStatus {
    status.status_url = format!(
        "/api/checkouts/{}",
        apiary_chassis::encode_segment(&status.checkout_id)
    );
    status
}

pub async fn order(clients: &Clients, order_id: &OrderId) -> Result<Order, ShopError> {
    Ok(clients.orders.get(order_id.as_str()).await?)
}

pub async fn categories(clients: &Clients) -> Result<CategoriesView, ShopError> {
    let list = clients.catalog.categories().await?;
    Ok(CategoriesView { items: list.items })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(amount_minor: i64, currency: Currency) -> CartLineView {
        let money = Money {
            amount_minor,
            currency,
        };
        CartLineView {
            product_id: "BK-0001".into(),
            title: "Dracula".into(),
            creator: "Bram Stoker".into(),
            format: "paperback".into(),
            unit_price: money,
            quantity: 1,
            line_total: money,
            available: None,
        }
    }

    #[test]
    fn the_subtotal_adds_lines_of_one_currency() {
        let total = subtotal(&[line(1099, Currency::EUR), line(250, Currency::EUR)]).expect("sum");
        assert_eq!(total.amount_minor, 1349);
        assert_eq!(subtotal(&[]).expect("empty").amount_minor, 0);
        let usd = Currency::parse("USD").expect("code");
        assert!(subtotal(&[line(1, Currency::EUR), line(1, usd)]).is_err());
    }

    #[test]
    fn parts_serialize_with_a_status_tag() {
        let ok: Part<StockView> = Part::Ok(StockView {
            available: 3,
            in_stock: true,
        });
        assert_eq!(
            serde_json::to_value(&ok).expect("json"),
            serde_json::json!({"status": "ok", "available": 3, "in_stock": true})
        );
        let down: Part<StockView> = Part::Unavailable;
        assert_eq!(
            serde_json::to_value(&down).expect("json"),
            serde_json::json!({"status": "unavailable"})
        );
    }

    #[test]
    fn own_errors_and_relayed_verdicts_have_their_status() {
        let (status, code, _) = ShopError::Invalid(InvalidInput::Quantity { min: 1 }).answer();
        assert_eq!((status.as_u16(), code.as_str()), (422, "invalid_quantity"));
        let declined = ShopError::Downstream(DownstreamError::Rejected {
            peer: "checkout".into(),
            status: 402,
            body: apiary_wire::ErrorBody {
                error: apiary_wire::ErrorDetail {
                    code: "insufficient_funds".into(),
                    message: "the card has insufficient funds".into(),
                },
            },
        });
        let (status, code, message) = declined.answer();
        assert_eq!(
            (status.as_u16(), code.as_str()),
            (402, "insufficient_funds")
        );
        assert!(message.contains("insufficient"));
    }
}
