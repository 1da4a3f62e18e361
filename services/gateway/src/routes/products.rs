//! `GET /api/categories`, `GET /api/products` and `GET /api/products/{id}` (the product page).

use std::collections::HashMap;

use apiary_chassis::extract::{Path, Query};
use apiary_wire::ProductPage;
use axum::Json;
use axum::extract::State;

use super::{AppError, AppState};
use crate::clients::catalog::ListParams;
use crate::domain::ProductId;
use crate::storefront::{self, CategoriesView, ProductPageView};

/// The product categories with their number of products.
#[utoipa::path(
    get,
    path = "/api/categories",
    tag = "products",
    responses(
        (status = 200, body = CategoriesView),
        (status = 502, body = apiary_wire::ErrorBody, description = "catalog failed"),
        (status = 503, body = apiary_wire::ErrorBody, description = "catalog unreachable"),
        (status = 504, body = apiary_wire::ErrorBody, description = "catalog too slow"),
    )
)]
pub async fn list_categories(
    State(state): State<AppState>,
) -> Result<Json<CategoriesView>, AppError> {
    Ok(Json(storefront::categories(&state.clients).await?))
}

/// Browse or search products.
#[utoipa::path(
    get,
    path = "/api/products",
    tag = "products",
    params(
        ("category" = Option<String>, Query, pattern = "^(books|music|video)?$", description = "books, music or video; empty or absent: every category"),
        ("q" = Option<String>, Query, max_length = 100, description = "search text (title or creator), at most 100 characters"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "page size, 1-100 (default 20)"),
        ("offset" = Option<usize>, Query, minimum = 0, maximum = 1000000, description = "matches to skip"),
    ),
    responses(
        (status = 200, body = ProductPage),
        (status = 400, body = apiary_wire::ErrorBody, description = "bad filter (the catalog's verdict)"),
        (status = 502, body = apiary_wire::ErrorBody, description = "catalog failed"),
        (status = 503, body = apiary_wire::ErrorBody, description = "catalog unreachable"),
        (status = 504, body = apiary_wire::ErrorBody, description = "catalog too slow"),
    )
)]
pub async fn list_products(
    State(state): State<AppState>,
    Query(mut params): Query<HashMap<String, String>>,
) -> Result<Json<ProductPage>, AppError> {
    // Only the known filters are forwarded; the catalog validates their values.
    let list = ListParams {
        category: params.remove("category"),
        q: params.remove("q"),
        limit: params.remove("limit"),
        offset: params.remove("offset"),
    };
    Ok(Json(state.clients.catalog.list(&list).await?))
}

/// The product page: the product, and (each `{"status": "ok", ...}` or
/// `{"status": "unavailable"}`) its stock, newest reviews and recommendations. Served 200
/// whenever the product itself can be read.
#[utoipa::path(
    get,
    path = "/api/products/{id}",
    tag = "products",
    params(("id" = apiary_wire::ids::ProductId, Path, description = "product id, e.g. BK-0001")),
    responses(
        (status = 200, body = ProductPageView),
        (status = 400, body = apiary_wire::ErrorBody, description = "malformed id"),
        (status = 404, body = apiary_wire::ErrorBody, description = "no such product"),
        (status = 502, body = apiary_wire::ErrorBody, description = "catalog failed"),
        (status = 503, body = apiary_wire::ErrorBody, description = "catalog unreachable"),
        (status = 504, body = apiary_wire::ErrorBody, description = "catalog too slow"),
    )
)]
pub async fn get_product(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ProductPageView>, AppError> {
    let id = ProductId::parse(&id)?;
    Ok(Json(storefront::product_page(&state.clients, &id).await?))
}
