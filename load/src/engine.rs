//! The run: an open-model scheduler that starts journeys at their arrival times whatever the
//! responses do, the in-flight cap, the per-second ticker, and the [`Controller`] that the
//! control API (and tests) use to change the plan while it runs.
//!
//! # Open model
//! Arrival times come from the rate shape alone: the n-th journey is due when the integral of
//! the rate since the shape was set reaches the n-th gap (1 for uniform spacing, Exp(1) draws
//! for Poisson). The scheduler sleeps until the next due time and starts every journey whose
//! time has come, each with that *intended* start (so a late wake-up shows up as latency, not as
//! a quietly lower rate). A slow target therefore gets more concurrent journeys, not fewer
//! arrivals — up to `--max-in-flight`; a journey due beyond that is counted as not started.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::client::Client;
use crate::journey::{self, Catalog, Shop};
use crate::profile::{Arrival, Profile, ProfileError};
use crate::shape::RateShape;
use crate::stats::{Point, Recorder, Results, Totals};
use crate::target::Target;
use crate::timing::{TIMER_SLACK, stopped};
use crate::units::RunLength;

/// Everything a run needs, already validated.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub target: Target,
    pub profile: Profile,
    pub shape: RateShape,
    pub arrival: Arrival,
    pub duration: RunLength,
    pub max_in_flight: usize,
    /// Cap on concurrent connections (None: as many as in-flight requests need).
    pub connections: Option<usize>,
    pub timeout: Duration,
    pub seed: u64,
    /// Root span per journey, client span per request, `traceparent` on the wire.
    pub tracing: bool,
    /// Closed-loop comparison mode: this many virtual users, each starting its next journey
    /// as soon as the last ended; the rate shape is ignored. Latency is then timed from each
    /// send, so it shows the coordinated omission the open model avoids.
    pub closed_loop: Option<usize>,
}

/// What the controller can be asked to do, and the state it reports.
#[derive(Debug, Clone)]
pub struct Plan {
    pub shape: RateShape,
    /// When the shape was set: shapes run on wall time from here (a pause does not stop it).
    pub since: Instant,
    pub paused: bool,
    pub profile: Arc<Profile>,
}

impl Plan {
    /// Journeys per second asked for at `t`.
    pub fn rate_at(&self, t: Instant) -> f64 {
        if self.paused {
            0.0
        } else {
            self.shape.rate_at(t.saturating_duration_since(self.since))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Fetching the catalog from the gateway before the first journey.
    Starting,
    Running,
    Paused,
    Stopping,
    Finished,
}

/// `GET /status`.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub state: RunState,
    pub target: String,
    pub profile: String,
    pub journeys: Vec<String>,
    pub shape: String,
    pub offered_rate: f64,
    pub arrival: Arrival,
    pub seed: u64,
    pub duration: String,
    pub elapsed_s: f64,
    pub max_in_flight: usize,
    pub tracing: bool,
    pub totals: Totals,
    pub last_second: Option<Point>,
}

impl Serialize for Arrival {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            Arrival::Uniform => "uniform",
            Arrival::Poisson => "poisson",
        })
    }
}

/// A request to the controller that could not be done.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error("the new profile needs the shop's catalog, and it could not be read: {0}")]
    Catalog(#[source] crate::journey::CatalogError),
    #[error("the run has finished")]
    Finished,
}

/// The handle on a running load: change its rate or profile, pause, resume, stop, read status.
pub struct Controller {
    plan: watch::Sender<Plan>,
    stop: watch::Sender<bool>,
    state: RwLock<RunState>,
    shop: Arc<Shop>,
    ticks: watch::Sender<Option<Point>>,
    config: RunConfig,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller").finish_non_exhaustive()
    }
}

impl Controller {
    pub fn plan(&self) -> Plan {
        self.plan.borrow().clone()
    }

