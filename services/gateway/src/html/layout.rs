//! The page shell every HTML page shares, and small formatting helpers.

use apiary_wire::Money;
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// A few rules so the shop is readable; the pages work without them (text browsers).
/// A constant, never shopper input, so it may skip escaping.
const CSS: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:0 1rem;color:#222}\
header,footer{padding:.75rem 0;border-bottom:1px solid #ddd}footer{border-top:1px solid #ddd;border-bottom:0;\
color:#666;font-size:.85rem;margin-top:2rem}nav a{margin-right:1rem}table{border-collapse:collapse;width:100%}\
td,th{padding:.3rem .5rem;border-bottom:1px solid #eee;text-align:left}.notice{padding:.5rem 1rem;\
background:#fff4e5;border:1px solid #f0b35b}.muted{color:#777}.price{font-weight:600}\
ul.products{list-style:none;padding:0}ul.products li{padding:.4rem 0;border-bottom:1px solid #eee}\
form.inline{display:inline}input[type=number]{width:4rem}label{display:inline-block;margin:.25rem 1rem .25rem 0}";

/// A full page: header with navigation and search, `title`, `body`, and a footer with the
/// request's trace id so a person can look the request up in the dashboard.
pub fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " - Apiary shop" }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    nav {
                        a href="/" { strong { "Apiary shop" } }
                        a href="/shop/cart" { "Cart" }
                    }
                    form action="/shop/search" method="get" {
                        label { "Search " input type="search" name="q" placeholder="title or creator"; }
                        button type="submit" { "Search" }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
                footer {
                    @match apiary_telemetry::current_trace_id() {
                        Some(trace_id) => { "trace " (trace_id) }
                        None => { "trace not recorded (telemetry export is off)" }
                    }
                }
            }
        }
    }
}

/// `1099 EUR` -> `10.99 EUR` (every currency the shop sells in has two minor digits).
pub fn money(m: &Money) -> String {
    let sign = if m.amount_minor < 0 { "-" } else { "" };
    let abs = m.amount_minor.unsigned_abs();
    format!(
        "{sign}{}.{:02} {}",
        abs / 100,
        abs % 100,
        m.currency.as_str()
    )
}

/// The link to a product page.
pub fn product_href(id: &str) -> String {
    format!("/shop/products/{}", apiary_chassis::encode_segment(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use apiary_wire::Currency;

    #[test]
    fn money_shows_two_minor_digits() {
        let m = |amount_minor| {
            money(&Money {
                amount_minor,
                currency: Currency::EUR,
            })
        };
        assert_eq!(m(1099), "10.99 EUR");
        assert_eq!(m(5), "0.05 EUR");
        assert_eq!(m(0), "0.00 EUR");
        assert_eq!(m(-250), "-2.50 EUR");
    }

    #[test]
    fn the_shell_escapes_the_title() {
        let html = page("<script>x</script>", html! {}).into_string();
        assert!(!html.contains("<script>x"));
        assert!(html.contains("&lt;script&gt;x"));
    }
}
