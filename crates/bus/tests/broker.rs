//! The bus against a real RabbitMQ node (started for this test binary): confirms, routing to
//! every bound queue, retries, dead letters with their reason, and a broker restart in the
//! middle. One test function, because a node takes 10-20 s to start.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apiary_bus::topology::{self, events};
use apiary_bus::{
    Broker, Effect, HandlerError, Incoming, Outgoing, Publisher, Subscription, consume,
};
use apiary_testkit::BrokerNode;
use lapin::options::BasicGetOptions;

fn event(id: &str, body: &str) -> Outgoing {
    Outgoing {
        message_id: id.to_owned(),
        routing_key: events::ORDER_PLACED.to_owned(),
        payload: body.as_bytes().to_vec(),
        trace: Default::default(),
    }
}

async fn publisher(broker: &Broker) -> Publisher {
    let connection = broker.connect().await.expect("connect");
    // The connection must outlive the test's publishes.
    let connection: &'static lapin::Connection = Box::leak(Box::new(connection));
    Publisher::open(connection, "test")
        .await
        .expect("confirm channel")
}

/// Polls `check` every 100 ms for at most `secs` seconds.
async fn eventually(secs: u64, what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..secs * 10 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_every_consumer_once_and_poison_is_dead_lettered_with_its_reason() {
    let mut node = BrokerNode::start().await;
    let broker = Broker::new(&node.url(), "bus-test");
    let publisher = publisher(&broker).await;

    // --- A consumer whose inbox is a set: duplicates have no second effect; "poison" bodies
    // are refused, "flaky" ones fail transiently every time.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let inbox: Arc<Mutex<HashSet<String>>> = Arc::default();
    let handler = {
        let seen = seen.clone();
        let inbox = inbox.clone();
        move |msg: Incoming| {
            let seen = seen.clone();
            let inbox = inbox.clone();
            async move {
                let body = String::from_utf8_lossy(&msg.payload).into_owned();
                if body == "poison" {
                    return Err(HandlerError::Poison("not JSON".into()));
                }
                if body == "flaky" {
                    return Err(HandlerError::Retry("store busy".into()));
                }
                if !inbox.lock().expect("inbox").insert(msg.message_id.clone()) {
                    return Ok(Effect::Duplicate);
                }
                seen.lock().expect("seen").push(msg.message_id);
                Ok(Effect::Applied)
            }
        }
    };
    let queue = topology::queue("notifications", events::ORDER_PLACED).expect("queue");
    let mut subscription = Subscription::new(queue);
    subscription.max_attempts = 3;
    let consumer = tokio::spawn(consume::run(
        Broker::new(&node.url(), "bus-test-consumer"),
        subscription,
        handler,
    ));

    // Confirmed publishes reach the consumer; the same message id twice has one effect.
    for id in ["o-1", "o-2", "o-1"] {
        publisher
            .publish(&event(id, "{}"))
            .await
            .expect("confirmed");
    }
    eventually(20, "two distinct effects", async || {
        seen.lock().expect("seen").len() == 2
    })
    .await;

    // Every other bound queue got its copy too (no consumer there: they wait in the queue).
    eventually(10, "shipping's copies", async || {
        node.queue_depth("shipping.order-placed").await == Some(3.0)
    })
    .await;

    // Poison goes to the dead-letter queue at once, with the reason; a transient failure is
    // retried up to the attempts, then dead-lettered saying so.
    publisher
        .publish(&event("p-1", "poison"))
        .await
        .expect("confirmed");
    publisher
        .publish(&event("f-1", "flaky"))
        .await
        .expect("confirmed");
    let dead = queue.dead_letter;
    eventually(30, "both dead letters", async || {
        node.queue_depth(dead).await == Some(2.0)
    })
    .await;
    let connection = broker.connect().await.expect("connect");
    let channel = connection.create_channel().await.expect("channel");
    let mut reasons = Vec::new();
    for _ in 0..2 {
        let got = channel
            .basic_get(dead.into(), BasicGetOptions { no_ack: true })
            .await
            .expect("get")
            .expect("a dead letter");
        let headers = apiary_bus::headers::carrier(got.delivery.properties.headers().as_ref());
        reasons.push(
            headers
                .get(apiary_bus::headers::DEAD_REASON)
                .cloned()
                .unwrap_or_default(),
        );
    }
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "failed 3 times, last: store busy",
            "poison message: not JSON"
        ]
    );

    // --- The broker goes away: publishing fails (the outbox keeps the event), and after the
    // restart the link comes back by itself, durable queues and their messages intact.
    node.restart().await;
    let before = seen.lock().expect("seen").len();
    let fresh = publisher.publish(&event("o-3", "{}")).await;
    assert!(fresh.is_err(), "the old channel died with the broker");
    let publisher = publisher_after_restart(&broker).await;
    publisher
        .publish(&event("o-3", "{}"))
        .await
        .expect("confirmed after restart");
    eventually(
        40,
        "the consumer to reconnect and process o-3",
        async || seen.lock().expect("seen").len() == before + 1,
    )
    .await;
    eventually(
        10,
        "shipping's copies kept across the restart",
        async || node.queue_depth("shipping.order-placed").await == Some(6.0),
    )
    .await;
    consumer.abort();
}

async fn publisher_after_restart(broker: &Broker) -> Publisher {
    for _ in 0..100 {
        if let Ok(connection) = broker.connect().await {
            let connection: &'static lapin::Connection = Box::leak(Box::new(connection));
            if let Ok(p) = Publisher::open(connection, "test").await {
                return p;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the broker did not come back");
}
