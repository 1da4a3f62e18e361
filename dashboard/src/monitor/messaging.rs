//! The asynchronous half of the shop, as the dashboard sees it: every consumer queue of the bus
//! topology with its depth, consumers and dead letters (from the broker's own Prometheus
//! endpoint, `rabbitmq_prometheus`'s per-queue metrics), the consumer's rate and lag (from its
//! `messaging_*` metrics), and each producer's outbox backlog. A queue whose consumer falls
//! behind — depth growing past a floor, lag over a bound, or messages with no consumer —
//! degrades the queue and its consumer.

use std::collections::{BTreeMap, HashMap, VecDeque};

use apiary_bus::topology::{self, QUEUES};

use super::{Health, Messaging, QueueView, Snapshot, round};
use crate::red::{self, Scraped};

/// A queue holding at least this many messages, and more than 10 s ago, is falling behind.
pub const BEHIND_DEPTH: f64 = 20.0;
/// Mean publish-to-processed time over which a consumer is behind.
pub const BEHIND_LAG_S: f64 = 5.0;
/// How far back the depth trend and the consumer rates look.
const DEPTH_TREND_MS: u64 = 10_000;
const RATE_WINDOW_MS: u64 = 5_000;
/// Shipping's gauge of shipments the warehouse has not shipped.
const SHIPMENTS_PENDING: &str = "shop_shipments_pending";

/// One queue as the broker reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QueueStats {
    pub ready: f64,
    pub unacked: f64,
    pub consumers: f64,
}

impl QueueStats {
    pub fn depth(&self) -> f64 {
        self.ready + self.unacked
    }
}

/// The per-queue series of `rabbitmq_prometheus`'s `/metrics/detailed` page.
pub fn parse_broker(text: &str) -> Result<HashMap<String, QueueStats>, red::ParseError> {
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .map_err(red::ParseError)?;
    let mut queues: HashMap<String, QueueStats> = HashMap::new();
    for sample in scrape.samples {
        let (prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Untyped(v)
        | prometheus_parse::Value::Counter(v)) = sample.value
        else {
            continue;
        };
        let Some(queue) = sample.labels.get("queue") else {
            continue;
        };
        let stats = queues.entry(queue.to_owned()).or_default();
        match sample.metric.as_str() {
            "rabbitmq_detailed_queue_messages_ready" => stats.ready = v,
            "rabbitmq_detailed_queue_messages_unacked" => stats.unacked = v,
            "rabbitmq_detailed_queue_consumers" => stats.consumers = v,
            _ => {}
        }
    }
    Ok(queues)
}

/// The broker page the dashboard scrapes (`{base}/metrics/detailed?...`).
pub fn broker_page(metrics_url: &str) -> String {
    let base = metrics_url
        .trim_end_matches('/')
        .trim_end_matches("/metrics");
    format!("{base}/metrics/detailed?family=queue_coarse_metrics&family=queue_consumer_count")
}

/// One scrape of a service's messaging values, at Unix ms.
type Sample = (u64, BTreeMap<String, f64>);

/// What the loop keeps between ticks.
#[derive(Debug, Default)]
pub struct MessagingWatch {
    /// The broker's Prometheus endpoint (`APIARY_BROKER_METRICS_URL`), when there is one.
    broker_metrics: Option<String>,
    /// Event -> the services that publish it (from the manifest).
    producers: BTreeMap<String, Vec<String>>,
    /// Services that take part (publish or consume): only their queues are shown.
    members: Vec<String>,
    broker: Option<Result<HashMap<String, QueueStats>, String>>,
    depths: VecDeque<(u64, HashMap<String, f64>)>,
    /// Per service, its recent `messaging_*` values.
    samples: HashMap<String, VecDeque<Sample>>,
}

