//! The server side (feature `ssr`): what the dashboard server mounts to serve the UI — the
//! rendered pages and the hydration bundle — and the [`ApiSource`] it hands the pages so they
//! read its API in process while rendering.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use dashboard_api::{
    Drills, LogRecord, LogSearch, Report, Runs, ServiceDetail, Snapshot, TraceComparison,
    TraceDetail, TraceSearch, TraceSummary,
};

use crate::api::ApiResult;
use crate::app::{App, shell};

/// The name apiary-ui-build (and cargo-leptos) gives the bundle (`[workspace.metadata.leptos] output-name`).
pub const OUTPUT_NAME: &str = "dashboard";

/// A read's answer, on its way.
pub type Reading<T> = Pin<Box<dyn Future<Output = ApiResult<T>> + Send>>;

/// The dashboard API as the pages read it while rendering on the server: each read is the
/// function the API's handler calls, so a page and the API cannot answer differently.
pub trait ApiSource: Send + Sync + 'static {
    fn service(&self, name: String) -> Reading<ServiceDetail>;
    fn traces(&self, search: TraceSearch) -> Reading<Vec<TraceSummary>>;
    fn trace(&self, id: String) -> Reading<TraceDetail>;
    fn compare(&self, a: String, b: String) -> Reading<TraceComparison>;
    fn logs(&self, search: LogSearch) -> Reading<Vec<LogRecord>>;
    fn drills(&self) -> Reading<Drills>;
    fn runs(&self) -> Reading<Runs>;
    fn report(&self, id: String) -> Reading<Report>;
    /// The current snapshot as the event stream sends it, so the first paint already shows
    /// what the first event would.
    fn snapshot(&self) -> Snapshot;
}

/// Put in every page render's context by [`router`].
#[derive(Clone)]
pub struct Backend(pub Arc<dyn ApiSource>);

/// Where the UI's static files are, and whether they are there.
#[derive(Debug, Clone)]
pub struct Site {
    /// `[[workspace.metadata.leptos]]` `site-root`: holds `pkg/dashboard.{js,wasm,css}` and the public assets.
    pub root: PathBuf,
}

impl Site {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// True when the hydration bundle has been built (`cargo run --release -p apiary-ui-build`). Without it the
    /// pages still render on the server, but do not update live.
    pub fn has_bundle(&self) -> bool {
        self.root
            .join("pkg")
            .join(format!("{OUTPUT_NAME}.wasm"))
            .is_file()
    }

    fn options(&self) -> LeptosOptions {
        LeptosOptions::builder()
            .output_name(OUTPUT_NAME)
            .site_root(self.root.to_string_lossy().as_ref())
            .site_pkg_dir("pkg")
            .build()
    }
}

/// The UI's routes: every page (server-rendered with `source` in context) and `/pkg/*`,
/// `/favicon.svg` from the site root.
pub fn router(site: Site, source: Arc<dyn ApiSource>) -> Router {
    let options = site.options();
    let routes = generate_route_list(App);
    let backend = Backend(source);
    let shell_options = options.clone();
    let pages: Router<LeptosOptions> = Router::new().leptos_routes_with_context(
        &options,
        routes,
        move || provide_context(backend.clone()),
        move || shell(shell_options.clone()),
    );
    let root = Arc::new(site.root);
    let files = Router::new()
        .route("/pkg/{file}", get(pkg_file))
        .route("/favicon.svg", get(favicon))
        .with_state(root);
    pages.with_state(options).merge(files)
}

/// Bundle files are plain names (no directories), so a request can never leave `pkg/`.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A bundle file through tower-http's `ServeFile`: the `.br` or `.gz` sibling that
/// apiary-ui-build writes is sent when the browser accepts it
/// (the 1.6 MB wasm goes out as about a quarter of that), `Last-Modified` answers a
/// revalidation with 304, and the content type comes from the name.
async fn serve_file(path: PathBuf, name: &str, req: Request) -> Response {
    if !path.is_file() {
        return apiary_style_not_found(name);
    }
    let file = ServeFile::new(path).precompressed_br().precompressed_gzip();
    match file.oneshot(req).await {
        Ok(resp) if resp.status().is_client_error() || resp.status().is_server_error() => {
            apiary_style_not_found(name)
        }
        Ok(resp) => {
            let mut resp = resp.map(Body::new);
            // Names are not hashed: the browser revalidates, so a rebuilt bundle is picked up.
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            resp
        }
        Err(never) => match never {},
    }
}

fn apiary_style_not_found(name: &str) -> Response {
    let body = serde_json::json!({"error": {"code": "not_found", "message": format!(
        "no UI file '{}' (is the bundle built? run `cargo run --release -p apiary-ui-build`)",
        name.chars().take(64).collect::<String>()
    )}});
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

async fn pkg_file(
    State(root): State<Arc<PathBuf>>,
    UrlPath(file): UrlPath<String>,
    req: Request,
) -> Response {
    if !plain_name(&file) {
        return apiary_style_not_found(&file);
    }
    serve_file(root.join("pkg").join(&file), &file, req).await
}

async fn favicon(State(root): State<Arc<PathBuf>>, req: Request) -> Response {
    serve_file(root.join("favicon.svg"), "favicon.svg", req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_bundle_names_are_served() {
        assert!(plain_name("dashboard.wasm"));
        assert!(plain_name("dashboard_bg.js"));
        assert!(!plain_name("../secrets"));
        assert!(!plain_name(".hidden"));
        assert!(!plain_name("a/b"));
        assert!(!plain_name(""));
    }
}
