//! `GET /api/products` and `GET /api/products/{id}`.

use std::collections::HashMap;

use apiary_wire::{Product, ProductPage};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};

use super::{AppError, AppState};
use crate::clients::catalog::ListParams;

/// Longest path segment accepted as a product id before asking the catalog.
const MAX_ID_LEN: usize = 64;

/// Browse or search products.
#[utoipa::path(
    get,
    path = "/api/products",
    params(
        ("category" = Option<String>, Query, description = "books, music or video"),
        ("q" = Option<String>, Query, description = "search text (title or creator)"),
        ("limit" = Option<usize>, Query, description = "page size, 1-100 (default 20)"),
        ("offset" = Option<usize>, Query, description = "matches to skip"),
    ),
    responses(
        (status = 200, body = ProductPage),
        (status = 400, body = apiary_wire::ErrorBody),
        (status = 502, body = apiary_wire::ErrorBody, description = "catalog failed"),
        (status = 503, body = apiary_wire::ErrorBody, description = "catalog unreachable"),
        (status = 504, body = apiary_wire::ErrorBody, description = "catalog too slow"),
    )
)]
pub async fn list_products(
    State(state): State<AppState>,
    params: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<ProductPage>, AppError> {
    let Query(mut params) = params.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let list = ListParams {
        category: params.remove("category"),
        q: params.remove("q"),
        limit: params.remove("limit"),
        offset: params.remove("offset"),
    };
    Ok(Json(state.catalog.list(&list).await?))
}

/// One product.
#[utoipa::path(
    get,
    path = "/api/products/{id}",
    params(("id" = String, Path, description = "product id, e.g. BK-0001")),
    responses(
        (status = 200, body = Product),
        (status = 400, body = apiary_wire::ErrorBody),
        (status = 404, body = apiary_wire::ErrorBody),
        (status = 502, body = apiary_wire::ErrorBody),
        (status = 503, body = apiary_wire::ErrorBody),
        (status = 504, body = apiary_wire::ErrorBody),
    )
)]
pub async fn get_product(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Product>, AppError> {
    if id.len() > MAX_ID_LEN {
        return Err(AppError::BadRequest(format!(
            "product id longer than {MAX_ID_LEN} bytes"
        )));
    }
    Ok(Json(state.catalog.get(&id).await?))
}
