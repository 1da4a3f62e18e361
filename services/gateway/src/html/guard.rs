//! Refusing cross-site form posts (CSRF). The cart cookie is SameSite=Lax already; this is the
//! second line, and the one that also covers browsers without SameSite: a state-changing POST
//! is refused with 403 when the browser says it is cross-site (`Sec-Fetch-Site`), or when its
//! `Origin` is not this host.

use apiary_chassis::csrf::is_cross_site;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::PageError;

pub async fn same_origin_only(req: Request, next: Next) -> Response {
    let authority = req.uri().authority().map(|a| a.as_str().to_owned());
    if is_cross_site(req.headers(), authority.as_deref()) {
        tracing::info!("cross-site form post refused");
        return PageError::new(
            StatusCode::FORBIDDEN,
            "This form was sent from another site, so it was refused. Use the shop's own pages.",
        )
        .into_response();
    }
    next.run(req).await
}
