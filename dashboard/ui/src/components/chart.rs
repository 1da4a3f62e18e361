//! SVG charts of our own: a time-series line chart (with the intervals when faults were
//! active shaded) and the tiles' sparkline. Geometry is computed by plain functions, tested
//! without a browser; the components only draw it.

use leptos::prelude::*;

use crate::types::FaultWindow;

pub const CHART_W: f64 = 600.0;
pub const CHART_H: f64 = 170.0;
/// Left margin for the y labels, bottom margin for the time labels.
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 18.0;
const TOP: f64 = 8.0;

/// Colours for series, distinguishable and named in the legend (never colour alone).
pub const PALETTE: [&str; 8] = [
    "#4e9af1", "#f0a030", "#3cb371", "#d9534f", "#a374d5", "#20b2aa", "#e377c2", "#8c8c8c",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub label: String,
    pub color: &'static str,
    /// (unix ms, value)
    pub points: Vec<(u64, f64)>,
    /// Drawn thicker (the total over routes).
    pub emphasis: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Geometry {
    pub paths: Vec<(String, &'static str, bool)>,
    /// (x, width) of each shaded fault interval.
    pub shades: Vec<(f64, f64)>,
    pub y_max: f64,
    pub t0: u64,
    pub t1: u64,
    pub empty: bool,
}

/// A "nice" axis top at or above `v`: 1, 2 or 5 times a power of ten.
pub fn nice_ceiling(v: f64) -> f64 {
    if !v.is_finite() || v <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if v <= m * mag {
            return m * mag;
        }
    }
    10.0 * mag
}

pub fn geometry(lines: &[Line], faults: &[FaultWindow], min_y_max: f64) -> Geometry {
    let all = lines.iter().flat_map(|l| l.points.iter());
    let (mut t0, mut t1, mut vmax) = (u64::MAX, 0u64, 0f64);
    for &(t, v) in all {
        t0 = t0.min(t);
        t1 = t1.max(t);
        if v.is_finite() {
            vmax = vmax.max(v);
        }
    }
    if t1 <= t0 {
        return Geometry {
            empty: true,
            y_max: nice_ceiling(min_y_max),
            ..Geometry::default()
        };
    }
    let y_max = nice_ceiling(vmax.max(min_y_max));
    let span = (t1 - t0) as f64;
    let x = |t: u64| LEFT + (t.saturating_sub(t0)) as f64 / span * (CHART_W - LEFT);
    let y = |v: f64| TOP + (1.0 - (v / y_max).clamp(0.0, 1.0)) * (CHART_H - TOP - BOTTOM);
    let paths = lines
        .iter()
        .filter(|l| !l.points.is_empty())
        .map(|l| {
            let mut d = String::with_capacity(l.points.len() * 14);
            let mut prev: Option<u64> = None;
            for &(t, v) in &l.points {
                // A gap of more than five seconds (no scrape) breaks the line.
                let cmd = match prev {
                    Some(p) if t.saturating_sub(p) <= 5_000 => 'L',
                    _ => 'M',
                };
                let v = if v.is_finite() { v } else { 0.0 };
                d.push_str(&format!("{cmd}{:.1} {:.1}", x(t), y(v)));
                prev = Some(t);
            }
            (d, l.color, l.emphasis)
        })
        .collect();
    let shades = faults
        .iter()
        .filter_map(|f| {
            let start = f.start.max(t0);
            let end = f.end.unwrap_or(t1).min(t1);
            (end > start).then(|| (x(start), x(end) - x(start)))
        })
        .collect();
    Geometry {
        paths,
        shades,
        y_max,
        t0,
        t1,
        empty: false,
    }
}

/// A clickable column of a chart: its place across the plot (percent) and the window of
/// traces it opens (unix ms).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Column {
    pub left_pct: f64,
    pub width_pct: f64,
    pub from_ms: u64,
    pub to_ms: u64,
}

/// The most columns a chart is cut into (a 15-minute chart: 7.5 s each).
const MAX_COLUMNS: u64 = 120;

/// The plot from `t0` to `t1` cut into columns of whole seconds (at most [`MAX_COLUMNS`]);
/// each opens the traces that ran in its seconds, from the second before its first point (a
/// point is the second that ends at it).
pub fn columns(t0: u64, t1: u64) -> Vec<Column> {
    if t1 <= t0 {
        return Vec::new();
    }
    let span = t1 - t0;
    let n = (span / 1_000).clamp(1, MAX_COLUMNS);
    let step = span.div_ceil(n).div_ceil(1_000) * 1_000;
    (0..n)
        .map(|i| t0 + i * step)
        .take_while(|from| *from < t1)
        .map(|from| {
            let to = (from + step).min(t1);
            Column {
                left_pct: (from - t0) as f64 / span as f64 * 100.0,
                width_pct: ((to - from).max(1) as f64 / span as f64 * 100.0).min(100.0),
                from_ms: from.saturating_sub(1_000),
                to_ms: to,
            }
        })
        .collect()
}

