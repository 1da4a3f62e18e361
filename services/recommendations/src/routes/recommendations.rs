//! `GET /recommendations/{product_id}?limit=`.

use std::collections::HashMap;

use apiary_chassis::extract::{Path, Query};
use apiary_telemetry::metrics::counter;
use apiary_wire::shop::{Recommendation, Recommendations};
use axum::extract::State;

use super::{AppError, AppState};
use crate::domain::{Limit, ProductId};

/// Products to show next to this one: bought together with it when orders taught the model
/// that, otherwise similar ones.
#[utoipa::path(
    get,
    path = "/recommendations/{product_id}",
    params(
        ("product_id" = apiary_wire::ids::ProductId, Path, description = "e.g. BK-0001"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 20, description = "how many, 1-20 (default 4)"),
    ),
    responses(
        (status = 200, body = Recommendations, description = "model is co-purchase or similar"),
        (status = 400, body = apiary_wire::ErrorBody, description = "invalid_product_id"),
        (status = 404, body = apiary_wire::ErrorBody, description = "unknown_product"),
        (status = 422, body = apiary_wire::ErrorBody, description = "invalid_limit"),
    )
)]
pub async fn recommend(
    State(model): State<AppState>,
    Path(raw): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<axum::Json<Recommendations>, AppError> {
    let id = ProductId::parse(&raw).map_err(|e| AppError::InvalidProductId(e.to_string()))?;
    let limit = Limit::parse(params.get("limit").map(String::as_str))?;
    let answer = {
        let model = model.read().unwrap_or_else(|p| p.into_inner());
        let Some(product) = model.index().find(id.as_str()) else {
            return Err(AppError::UnknownProduct(id.to_string()));
        };
        let (kind, scored) = model.recommend(product, limit.count());
        Recommendations {
            product_id: id.to_string(),
            model: kind.as_str().to_owned(),
            items: scored
                .into_iter()
                .map(|s| Recommendation {
                    product_id: model.index().id(s.product).to_owned(),
                    score: s.score,
                })
                .collect(),
        }
    };
    counter!(crate::metrics::SERVED, "model" => answer.model.clone()).increment(1);
    Ok(axum::Json(answer))
}
