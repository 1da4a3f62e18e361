//! One handler per HTML route.

use std::collections::HashMap;

use axum::Form;
use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::pages::{self, CheckoutDraft, Pager};
use super::{PageError, answer_logged, render, session};
use crate::clients::catalog::ListParams;
use crate::clients::checkout::CheckoutAnswer;
use crate::domain::{CartId, CheckoutId, LineQuantity, OrderId, ProductId, Quantity};
use crate::routes::AppState;
use crate::storefront::{self, ShopError};
use apiary_wire::shop::{Card, CheckoutResult, CheckoutStatus, SagaState, ShippingAddress};

/// Products per listing page.
const PAGE_SIZE: u32 = 20;
/// Products on the home page.
const FEATURED: u32 = 8;
/// Listing pages beyond this are refused (the catalog has a few hundred products).
const MAX_PAGE: u32 = 1000;

type Page = Result<Response, PageError>;

fn bad_request(message: impl Into<String>) -> PageError {
    PageError::new(StatusCode::BAD_REQUEST, message)
}

fn path<T>(extracted: Result<Path<T>, PathRejection>) -> Result<T, PageError> {
    extracted
        .map(|Path(v)| v)
        .map_err(|e| bad_request(e.body_text()))
}

fn query(
    extracted: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<HashMap<String, String>, PageError> {
    extracted
        .map(|Query(v)| v)
        .map_err(|e| bad_request(e.body_text()))
}

fn form<T>(extracted: Result<Form<T>, FormRejection>) -> Result<T, PageError> {
    extracted.map(|Form(v)| v).map_err(|e| {
        let status = e.status();
        // A missing or mistyped field is the shopper's form, not a server problem.
        let status = if status.is_client_error() {
            status
        } else {
            StatusCode::BAD_REQUEST
        };
        PageError::new(
            status,
            format!("The form could not be read: {}", e.body_text()),
        )
    })
}

/// `?page=N`, 1 when absent.
fn page_number(params: &HashMap<String, String>) -> Result<u32, PageError> {
    match params.get("page").map(|p| p.trim()) {
        None | Some("") => Ok(1),
        Some(p) => p
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| bad_request(format!("page must be a number from 1 to {MAX_PAGE}"))),
    }
}

fn list_params(category: Option<String>, q: Option<String>, page: u32) -> ListParams {
    ListParams {
        category,
        q,
        limit: Some(PAGE_SIZE.to_string()),
        offset: Some(((page - 1) * PAGE_SIZE).to_string()),
    }
}

pub async fn home(State(state): State<AppState>) -> Page {
    let featured = ListParams {
        limit: Some(FEATURED.to_string()),
        ..ListParams::default()
    };
    let (categories, products) = tokio::join!(
        storefront::categories(&state.clients),
        state.clients.catalog.list(&featured),
    );
    let categories = categories?;
    let products = products.map_err(ShopError::from)?;
    Ok(render(
        StatusCode::OK,
        pages::home(&categories.items, &products),
    ))
}