    pub fn state(&self) -> RunState {
        *self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn set_state(&self, s: RunState) {
        *self.state.write().unwrap_or_else(|e| e.into_inner()) = s;
    }

    fn ensure_live(&self) -> Result<(), ControlError> {
        match self.state() {
            RunState::Stopping | RunState::Finished => Err(ControlError::Finished),
            _ => Ok(()),
        }
    }

    /// Replaces the rate shape; it starts now.
    pub fn set_shape(&self, shape: RateShape) -> Result<(), ControlError> {
        self.ensure_live()?;
        self.plan.send_modify(|p| {
            p.shape = shape;
            p.since = Instant::now();
        });
        Ok(())
    }

    /// Replaces the profile for journeys that start from now on (those under way finish on
    /// the old one). Reads the catalog first if the new profile needs it and it is not known.
    pub async fn set_profile(&self, profile: Profile) -> Result<(), ControlError> {
        self.ensure_live()?;
        let known = !self
            .shop
            .catalog
            .read()
            .map(|c| c.products.is_empty())
            .unwrap_or(true);
        if profile.needs_catalog() && !known {
            let catalog = Catalog::fetch(&self.shop.client)
                .await
                .map_err(ControlError::Catalog)?;
            if let Ok(mut c) = self.shop.catalog.write() {
                *c = Arc::new(catalog);
            }
        }
        let profile = Arc::new(profile);
        self.plan.send_modify(|p| p.profile = profile);
        Ok(())
    }

    pub fn pause(&self) -> Result<(), ControlError> {
        self.ensure_live()?;
        self.plan.send_modify(|p| p.paused = true);
        if self.state() == RunState::Running {
            self.set_state(RunState::Paused);
        }
        apiary_telemetry::metrics::gauge!("apiary_load_paused").set(1.0);
        Ok(())
    }

    pub fn resume(&self) -> Result<(), ControlError> {
        self.ensure_live()?;
        self.plan.send_modify(|p| p.paused = false);
        if self.state() == RunState::Paused {
            self.set_state(RunState::Running);
        }
        apiary_telemetry::metrics::gauge!("apiary_load_paused").set(0.0);
        Ok(())
    }

    /// Ends the run: no new journeys; those under way stop at their next think time.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// The last one-second point, updated by the ticker (the progress bar follows this).
    pub fn ticks(&self) -> watch::Receiver<Option<Point>> {
        self.ticks.subscribe()
    }

    pub fn recorder(&self) -> &Recorder {
        &self.shop.recorder
    }

    pub fn status(&self) -> Status {
        let plan = self.plan();
        Status {
            state: self.state(),
            target: self.config.target.url.clone(),
            profile: plan.profile.origin.clone(),
            journeys: plan
                .profile
                .journeys
                .iter()
                .map(|j| j.name.clone())
                .collect(),
            shape: match self.config.closed_loop {
                Some(users) => format!("closed-loop:{users}"),
                None => plan.shape.to_string(),
            },
            offered_rate: match self.config.closed_loop {
                Some(_) => 0.0,
                None => plan.rate_at(Instant::now()),
            },
            arrival: self.config.arrival,
            seed: self.config.seed,
            duration: self.config.duration.to_string(),
            elapsed_s: self.shop.recorder.elapsed().as_secs_f64(),
            max_in_flight: self.config.max_in_flight,
            tracing: self.config.tracing,
            totals: self.shop.recorder.totals(),
            last_second: self.ticks.borrow().clone(),
        }
    }
}

/// Why a run ended without measuring anything.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("the gateway at {target} never answered with its catalog: {reason}")]
    Catalog {
        target: String,
        #[source]
        reason: crate::journey::CatalogError,
    },
}

/// A started run.
pub struct Run {
    controller: Arc<Controller>,
    task: tokio::task::JoinHandle<Result<Results, RunError>>,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run").finish_non_exhaustive()
    }
}

