//! `GET /stock`, `GET /stock?ids=` and `GET /stock/{product_id}`.

use apiary_chassis::extract::{Path, Query};
use apiary_wire::shop::{StockLevel, StockLevels};
use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use super::{AppError, AppState};
use crate::domain::{ProductId, StockQuery};
use crate::store::InventoryError;

#[derive(Debug, Deserialize)]
pub struct StockParams {
    ids: Option<String>,
}

/// The stock of the products named in `ids`, in that order, or of every product.
#[utoipa::path(
    get,
    path = "/stock",
    params(
        ("ids" = Option<String>, Query, pattern = "^\\s*((BK|MU|VI)-[0-9]{4}\\s*)?(,\\s*((BK|MU|VI)-[0-9]{4}\\s*)?)*$", description = "comma-separated product ids, at most 100 distinct; all products when absent, none when empty"),
    ),
    responses(
        (status = 200, body = StockLevels),
        (status = 400, body = apiary_wire::ErrorBody, description = "invalid_product_id or invalid_ids"),
        (status = 404, body = apiary_wire::ErrorBody, description = "unknown_product (names every unknown id)"),
    )
)]
pub async fn list_stock(
    State(state): State<AppState>,
    Query(params): Query<StockParams>,
) -> Result<Json<StockLevels>, AppError> {
    let items = match params.ids {
        None => state.store.all_stock().await?,
        Some(raw) => {
            let query =
                StockQuery::parse(&raw).map_err(|(code, msg)| AppError::bad_request(code, msg))?;
            if query.ids().is_empty() {
                Vec::new()
            } else {
                state.store.stock_of(query.ids().to_vec()).await?
            }
        }
    };
    Ok(Json(StockLevels { items }))
}

/// One product's stock.
#[utoipa::path(
    get,
    path = "/stock/{product_id}",
    params(("product_id" = apiary_wire::ids::ProductId, Path, description = "product id, e.g. BK-0001")),
    responses(
        (status = 200, body = StockLevel),
        (status = 400, body = apiary_wire::ErrorBody, description = "invalid_product_id"),
        (status = 404, body = apiary_wire::ErrorBody, description = "unknown_product"),
    )
)]
pub async fn get_stock(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<StockLevel>, AppError> {
    let id = ProductId::parse(&raw).map_err(|m| AppError::bad_request("invalid_product_id", m))?;
    match state.store.stock(id.clone()).await? {
        Some(level) => Ok(Json(level)),
        None => Err(InventoryError::UnknownProducts(vec![id.into_string()]).into()),
    }
}