/// The trace search a column opens: `base` (a search such as `/traces?service=catalog`) and
/// the column's window.
pub fn column_href(base: &str, c: &Column) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}from_ms={}&to_ms={}", c.from_ms, c.to_ms)
}

/// A time-series chart: lines, a legend naming them, y labels, the time range, and the
/// intervals when faults were active shaded. With `exemplar` (a trace search), every column
/// of the plot opens the traces of its seconds: the requests behind the point.
#[component]
pub fn LineChart(
    #[prop(into)] title: String,
    #[prop(into)] lines: Signal<Vec<Line>>,
    #[prop(into)] faults: Signal<Vec<FaultWindow>>,
    /// Formats a y value for the axis.
    format: fn(f64) -> String,
    /// The y axis never tops out below this (so a quiet series does not look alarming).
    #[prop(default = 1.0)]
    min_y_max: f64,
    #[prop(optional, into)] empty_text: Option<String>,
    #[prop(optional, into)] exemplar: Option<Signal<String>>,
) -> impl IntoView {
    let geo = Memo::new(move |_| lines.with(|l| faults.with(|f| geometry(l, f, min_y_max))));
    let empty_text = empty_text.unwrap_or_else(|| "No data yet".into());
    let aria = title.clone();
    let overlay = exemplar.map(|base| {
        view! {
            <div class="exemplars" role="group" aria-label="example traces of each moment">
                {move || {
                    geo.with(|g| if g.empty { Vec::new() } else { columns(g.t0, g.t1) })
                        .into_iter()
                        .map(|c| {
                            view! {
                                <a
                                    class="exemplar"
                                    href=base.with(|b| column_href(b, &c))
                                    tabindex="-1"
                                    title=format!(
                                        "example traces from {} to {}",
                                        crate::format::clock_ms(c.from_ms),
                                        crate::format::clock_ms(c.to_ms),
                                    )
                                    style:left=format!("{:.3}%", c.left_pct)
                                    style:width=format!("{:.3}%", c.width_pct)
                                ></a>
                            }
                        })
                        .collect_view()
                }}
            </div>
        }
    });
    view! {
        <figure class="chart">
            <figcaption>{title}</figcaption>
            <div class="chart-plot">
            <svg
                viewBox=format!("0 0 {CHART_W} {CHART_H}")
                role="img"
                aria-label=aria
                preserveAspectRatio="none"
            >
                {move || {
                    geo.with(|g| {
                        g.shades
                            .iter()
                            .map(|(x, w)| {
                                view! {
                                    <rect
                                        class="fault-shade"
                                        x=format!("{x:.1}")
                                        y="0"
                                        width=format!("{w:.1}")
                                        height=format!("{:.1}", CHART_H - BOTTOM)
                                    ></rect>
                                }
                            })
                            .collect_view()
                    })
                }}
                <line class="axis" x1=LEFT y1=CHART_H - BOTTOM x2=CHART_W y2=CHART_H - BOTTOM></line>
                <line class="grid" x1=LEFT y1=TOP x2=CHART_W y2=TOP></line>
                <line
                    class="grid"
                    x1=LEFT
                    y1=(TOP + CHART_H - BOTTOM) / 2.0
                    x2=CHART_W
                    y2=(TOP + CHART_H - BOTTOM) / 2.0
                ></line>
                <text class="tick" x=LEFT - 4.0 y=TOP + 4.0 text-anchor="end">
                    {move || format(geo.with(|g| g.y_max))}
                </text>
                <text class="tick" x=LEFT - 4.0 y=(TOP + CHART_H - BOTTOM) / 2.0 + 4.0 text-anchor="end">
                    {move || format(geo.with(|g| g.y_max / 2.0))}
                </text>
                <text class="tick" x=LEFT - 4.0 y=CHART_H - BOTTOM text-anchor="end">
                    {move || format(0.0)}
                </text>
                <text class="tick" x=LEFT y=CHART_H - 4.0 text-anchor="start">
                    {move || geo.with(|g| if g.empty { String::new() } else { crate::format::clock_ms(g.t0) })}
                </text>
                <text class="tick" x=CHART_W y=CHART_H - 4.0 text-anchor="end">
                    {move || geo.with(|g| if g.empty { String::new() } else { crate::format::clock_ms(g.t1) })}
                </text>
                {move || {
                    geo.with(|g| {
                        g.paths
                            .iter()
                            .map(|(d, color, strong)| {
                                view! {
                                    <path
                                        class=if *strong { "series strong" } else { "series" }
                                        d=d.clone()
                                        stroke=*color
                                    ></path>
                                }
                            })
                            .collect_view()
                    })
                }}
                <text
                    class="chart-empty"
                    x=CHART_W / 2.0
                    y=CHART_H / 2.0
                    text-anchor="middle"
                    style:display=move || if geo.with(|g| g.empty) { "inline" } else { "none" }
                >
                    {empty_text}
                </text>
            </svg>
            {overlay}
            </div>
            <ul class="legend">
                {move || {
                    lines
                        .with(|ls| {
                            ls.iter()
                                .map(|l| {
                                    view! {
                                        <li>
                                            <span class="swatch" style:background=l.color></span>
                                            {l.label.clone()}
                                        </li>
                                    }
                                })
                                .collect_view()
                        })
                }}
            </ul>
        </figure>
    }
    .into_any()
}