/// Seeds of successive journeys: splitmix64 of the run seed plus the arrival number, so
/// neighbouring journeys get unrelated random streams.
pub fn journey_seed(seed: u64, arrival: u64) -> u64 {
    let mut z = seed.wrapping_add(arrival.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Run {
    /// Starts the run in the background: fetch the catalog if the profile needs it, then
    /// schedule journeys until the duration ends or [`Controller::stop`].
    pub fn start(config: RunConfig) -> Run {
        let (stop_tx, stop_rx) = watch::channel(false);
        let client = Client::new(config.target.clone(), config.timeout, config.connections);
        let run_id = format!("{:08x}", uuid::Uuid::new_v4().as_u128() as u32);
        let shop = Arc::new(Shop {
            client,
            recorder: Arc::new(Recorder::new()),
            catalog: RwLock::new(Arc::new(Catalog::default())),
            tracing: config.tracing,
            run_id,
            stop: stop_rx,
        });
        let (plan, _) = watch::channel(Plan {
            shape: config.shape,
            since: Instant::now(),
            paused: false,
            profile: Arc::new(config.profile.clone()),
        });
        let (ticks, _) = watch::channel(None);
        let controller = Arc::new(Controller {
            plan,
            stop: stop_tx,
            state: RwLock::new(RunState::Starting),
            shop,
            ticks,
            config,
        });
        let task = tokio::spawn(drive(controller.clone()));
        Run { controller, task }
    }

    pub fn controller(&self) -> Arc<Controller> {
        self.controller.clone()
    }

    /// Waits for the run to end and returns what it measured.
    pub async fn wait(self) -> Result<Results, RunError> {
        match self.task.await {
            Ok(r) => r,
            // The run task does not panic; if it did, report what was recorded.
            Err(_) => Ok(self.controller.shop.recorder.results()),
        }
    }
}

/// Smallest slice the scheduler integrates a changing rate over.
const SLICE: Duration = Duration::from_millis(10);
/// How far ahead it looks for the next arrival before re-checking (a rate of 0 for now).
const LOOKAHEAD: Duration = Duration::from_secs(2);

/// The time the next journey is due after `from`, `gap` arrivals' worth of rate later; None
/// if the rate stays at 0 for the look-ahead.
fn next_arrival(plan: &Plan, from: Instant, mut gap: f64) -> Option<Instant> {
    let slice = SLICE.as_secs_f64();
    let mut t = from;
    let horizon = from + LOOKAHEAD;
    while t < horizon {
        let rate = plan.rate_at(t);
        if rate > 0.0 {
            let dt = gap / rate;
            if dt <= slice {
                return Some(t + Duration::from_secs_f64(dt));
            }
            gap -= rate * slice;
        }
        t += SLICE;
    }
    None
}

/// Counts the arrivals due from `due` (itself included) through `now` and before the
/// deadline, for when none of them can start; returns how many and the first one after them
/// (None if the rate stays at 0 for the look-ahead).
///
/// Uniform arrivals at a rate `r` that holds are `1/r` apart: up to a [`SLICE`] of them is
/// counted in one step. Poisson arrivals draw one gap each, as they would have been launched.
fn refuse_through(
    plan: &Plan,
    mut due: Instant,
    now: Instant,
    deadline: Option<Instant>,
    arrival: Arrival,
    rng: &mut ChaCha8Rng,
) -> (u64, Option<Instant>) {
    // The last instant an arrival may be due at and still be counted here.
    let last = match deadline {
        Some(d) => now.min(d.checked_sub(Duration::from_nanos(1)).unwrap_or(d)),
        None => now,
    };
    let mut count = 0u64;
    while due <= last {
        count += 1;
        let rate = plan.rate_at(due);
        if arrival == Arrival::Uniform && rate > 0.0 {
            let end = last.min(due + SLICE);
            let more = ((end - due).as_secs_f64() * rate).floor();
            // Only where the rate holds to the end of the step (constant, step and spike
            // shapes, a ramp once it has ended); a ramp under way goes one at a time, as
            // `next_arrival` takes each arrival's own rate.
            if more >= 1.0 && plan.rate_at(end) == rate {
                // `more` whole gaps fit before `last`: the last of them is the one counted
                // next time round, so one fewer is counted here.
                count += more as u64 - 1;
                due += Duration::from_secs_f64((more - 1.0) / rate);
            }
        }
        match next_arrival(plan, due, draw_gap(arrival, rng)) {
            Some(t) => due = t,
            None => return (count, None),
        }
    }
    (count, Some(due))
}

fn draw_gap(arrival: Arrival, rng: &mut ChaCha8Rng) -> f64 {
    match arrival {
        Arrival::Uniform => 1.0,
        // Exp(1): -ln(U), U in (0, 1].
        Arrival::Poisson => -(1.0 - rng.random::<f64>()).ln(),
    }
}

async fn drive(controller: Arc<Controller>) -> Result<Results, RunError> {
    let shop = controller.shop.clone();
    let config = controller.config.clone();
    let started = Instant::now();
    let deadline = config.duration.as_duration().map(|d| started + d);
    let mut stop = controller.stop.subscribe();

    if controller.plan().profile.needs_catalog() {
        let mut last_error;
        let mut attempts = 0u32;
        // Bounded by the deadline or a stop; `apiary up` starts the load beside the services,
        // so the gateway may take a few seconds to answer.
        loop {
            match Catalog::fetch(&shop.client).await {
                Ok(catalog) => {
                    tracing::info!(
                        products = catalog.products.len(),
                        categories = catalog.categories.len(),
                        "catalog read from the gateway"
                    );
                    if let Ok(mut c) = shop.catalog.write() {
                        *c = Arc::new(catalog);
                    }
                    break;
                }
                Err(e) => {
                    if attempts == 0 {
                        tracing::warn!(target_url = %config.target.url, error = %e, "waiting for the gateway");
                    }
                    attempts += 1;
                    last_error = e;
                }
            }
            let wait = tokio::time::sleep(Duration::from_secs(1));
            let out_of_time =
                deadline.is_some_and(|d| Instant::now() + Duration::from_secs(1) >= d);
            if out_of_time || *stop.borrow() {
                controller.set_state(RunState::Finished);
                controller.ticks.send_replace(None);
                return Err(RunError::Catalog {
                    target: config.target.url.clone(),
                    reason: last_error,
                });
            }
            tokio::select! {
                () = wait => {}
                () = stopped(&mut stop) => {}
            }
        }
    }

    // Measurements start with the first arrival.
    let recorder = shop.recorder.clone();
    recorder.restart_clock();
    controller.plan.send_modify(|p| p.since = Instant::now());
    controller.set_state(if controller.plan().paused {
        RunState::Paused
    } else {
        RunState::Running
    });

    let slots = Arc::new(Semaphore::new(config.max_in_flight));
    let ticker = tokio::spawn(tick(controller.clone()));
    match config.closed_loop {
        None => schedule(&controller, &slots, deadline).await,
        Some(users) => closed_loop(&controller, &slots, users, deadline).await,
    }

    controller.set_state(RunState::Stopping);
    controller.stop();
    // Journeys under way end at their next think time; a request on the wire ends within the
    // request timeout. Waiting for every slot to come back means they all have.
    let all = u32::try_from(config.max_in_flight).unwrap_or(u32::MAX);
    let drain = config.timeout + Duration::from_secs(1);
    if tokio::time::timeout(drain, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("journeys still under way after the drain time; reporting without them");
    }
    ticker.abort();
    let last = recorder.tick(0.0, Duration::from_secs(1));
    // Finished before the last tick goes out: whoever follows the ticks stops on it.
    controller.set_state(RunState::Finished);
    controller.ticks.send_replace(Some(last));
    Ok(recorder.results())
}

async fn schedule(controller: &Arc<Controller>, slots: &Arc<Semaphore>, deadline: Option<Instant>) {
    let config = &controller.config;
    let mut plan_rx = controller.plan.subscribe();
    let mut stop = controller.stop.subscribe();
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0xA55A_5AA5_0F0F_F0F0);
    let mut plan = plan_rx.borrow_and_update().clone();
    let mut arrival: u64 = 0;
    let workers = Workers::new(controller.shop.clone());
    // However the scheduler returns, its workers end once their journeys do.
    let _closing = Closing(workers.clone());
    let gap = draw_gap(config.arrival, &mut rng);
    // The first journey starts at once: an open model's clock begins with an arrival.
    let mut next = next_arrival(&plan, Instant::now(), gap).map(|_| Instant::now());
    let far = Duration::from_secs(3600);
    loop {
        if *stop.borrow() {
            return;
        }
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            return;
        }
        // With nothing due (rate 0 for now), look again in a second.
        let mut wake = next.unwrap_or(now + Duration::from_secs(1));
        if let Some(d) = deadline {
            wake = wake.min(d);
        }
        // Every slot taken and an arrival coming: also wake when a journey gives its slot back.
        // Waiting for the timer instead left each freed slot idle until the next tick (the
        // timer's resolution is a millisecond), which at high rates idled the generator half
        // the time.
        let saturated = next.is_some() && slots.available_permits() == 0;
        // Some(permit given back, if that is what woke us): run what is due.
        let woke: Option<Option<OwnedSemaphorePermit>> = tokio::select! {
            () = tokio::time::sleep_until(wake.min(now + far).checked_sub(TIMER_SLACK).unwrap_or(now).into()) => Some(None),
            permit = slots.clone().acquire_owned(), if saturated => match permit {
                Ok(permit) => Some(Some(permit)),
                Err(_) => return,
            },
            changed = plan_rx.changed() => {
                if changed.is_err() {
                    return;
                }
                plan = plan_rx.borrow_and_update().clone();
                // The new plan's first arrival is one gap from now at its rate.
                next = next_arrival(&plan, Instant::now(), draw_gap(config.arrival, &mut rng));
                None
            }
            () = stopped(&mut stop) => return,
        };
        let Some(mut given) = woke else { continue };
        // Due within the timer's resolution counts as due (see TIMER_SLACK).
        let now = Instant::now() + TIMER_SLACK;
        let Some(mut due) = next else {
            next = next_arrival(&plan, now, draw_gap(config.arrival, &mut rng));
            continue;
        };
        let mut launched = 0u32;
        while due <= now && deadline.is_none_or(|d| due < d) {
            if given.is_none() && slots.available_permits() == 0 {
                // No journey can start: everything due by now is refused, counted in one pass
                // instead of one launch attempt each.
                let (refused, after) =
                    refuse_through(&plan, due, now, deadline, config.arrival, &mut rng);
                controller.shop.recorder.journeys_not_started(refused);
                arrival += refused;
                match after {
                    Some(t) => {
                        due = t;
                        continue;
                    }
                    None => break,
                }
            }
            let permit = given
                .take()
                .or_else(|| slots.clone().try_acquire_owned().ok());
            launch(controller, &workers, permit, &plan, due, arrival);
            arrival += 1;
            launched += 1;
            if launched.is_multiple_of(1024) {
                // A long catch-up must not starve the journeys it starts.
                tokio::task::yield_now().await;
            }
            match next_arrival(&plan, due, draw_gap(config.arrival, &mut rng)) {
                Some(t) => due = t,
                None => break,
            }
        }
        next = if due > now {
            Some(due)
        } else {
            next_arrival(&plan, now, draw_gap(config.arrival, &mut rng))
        };
    }
}

