//! Number and time formatting. Every figure keeps a stable width class (tabular digits in the
//! CSS, fixed decimals here) so tiles do not jump as values tick.

/// Requests per second: one decimal below 100, none above.
pub fn rps(v: f64) -> String {
    if !v.is_finite() || v <= 0.0 {
        "0.0".into()
    } else if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// A ratio (0..1) as a percentage with one decimal.
pub fn percent(ratio: f64) -> String {
    if !ratio.is_finite() {
        return "–".into();
    }
    format!("{:.1}%", ratio * 100.0)
}

/// Milliseconds: one decimal below 10 ms, whole numbers below 10 s, then seconds.
pub fn ms(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(v) if !v.is_finite() => "–".into(),
        Some(v) if v < 10.0 => format!("{v:.1} ms"),
        Some(v) if v < 10_000.0 => format!("{v:.0} ms"),
        Some(v) => format!("{:.1} s", v / 1000.0),
    }
}

/// Minor units of a currency as major units with thousands separators: `EUR 1,234.50`.
pub fn money(minor: f64, currency: &str) -> String {
    if !minor.is_finite() {
        return "–".into();
    }
    let cents = minor.round() as i64;
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!(
        "{sign}{currency} {}.{:02}",
        thousands(cents / 100),
        cents % 100
    )
}

pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A per-minute rate with one decimal (a rate is never below zero; a counter reset can make
/// the difference between two scrapes slightly negative).
pub fn per_min(v: f64) -> String {
    if !v.is_finite() {
        "–".into()
    } else {
        format!("{:.1}", v.max(0.0))
    }
}

/// `HH:MM:SS.mmm` (UTC) of unix nanoseconds: log and span times.
pub fn clock_ns(nanos: u64) -> String {
    let ms = nanos / 1_000_000;
    let day_ms = ms % 86_400_000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        day_ms / 3_600_000,
        (day_ms / 60_000) % 60,
        (day_ms / 1000) % 60,
        day_ms % 1000
    )
}

/// `HH:MM:SS` (UTC) of unix milliseconds.
pub fn clock_ms(ms: u64) -> String {
    let s = clock_ns(ms.saturating_mul(1_000_000));
    s[..8].to_owned()
}

/// How long ago, from two unix-millisecond instants: `3 s ago`, `2 min ago`.
pub fn ago(then_ms: u64, now_ms: u64) -> String {
    let secs = now_ms.saturating_sub(then_ms) / 1000;
    match secs {
        0..=1 => "just now".into(),
        2..=119 => format!("{secs} s ago"),
        120..=7199 => format!("{} min ago", secs / 60),
        _ => format!("{} h ago", secs / 3600),
    }
}

/// The first characters of an id, for lists (the whole id is in the link and its title).
pub fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_have_fixed_decimals() {
        assert_eq!(rps(0.0), "0.0");
        assert_eq!(rps(3.07), "3.1");
        assert_eq!(rps(1234.5), "1234");
        assert_eq!(percent(0.0512), "5.1%");
        assert_eq!(ms(Some(2.345)), "2.3 ms");
        assert_eq!(ms(Some(523.4)), "523 ms");
        assert_eq!(ms(Some(12_500.0)), "12.5 s");
        assert_eq!(ms(None), "–");
        assert_eq!(per_min(-0.01), "0.0");
    }

    #[test]
    fn money_is_major_units_with_separators() {
        assert_eq!(money(123_456.0, "EUR"), "EUR 1,234.56");
        assert_eq!(money(5.0, "USD"), "USD 0.05");
        assert_eq!(money(-150.0, "EUR"), "-EUR 1.50");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(thousands(999), "999");
    }

    #[test]
    fn clocks_and_ages() {
        // 1970-01-02 01:02:03.456
        let ns = (86_400_000 + 3_723_456) * 1_000_000;
        assert_eq!(clock_ns(ns), "01:02:03.456");
        assert_eq!(clock_ms(86_400_000 + 3_723_456), "01:02:03");
        assert_eq!(ago(1000, 1500), "just now");
        assert_eq!(ago(0, 30_000), "30 s ago");
        assert_eq!(ago(0, 600_000), "10 min ago");
        assert_eq!(short_id("0123456789abcdef"), "0123456789ab");
        assert_eq!(short_id("ab"), "ab");
    }
}
