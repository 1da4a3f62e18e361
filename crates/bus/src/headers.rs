//! Message headers: trace context (W3C `traceparent`, `tracestate`, `baggage`) and Apiary's own
//! delivery bookkeeping, as AMQP header tables.

use apiary_telemetry::messaging::Carrier;
use lapin::types::{AMQPValue, FieldTable};

/// Which delivery attempt this is (1 for the first publish; a retry republishes with +1).
pub const ATTEMPT: &str = "x-apiary-attempt";
/// When the producer published the message, Unix milliseconds (publish-to-process latency).
pub const SENT_AT_MS: &str = "x-apiary-sent-at-ms";
/// Why a dead-lettered message was given up on.
pub const DEAD_REASON: &str = "x-apiary-dead-reason";
/// The queue a dead-lettered message came from.
pub const DEAD_QUEUE: &str = "x-apiary-dead-queue";

/// The string-valued headers (trace context among them) as a text map.
pub fn carrier(table: Option<&FieldTable>) -> Carrier {
    let mut carrier = Carrier::new();
    for (key, value) in table.into_iter().flat_map(|t| t.inner()) {
        if let Some(text) = text(value) {
            carrier.insert(key.as_str().to_owned(), text);
        }
    }
    carrier
}

/// A string header's value (AMQP long or short string), `None` for other types.
fn text(value: &AMQPValue) -> Option<String> {
    match value {
        AMQPValue::LongString(s) => std::str::from_utf8(s.as_bytes()).ok().map(str::to_owned),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

/// An integer header's value, whatever integer type the sender used.
pub fn integer(table: Option<&FieldTable>, key: &str) -> Option<i64> {
    let value = table?.inner().get(key)?;
    match value {
        AMQPValue::ShortShortInt(v) => Some(i64::from(*v)),
        AMQPValue::ShortShortUInt(v) => Some(i64::from(*v)),
        AMQPValue::ShortInt(v) => Some(i64::from(*v)),
        AMQPValue::ShortUInt(v) => Some(i64::from(*v)),
        AMQPValue::LongInt(v) => Some(i64::from(*v)),
        AMQPValue::LongUInt(v) => Some(i64::from(*v)),
        AMQPValue::LongLongInt(v) => Some(*v),
        AMQPValue::Timestamp(v) => i64::try_from(*v).ok(),
        other => text(other)?.parse().ok(),
    }
}

/// Writes a text map into a header table.
pub fn insert_carrier(table: &mut FieldTable, carrier: &Carrier) {
    for (key, value) in carrier {
        table.insert(
            key.as_str().into(),
            AMQPValue::LongString(value.as_str().into()),
        );
    }
}

/// Writes a string header.
pub fn insert_text(table: &mut FieldTable, key: &str, value: &str) {
    table.insert(key.into(), AMQPValue::LongString(value.into()));
}

/// Writes an integer header.
pub fn insert_integer(table: &mut FieldTable, key: &str, value: i64) {
    table.insert(key.into(), AMQPValue::LongLongInt(value));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_integer_headers_round_trip() {
        let mut table = FieldTable::default();
        let carrier: Carrier = [("traceparent".to_owned(), "00-ab-cd-01".to_owned())].into();
        insert_carrier(&mut table, &carrier);
        insert_integer(&mut table, ATTEMPT, 3);
        insert_text(&mut table, DEAD_REASON, "malformed: missing order_id");
        table.insert("x-small".into(), AMQPValue::ShortUInt(7));

        let read = super::carrier(Some(&table));
        assert_eq!(
            read.get("traceparent").map(String::as_str),
            Some("00-ab-cd-01")
        );
        assert_eq!(
            read.get(DEAD_REASON).map(String::as_str),
            Some("malformed: missing order_id")
        );
        assert_eq!(integer(Some(&table), ATTEMPT), Some(3));
        assert_eq!(integer(Some(&table), "x-small"), Some(7));
        assert_eq!(integer(Some(&table), "missing"), None);
        assert_eq!(integer(None, ATTEMPT), None);
    }
}
