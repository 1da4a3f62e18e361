//! `GET` and `POST /products/{product_id}/reviews`.

use std::collections::HashMap;

use apiary_chassis::extract::{Json, Path, Query};
use apiary_wire::shop::{NewReview, ProductReviews, Review};
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;

use super::{AppError, AppState};
use crate::domain::{Limit, ReviewDraft};
use crate::metrics;

/// A product's reviews, newest first, with the count and mean rating over all of them.
#[utoipa::path(
    get,
    path = "/products/{product_id}/reviews",
    params(
        ("product_id" = apiary_wire::ids::ProductId, Path, description = "e.g. BK-0001"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 50, description = "reviews to return, 1-50 (default 10)"),
    ),
    responses(
        (status = 200, body = ProductReviews),
        (status = 400, body = apiary_wire::ErrorBody, description = "invalid_product_id"),
        (status = 404, body = apiary_wire::ErrorBody, description = "unknown_product"),
        (status = 422, body = apiary_wire::ErrorBody, description = "invalid_limit"),
    )
)]
pub async fn list_reviews(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<axum::Json<ProductReviews>, AppError> {
    let product = state.known_product(&raw_id)?;
    let limit = Limit::parse(params.get("limit").map(String::as_str))?;
    let page = state.store.for_product(product.clone(), limit).await?;
    Ok(axum::Json(ProductReviews {
        product_id: product.as_str().to_owned(),
        count: page.count,
        average_rating: page.average_rating,
        reviews: page.reviews,
    }))
}

/// Adds a review. Texts are trimmed; the author is a display name, never an e-mail address.
#[utoipa::path(
    post,
    path = "/products/{product_id}/reviews",
    params(("product_id" = apiary_wire::ids::ProductId, Path, description = "e.g. BK-0001")),
    request_body = NewReview,
    responses(
        (status = 201, body = Review),
        (status = 400, body = apiary_wire::ErrorBody, description = "invalid_product_id"),
        (status = 404, body = apiary_wire::ErrorBody, description = "unknown_product"),
        (status = 422, body = apiary_wire::ErrorBody, description = "invalid_rating, invalid_author, invalid_title, invalid_body, invalid_review"),
    )
)]
pub async fn post_review(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
    Json(body): Json<Value>,
) -> Result<(StatusCode, axum::Json<Review>), AppError> {
    let product = state.known_product(&raw_id)?;
    // Every field is read as any JSON value, so a wrong type or a missing field is that
    // field's own error (`invalid_rating` for `"5"`). Only an object fits (serde would also
    // read an array positionally), and serde's messages are not used: they can quote values.
    let fields = body.as_object().ok_or(AppError::InvalidShape)?;
    let field = |name: &str| fields.get(name).unwrap_or(&Value::Null);
    let draft = ReviewDraft::parse(
        field("rating"),
        field("author"),
        field("title"),
        field("body"),
    )
    .map_err(AppError::InvalidReview)?;
    let review = Review {
        review_id: format!("rv_{}", uuid::Uuid::new_v4()),
        product_id: product.as_str().to_owned(),
        rating: draft.rating,
        author: draft.author,
        title: draft.title,
        body: draft.body,
        created_at_ms: apiary_store::now_ms(),
    };
    state.store.add(review.clone()).await?;
    metrics::submitted(review.rating);
    tracing::info!(
        review_id = %review.review_id,
        product_id = %review.product_id,
        rating = review.rating,
        "review submitted"
    );
    Ok((StatusCode::CREATED, axum::Json(review)))
}
