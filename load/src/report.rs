//! What a run leaves behind: the summary table on the terminal, the `--output` JSON and the
//! `--plot` SVG (latency over time above, offered vs achieved rate and errors below).

use std::fmt::Write as _;

use serde::Serialize;

use crate::engine::RunConfig;
use crate::stats::{Point, Results};

/// The `--output` document.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    pub run: RunInfo,
    pub results: &'a Results,
}

#[derive(Debug, Serialize)]
pub struct RunInfo {
    pub target: String,
    pub profile: String,
    pub shape: String,
    pub arrival: crate::profile::Arrival,
    pub duration: String,
    pub seed: u64,
    pub max_in_flight: usize,
    pub connections: Option<usize>,
    pub timeout_ms: u64,
    pub tracing: bool,
    pub version: &'static str,
}

impl RunInfo {
    pub fn of(config: &RunConfig) -> Self {
        RunInfo {
            target: config.target.url.clone(),
            profile: config.profile.origin.clone(),
            shape: match config.closed_loop {
                Some(users) => format!("closed-loop:{users}"),
                None => config.shape.to_string(),
            },
            arrival: config.arrival,
            duration: config.duration.to_string(),
            seed: config.seed,
            max_in_flight: config.max_in_flight,
            connections: config.connections,
            timeout_ms: config.timeout.as_millis() as u64,
            tracing: config.tracing,
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The table printed at the end of a run.
pub fn summary_table(info: &RunInfo, r: &Results) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "apiary load: {:.1} s against {} (profile: {}, shape {}, {} arrivals, seed {})",
        r.elapsed_s,
        info.target,
        info.profile,
        info.shape,
        arrival_name(info.arrival),
        info.seed
    );
    let (completed, failed, cut): (u64, u64, u64) = r.journeys.iter().fold((0, 0, 0), |a, j| {
        (a.0 + j.completed, a.1 + j.failed, a.2 + j.cut_short)
    });
    let _ = writeln!(
        out,
        "journeys: {} started ({:.1}/s), {} not started (in-flight cap {}), {completed} completed, {failed} failed, {cut} cut short",
        r.journeys_started, r.achieved_journey_rate, r.journeys_not_started, info.max_in_flight
    );
    let errors = if r.errors_by_class.is_empty() {
        String::new()
    } else {
        format!(
            ": {}",
            r.errors_by_class
                .iter()
                .map(|(k, v)| format!("{k} x{v}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let _ = writeln!(
        out,
        "requests: {} ({:.1}/s), {} errors{errors}",
        r.requests, r.achieved_request_rate, r.errors
    );
    let _ = writeln!(
        out,
        "\nlatency from the intended start (ms, corrected for coordinated omission)"
    );
    let _ = writeln!(
        out,
        "{:<17}{:>9}{:>8}{:>9}{:>8}{:>8}{:>9}{:>9}{:>9}{:>9}{:>9}",
        "step",
        "requests",
        "ok",
        "rejected",
        "errors",
        "skipped",
        "p50",
        "p90",
        "p99",
        "p99.9",
        "max"
    );
    for s in &r.steps {
        let rejected: u64 = s.rejected.values().sum();
        let errors: u64 = s.errors.values().sum();
        let _ = writeln!(
            out,
            "{:<17}{:>9}{:>8}{:>9}{:>8}{:>8}{:>9}{:>9}{:>9}{:>9}{:>9}",
            s.step,
            s.requests,
            s.ok,
            rejected,
            errors,
            s.skipped,
            ms(s.latency_ms.p50),
            ms(s.latency_ms.p90),
            ms(s.latency_ms.p99),
            ms(s.latency_ms.p999),
            ms(s.latency_ms.max)
        );
    }
    let l = &r.latency_ms;
    let _ = writeln!(
        out,
        "{:<17}{:>9}{:>8}{:>9}{:>8}{:>8}{:>9}{:>9}{:>9}{:>9}{:>9}",
        "all",
        r.requests,
        "",
        "",
        r.errors,
        "",
        ms(l.p50),
        ms(l.p90),
        ms(l.p99),
        ms(l.p999),
        ms(l.max)
    );
    let st = &r.service_time_ms;
    let _ = writeln!(
        out,
        "{:<17}{:>9}{:>8}{:>9}{:>8}{:>8}{:>9}{:>9}{:>9}{:>9}{:>9}",
        "(service time)",
        "",
        "",
        "",
        "",
        "",
        ms(st.p50),
        ms(st.p90),
        ms(st.p99),
        ms(st.p999),
        ms(st.max)
    );
    if !r.journeys.is_empty() {
        let _ = writeln!(
            out,
            "\njourneys (time spent waiting for answers, ms; think times excluded)"
        );
        let _ = writeln!(
            out,
            "{:<22}{:>9}{:>10}{:>8}{:>6}{:>9}{:>9}{:>9}",
            "journey", "started", "completed", "failed", "cut", "p50", "p99", "max"
        );
        for j in &r.journeys {
            let _ = writeln!(
                out,
                "{:<22}{:>9}{:>10}{:>8}{:>6}{:>9}{:>9}{:>9}",
                j.journey,
                j.started,
                j.completed,
                j.failed,
                j.cut_short,
                ms(j.active_ms.p50),
                ms(j.active_ms.p99),
                ms(j.active_ms.max)
            );
        }
    }
    if let Some(slow) = r.slowest.first() {
        let _ = writeln!(
            out,
            "\nslowest: {} ms {} ({}) at {:.1} s{}",
            ms(slow.latency_ms),
            slow.step,
            slow.status
                .map_or("no response".to_owned(), |s| s.to_string()),
            slow.at,
            slow.trace_id
                .as_deref()
                .map(|t| format!(", trace {t}"))
                .unwrap_or_default()
        );
    }
    out
}

fn arrival_name(a: crate::profile::Arrival) -> &'static str {
    match a {
        crate::profile::Arrival::Uniform => "uniform",
        crate::profile::Arrival::Poisson => "poisson",
    }
}

/// A self-contained SVG: p50/p90/p99/max latency per second (log scale) above, offered vs
/// started journeys per second and errors per second below.
pub fn plot_svg(info: &RunInfo, r: &Results) -> String {
    const W: f64 = 960.0;
    const LEFT: f64 = 70.0;
    const RIGHT: f64 = 20.0;
    const TOP1: f64 = 50.0;
    const H1: f64 = 260.0;
    const TOP2: f64 = 360.0;
    const H2: f64 = 150.0;
    let height = TOP2 + H2 + 50.0;
    let pts: &[Point] = &r.series;
    let t_max = pts.last().map_or(1.0, |p| p.t).max(1.0);
    let x = |t: f64| LEFT + (t / t_max) * (W - LEFT - RIGHT);

    // Latency axis: log10 from a decade below the smallest p50 to a decade above the max.
    let lat_values: Vec<f64> = pts
        .iter()
        .flat_map(|p| [p.p50_ms, p.max_ms])
        .filter(|v| *v > 0.0)
        .collect();
    let lo = lat_values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = lat_values.iter().copied().fold(0.0, f64::max);
    let (dec_lo, dec_hi) = if lat_values.is_empty() {
        (-1.0, 3.0)
    } else {
        (
            lo.log10().floor(),
            hi.log10().ceil().max(lo.log10().floor() + 1.0),
        )
    };
    let y_lat = |v: f64| {
        let l = v.max(10f64.powf(dec_lo)).log10();
        TOP1 + H1 - (l - dec_lo) / (dec_hi - dec_lo) * H1
    };
    let rate_hi = pts
        .iter()
        .flat_map(|p| {
            [
                p.offered_rate,
                (p.journeys_started + p.journeys_not_started) as f64,
                p.errors as f64,
            ]
        })
        .fold(1.0, f64::max)
        * 1.1;
    let y_rate = |v: f64| TOP2 + H2 - (v / rate_hi) * H2;

    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" viewBox="0 0 {W} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = write!(
        s,
        r#"<text x="{LEFT}" y="22" font-size="15" font-weight="bold">{}</text>"#,
        escape(&format!(
            "Latency over time (from intended start) - {} - {}",
            info.target, info.shape
        ))
    );
    // Latency grid and labels, one per decade.
    let mut d = dec_lo;
    while d <= dec_hi + 1e-9 {
        let v = 10f64.powf(d);
        let y = y_lat(v);
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{} ms</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            trim(v)
        );
        d += 1.0;
    }
    let series: [Line; 4] = [
        ("p50", "#1f77b4", |p| p.p50_ms, 2.0),
        ("p90", "#2ca02c", |p| p.p90_ms, 1.5),
        ("p99", "#ff7f0e", |p| p.p99_ms, 2.0),
        ("max", "#d62728", |p| p.max_ms, 1.0),
    ];
    for (i, (name, color, f, width)) in series.iter().enumerate() {
        let path: Vec<String> = pts
            .iter()
            .filter(|p| p.requests > 0)
            .map(|p| format!("{:.1},{:.1}", x(p.t), y_lat(f(p))))
            .collect();
        if path.len() > 1 {
            let _ = write!(
                s,
                r#"<polyline fill="none" stroke="{color}" stroke-width="{width}" points="{}"/>"#,
                path.join(" ")
            );
        }
        let lx = LEFT + 10.0 + i as f64 * 70.0;
        let _ = write!(
            s,
            r#"<rect x="{lx}" y="{:.1}" width="14" height="3" fill="{color}"/><text x="{:.1}" y="{:.1}">{name}</text>"#,
            TOP1 - 12.0,
            lx + 18.0,
            TOP1 - 8.0
        );
    }
    // Rate panel.
    let _ = write!(
        s,
        r#"<text x="{LEFT}" y="{:.1}" font-size="13" font-weight="bold">Journeys per second: offered (target) vs due vs errors per second</text>"#,
        TOP2 - 14.0
    );
    for frac in [0.0, 0.5, 1.0] {
        let v = rate_hi * frac;
        let y = y_rate(v);
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            trim(v)
        );
    }
    let bar_w = ((W - LEFT - RIGHT) / pts.len().max(1) as f64).max(1.0);
    for p in pts.iter().filter(|p| p.errors > 0) {
        let y = y_rate(p.errors as f64);
        let _ = write!(
            s,
            r##"<rect x="{:.1}" y="{y:.1}" width="{bar_w:.1}" height="{:.1}" fill="#d62728" opacity="0.5"/>"##,
            x(p.t) - bar_w,
            TOP2 + H2 - y
        );
    }
    let rate_lines: [(&str, &str, Metric); 2] = [
        ("offered", "#7f7f7f", |p| p.offered_rate),
        ("started", "#1f77b4", |p| p.journeys_started as f64),
    ];
    for (i, (name, color, f)) in rate_lines.iter().enumerate() {
        let path: Vec<String> = pts
            .iter()
            .map(|p| format!("{:.1},{:.1}", x(p.t), y_rate(f(p))))
            .collect();
        if path.len() > 1 {
            let _ = write!(
                s,
                r#"<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{}"/>"#,
                path.join(" ")
            );
        }
        let lx = W - RIGHT - 250.0 + i as f64 * 80.0;
        let _ = write!(
            s,
            r#"<rect x="{lx}" y="{:.1}" width="14" height="3" fill="{color}"/><text x="{:.1}" y="{:.1}">{name}</text>"#,
            TOP2 - 18.0,
            lx + 18.0,
            TOP2 - 14.0
        );
    }
    let lx = W - RIGHT - 90.0;
    let _ = write!(
        s,
        r##"<rect x="{lx}" y="{:.1}" width="14" height="8" fill="#d62728" opacity="0.5"/><text x="{:.1}" y="{:.1}">errors</text>"##,
        TOP2 - 22.0,
        lx + 18.0,
        TOP2 - 14.0
    );
    // Time axis.
    let step = nice_step(t_max / 8.0);
    let mut t = 0.0;
    while t <= t_max + 1e-9 {
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}s</text>"#,
            x(t),
            TOP2 + H2 + 18.0,
            trim(t)
        );
        t += step;
    }
    let _ = write!(
        s,
        r##"<text x="{LEFT}" y="{:.1}" fill="#555">{} requests, {} errors, p99 {} ms (service time p99 {} ms)</text>"##,
        height - 10.0,
        r.requests,
        r.errors,
        ms(r.latency_ms.p99),
        ms(r.service_time_ms.p99)
    );
    s.push_str("</svg>\n");
    s
}

/// Reads one value of a point.
type Metric = fn(&Point) -> f64;
/// A plotted line: label, colour, value, stroke width.
type Line = (&'static str, &'static str, Metric, f64);

fn nice_step(raw: f64) -> f64 {
    let mag = 10f64.powf(raw.max(1e-9).log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * mag >= raw {
            return m * mag;
        }
    }
    10.0 * mag
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