async fn closed_loop(
    controller: &Arc<Controller>,
    slots: &Arc<Semaphore>,
    users: usize,
    deadline: Option<Instant>,
) {
    let arrivals = Arc::new(std::sync::atomic::AtomicU64::new(0));
    for _ in 0..users.min(controller.config.max_in_flight) {
        let controller = controller.clone();
        let slots = slots.clone();
        let arrivals = arrivals.clone();
        tokio::spawn(async move {
            let stop = controller.stop.subscribe();
            loop {
                if *stop.borrow() || deadline.is_some_and(|d| Instant::now() >= d) {
                    return;
                }
                let plan = controller.plan();
                if plan.paused {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    return;
                };
                let n = arrivals.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let seed = journey_seed(controller.config.seed, n);
                // Intended start = now: a closed loop has no schedule to fall behind.
                journey::run(
                    controller.shop.clone(),
                    plan.profile.clone(),
                    Instant::now(),
                    seed,
                )
                .await;
                drop(permit);
            }
        });
    }
    let mut stop = controller.stop.subscribe();
    match deadline {
        Some(d) => {
            tokio::select! {
                () = tokio::time::sleep_until(d.into()) => {}
                () = stopped(&mut stop) => {}
            }
        }
        None => stopped(&mut stop).await,
    }
}

