//! The gateway's API tests: one binary, a module per feature; wiremock stands in for every
//! downstream (catalog, cart, checkout, inventory, reviews, recommendations, orders).

mod carts;
mod checkout;
mod helpers;
mod html;
mod operational;
mod product_page;
mod products;
