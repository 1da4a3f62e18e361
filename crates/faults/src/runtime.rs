//! In-process evaluation of the fault flags, through the OpenFeature SDK with the flagd provider.
//!
//! Where the flags come from follows flagd's own variables, so the same service binary reads a
//! local file under `apiary up` and a real flagd daemon in the compose path:
//! - `FLAGD_RESOLVER=file` + `FLAGD_OFFLINE_FLAG_SOURCE_PATH` — the file, watched (inotify):
//!   a change is seen at once, not polled;
//! - `FLAGD_RESOLVER=in-process` + `FLAGD_HOST`/`FLAGD_PORT` — flagd's sync stream;
//! - `APIARY_FAULTS=off` — no evaluation at all (the A/B switch, and how a test proves a
//!   drill fails when its fault is disabled).
//!
//! Any evaluation error (flag missing, wrong type, provider not ready) means "no fault": a broken
//! flag file can never break the shop by itself.

use std::sync::OnceLock;
use std::time::Duration;

use open_feature::{Client, EvaluationContext, OpenFeature};
use open_feature_flagd::resolver::in_process::resolver::{FileResolver, InProcessResolver};
use open_feature_flagd::{CacheSettings, CacheType, FlagdOptions, ResolverType};
use rand::Rng;

use crate::catalog::{CURRENT_VERSION, flag_key, knob, link, link_key};

pub const FAULTS_VAR: &str = "APIARY_FAULTS";

/// The process's fault evaluator.
pub struct Faults {
    client: Client,
    service: String,
    version: &'static str,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults")
            .field("service", &self.service)
            .finish()
    }
}

static FAULTS: OnceLock<Faults> = OnceLock::new();

/// Why faults are off in this process.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("faults are switched off ({FAULTS_VAR}=off)")]
    SwitchedOff,
    #[error(
        "no flag source: set FLAGD_OFFLINE_FLAG_SOURCE_PATH (file) or FLAGD_RESOLVER=in-process"
    )]
    NoSource,
    #[error("the flagd provider did not start: {0}")]
    Provider(String),
    #[error("faults already started in this process")]
    AlreadyStarted,
}

fn flagd_configured() -> bool {
    std::env::var_os("FLAGD_OFFLINE_FLAG_SOURCE_PATH").is_some()
        || std::env::var_os("FLAGD_RESOLVER").is_some()
}

/// A "cache" that caches nothing. It must exist anyway: open-feature-flagd 0.3.0's resolvers
/// drain their store's update channel (capacity 1000) only when they have a cache, and without
/// one the store's listener eventually blocks on that full channel *while holding the store's
/// write locks* — every evaluation then hangs for good. So each resolver gets a disabled cache
/// (it still drains the channel on every evaluation), and the `FlagdProvider` wrapper, whose own
/// cache is never invalidated on a change, is not used.
fn draining_cache() -> CacheSettings {
    CacheSettings {
        cache_type: CacheType::Disabled,
        max_size: 0,
        ttl: None,
    }
}

/// Starts evaluation for `service` (once per process). Services call it through the telemetry
/// crate's `run_service`; when it fails the service runs without faults and says so.
pub async fn start(service: &str, version: &'static str) -> Result<&'static Faults, StartError> {
    if std::env::var(FAULTS_VAR).is_ok_and(|v| v.eq_ignore_ascii_case("off")) {
        return Err(StartError::SwitchedOff);
    }
    if !flagd_configured() {
        return Err(StartError::NoSource);
    }
    let options = FlagdOptions {
        cache_settings: Some(draining_cache()),
        ..FlagdOptions::default()
    };
    match (
        options.resolver_type.clone(),
        options.source_configuration.clone(),
    ) {
        (ResolverType::File, Some(path)) => {
            let resolver = FileResolver::new(path, Some(draining_cache()))
                .await
                .map_err(|e| StartError::Provider(e.to_string()))?;
            install(service, version, resolver).await
        }
        (ResolverType::InProcess, _) => {
            let resolver = InProcessResolver::new(&options)
                .await
                .map_err(|e| StartError::Provider(e.to_string()))?;
            install(service, version, resolver).await
        }
        _ => Err(StartError::NoSource),
    }
}

/// As [`start`], reading the flag file at `path` (what tests and tools without flagd's
/// variables use).
pub async fn start_from_file(
    service: &str,
    version: &'static str,
    path: &std::path::Path,
) -> Result<&'static Faults, StartError> {
    let resolver = FileResolver::new(path.display().to_string(), Some(draining_cache()))
        .await
        .map_err(|e| StartError::Provider(e.to_string()))?;
    install(service, version, resolver).await
}