/// Starts the journey due at `intended` on `permit` (its in-flight slot), or counts it as not
/// started when there was no slot for it.
fn launch(
    controller: &Arc<Controller>,
    workers: &Arc<Workers>,
    permit: Option<OwnedSemaphorePermit>,
    plan: &Plan,
    intended: Instant,
    arrival: u64,
) {
    match permit {
        Some(permit) => workers.start(Order {
            profile: plan.profile.clone(),
            intended,
            seed: journey_seed(controller.config.seed, arrival),
            permit,
        }),
        None => controller.shop.recorder.journey_not_started(),
    }
}

/// A journey to run: what [`launch`] hands a worker.
struct Order {
    profile: Arc<Profile>,
    intended: Instant,
    seed: u64,
    /// The in-flight slot, given back when the journey ends.
    permit: OwnedSemaphorePermit,
}

/// Long-lived tasks that run journeys one after another, as many as have been in flight at
/// once (never more than the in-flight cap). A task per journey cost a task allocation and
/// three copies of the journey's future (3.6 KB: the largest step's request state) into and
/// out of it — 11 % of the generator's instructions against a static endpoint.
struct Workers {
    shop: Arc<Shop>,
    idle: std::sync::Mutex<Vec<Arc<Mailbox>>>,
    /// No more journeys: idle workers end, busy ones when their journey does.
    closed: AtomicBool,
}

