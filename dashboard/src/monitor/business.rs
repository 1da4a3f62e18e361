//! The shop's KPIs (orders, revenue, conversion, failures, ...) from one minute of `shop_*`
//! counter changes.

use std::collections::BTreeMap;

use super::{Business, round};

fn sum_matching(counters: &BTreeMap<String, f64>, name: &str) -> f64 {
    counters
        .iter()
        .filter(|(k, _)| *k == name || k.starts_with(&format!("{name}{{")))
        .map(|(_, v)| v)
        .sum()
}

/// `{label="value"}` of a counter key, by label name.
fn by_label(counters: &BTreeMap<String, f64>, name: &str, label: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let prefix = format!("{name}{{");
    let needle = format!("{label}=\"");
    for (k, v) in counters.iter().filter(|(k, _)| k.starts_with(&prefix)) {
        if let Some(rest) = k.split(&needle).nth(1)
            && let Some(value) = rest.split('"').next()
        {
            *out.entry(value.to_owned()).or_default() += v;
        }
    }
    out
}

/// The KPIs from one minute of `shop_*` counter changes. Metric names are the storefront's
/// contract: `shop_orders_placed_total`, `shop_orders_failed_total`,
/// `shop_revenue_minor_total{currency}`, `shop_cart_additions_total`,
/// `shop_checkouts_started_total`, `shop_checkouts_completed_total`,
/// `shop_payment_failures_total{reason}`, `shop_stockouts_total`, `shop_product_views_total`.
pub fn business(counters: &BTreeMap<String, f64>, secs: f64) -> Business {
    // A counter that went backwards was reset (its process restarted): no negative rates,
    // and no "-0".
    let per_min = |v: f64| {
        let r = if secs > 0.0 {
            round(v * 60.0 / secs)
        } else {
            0.0
        };
        if r > 0.0 { r } else { 0.0 }
    };
    let orders = sum_matching(counters, "shop_orders_placed_total");
    let revenue = by_label(counters, "shop_revenue_minor_total", "currency");
    let started = sum_matching(counters, "shop_checkouts_started_total");
    let completed = sum_matching(counters, "shop_checkouts_completed_total");
    Business {
        window_seconds: round(secs),
        orders_per_min: per_min(orders),
        orders_failed_per_min: per_min(sum_matching(counters, "shop_orders_failed_total")),
        revenue_per_min: revenue
            .iter()
            .map(|(c, v)| (c.clone(), per_min(*v)))
            .collect(),
        average_order_value: if orders > 0.0 {
            revenue
                .iter()
                .map(|(c, v)| (c.clone(), round(v / orders)))
                .collect()
        } else {
            BTreeMap::new()
        },
        conversion: (started > 0.0).then(|| round((completed / started).min(1.0))),
        cart_additions_per_min: per_min(sum_matching(counters, "shop_cart_additions_total")),
        checkouts_started_per_min: per_min(started),
        checkouts_completed_per_min: per_min(completed),
        payment_failures_per_min: by_label(counters, "shop_payment_failures_total", "reason")
            .into_iter()
            .map(|(k, v)| (k, per_min(v)))
            .collect(),
        stockouts_per_min: per_min(sum_matching(counters, "shop_stockouts_total")),
        product_views_per_min: per_min(sum_matching(counters, "shop_product_views_total")),
        carts_lost_per_min: per_min(sum_matching(counters, "shop_carts_lost_total")),
        // Filled from the queues and the warehouse by the messaging view.
        awaiting_fulfilment: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_kpis_come_from_counter_changes() {
        let mut c = BTreeMap::new();
        c.insert("shop_orders_placed_total".to_owned(), 10.0);
        c.insert(
            "shop_revenue_minor_total{currency=\"EUR\"}".to_owned(),
            25_000.0,
        );
        c.insert("shop_checkouts_started_total".to_owned(), 20.0);
        c.insert("shop_checkouts_completed_total".to_owned(), 10.0);
        c.insert(
            "shop_payment_failures_total{reason=\"declined\"}".to_owned(),
            3.0,
        );
        let b = business(&c, 60.0);
        assert_eq!(b.orders_per_min, 10.0);
        assert_eq!(b.revenue_per_min["EUR"], 25_000.0);
        assert_eq!(b.average_order_value["EUR"], 2_500.0);
        assert_eq!(b.conversion, Some(0.5));
        assert_eq!(b.payment_failures_per_min["declined"], 3.0);
        assert_eq!(b.product_views_per_min, 0.0);
        c.insert("shop_product_views_total".to_owned(), 30.0);
        assert_eq!(business(&c, 60.0).product_views_per_min, 30.0);
        assert_eq!(business(&BTreeMap::new(), 0.0).conversion, None);
    }
}