impl MessagingWatch {
    /// From the manifest's `publishes` / `consumes`, and the broker's metrics URL.
    pub fn from_manifest(
        manifest: &apiary_manifest::Manifest,
        broker_metrics: Option<String>,
    ) -> Self {
        let mut producers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut members = Vec::new();
        for s in &manifest.services {
            for event in &s.publishes {
                producers
                    .entry(event.clone())
                    .or_default()
                    .push(s.name.clone());
            }
            if s.uses_broker() {
                members.push(s.name.clone());
            }
        }
        Self {
            broker_metrics,
            producers,
            members,
            ..Self::default()
        }
    }

    pub fn broker_url(&self) -> Option<String> {
        self.broker_metrics.as_deref().map(broker_page)
    }

    /// Records one broker scrape (or why it failed).
    pub fn broker_scraped(
        &mut self,
        t_ms: u64,
        result: Result<HashMap<String, QueueStats>, String>,
    ) {
        if let Ok(queues) = &result {
            let depths = queues.iter().map(|(q, s)| (q.clone(), s.depth())).collect();
            self.depths.push_back((t_ms, depths));
            while self
                .depths
                .front()
                .is_some_and(|(t, _)| t_ms.saturating_sub(*t) > DEPTH_TREND_MS)
            {
                self.depths.pop_front();
            }
        }
        self.broker = Some(result);
    }

    /// Records a service's scrape.
    pub fn scraped(&mut self, service: &str, t_ms: u64, scraped: &Scraped) {
        if scraped.messaging.is_empty() {
            return;
        }
        let mut values = scraped.messaging.clone();
        // The warehouse's backlog is a business metric; fulfilment needs it here.
        if let Some(pending) = scraped.business.get(SHIPMENTS_PENDING) {
            values.insert(SHIPMENTS_PENDING.to_owned(), *pending);
        }
        let kept = self.samples.entry(service.to_owned()).or_default();
        kept.push_back((t_ms, values));
        while kept
            .front()
            .is_some_and(|(t, _)| t_ms.saturating_sub(*t) > RATE_WINDOW_MS)
        {
            kept.pop_front();
        }
    }

    /// Fills `snapshot`'s messaging view, degrades consumers that fall behind, and counts the
    /// orders awaiting fulfilment.
    pub fn apply(&self, snapshot: &mut Snapshot) {
        if self.members.is_empty() {
            return;
        }
        let broker_queues = match &self.broker {
            Some(Ok(q)) => Some(q),
            _ => None,
        };
        let mut view = Messaging {
            broker: match (&self.broker_metrics, &self.broker) {
                (None, _) | (_, None) => Health::Unknown,
                (Some(_), Some(Ok(_))) => Health::Up,
                (Some(_), Some(Err(_))) => Health::Down,
            },
            ..Messaging::default()
        };
        for (service, kept) in &self.samples {
            if let Some((_, latest)) = kept.back() {
                let backlog = sum(latest, apiary_bus::metrics::OUTBOX_BACKLOG, &[]);
                if latest
                    .keys()
                    .any(|k| k.starts_with(apiary_bus::metrics::OUTBOX_BACKLOG))
                {
                    view.outbox_backlog.insert(service.clone(), backlog);
                }
            }
        }
        for q in QUEUES
            .iter()
            .filter(|q| self.members.iter().any(|m| m == q.consumer))
        {
            let stats = broker_queues.and_then(|b| b.get(q.name)).copied();
            let dead = broker_queues
                .and_then(|b| b.get(q.dead_letter))
                .map(|s| s.depth());
            let (rate, lag_s) = self.consumer_rates(q.consumer, q.name);
            let mut queue = QueueView {
                queue: q.name.to_owned(),
                exchange: topology::EXCHANGE.to_owned(),
                routing_key: q.binding.to_owned(),
                producers: self.producers.get(q.binding).cloned().unwrap_or_default(),
                consumer: q.consumer.to_owned(),
                depth: stats.map(|s| s.depth()),
                consumers: stats.map(|s| s.consumers),
                dead_letters: dead,
                dead_letters_per_min: self.growth_per_min(q.dead_letter),
                rate,
                lag_s,
                health: if stats.is_some() {
                    Health::Up
                } else {
                    Health::Unknown
                },
                reason: None,
            };
            if let Some(why) = self.behind(q.name, stats, lag_s) {
                queue.health = Health::Degraded;
                queue.reason = Some(why);
            }
            view.queues.push(queue);
        }
        for queue in view.queues.iter().filter(|q| q.health == Health::Degraded) {
            if let Some(s) = snapshot
                .view
                .services
                .iter_mut()
                .find(|s| s.name == queue.consumer && s.health == Health::Up)
            {
                s.health = Health::Degraded;
                s.reason = queue.reason.clone();
            }
            if let Some(d) = snapshot.details.get_mut(&queue.consumer)
                && d.summary.health == Health::Up
            {
                d.summary.health = Health::Degraded;
                d.summary.reason = queue.reason.clone();
            }
        }
        snapshot.view.business.awaiting_fulfilment = self.awaiting_fulfilment(&view);
        snapshot.view.messaging = view;
    }