/// Where a worker waits for its next journey.
#[derive(Default)]
struct Mailbox {
    order: std::sync::Mutex<Option<Order>>,
    ready: tokio::sync::Notify,
}

impl Workers {
    fn new(shop: Arc<Shop>) -> Arc<Workers> {
        Arc::new(Workers {
            shop,
            idle: std::sync::Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        })
    }

    /// Ends the workers (the scheduler starts no more journeys).
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        for mailbox in self.idle.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            mailbox.ready.notify_one();
        }
    }

    /// Hands `order` to an idle worker, or to a new one when all are busy (each busy worker
    /// holds a slot, so there are never more workers than the in-flight cap).
    fn start(self: &Arc<Self>, order: Order) {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mailbox = idle.unwrap_or_else(|| {
            let mailbox = Arc::new(Mailbox::default());
            tokio::spawn(work(self.clone(), mailbox.clone()));
            mailbox
        });
        *mailbox.order.lock().unwrap_or_else(|e| e.into_inner()) = Some(order);
        mailbox.ready.notify_one();
    }
}

/// Closes the workers when dropped (the scheduler's every way out).
struct Closing(Arc<Workers>);

impl Drop for Closing {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// A worker: runs the journeys put in its mailbox until the run stops.
async fn work(workers: Arc<Workers>, mailbox: Arc<Mailbox>) {
    loop {
        let order = mailbox
            .order
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match order {
            Some(order) => {
                journey::run(
                    workers.shop.clone(),
                    order.profile,
                    order.intended,
                    order.seed,
                )
                .await;
                // Idle again before the slot is given back: whoever takes the slot finds a
                // worker waiting instead of starting another.
                workers
                    .idle
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(mailbox.clone());
                drop(order.permit);
            }
            None if workers.closed.load(Ordering::Acquire) => return,
            None => mailbox.ready.notified().await,
        }
    }
}

async fn tick(controller: Arc<Controller>) {
    let mut interval = tokio::time::interval(Duration::from_secs(1));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval.tick().await;
    let mut last = Instant::now();
    loop {
        interval.tick().await;
        let now = Instant::now();
        let offered = controller.plan().rate_at(now);
        let point = controller.shop.recorder.tick(offered, now - last);
        last = now;
        controller.ticks.send_replace(Some(point));
        // Drains the metrics recorder's histogram buckets even when nobody scrapes /metrics,
        // so a long background run does not accumulate samples.
        apiary_telemetry::prometheus::handle().run_upkeep();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(shape: &str) -> Plan {
        Plan {
            shape: shape.parse().unwrap_or(RateShape::Constant { rate: 0.0 }),
            since: Instant::now(),
            paused: false,
            profile: Arc::new(Profile::builtin_shop().unwrap_or_else(|e| panic!("{e}"))),
        }
    }

    #[test]
    fn arrivals_follow_the_rate_integral() {
        let p = plan("100");
        let t0 = p.since;
        let t = next_arrival(&p, t0, 1.0).map(|t| t - t0);
        assert_eq!(t.map(|d| d.as_micros()), Some(10_000));
        // A ramp from 0: the first arrival comes when the area under the ramp reaches 1.
        let ramp = plan("ramp:0:100:1s");
        let t = next_arrival(&ramp, ramp.since, 1.0).map(|t| (t - ramp.since).as_secs_f64());
        // ∫0..t 100 s dt = 50 t² = 1 → t ≈ 0.141 s (slice-wise integration: within a slice).
        assert!(t.is_some_and(|t| (t - 0.141).abs() < 0.015), "{t:?}");
        let mut paused = plan("100");
        paused.paused = true;
        assert_eq!(next_arrival(&paused, paused.since, 1.0), None);
        assert_eq!(next_arrival(&plan("0"), Instant::now(), 1.0), None);
    }

    /// What the scheduler did before bulk counting: one arrival at a time.
    fn count_one_by_one(
        p: &Plan,
        mut due: Instant,
        now: Instant,
        deadline: Option<Instant>,
        arrival: Arrival,
        rng: &mut ChaCha8Rng,
    ) -> (u64, Option<Instant>) {
        let mut n = 0;
        while due <= now && deadline.is_none_or(|d| due < d) {
            n += 1;
            match next_arrival(p, due, draw_gap(arrival, rng)) {
                Some(t) => due = t,
                None => return (n, None),
            }
        }
        (n, Some(due))
    }

    #[test]
    fn refused_arrivals_are_counted_in_bulk_as_one_by_one() {
        for shape in [
            "200000",
            "ramp:1000:300000:1s",
            "spike:5000:150000:20ms:30ms",
            "37",
        ] {
            let p = plan(shape);
            let start = p.since;
            for window_ms in [0u64, 1, 7, 25, 130] {
                let now = start + Duration::from_millis(window_ms);
                for deadline in [None, Some(start + Duration::from_millis(3))] {
                    let mut a = ChaCha8Rng::seed_from_u64(7);
                    let mut b = ChaCha8Rng::seed_from_u64(7);
                    let bulk = refuse_through(&p, start, now, deadline, Arrival::Uniform, &mut a);
                    let one = count_one_by_one(&p, start, now, deadline, Arrival::Uniform, &mut b);
                    // Float steps of k/r against k steps of 1/r may put one arrival on the
                    // other side of `now`; nothing is lost, it is counted on the next pass.
                    assert!(
                        bulk.0.abs_diff(one.0) <= 1,
                        "{shape} {window_ms} ms: {bulk:?} vs {one:?}"
                    );
                    let next = bulk
                        .1
                        .zip(one.1)
                        .map(|(x, y)| if x > y { x - y } else { y - x });
                    assert!(
                        next.is_some_and(|d| d < Duration::from_micros(50)),
                        "{shape}: {bulk:?} vs {one:?}"
                    );
                    if let Some(d) = deadline {
                        assert!(bulk.1.is_some_and(|t| t >= d || t > now));
                    }
                    // Poisson draws one gap per arrival either way: identical.
                    let mut a = ChaCha8Rng::seed_from_u64(9);
                    let mut b = ChaCha8Rng::seed_from_u64(9);
                    assert_eq!(
                        refuse_through(&p, start, now, deadline, Arrival::Poisson, &mut a),
                        count_one_by_one(&p, start, now, deadline, Arrival::Poisson, &mut b),
                    );
                }
            }
        }
        // 200,000/s over 25 ms: 5,001 arrivals (both ends), give or take the boundary one.
        let p = plan("200000");
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (n, _) = refuse_through(
            &p,
            p.since,
            p.since + Duration::from_millis(25),
            None,
            Arrival::Uniform,
            &mut rng,
        );
        assert!((5_000..=5_001).contains(&n), "{n}");
        // A paused plan has nothing due after the first.
        let mut paused = plan("100");
        paused.paused = true;
        assert_eq!(
            refuse_through(
                &paused,
                paused.since,
                paused.since + Duration::from_secs(1),
                None,
                Arrival::Uniform,
                &mut rng
            ),
            (1, None)
        );
    }

    #[test]
    fn journey_seeds_differ_and_repeat() {
        assert_eq!(journey_seed(1, 2), journey_seed(1, 2));
        assert_ne!(journey_seed(1, 2), journey_seed(1, 3));
        assert_ne!(journey_seed(1, 2), journey_seed(2, 2));
    }
}
