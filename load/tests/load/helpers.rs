use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use apiary_load::bench_server::{self, Stall};
use apiary_load::control::{self, Token};
use apiary_load::engine::{Controller, Run, RunConfig};
use apiary_load::profile::{Arrival, Profile};
use apiary_load::shape::RateShape;
use apiary_load::units::RunLength;
use tokio::sync::{Mutex, MutexGuard};

/// Serialises the tests whose numbers depend on timing.
static TIMING: Mutex<()> = Mutex::const_new(());

pub async fn timing_lock() -> MutexGuard<'static, ()> {
    TIMING.lock().await
}

/// A bench server on 127.0.0.1:0 for the rest of the test.
pub async fn bench(stall: Stall) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the bench server");
    let addr = listener.local_addr().expect("its address");
    tokio::spawn(bench_server::serve(listener, stall, std::future::pending()));
    addr
}

/// One `GET {path}` per journey.
pub fn get_profile(path: &str) -> Profile {
    let text = format!(
        "[[journey]]\nname = \"static\"\nweight = 1\nsteps = [{{ action = \"get\", path = \"{path}\" }}]\n"
    );
    Profile::parse(&text, "test profile").expect("valid profile")
}

pub async fn config(url: &str, profile: Profile, rate: f64, duration: Duration) -> RunConfig {
    RunConfig {
        target: apiary_load::target::resolve(url, false)
            .await
            .expect("local target"),
        profile,
        shape: RateShape::Constant { rate },
        arrival: Arrival::Uniform,
        duration: RunLength::For(duration),
        max_in_flight: 1000,
        connections: None,
        timeout: Duration::from_secs(5),
        seed: 42,
        tracing: false,
        closed_loop: None,
    }
}

/// A started run with its control API on 127.0.0.1:0.
pub struct Controlled {
    pub run: Run,
    pub controller: Arc<Controller>,
    pub base: String,
    pub token: Token,
    pub http: reqwest::Client,
}

pub async fn controlled(config: RunConfig) -> Controlled {
    let token = Token::random();
    let (listener, addr) = control::bind("127.0.0.1:0".parse().expect("addr"), false)
        .await
        .expect("bind the control API");
    let run = Run::start(config);
    let controller = run.controller();
    tokio::spawn(control::serve(
        listener,
        controller.clone(),
        token.clone(),
        std::future::pending(),
    ));
    Controlled {
        run,
        controller,
        base: format!("http://{addr}"),
        token,
        http: reqwest::Client::new(),
    }
}

impl Controlled {
    pub async fn post(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(self.token.expose())
            .json(&body)
            .send()
            .await
            .expect("control API answers")
    }

    pub async fn status(&self) -> serde_json::Value {
        self.http
            .get(format!("{}/status", self.base))
            .send()
            .await
            .expect("status answers")
            .json()
            .await
            .expect("status is JSON")
    }

    pub fn started(&self) -> u64 {
        self.controller.recorder().totals().journeys_started
    }
}