async fn install<P: open_feature::provider::FeatureProvider>(
    service: &str,
    version: &'static str,
    provider: P,
) -> Result<&'static Faults, StartError> {
    let mut api = OpenFeature::singleton_mut().await;
    api.set_provider(provider).await;
    let client = api.create_client();
    drop(api);
    FAULTS
        .set(Faults {
            client,
            service: service.to_owned(),
            version,
        })
        .map_err(|_| StartError::AlreadyStarted)?;
    FAULTS.get().ok_or(StartError::AlreadyStarted)
}

/// The evaluator, once started.
pub fn get() -> Option<&'static Faults> {
    FAULTS.get()
}

/// What to do to one inbound request, decided before it runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    /// End the process (the launcher restarts it).
    pub crash: bool,
    /// Answer 500 instead of running the handler.
    pub error: bool,
    /// The status of that answer when not 500 (502, 503, 504).
    pub error_status: Option<u16>,
    /// Never answer.
    pub hang: bool,
    pub delay: Option<Duration>,
    pub cpu_burn: Option<Duration>,
    /// The version the service behaves as, when not its build.
    pub deployed_version: Option<String>,
}

impl Decision {
    /// A short name of the fault applied, for span attributes and logs.
    pub fn applied(&self) -> Option<&'static str> {
        if self.crash {
            Some("crash")
        } else if self.error {
            Some("error-rate")
        } else if self.hang {
            Some("hang")
        } else if self.delay.is_some() {
            Some("latency")
        } else if self.cpu_burn.is_some() {
            Some("cpu-burn")
        } else {
            None
        }
    }
}

/// How this process reaches a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Ok,
    Unreachable,
    Partitioned,
}

fn roll(percent: f64) -> bool {
    percent > 0.0 && (percent >= 100.0 || rand::rng().random_range(0.0..100.0) < percent)
}

fn ms(v: f64) -> Option<Duration> {
    (v.is_finite() && v > 0.0).then(|| Duration::from_secs_f64(v / 1000.0))
}

impl Faults {
    pub fn service(&self) -> &str {
        &self.service
    }

    fn key(&self, knob: &str) -> String {
        flag_key(&self.service, knob)
    }

    async fn number(&self, knob: &str, ctx: Option<&EvaluationContext>) -> f64 {
        self.client
            .get_float_value(&self.key(knob), ctx, None)
            .await
            .unwrap_or(0.0)
    }

    async fn switch(&self, knob: &str) -> bool {
        self.client
            .get_bool_value(&self.key(knob), None, None)
            .await
            .unwrap_or(false)
    }

    /// Whether any of this service's knobs may be set (checked first on every hot path).
    pub async fn armed(&self) -> bool {
        self.switch(knob::ARMED).await
    }

    /// The version this service behaves as (`current` = its build).
    pub async fn deployed_version(&self) -> Option<String> {
        let v = self
            .client
            .get_string_value(&self.key(knob::VERSION), None, None)
            .await
            .ok()?;
        (v != CURRENT_VERSION && !v.is_empty()).then_some(v)
    }

    /// Evaluates the request-path knobs for one request. `route` is `METHOD /template`.
    pub async fn decide(&self, route: &str, path: &str) -> Decision {
        if !self.armed().await {
            return Decision::default();
        }
        let deployed_version = self.deployed_version().await;
        let ctx = EvaluationContext::default()
            .with_custom_field("service", self.service.clone())
            .with_custom_field("route", route.to_owned())
            .with_custom_field("path", path.to_owned())
            .with_custom_field(
                "version",
                deployed_version
                    .clone()
                    .unwrap_or_else(|| self.version.to_owned()),
            );
        let ctx = Some(&ctx);
        let mut d = Decision {
            deployed_version,
            ..Decision::default()
        };
        d.crash = roll(self.number(knob::CRASH, ctx).await);
        if d.crash {
            return d;
        }
        d.error = roll(self.number(knob::ERROR_RATE, ctx).await);
        if d.error {
            let status = self.number(knob::ERROR_STATUS, ctx).await;
            d.error_status = [502.0, 503.0, 504.0]
                .contains(&status)
                .then_some(status as u16);
            return d;
        }
        d.hang = roll(self.number(knob::HANG, ctx).await);
        if d.hang {
            return d;
        }
        if roll(self.number(knob::LATENCY_PERCENT, ctx).await) {
            let fixed = self.number(knob::LATENCY_MS, ctx).await;
            let jitter = self.number(knob::LATENCY_JITTER_MS, ctx).await;
            let extra = if jitter > 0.0 {
                rand::rng().random_range(0.0..jitter)
            } else {
                0.0
            };
            d.delay = ms(fixed + extra);
        }
        d.cpu_burn = ms(self.number(knob::CPU_BURN, ctx).await);
        d
    }

