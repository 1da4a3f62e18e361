//! The pages, as pure functions of the views (no I/O), so they are tested without a server.
//! maud escapes every `(value)`; shopper and downstream text is never passed as `PreEscaped`.

use apiary_wire::shop::Order;
use apiary_wire::{CategoryCount, Product, ProductPage};
use maud::{Markup, html};

use super::layout::{money, page, product_href};
use crate::domain::MAX_QUANTITY;
use crate::storefront::{CartView, Part, ProductPageView};

/// Previous/next links for a listing: `href(n)` is the URL of page `n` (1-based).
pub struct Pager<'a> {
    pub page: u32,
    pub href: &'a dyn Fn(u32) -> String,
}

pub fn home(categories: &[CategoryCount], featured: &ProductPage) -> Markup {
    page(
        "Books, music and video",
        html! {
            h2 { "Categories" }
            ul {
                @for c in categories {
                    li {
                        a href=(category_href(&c.name, 1)) { (c.name) }
                        " " span.muted { "(" (c.count) ")" }
                    }
                }
            }
            h2 { "A few of our products" }
            (product_list(&featured.items))
        },
    )
}

pub fn category_href(name: &str, page: u32) -> String {
    let path = format!("/shop/category/{}", apiary_chassis::encode_segment(name));
    if page > 1 {
        format!("{path}?page={page}")
    } else {
        path
    }
}

pub fn listing(title: &str, results: &ProductPage, pager: &Pager<'_>) -> Markup {
    let has_next = results.offset + results.items.len() < results.total;
    page(
        title,
        html! {
            p.muted { (results.total) " products" @if results.total > 0 {
                ", " (results.offset + 1) "-" (results.offset + results.items.len()) " shown" } }
            (product_list(&results.items))
            p {
                @if pager.page > 1 { a rel="prev" href=((pager.href)(pager.page - 1)) { "Previous page" } " " }
                @if has_next { a rel="next" href=((pager.href)(pager.page + 1)) { "Next page" } }
            }
        },
    )
}

pub fn search_form_only() -> Markup {
    page(
        "Search",
        html! {
            p { "Type a title or a creator in the search box above." }
        },
    )
}

fn product_list(items: &[Product]) -> Markup {
    html! {
        @if items.is_empty() {
            p { "Nothing here." }
        } @else {
            ul.products {
                @for p in items {
                    li {
                        a href=(product_href(&p.id)) { (p.title) }
                        " by " (p.creator) " (" (p.year) ", " (p.format) ") "
                        span.price { (money(&p.price)) }
                    }
                }
            }
        }
    }
}

pub fn product(view: &ProductPageView) -> Markup {
    let p = &view.product;
    page(
        &p.title,
        html! {
            p { "by " strong { (p.creator) } ", " (p.year) " · " (p.format)
                @if !p.genre.is_empty() { " · " (p.genre) }
                " · " a href=(category_href(&p.category, 1)) { (p.category) } }
            p.price { (money(&p.price)) }
            h2 { "Availability" }
            @match &view.stock {
                Part::Ok(stock) if stock.in_stock => p { "In stock: " (stock.available) " available." },
                Part::Ok(_) => p { "Out of stock." },
                Part::Unavailable => p.muted { "Stock information is unavailable right now." },
            }
            form action="/shop/cart/add" method="post" {
                input type="hidden" name="product_id" value=(p.id);
                label { "Quantity " input type="number" name="quantity" value="1" min="1" max=(MAX_QUANTITY); }
                button type="submit" { "Add to cart" }
            }
            h2 { "Reviews" }
            @match &view.reviews {
                Part::Ok(r) if r.count == 0 => p { "No reviews yet." },
                Part::Ok(r) => {
                    p {
                        (r.count) " reviews"
                        @if let Some(avg) = r.average_rating { ", average " (format!("{avg:.1}")) " of 5" }
                    }
                    @for review in &r.reviews {
                        article {
                            h3 { (review.rating) "/5 · " (review.title) }
                            p { (review.body) }
                            p.muted { "by " (review.author) }
                        }
                    }
                }
                Part::Unavailable => p.muted { "Reviews are unavailable right now." },
            }
            h2 { "You may also like" }
            @match &view.recommendations {
                Part::Ok(r) => (product_list(&r.items)),
                Part::Unavailable => p.muted { "Recommendations are unavailable right now." },
            }
        },
    )
}

/// The checkout form's fields as the shopper typed them, to fill the form again after a
/// failure (never the card number or CVC: those are typed again).
#[derive(Debug, Default, Clone)]
pub struct CheckoutDraft {
    pub expiry_month: String,
    pub expiry_year: String,
    pub country: String,
}

