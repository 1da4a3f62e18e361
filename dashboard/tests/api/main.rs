//! Dashboard API tests: the real server on 127.0.0.1:0, OTLP sent to it, services it watches
//! run as real axum apps in the test.

mod bounds;
mod control;
mod health;
mod helpers;
mod otlp_grpc;
mod otlp_http;
mod queries;
mod sdk;
mod security;
mod ui;
