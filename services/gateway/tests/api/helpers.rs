//! `spawn_app`: the real gateway on 127.0.0.1:0 with every downstream pointed at its own
//! wiremock server, and the telemetry pipeline installed so pages carry real trace ids.

use std::sync::OnceLock;
use std::time::Duration;

use apiary_testkit::Served;
use gateway::Config;
use gateway::config::Downstream;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub use apiary_testkit::error_code;

/// The running gateway (address, client, `get`, ...) and its downstreams. Its client follows
/// no redirects and keeps no cookies: tests look at both. Dropping it stops the server.
pub struct TestApp {
    served: Served,
    pub catalog: MockServer,
    pub cart: MockServer,
    pub checkout: MockServer,
    pub inventory: MockServer,
    pub reviews: MockServer,
    pub recommendations: MockServer,
    pub orders: MockServer,
}

apiary_testkit::served_app!(TestApp, served);

/// Tight enough that the "slow catalog" tests finish quickly.
pub const CATALOG_TIMEOUT: Duration = Duration::from_millis(300);
/// Reviews, recommendations and inventory: the optional parts of a page.
pub const OPTIONAL_TIMEOUT: Duration = Duration::from_millis(200);

pub async fn spawn_app() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with_catalog_url(catalog_url: String) -> TestApp {
    spawn_with(|config| config.catalog.url = catalog_url).await
}

/// Spawns the gateway after `tweak` has adjusted its configuration.
pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    install_telemetry();
    let servers = [
        MockServer::start().await,
        MockServer::start().await,
        MockServer::start().await,
        MockServer::start().await,
        MockServer::start().await,
        MockServer::start().await,
        MockServer::start().await,
    ];
    let at = |server: &MockServer, timeout| Downstream {
        url: server.uri(),
        timeout,
        discovery: Default::default(),
    };
    let ms = Duration::from_millis;
    let mut config = Config {
        host: [127, 0, 0, 1].into(),
        port: 0,
        catalog: at(&servers[0], CATALOG_TIMEOUT),
        cart: at(&servers[1], ms(500)),
        checkout: at(&servers[2], ms(1000)),
        inventory: at(&servers[3], OPTIONAL_TIMEOUT),
        reviews: at(&servers[4], OPTIONAL_TIMEOUT),
        recommendations: at(&servers[5], OPTIONAL_TIMEOUT),
        orders: at(&servers[6], ms(500)),
        max_in_flight: gateway::config::EDGE_MAX_IN_FLIGHT,
        breaker: None,
    };
    tweak(&mut config);
    let app = gateway::build(config).await.expect("build");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let served = Served::start_with_client(app, http);
    let [
        catalog,
        cart,
        checkout,
        inventory,
        reviews,
        recommendations,
        orders,
    ] = servers;
    TestApp {
        served,
        catalog,
        cart,
        checkout,
        inventory,
        reviews,
        recommendations,
        orders,
    }
}

/// Installs the production telemetry pipeline once per test binary, exporting to a local
/// receiver that accepts everything. It lives on its own thread and runtime: each test has
/// its own runtime, and the export queue must outlive all of them.
fn install_telemetry() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                let url = format!("http://{}", listener.local_addr().expect("addr"));
                let receiver =
                    axum::Router::new().fallback(|| async { axum::http::StatusCode::OK });
                tokio::spawn(async move { axum::serve(listener, receiver).await });
                // Console and exported logs off: test output stays readable; spans still flow.
                let config = apiary_telemetry::TelemetryConfig::from_env(&[("RUST_LOG", "off")])
                    .expect("config");
                let resource = apiary_telemetry::resource(gateway::SERVICE, &config);
                let pipeline =
                    apiary_telemetry::Pipeline::otlp_http_to(resource, config, &url, false)
                        .expect("pipeline");
                tx.send(pipeline.layers()).expect("layers");
                let _guard = pipeline.into_guard();
                std::future::pending::<()>().await;
            });
        });
        let layers = rx.recv().expect("telemetry thread");
        tracing_subscriber::registry().with(layers).init();
    });
}

impl TestApp {
    /// How many requests `server` received so far.
    pub async fn received(server: &MockServer) -> usize {
        server.received_requests().await.map_or(0, |r| r.len())
    }

