//! Serving a service: its standard middleware, graceful shutdown and supervision.

use std::future::Future;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::health::{self, Readiness};
use apiary_telemetry::HttpServerLayer;

/// A response with the standard JSON error body, `{"error": {"code", "message"}}`.
pub fn json_error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = apiary_wire::ErrorBody {
        error: apiary_wire::ErrorDetail {
            code: code.to_owned(),
            message: message.into(),
        },
    };
    (status, Json(body)).into_response()
}

async fn not_found() -> Response {
    json_error(StatusCode::NOT_FOUND, "not_found", "no such route")
}

async fn method_not_allowed() -> Response {
    json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method",
    )
}

/// Rewrites a non-JSON 413 (tower-http's body limit answers plain text) as the JSON error body.
async fn json_payload_too_large(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !is_json {
        json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "the request body is larger than this service accepts",
        )
    } else {
        response
    }
}

/// `GET /openapi.json` serving `doc` (each service's `#[derive(OpenApi)]` document), amended
/// with the answers every service's standard parts can give (see [`document_standard_answers`]).
pub fn openapi_route(mut doc: utoipa::openapi::OpenApi) -> Router {
    document_standard_answers(&mut doc);
    let doc = std::sync::Arc::new(doc);
    Router::new().route(
        "/openapi.json",
        axum::routing::get(move || {
            let doc = doc.clone();
            async move { Json(doc.as_ref().clone()) }
        }),
    )
}

/// Adds to every operation of `doc` the answers the shared parts give, so no document omits
/// a status its service can send: 400 from the extractors (an unparsable path or query, a
/// body that is not JSON), 413/415/422 for operations with a JSON body (too large, not
/// `application/json`, the wrong shape), 503 from the standard layers (shed, timed out, not
/// ready) and `5XX` for injected faults and failing downstreams. A status an operation
/// already documents keeps its own description.
///
/// It also states two conventions of the shared parts: an optional query parameter may be
/// sent empty (`?limit=`; each service's description says what empty means, usually "as if
/// absent"), and the shared schemas every document refers to (`ErrorBody`, `ProductId`,
/// `TokenId`) are defined once here.
pub fn document_standard_answers(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::PartialSchema;
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{ContentBuilder, Ref, Required, ResponseBuilder};
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, schema) in [
        ("ErrorBody", apiary_wire::ErrorBody::schema()),
        ("ErrorDetail", apiary_wire::ErrorDetail::schema()),
        ("ProductId", apiary_wire::ids::ProductId::schema()),
        ("TokenId", apiary_wire::ids::TokenId::schema()),
    ] {
        components.schemas.entry(name.to_owned()).or_insert(schema);
    }
    let error = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    for item in doc.paths.paths.values_mut() {
        let path_has_parameters = item.parameters.as_ref().is_some_and(|p| !p.is_empty());
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            for parameter in operation.parameters.iter_mut().flatten() {
                if parameter.parameter_in == ParameterIn::Query
                    && parameter.required == Required::False
                {
                    parameter
                        .extensions
                        .get_or_insert_with(Default::default)
                        .insert("allowEmptyValue".to_owned(), true.into());
                }
            }
            let has_body = operation.request_body.is_some();
            let has_parameters =
                path_has_parameters || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
            let mut add = |status: &str, description: &str| {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| error(description).into());
            };
            if has_body || has_parameters {
                add(
                    "400",
                    "bad_path, bad_query or malformed_json: a parameter or the body cannot be parsed",
                );
            }
            if has_body {
                add("413", "body_too_large");
                add(
                    "415",
                    "unsupported_media_type: the body is not application/json",
                );
                add(
                    "422",
                    "invalid_body: well-formed JSON that does not match the schema",
                );
            }
            add(
                "503",
                "overloaded (shed), timed out, not ready, or an injected fault",
            );
            add(
                "5XX",
                "an injected fault (drills) or a failing downstream service",
            );
        }
    }
}

/// Limits every service applies.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    /// A request that runs longer is answered 503 (`tower-http`'s timeout layer).
    pub request_timeout: Duration,
    /// Larger bodies are refused with 413 before they are read.
    pub body_limit: usize,
    /// Concurrent requests past this are shed with a fast 503.
    pub max_in_flight: usize,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(10),
            body_limit: 1024 * 1024,
            max_in_flight: 512,
        }
    }
}

/// Wraps a service's API router with the standard parts: operational routes, a JSON 404
/// fallback, the fault layer, request deadlines, HTTP instrumentation, load shedding, a request
/// timeout and a body limit.
pub fn standard_router(api: Router, readiness: Readiness, limits: ServeLimits) -> Router {
    // Install the recorder now: measurements taken before it exists would be lost.
    apiary_telemetry::prometheus::handle();
    let readiness = readiness.check("injected_fault", crate::faults::readiness_check);
    api.method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        // Inside the server span: an injected fault is traced and measured like a real one.
        .layer(axum::middleware::from_fn(crate::faults::layer))
        .layer(axum::middleware::from_fn_with_state(
            limits.request_timeout,
            crate::resilience::deadline,
        ))
        .layer(HttpServerLayer)
        // Outside the span: a shed request costs no span and no histogram sample.
        .layer(axum::middleware::from_fn_with_state(
            crate::resilience::Shedder::new(limits.max_in_flight),
            crate::resilience::Shedder::layer,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.request_timeout,
        ))
        .layer(RequestBodyLimitLayer::new(limits.body_limit))
        // Outside the limit layer: its 413 for a declared-too-long body is plain text.
        .layer(axum::middleware::map_response(json_payload_too_large))
        .merge(health::routes(readiness))
}