    /// How this process reaches `peer` now.
    pub async fn link(&self, peer: &str) -> Link {
        if !self.armed().await {
            return Link::Ok;
        }
        let v = self
            .client
            .get_string_value(&link_key(&self.service, peer), None, None)
            .await
            .unwrap_or_default();
        match v.as_str() {
            link::UNREACHABLE => Link::Unreachable,
            link::PARTITIONED => Link::Partitioned,
            _ => Link::Ok,
        }
    }

    /// Extra immediate retries of a failed call to `peer` (0 normally).
    pub async fn retry_storm(&self, peer: &str) -> u32 {
        if !self.armed().await {
            return 0;
        }
        let ctx = EvaluationContext::default().with_custom_field("peer", peer.to_owned());
        let n = self.number(knob::RETRY_STORM, Some(&ctx)).await;
        if n.is_finite() && n > 0.0 {
            n.min(20.0) as u32
        } else {
            0
        }
    }

    /// Delay before a data store operation.
    pub async fn store_delay(&self) -> Option<Duration> {
        if !self.armed().await {
            return None;
        }
        ms(self.number(knob::STORE_DELAY, None).await)
    }

    /// Whether the in-memory store is being lost.
    pub async fn store_lost(&self) -> bool {
        self.armed().await && self.switch(knob::STORE_LOST).await
    }

    pub async fn readiness_failing(&self) -> bool {
        self.armed().await && self.switch(knob::READINESS).await
    }

    /// Whether a charge with this card BIN fails at the issuer now.
    pub async fn card_fails(&self, card_bin: &str) -> bool {
        if !self.armed().await {
            return false;
        }
        let ctx = EvaluationContext::default().with_custom_field("card_bin", card_bin.to_owned());
        roll(self.number(knob::CARD_FAILURE, Some(&ctx)).await)
    }

    /// Time a consumer spends on a message before handling it.
    pub async fn consumer_delay(&self) -> Option<Duration> {
        if !self.armed().await {
            return None;
        }
        ms(self.number(knob::CONSUMER_SLOW_MS, None).await)
    }

    /// Whether the consumer crashes on this delivery.
    pub async fn consumer_crashes(&self) -> bool {
        self.armed().await && roll(self.number(knob::CONSUMER_CRASH, None).await)
    }

    /// Whether this processed delivery is handed back to be delivered again.
    pub async fn redeliver(&self) -> bool {
        self.armed().await && roll(self.number(knob::DUPLICATE, None).await)
    }

    /// Whether this published event is followed by a malformed one.
    pub async fn poison(&self) -> bool {
        self.armed().await && roll(self.number(knob::POISON, None).await)
    }

    /// Whether this service is cut from the message broker.
    pub async fn broker_cut(&self) -> bool {
        if !self.armed().await {
            return false;
        }
        self.client
            .get_string_value(&self.key(knob::BROKER), None, None)
            .await
            .is_ok_and(|v| v == link::UNREACHABLE)
    }

    /// The memory the leak should hold now, in MiB.
    pub async fn memory_leak_mib(&self) -> f64 {
        if !self.armed().await {
            return 0.0;
        }
        self.number(knob::MEMORY_LEAK, None).await
    }
}

/// Spins the current thread for `d` of wall time (the CPU-burn fault; deliberately blocking).
pub fn burn_cpu(d: Duration) {
    let until = std::time::Instant::now() + d;
    let mut x = 0u64;
    while std::time::Instant::now() < until {
        for i in 0..1000u64 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
        }
    }
}

/// Holds the leaked memory: grows towards the flag's size one chunk a second, frees it all when
/// the flag drops. Chunks are 34 MiB, above glibc's largest mmap threshold (32 MiB), so each is
/// its own mapping and goes back to the system when freed — the leak is reversible for real.
pub async fn run_memory_leak(faults: &'static Faults) {
    const CHUNK_MIB: usize = 34;
    let mut held: Vec<Vec<u8>> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let want_mib = faults.memory_leak_mib().await.clamp(0.0, 1024.0) as usize;
        let want = if want_mib == 0 {
            0
        } else {
            (want_mib / CHUNK_MIB).max(1)
        };
        if held.len() < want {
            // Non-zero bytes: the pages are written, so they count in the resident set.
            held.push(vec![0xA5u8; CHUNK_MIB * 1024 * 1024]);
            tracing::warn!(
                held_mib = held.len() * CHUNK_MIB,
                limit_mib = want_mib,
                "injected fault: memory leak growing"
            );
        } else if held.len() > want {
            held.truncate(want);
            held.shrink_to_fit();
            tracing::info!(held_mib = held.len() * CHUNK_MIB, "leaked memory released");
        }
    }
}