    /// `GET /products/{id}` on the catalog answers `product`.
    pub async fn mount_product(&self, product: Value) {
        let id = product["id"].as_str().expect("id").to_owned();
        Mock::given(method("GET"))
            .and(path(format!("/products/{id}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(product))
            .mount(&self.catalog)
            .await;
    }

    /// `GET /products?ids=<ids>` on the catalog answers `products`.
    pub async fn mount_products_by_ids(&self, ids: &str, products: Vec<Value>) {
        Mock::given(method("GET"))
            .and(path("/products"))
            .and(query_param("ids", ids))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "items": products, "total": products.len(), "limit": 100, "offset": 0
            })))
            .mount(&self.catalog)
            .await;
    }

    pub async fn mount_stock(&self, id: &str, available: u32) {
        Mock::given(method("GET"))
            .and(path(format!("/stock/{id}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "product_id": id, "available": available, "reserved": 0, "sold": 0
            })))
            .mount(&self.inventory)
            .await;
    }

    pub async fn mount_reviews(&self, id: &str) {
        Mock::given(method("GET"))
            .and(path(format!("/products/{id}/reviews")))
            .and(query_param("limit", "5"))
            .respond_with(ResponseTemplate::new(200).set_body_json(reviews_json(id)))
            .mount(&self.reviews)
            .await;
    }

    /// Recommendations for `id` are `recommended`; the catalog knows each of them.
    pub async fn mount_recommendations(&self, id: &str, recommended: &[&str]) {
        let items: Vec<Value> = recommended
            .iter()
            .enumerate()
            .map(|(i, p)| json!({"product_id": p, "score": 1.0 - i as f64 / 10.0}))
            .collect();
        Mock::given(method("GET"))
            .and(path(format!("/recommendations/{id}")))
            .and(query_param("limit", "4"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "product_id": id, "model": "co-purchase", "items": items
            })))
            .mount(&self.recommendations)
            .await;
        self.mount_products_by_ids(
            &recommended.join(","),
            recommended.iter().map(|p| product_json(p)).collect(),
        )
        .await;
    }

    /// Every part of `id`'s product page answers.
    pub async fn mount_whole_product_page(&self, id: &str) {
        self.mount_product(product_json(id)).await;
        self.mount_stock(id, 7).await;
        self.mount_reviews(id).await;
        self.mount_recommendations(id, &["MU-0002", "VI-0003"])
            .await;
    }
}

pub fn product_json(id: &str) -> Value {
    product_titled(id, "Dracula")
}

pub fn product_titled(id: &str, title: &str) -> Value {
    json!({
        "id": id, "category": "books", "title": title, "creator": "Bram Stoker",
        "year": 1897, "format": "paperback", "genre": "horror",
        "price": {"amount_minor": 1099, "currency": "EUR"}
    })
}

pub fn reviews_json(id: &str) -> Value {
    json!({
        "product_id": id, "count": 12, "average_rating": 4.5,
        "reviews": [{
            "review_id": "r1", "product_id": id, "rating": 5, "author": "Mina",
            "title": "Gripping", "body": "Read it in one night.", "created_at_ms": 1
        }]
    })
}

pub fn cart_json(cart_id: &str, items: &[(&str, u32)]) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|(p, q)| json!({"product_id": p, "quantity": q}))
        .collect();
    json!({"cart_id": cart_id, "items": items, "expires_at_ms": 1_900_000_000_000i64})
}

pub fn error_json(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

/// A port that was free a moment ago: nothing listens there.
pub fn unreachable_url() -> String {
    format!("http://127.0.0.1:{}", apiary_testkit::free_port())
}

/// HTML form bodies (reqwest's `form` feature is off in this workspace).
pub trait FormExt {
    fn form_of<V: AsRef<str>>(self, pairs: &[(&str, V)]) -> Self;
}

impl FormExt for reqwest::RequestBuilder {
    fn form_of<V: AsRef<str>>(self, pairs: &[(&str, V)]) -> Self {
        // The URL type's query serializer is the form encoding.
        let mut url = reqwest::Url::parse("http://form.invalid/").expect("url");
        {
            let mut query = url.query_pairs_mut();
            for (k, v) in pairs {
                query.append_pair(k, v.as_ref());
            }
        }
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(url.query().unwrap_or_default().to_owned())
    }
}