/// The cart with quantity forms and the checkout form. `message` explains a failure;
/// `checkout_id` is minted per rendering so a form sent twice is one checkout.
pub fn cart(
    view: Option<&CartView>,
    message: Option<&str>,
    checkout_id: &str,
    draft: &CheckoutDraft,
) -> Markup {
    let lines = view.map(|v| v.lines.as_slice()).unwrap_or_default();
    page(
        "Your cart",
        html! {
            @if let Some(message) = message {
                p.notice role="alert" { (message) }
            }
            @if lines.is_empty() {
                p { "Your cart is empty. " a href="/" { "Browse the shop" } "." }
            } @else {
                table {
                    thead { tr { th { "Product" } th { "Price" } th { "Quantity" } th { "Total" } th {} } }
                    tbody {
                        @for line in lines {
                            tr {
                                td {
                                    a href=(product_href(&line.product_id)) { (line.title) }
                                    br; span.muted { (line.creator) ", " (line.format) }
                                    @if let Some(available) = line.available {
                                        @if available < line.quantity {
                                            br; span.notice { "Only " (available) " in stock" }
                                        }
                                    }
                                }
                                td { (money(&line.unit_price)) }
                                td {
                                    form.inline action="/shop/cart/update" method="post" {
                                        input type="hidden" name="product_id" value=(line.product_id);
                                        input type="number" name="quantity" value=(line.quantity) min="0" max=(MAX_QUANTITY) aria-label="quantity";
                                        button type="submit" { "Update" }
                                    }
                                }
                                td { (money(&line.line_total)) }
                                td {
                                    form.inline action="/shop/cart/update" method="post" {
                                        input type="hidden" name="product_id" value=(line.product_id);
                                        input type="hidden" name="quantity" value="0";
                                        button type="submit" { "Remove" }
                                    }
                                }
                            }
                        }
                    }
                }
                @if let Some(view) = view {
                    p { (view.units) " items, subtotal " span.price { (money(&view.subtotal)) } " (shipping is added at checkout)" }
                }
                h2 { "Checkout" }
                form action="/shop/checkout" method="post" {
                    input type="hidden" name="checkout_id" value=(checkout_id);
                    p {
                        label { "Card number " input type="text" name="card_number" inputmode="numeric" autocomplete="cc-number" required; }
                        label { "CVC " input type="text" name="cvc" inputmode="numeric" autocomplete="cc-csc" size="4" required; }
                    }
                    p {
                        label { "Expiry month " input type="number" name="expiry_month" min="1" max="12" value=(draft.expiry_month) required; }
                        label { "Expiry year " input type="number" name="expiry_year" min="2000" max="2100" value=(draft.expiry_year) required; }
                    }
                    p {
                        label { "Country (two letters) " input type="text" name="country" size="2" maxlength="2" value=(draft.country) required; }
                    }
                    button type="submit" { "Place order" }
                }
            }
        },
    )
}

pub fn order(order: &Order) -> Markup {
    page(
        "Your order",
        html! {
            p { "Order " code { (order.order_id) } " — " strong { (order.status) } }
            (order_lines(&order.lines))
            p { "Shipping " (money(&order.shipping)) }
            p { "Total " span.price { (money(&order.total)) } }
        },
    )
}

fn order_lines(lines: &[apiary_wire::shop::OrderLine]) -> Markup {
    html! {
        table {
            thead { tr { th { "Product" } th { "Price" } th { "Quantity" } } }
            tbody {
                @for line in lines {
                    tr {
                        td { a href=(product_href(&line.product_id)) { (line.title) } }
                        td { (money(&line.unit_price)) }
                        td { (line.quantity) }
                    }
                }
            }
        }
    }
}

pub fn error(status: u16, message: &str) -> Markup {
    page(
        "Something went wrong",
        html! {
            p.notice role="alert" { (message) }
            p.muted { "Status " (status) ". " a href="/" { "Back to the shop" } "." }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storefront::{RecommendationsView, ReviewsView, StockView};
    use apiary_wire::{Currency, Money};

    fn item(id: &str, title: &str) -> Product {
        Product {
            id: id.into(),
            category: "books".into(),
            title: title.into(),
            creator: "<b>Bram</b>".into(),
            year: 1897,
            format: "paperback".into(),
            genre: "horror".into(),
            price: Money {
                amount_minor: 1099,
                currency: Currency::EUR,
            },
        }
    }

    #[test]
    fn a_product_page_escapes_text_and_says_which_parts_are_down() {
        let view = ProductPageView {
            product: item("BK-0001", "<script>alert(1)</script>"),
            stock: Part::Ok(StockView {
                available: 0,
                in_stock: false,
            }),
            reviews: Part::<ReviewsView>::Unavailable,
            recommendations: Part::Ok(RecommendationsView {
                model: "similar".into(),
                items: vec![item("BK-0002", "Carmilla & co")],
            }),
        };
        let html = product(&view).into_string();
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<b>Bram"));
        assert!(html.contains("Out of stock."));
        assert!(html.contains("Reviews are unavailable right now."));
        assert!(html.contains("Carmilla &amp; co"));
        assert!(html.contains(r#"href="/shop/products/BK-0002""#));
    }

    #[test]
    fn listings_link_to_the_next_page_only_when_there_is_one() {
        let page = ProductPage {
            items: vec![item("BK-0001", "Dracula")],
            total: 3,
            limit: 1,
            offset: 1,
        };
        let href = |n: u32| category_href("books", n);
        let html = listing(
            "Books",
            &page,
            &Pager {
                page: 2,
                href: &href,
            },
        )
        .into_string();
        assert!(html.contains(r#"href="/shop/category/books""#), "{html}");
        assert!(html.contains(r#"href="/shop/category/books?page=3""#));
        let last = ProductPage { offset: 2, ..page };
        let html = listing(
            "Books",
            &last,
            &Pager {
                page: 3,
                href: &href,
            },
        )
        .into_string();
        assert!(!html.contains("Next page"));
    }
}