/// Serves `app` until `shutdown` resolves, then stops accepting, lets in-flight requests finish
/// for at most `drain`, and returns. Telemetry is flushed by the caller afterwards.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    drain: Duration,
) -> std::io::Result<()> {
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        let _ = stopping_tx.send(());
    };
    let server = axum::serve(listener, app).with_graceful_shutdown(signal);
    let deadline = async move {
        if stopping_rx.await.is_ok() {
            tokio::time::sleep(drain).await;
        } else {
            // The server ended before any shutdown was asked for; let its result win.
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = server.into_future() => result,
        () = deadline => {
            tracing::warn!(drain_ms = drain.as_millis() as u64, "in-flight requests did not finish in time; closing them");
            Ok(())
        }
    }
}

/// A listener that could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot bind {addr}: {source}")]
pub struct BindError {
    pub addr: std::net::SocketAddr,
    #[source]
    pub source: std::io::Error,
}

/// Binds `host:port` (port 0 picks a free one) and returns the port it got.
pub async fn bind(host: std::net::IpAddr, port: u16) -> Result<(TcpListener, u16), BindError> {
    let addr = std::net::SocketAddr::new(host, port);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| BindError { addr, source })?;
    let port = listener
        .local_addr()
        .map_err(|source| BindError { addr, source })?
        .port();
    Ok((listener, port))
}

/// What [`run_service`] needs from a built service (STYLE: build binds, then `port()`, then
/// `run_until_stopped(shutdown)`).
pub trait Service: Send + Sized {
    fn port(&self) -> u16;
    fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> impl Future<Output = std::io::Result<()>> + Send;
}

/// A service binary's command line: `--help` and `--version`, nothing else (a service is
/// configured by its environment). `Err` carries the exit code when the process should stop:
/// 0 after help or version, 2 for anything it does not take.
pub fn service_command_line<I, T>(info: apiary_telemetry::ServiceInfo, args: I) -> Result<(), u8>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let command = clap::Command::new(info.name)
        .version(info.version)
        .about(format!(
            "Apiary's {} service. It takes no arguments: it is configured by its environment \
         (APIARY_HOST, APIARY_PORT, APIARY_DATA_DIR, OTEL_*, and its own variables listed in \
         the README), and `apiary up` starts it.",
            info.name
        ));
    match command.try_get_matches_from(args) {
        Ok(_) => Ok(()),
        Err(err) => {
            let _ = err.print();
            Err(u8::try_from(err.exit_code()).unwrap_or(2))
        }
    }
}

/// A service binary's whole `main`: its command line ([`service_command_line`] over the
/// process's arguments), then as [`run_service_with`].
pub async fn run_service<C, S, E, B, F>(
    info: apiary_telemetry::ServiceInfo,
    config: Result<C, apiary_env::EnvError>,
    build: B,
) -> std::process::ExitCode
where
    S: Service,
    E: std::fmt::Display,
    B: FnOnce(C) -> F,
    F: Future<Output = Result<S, E>>,
{
    if let Err(code) = service_command_line(info, std::env::args_os()) {
        return std::process::ExitCode::from(code);
    }
    run_service_with(info, config, build).await
}

/// Runs a service whose command line has been read: bind to the supervisor, read
/// configuration (a malformed variable exits 2 naming it), set up telemetry, build, serve
/// until SIGINT/SIGTERM, flush.
pub async fn run_service_with<C, S, E, B, F>(
    info: apiary_telemetry::ServiceInfo,
    config: Result<C, apiary_env::EnvError>,
    build: B,
) -> std::process::ExitCode
where
    S: Service,
    E: std::fmt::Display,
    B: FnOnce(C) -> F,
    F: Future<Output = Result<S, E>>,
{
    use std::process::ExitCode;
    bind_lifetime_to_supervisor();
    let config = match config {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{}: {err}", info.name);
            return ExitCode::from(2);
        }
    };
    let telemetry = match apiary_telemetry::init(info) {
        Ok(guard) => guard,
        Err(err) => {
            eprintln!("{}: {err}", info.name);
            return ExitCode::from(2);
        }
    };
    crate::faults::start(info).await;
    let code = match build(config).await {
        Ok(app) => {
            tracing::info!(port = app.port(), "{} listening", info.name);
            match app.run_until_stopped(shutdown_signal()).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    tracing::error!(error = %err, "{} stopped with an error", info.name);
                    ExitCode::FAILURE
                }
            }
        }
        Err(err) => {
            tracing::error!(error = %err, "{} failed to start", info.name);
            ExitCode::FAILURE
        }
    };
    telemetry.shutdown().await;
    code
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!(signal = "SIGINT", "shutting down"),
        () = term => tracing::info!(signal = "SIGTERM", "shutting down"),
    }
}