pub async fn category(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Page {
    let name = path(name)?;
    let page = page_number(&query(params)?)?;
    let results = state
        .clients
        .catalog
        .list(&list_params(Some(name.clone()), None, page))
        .await
        .map_err(ShopError::from)?;
    let href = |n: u32| pages::category_href(&name, n);
    let title = format!("Category: {name}");
    Ok(render(
        StatusCode::OK,
        pages::listing(&title, &results, &Pager { page, href: &href }),
    ))
}

pub async fn search(
    State(state): State<AppState>,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Page {
    let params = query(params)?;
    let q = params
        .get("q")
        .map(|q| q.trim())
        .unwrap_or_default()
        .to_owned();
    if q.is_empty() {
        return Ok(render(StatusCode::OK, pages::search_form_only()));
    }
    let page = page_number(&params)?;
    let results = state
        .clients
        .catalog
        .list(&list_params(None, Some(q.clone()), page))
        .await
        .map_err(ShopError::from)?;
    let href = |n: u32| search_href(&q, n);
    let title = format!("Search: {q}");
    Ok(render(
        StatusCode::OK,
        pages::listing(&title, &results, &Pager { page, href: &href }),
    ))
}

fn search_href(q: &str, page: u32) -> String {
    // The URL type does the form encoding; its host is a placeholder and is dropped.
    let Ok(mut url) = reqwest::Url::parse("http://shop.invalid/shop/search") else {
        return "/shop/search".to_owned();
    };
    url.query_pairs_mut()
        .append_pair("q", q)
        .append_pair("page", &page.to_string());
    format!("{}?{}", url.path(), url.query().unwrap_or_default())
}

pub async fn product(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Page {
    let id = ProductId::parse(&path(id)?)?;
    let view = storefront::product_page(&state.clients, &id).await?;
    Ok(render(StatusCode::OK, pages::product(&view)))
}

#[derive(Debug, Deserialize)]
pub struct AddForm {
    product_id: String,
    quantity: String,
}

/// Adds to the cart in the cookie (creating both on the first add), then shows the cart.
pub async fn add_to_cart(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Form<AddForm>, FormRejection>,
) -> Page {
    let body = form(body)?;
    let product_id = ProductId::parse(body.product_id.trim())?;
    let quantity = Quantity::parse(parse_number(&body.quantity)?)?;
    let (cart_id, new_cart) = match session::cart_id(&headers) {
        Some(id) => (id, false),
        None => (CartId::new_random(), true),
    };
    storefront::add_to_cart(&state.clients, &cart_id, &product_id, quantity).await?;
    let mut response = Redirect::to("/shop/cart").into_response();
    if new_cart && let Some(cookie) = session::set_cookie(&cart_id) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// A whole number from a form field; anything else is the same 422 as a bad quantity.
fn parse_number(field: &str) -> Result<i64, PageError> {
    field.trim().parse::<i64>().map_err(|_| {
        PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("'{}' is not a whole number", field.trim()),
        )
    })
}

pub async fn cart(State(state): State<AppState>, headers: HeaderMap) -> Page {
    let view = match session::cart_id(&headers) {
        Some(cart_id) => Some(storefront::show_cart(&state.clients, &cart_id).await?),
        None => None,
    };
    let checkout_id = CheckoutId::new_random();
    Ok(render(
        StatusCode::OK,
        pages::cart(
            view.as_ref(),
            None,
            checkout_id.as_str(),
            &CheckoutDraft::default(),
        ),
    ))
}

#[derive(Debug, Deserialize)]
pub struct UpdateForm {
    product_id: String,
    quantity: String,
}

/// Sets a line's quantity; 0 removes the line.
pub async fn update_cart(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Form<UpdateForm>, FormRejection>,
) -> Page {
    let body = form(body)?;
    let product_id = ProductId::parse(body.product_id.trim())?;
    let quantity = LineQuantity::parse(parse_number(&body.quantity)?)?;
    // Without a cart there is nothing to change; the cart page says it is empty.
    if let Some(cart_id) = session::cart_id(&headers) {
        if quantity.get() == 0 {
            storefront::remove_line(&state.clients, &cart_id, &product_id).await?;
        } else {
            storefront::set_quantity(&state.clients, &cart_id, &product_id, quantity).await?;
        }
    }
    Ok(Redirect::to("/shop/cart").into_response())
}

/// The checkout form. Card fields are read here and passed to the checkout service only.
#[derive(Deserialize)]
pub struct CheckoutForm {
    checkout_id: String,
    card_number: String,
    expiry_month: String,
    expiry_year: String,
    cvc: String,
    country: String,
}

/// On success, to the order; on failure, the cart again with the reason and the failure's
/// status (a declined card names the decline).
pub async fn checkout(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Form<CheckoutForm>, FormRejection>,
) -> Page {
    let body = form(body)?;
    let draft = CheckoutDraft {
        expiry_month: body.expiry_month.trim().to_owned(),
        expiry_year: body.expiry_year.trim().to_owned(),
        country: body.country.trim().to_owned(),
    };
    let Some(cart_id) = session::cart_id(&headers) else {
        return Ok(cart_again(
            &state,
            None,
            StatusCode::CONFLICT,
            "Your cart is empty: add something before checking out.",
            &draft,
        )
        .await);
    };
    let checkout_id = CheckoutId::parse(body.checkout_id.trim())?;
    let (Ok(expiry_month), Ok(expiry_year)) = (
        draft.expiry_month.parse::<u8>(),
        draft.expiry_year.parse::<u16>(),
    ) else {
        return Ok(cart_again(
            &state,
            Some(&cart_id),
            StatusCode::UNPROCESSABLE_ENTITY,
            "The card's expiry month and year must be numbers, e.g. 12 and 2030.",
            &draft,
        )
        .await);
    };
    let card = Card {
        number: body.card_number.trim().to_owned(),
        expiry_month,
        expiry_year,
        cvc: body.cvc.trim().to_owned(),
    };
    let shipping = ShippingAddress {
        country: draft.country.to_ascii_uppercase(),
    };
    match storefront::checkout(&state.clients, &checkout_id, &cart_id, card, shipping).await {
        // Placed, or charged with the order being recorded: the order page.
        Ok(CheckoutAnswer::Placed(CheckoutResult { order_id, .. }))
        | Ok(CheckoutAnswer::Accepted(CheckoutStatus {
            order_id,
            state: SagaState::Pending | SagaState::Placed,
            ..
        })) => Ok(Redirect::to(&format!(
            "/shop/orders/{}",
            apiary_chassis::encode_segment(&order_id)
        ))
        .into_response()),
        // Not finished within the request's time: say so instead of guessing.
        Ok(CheckoutAnswer::Accepted(_)) => Err(PageError::new(
            StatusCode::ACCEPTED,
            "Your order is still being processed. Submitting the same form again shows the \
             outcome without charging twice.",
        )),
        Err(err) => {
            let (status, code, message) = answer_logged(&err);
            let message = if status == StatusCode::PAYMENT_REQUIRED {
                format!("Your card was declined ({code}): {message}")
            } else {
                format!("The order was not placed: {message}")
            };
            Ok(cart_again(&state, Some(&cart_id), status, &message, &draft).await)
        }
    }
}

/// The cart page again with `message` and `status`; when the cart itself cannot be read, an
/// error page with the same message (an "empty cart" would be a lie).
async fn cart_again(
    state: &AppState,
    cart_id: Option<&CartId>,
    status: StatusCode,
    message: &str,
    draft: &CheckoutDraft,
) -> Response {
    let view = match cart_id {
        Some(cart_id) => match storefront::show_cart(&state.clients, cart_id).await {
            Ok(view) => Some(view),
            Err(_) => return PageError::new(status, message).into_response(),
        },
        None => None,
    };
    // A fresh id: the failed checkout's id is spent (a decline is replayed for the same id).
    let checkout_id = CheckoutId::new_random();
    render(
        status,
        pages::cart(view.as_ref(), Some(message), checkout_id.as_str(), draft),
    )
}

pub async fn order(
    State(state): State<AppState>,
    order_id: Result<Path<String>, PathRejection>,
) -> Page {
    let order_id = OrderId::parse(&path(order_id)?)?;
    let order = storefront::order(&state.clients, &order_id).await?;
    Ok(render(StatusCode::OK, pages::order(&order)))
}

pub async fn not_found() -> PageError {
    PageError::new(StatusCode::NOT_FOUND, "There is no such page in the shop.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_links_encode_the_query() {
        assert_eq!(search_href("a&b c", 2), "/shop/search?q=a%26b+c&page=2");
    }

    #[test]
    fn page_numbers_are_bounded() {
        let p = |v: &str| page_number(&HashMap::from([("page".to_owned(), v.to_owned())]));
        assert_eq!(p("3").ok(), Some(3));
        assert!(p("0").is_err());
        assert!(p("-1").is_err());
        assert!(p("x").is_err());
        assert_eq!(page_number(&HashMap::new()).ok(), Some(1));
    }
}
