//! `GET /products`, `GET /products/{id}` and `GET /categories`.

use std::collections::HashMap;

use apiary_wire::{CategoryList, Product, ProductPage};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};

use super::{AppError, AppState};
use crate::domain::{ListQuery, ProductId};

/// Lists products, optionally filtered by category and search text, one page at a time.
#[utoipa::path(
    get,
    path = "/products",
    params(
        ("category" = Option<String>, Query, pattern = "^(books|music|video)?$", description = "books, music or video; empty or absent: every category"),
        ("q" = Option<String>, Query, max_length = 100, description = "text matched against title and creator (max 100 characters)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "page size, 1-100 (default 20)"),
        ("offset" = Option<usize>, Query, minimum = 0, maximum = 1000000, description = "matches to skip (default 0)"),
        ("ids" = Option<String>, Query, pattern = "^\\s*((BK|MU|VI)-[0-9]{4}\\s*(,\\s*(BK|MU|VI)-[0-9]{4}\\s*)*)?$", description = "comma-separated product ids (at most 100 distinct): only those; unknown ids are left out"),
    ),
    responses(
        (status = 200, body = ProductPage),
        (status = 400, body = apiary_wire::ErrorBody, description = "invalid filter or page"),
    )
)]
pub async fn list_products(
    State(store): State<AppState>,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<ProductPage>, AppError> {
    let Query(params) = params.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let get = |k: &str| params.get(k).map(String::as_str);
    let query = ListQuery::parse(
        get("category"),
        get("q"),
        get("limit"),
        get("offset"),
        get("ids"),
    )?;
    let (items, total) = store.list(&query);
    tracing::debug!(returned = items.len(), total, "listed products");
    Ok(Json(ProductPage {
        items,
        total,
        limit: query.limit,
        offset: query.offset,
    }))
}

/// One product by id.
#[utoipa::path(
    get,
    path = "/products/{id}",
    params(("id" = apiary_wire::ids::ProductId, Path, description = "product id, e.g. BK-0001")),
    responses(
        (status = 200, body = Product),
        (status = 400, body = apiary_wire::ErrorBody, description = "malformed id"),
        (status = 404, body = apiary_wire::ErrorBody, description = "no such product"),
    )
)]
pub async fn get_product(
    State(store): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<Product>, AppError> {
    let id = ProductId::parse(&raw).map_err(|e| AppError::BadRequest(e.to_string()))?;
    match store.get(&id) {
        Some(product) => Ok(Json(product.clone())),
        None => {
            // Worth a line: a shopper (or a stale link) asks for something the shop lacks.
            tracing::info!(product_id = %id, "product not found");
            Err(AppError::ProductNotFound(id.to_string()))
        }
    }
}

/// The categories and how many products each holds.
#[utoipa::path(get, path = "/categories", responses((status = 200, body = CategoryList)))]
pub async fn list_categories(State(store): State<AppState>) -> Json<CategoryList> {
    Json(CategoryList {
        items: store.categories(),
    })
}