    /// Why `queue` is behind, if it is.
    fn behind(&self, queue: &str, stats: Option<QueueStats>, lag_s: Option<f64>) -> Option<String> {
        if let Some(s) = stats {
            if s.consumers == 0.0 && s.depth() > 0.0 {
                return Some(format!("no consumer on {queue}: {} waiting", s.depth()));
            }
            let before = self
                .depths
                .front()
                .and_then(|(_, d)| d.get(queue))
                .copied()
                .unwrap_or(0.0);
            if s.depth() >= BEHIND_DEPTH && s.depth() > before {
                return Some(format!(
                    "falling behind on {queue}: {} waiting (was {before} 10 s ago)",
                    s.depth()
                ));
            }
        }
        match lag_s {
            Some(lag) if lag > BEHIND_LAG_S => Some(format!(
                "falling behind on {queue}: messages wait {lag:.1} s"
            )),
            _ => None,
        }
    }

    /// How fast `queue` grew over the depth window, a minute (never negative).
    fn growth_per_min(&self, queue: &str) -> Option<f64> {
        let (t0, first) = self.depths.front()?;
        let (t1, last) = self.depths.back()?;
        let secs = t1.saturating_sub(*t0) as f64 / 1000.0;
        let now = *last.get(queue)?;
        if secs <= 0.0 {
            return Some(0.0);
        }
        let before = first.get(queue).copied().unwrap_or(0.0);
        Some(round(((now - before) * 60.0 / secs).max(0.0)))
    }

    /// Deliveries handled per second, and mean lag, over the kept window.
    fn consumer_rates(&self, service: &str, queue: &str) -> (f64, Option<f64>) {
        let Some(kept) = self.samples.get(service) else {
            return (0.0, None);
        };
        let (Some((t0, first)), Some((t1, last))) = (kept.front(), kept.back()) else {
            return (0.0, None);
        };
        let secs = (t1.saturating_sub(*t0)) as f64 / 1000.0;
        if secs <= 0.0 {
            return (0.0, None);
        }
        let consumed = apiary_bus::metrics::CONSUMED;
        let handled = |m: &BTreeMap<String, f64>| {
            sum(m, consumed, &[("queue", queue), ("outcome", "processed")])
                + sum(m, consumed, &[("queue", queue), ("outcome", "duplicate")])
        };
        let rate = (handled(last) - handled(first)).max(0.0) / secs;
        let lag_sum = format!("{}_sum", apiary_bus::metrics::PUBLISH_TO_PROCESS);
        let lag_count = format!("{}_count", apiary_bus::metrics::PUBLISH_TO_PROCESS);
        let dn = sum(last, &lag_count, &[("queue", queue)])
            - sum(first, &lag_count, &[("queue", queue)]);
        let ds =
            sum(last, &lag_sum, &[("queue", queue)]) - sum(first, &lag_sum, &[("queue", queue)]);
        let lag = (dn > 0.0).then(|| round((ds / dn).max(0.0)));
        (round(rate), lag)
    }