/// Environment variable the launcher sets to its own pid in every child.
pub const SUPERVISOR_PID_VAR: &str = "APIARY_SUPERVISOR_PID";

/// When started by the `apiary` launcher, asks the kernel to send this process SIGTERM if the
/// launcher dies — even by SIGKILL — so no service outlives it as an orphan. If the launcher is
/// already gone, exits at once. Does nothing outside the launcher or off Linux.
pub fn bind_lifetime_to_supervisor() {
    #[cfg(target_os = "linux")]
    {
        let Some(expected) = std::env::var(SUPERVISOR_PID_VAR)
            .ok()
            .and_then(|v| v.parse::<i32>().ok())
        else {
            return;
        };
        if nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM).is_err() {
            return;
        }
        // The launcher may have died between our fork and the prctl call.
        if nix::unistd::getppid().as_raw() != expected {
            eprintln!("supervisor {expected} is gone; exiting");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use utoipa::openapi::path::{OperationBuilder, ParameterBuilder, ParameterIn};
    use utoipa::openapi::request_body::RequestBodyBuilder;
    use utoipa::openapi::{HttpMethod, OpenApiBuilder, PathItem, PathsBuilder, ResponseBuilder};

    #[test]
    fn a_service_answers_help_and_version_and_refuses_arguments() {
        let info = apiary_telemetry::ServiceInfo {
            name: "catalog",
            version: "1.2.3",
        };
        for (extra, outcome) in [
            (None, Ok(())),
            (Some("--help"), Err(0)),
            (Some("--version"), Err(0)),
            (Some("--port=1"), Err(2)),
            (Some("extra"), Err(2)),
        ] {
            let args = std::iter::once("catalog").chain(extra);
            assert_eq!(
                super::service_command_line(info, args),
                outcome,
                "{extra:?}"
            );
        }
    }

    #[test]
    fn every_operation_documents_the_standard_answers_and_keeps_its_own() {
        let with_body = OperationBuilder::new()
            .request_body(Some(RequestBodyBuilder::new().build()))
            .response("400", ResponseBuilder::new().description("invalid_cart_id"))
            .build();
        let with_path = OperationBuilder::new()
            .parameter(
                ParameterBuilder::new()
                    .name("id")
                    .parameter_in(ParameterIn::Path),
            )
            .build();
        let bare = OperationBuilder::new()
            .parameter(
                ParameterBuilder::new()
                    .name("limit")
                    .parameter_in(ParameterIn::Query)
                    .required(utoipa::openapi::Required::False),
            )
            .parameter(
                ParameterBuilder::new()
                    .name("ids")
                    .parameter_in(ParameterIn::Query)
                    .required(utoipa::openapi::Required::True),
            )
            .build();
        let mut doc = OpenApiBuilder::new()
            .paths(
                PathsBuilder::new()
                    .path("/a", PathItem::new(HttpMethod::Post, with_body))
                    .path("/b/{id}", PathItem::new(HttpMethod::Get, with_path))
                    .path("/c", PathItem::new(HttpMethod::Get, bare)),
            )
            .build();
        super::document_standard_answers(&mut doc);
        let statuses = |path: &str| -> Vec<String> {
            let item = &doc.paths.paths[path];
            let op = item.post.as_ref().or(item.get.as_ref()).expect("operation");
            op.responses.responses.keys().cloned().collect()
        };
        assert_eq!(statuses("/a"), ["400", "413", "415", "422", "503", "5XX"]);
        assert_eq!(statuses("/b/{id}"), ["400", "503", "5XX"]);
        assert_eq!(statuses("/c"), ["400", "503", "5XX"]);
        let c = doc.paths.paths["/c"].get.as_ref().expect("get");
        let empty_allowed: Vec<(&str, bool)> = c
            .parameters
            .iter()
            .flatten()
            .map(|p| {
                let allowed = p
                    .extensions
                    .as_ref()
                    .and_then(|e| e.get("allowEmptyValue"))
                    .is_some_and(|v| v == &serde_json::Value::Bool(true));
                (p.name.as_str(), allowed)
            })
            .collect();
        assert_eq!(empty_allowed, [("limit", true), ("ids", false)]);
        let components = doc.components.as_ref().expect("components");
        for shared in ["ErrorBody", "ErrorDetail", "ProductId", "TokenId"] {
            assert!(components.schemas.contains_key(shared), "{shared}");
        }
        let kept = &doc.paths.paths["/a"]
            .post
            .as_ref()
            .expect("post")
            .responses
            .responses["400"];
        let utoipa::openapi::RefOr::T(kept) = kept else {
            panic!("a response, not a reference")
        };
        assert_eq!(kept.description, "invalid_cart_id");
    }
}