/// The path of a sparkline in a 120 x 28 box, scaled to its own maximum.
pub fn sparkline_path(values: &[f64]) -> String {
    if values.len() < 2 {
        return String::new();
    }
    let max = values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let step = 120.0 / (values.len() - 1) as f64;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let v = if v.is_finite() { *v } else { 0.0 };
            format!(
                "{}{:.1} {:.1}",
                if i == 0 { 'M' } else { 'L' },
                i as f64 * step,
                27.0 - (v / max) * 25.0
            )
        })
        .collect()
}

#[component]
pub fn Sparkline(#[prop(into)] values: Signal<Vec<f64>>) -> impl IntoView {
    view! {
        <svg class="spark" viewBox="0 0 120 28" preserveAspectRatio="none" aria-hidden="true">
            <path d=move || values.with(|v| sparkline_path(v))></path>
        </svg>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_tops_are_nice() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(0.7), 1.0);
        assert_eq!(nice_ceiling(1.3), 2.0);
        assert_eq!(nice_ceiling(42.0), 50.0);
        assert_eq!(nice_ceiling(501.0), 1000.0);
    }

    fn line(points: Vec<(u64, f64)>) -> Line {
        Line {
            label: "x".into(),
            color: PALETTE[0],
            points,
            emphasis: false,
        }
    }

    #[test]
    fn faults_are_shaded_within_the_time_range_only() {
        let lines = [line(vec![(1_000, 1.0), (2_000, 2.0), (3_000, 1.0)])];
        let faults = [
            FaultWindow {
                name: "slow".into(),
                start: 2_000,
                end: None,
                ..FaultWindow::default()
            },
            FaultWindow {
                name: "before".into(),
                start: 0,
                end: Some(500),
                ..FaultWindow::default()
            },
        ];
        let g = geometry(&lines, &faults, 1.0);
        assert_eq!(
            g.shades.len(),
            1,
            "the fault that ended before the range is not drawn"
        );
        let (x, w) = g.shades[0];
        assert!((x - (LEFT + (CHART_W - LEFT) / 2.0)).abs() < 0.01);
        assert!(
            (x + w - CHART_W).abs() < 0.01,
            "an active fault runs to the right edge"
        );
        assert_eq!(g.y_max, 2.0);
        assert!(geometry(&lines, &[], 1.0).shades.is_empty());
    }

    #[test]
    fn columns_cover_the_plot_in_whole_seconds() {
        // Five minutes: 100 columns of 3 s (120 would be 2.5 s; columns are whole seconds).
        let c = columns(1_000_000, 1_300_000);
        assert_eq!(c.len(), 100);
        assert_eq!(c[0].from_ms, 999_000);
        assert_eq!(c[0].to_ms, 1_003_000);
        assert!((c[1].left_pct - 1.0).abs() < 1e-9);
        assert!(c.iter().all(|c| c.to_ms > c.from_ms));
        let last = c.last().expect("columns");
        assert_eq!(last.to_ms, 1_300_000);
        assert!((last.left_pct + last.width_pct - 100.0).abs() < 1e-9);
        // Ten seconds: one column a second.
        assert_eq!(columns(0, 10_000).len(), 10);
        assert_eq!(columns(0, 400).len(), 1);
        assert!(columns(5, 5).is_empty());
        assert_eq!(
            column_href("/traces?service=catalog", &c[0]),
            "/traces?service=catalog&from_ms=999000&to_ms=1003000"
        );
        assert_eq!(
            column_href("/traces", &c[0]),
            "/traces?from_ms=999000&to_ms=1003000"
        );
    }

    #[test]
    fn gaps_break_lines_and_no_points_is_empty() {
        let g = geometry(
            &[line(vec![(0, 1.0), (1_000, 1.0), (60_000, 1.0)])],
            &[],
            1.0,
        );
        assert_eq!(g.paths[0].0.matches('M').count(), 2);
        assert!(geometry(&[line(vec![])], &[], 1.0).empty);
        assert!(sparkline_path(&[1.0]).is_empty());
        assert!(sparkline_path(&[0.0, 2.0, 1.0]).starts_with("M0.0 27.0L60.0 2.0"));
    }
}