    /// Outbox rows + the shipping queue + shipments not shipped yet.
    fn awaiting_fulfilment(&self, view: &Messaging) -> Option<f64> {
        let shipping = view.queues.iter().find(|q| q.consumer == "shipping")?;
        let pending = self
            .samples
            .get("shipping")
            .and_then(|k| k.back())
            .map_or(0.0, |(_, m)| sum(m, SHIPMENTS_PENDING, &[]));
        let outbox: f64 = view.outbox_backlog.values().sum();
        Some(round(outbox + shipping.depth.unwrap_or(0.0) + pending))
    }
}

/// The sum of every series of `name` whose labels include all of `labels`.
fn sum(values: &BTreeMap<String, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    values
        .iter()
        .filter(|(k, _)| {
            let (metric, rest) = k.split_once('{').unwrap_or((k.as_str(), ""));
            metric == name
                && labels
                    .iter()
                    .all(|(l, v)| rest.contains(&format!("{l}=\"{v}\"")))
        })
        .map(|(_, v)| v)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BROKER_PAGE: &str = r#"# TYPE rabbitmq_detailed_queue_messages_ready gauge
rabbitmq_detailed_queue_messages_ready{vhost="/",queue="notifications.order-placed"} 30
rabbitmq_detailed_queue_messages_ready{vhost="/",queue="notifications.order-placed.dead"} 2
rabbitmq_detailed_queue_messages_ready{vhost="/",queue="shipping.order-placed"} 0
# TYPE rabbitmq_detailed_queue_messages_unacked gauge
rabbitmq_detailed_queue_messages_unacked{vhost="/",queue="notifications.order-placed"} 4
# TYPE rabbitmq_detailed_queue_consumers gauge
rabbitmq_detailed_queue_consumers{vhost="/",queue="notifications.order-placed"} 1
rabbitmq_detailed_queue_consumers{vhost="/",queue="shipping.order-placed"} 0
"#;

    fn watch() -> MessagingWatch {
        MessagingWatch {
            broker_metrics: Some("http://127.0.0.1:15693/metrics".into()),
            producers: BTreeMap::from([("order.placed".into(), vec!["orders".into()])]),
            members: vec!["orders".into(), "notifications".into(), "shipping".into()],
            ..MessagingWatch::default()
        }
    }

    fn scraped(consumed: f64, lag_sum: f64, lag_count: f64) -> Scraped {
        let q = "notifications.order-placed";
        Scraped {
            messaging: BTreeMap::from([
                (
                    format!(
                        "messaging_client_consumed_messages_total{{outcome=\"processed\",queue=\"{q}\"}}"
                    ),
                    consumed,
                ),
                (
                    format!("messaging_publish_to_process_seconds_sum{{queue=\"{q}\"}}"),
                    lag_sum,
                ),
                (
                    format!("messaging_publish_to_process_seconds_count{{queue=\"{q}\"}}"),
                    lag_count,
                ),
            ]),
            ..Scraped::default()
        }
    }

    #[test]
    fn a_consumer_page_parses_into_its_messaging_values() {
        let page = "# TYPE messaging_client_consumed_messages_total counter
messaging_client_consumed_messages_total{queue=\"shipping.order-placed\",outcome=\"processed\"} 36
# TYPE messaging_publish_to_process_seconds histogram
messaging_publish_to_process_seconds_bucket{queue=\"shipping.order-placed\",le=\"0.005\"} 30
messaging_publish_to_process_seconds_bucket{queue=\"shipping.order-placed\",le=\"+Inf\"} 36
messaging_publish_to_process_seconds_sum{queue=\"shipping.order-placed\"} 0.185
messaging_publish_to_process_seconds_count{queue=\"shipping.order-placed\"} 36
# TYPE shop_shipments_pending gauge
shop_shipments_pending 3
";
        let scraped = red::parse(page).expect("parse");
        let q = [("queue", "shipping.order-placed")];
        let m = &scraped.messaging;
        assert_eq!(
            sum(
                m,
                "messaging_client_consumed_messages_total",
                &[("queue", "shipping.order-placed"), ("outcome", "processed")]
            ),
            36.0
        );
        assert_eq!(
            sum(m, "messaging_publish_to_process_seconds_count", &q),
            36.0,
            "{m:?}"
        );
        assert_eq!(
            sum(m, "messaging_publish_to_process_seconds_sum", &q),
            0.185,
            "{m:?}"
        );
        let mut w = watch();
        w.scraped("shipping", 1_000, &scraped);
        assert_eq!(
            w.samples["shipping"][0].1.get(SHIPMENTS_PENDING),
            Some(&3.0)
        );
    }

    #[test]
    fn the_broker_page_gives_depth_consumers_and_dead_letters() {
        let q = parse_broker(BROKER_PAGE).expect("parse");
        let n = q["notifications.order-placed"];
        assert_eq!((n.depth(), n.consumers), (34.0, 1.0));
        assert_eq!(q["notifications.order-placed.dead"].depth(), 2.0);
        assert_eq!(
            broker_page("http://127.0.0.1:15693/metrics"),
            "http://127.0.0.1:15693/metrics/detailed?family=queue_coarse_metrics&family=queue_consumer_count"
        );
    }

    #[test]
    fn a_growing_queue_degrades_its_consumer_and_a_queue_without_consumer_is_named() {
        let mut w = watch();
        let mut early = parse_broker(BROKER_PAGE).expect("parse");
        early.insert(
            "notifications.order-placed".into(),
            QueueStats {
                ready: 5.0,
                unacked: 0.0,
                consumers: 1.0,
            },
        );
        early.remove("notifications.order-placed.dead");
        w.broker_scraped(1_000, Ok(early));
        w.broker_scraped(9_000, Ok(parse_broker(BROKER_PAGE).expect("parse")));
        w.scraped("notifications", 5_000, &scraped(100.0, 10.0, 100.0));
        w.scraped("notifications", 9_000, &scraped(140.0, 30.0, 140.0));
        let mut snap = Snapshot::empty(Default::default());
        snap.view.services.push(dashboard_api::ServiceView {
            name: "notifications".into(),
            health: Health::Up,
            ..Default::default()
        });
        w.apply(&mut snap);
        let m = &snap.view.messaging;
        assert_eq!(m.broker, Health::Up);
        let n = m
            .queues
            .iter()
            .find(|q| q.consumer == "notifications")
            .expect("queue");
        assert_eq!(n.depth, Some(34.0));
        assert_eq!(n.dead_letters, Some(2.0));
        assert_eq!(n.dead_letters_per_min, Some(15.0), "0 -> 2 in 8 s");
        assert_eq!(n.rate, 10.0, "40 handled in 4 s");
        assert_eq!(n.lag_s, Some(0.5), "20 s of lag over 40 messages");
        assert_eq!(n.producers, ["orders"]);
        assert_eq!(n.health, Health::Degraded);
        assert!(
            n.reason
                .as_deref()
                .is_some_and(|r| r.contains("falling behind")),
            "{n:?}"
        );
        assert_eq!(snap.view.services[0].health, Health::Degraded);
        let s = m
            .queues
            .iter()
            .find(|q| q.consumer == "shipping")
            .expect("queue");
        assert_eq!(s.health, Health::Up, "empty, even without a consumer");
        assert_eq!(snap.view.business.awaiting_fulfilment, Some(0.0));
        assert!(
            m.queues.iter().all(|q| q.consumer != "recommendations"),
            "not a member"
        );
    }

    #[test]
    fn without_broker_metrics_the_queues_are_unknown_not_down() {
        let mut w = watch();
        w.broker_scraped(1_000, Err("connection refused".into()));
        let mut snap = Snapshot::empty(Default::default());
        w.apply(&mut snap);
        assert_eq!(snap.view.messaging.broker, Health::Down);
        assert!(
            snap.view
                .messaging
                .queues
                .iter()
                .all(|q| q.health == Health::Unknown && q.depth.is_none())
        );
    }
}
