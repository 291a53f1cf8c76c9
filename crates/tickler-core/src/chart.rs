//! Charts drawn on the server as SVG (no JavaScript, no external service), the tables of
//! their numbers, and the buckets they count in: months of civil dates, and local days of
//! instants in a time zone.
//!
//! A chart is a row of stacked bars. Every series has a colour and a pattern of its own (solid,
//! hatched, dotted, ...), and the legend names it, so that no series is told apart by colour
//! alone; every segment carries a `<title>` with its label and value, and the chart as a whole
//! is an image (`role="img"`) labelled by its title and description. Its numbers are also a
//! [`Table`], shown beneath it and downloadable as CSV.

use std::fmt::Write as _;

use jiff::{
    Timestamp, ToSpan,
    civil::{Date, Time},
    tz::TimeZone,
};

use crate::{schedule::local_instant, spreadsheet::to_spreadsheet};

/// One stacked part of every bar: "renewed", "sent", ...
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub label: String,
    /// A CSS colour.
    pub colour: &'static str,
}

/// One bar: its label on the axis and one value per series (none negative).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    pub label: String,
    /// The label of the bar's segments' tooltips ("March 2027"); `label` when empty.
    pub long_label: String,
    pub values: Vec<i64>,
}

/// A chart of stacked bars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarChart {
    /// Unique on the page: the prefix of the SVG's element ids.
    pub id: String,
    pub title: String,
    /// One sentence saying what the bars show, read by screen readers.
    pub description: String,
    pub series: Vec<Series>,
    pub bars: Vec<Bar>,
    /// A dashed vertical line before this bar, labelled (e.g. "today").
    pub marker: Option<(usize, String)>,
    /// Show the axis label of every n-th bar only (1 = all), for many narrow bars.
    pub label_every: usize,
}

/// The drawing's size in SVG user units; the page scales it to its width.
pub const WIDTH: f64 = 720.0;
pub const HEIGHT: f64 = 320.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 46.0;

/// The plotting area: x, y (top), width, height.
pub const PLOT: (f64, f64, f64, f64) = (LEFT, TOP, WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);

/// Where a segment is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// The value axis: from 0 to `top` in steps of `step` (1, 2 or 5 times a power of ten).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Axis {
    pub top: i64,
    pub step: i64,
}

/// An axis whose top is at least `max` (and at least 1), in 2 to 5 "nice" steps.
pub fn axis_for(max: i64) -> Axis {
    let max = max.max(1);
    let mut magnitude: i64 = 1;
    loop {
        for factor in [1, 2, 5] {
            let Some(step) = magnitude.checked_mul(factor) else {
                return Axis {
                    top: max,
                    step: max,
                };
            };
            // At most 5 steps above zero.
            if step.saturating_mul(5) >= max {
                let steps = (max - 1) / step + 1;
                return Axis {
                    top: step.saturating_mul(steps),
                    step,
                };
            }
        }
        match magnitude.checked_mul(10) {
            Some(next) => magnitude = next,
            None => {
                return Axis {
                    top: max,
                    step: max,
                };
            }
        }
    }
}

impl BarChart {
    /// The tallest stack.
    pub fn max_total(&self) -> i64 {
        self.bars
            .iter()
            .map(|b| {
                b.values
                    .iter()
                    .map(|v| (*v).max(0))
                    .fold(0i64, i64::saturating_add)
            })
            .max()
            .unwrap_or(0)
    }

    pub fn axis(&self) -> Axis {
        axis_for(self.max_total())
    }

    /// Each bar's segments, bottom up, one per series (zero height for a zero value).
    pub fn layout(&self) -> Vec<Vec<Rect>> {
        let (x0, y0, width, height) = PLOT;
        let axis = self.axis();
        let slot = width / self.bars.len().max(1) as f64;
        let bar_width = (slot * 0.7).max(1.0).min(slot);
        let scale = height / axis.top as f64;
        self.bars
            .iter()
            .enumerate()
            .map(|(i, bar)| {
                let x = x0 + slot * i as f64 + (slot - bar_width) / 2.0;
                let mut base = 0i64;
                bar.values
                    .iter()
                    .map(|value| {
                        let value = (*value).max(0);
                        let bottom = y0 + height - base as f64 * scale;
                        base = base.saturating_add(value);
                        let top = (y0 + height - base as f64 * scale).max(y0);
                        Rect {
                            x,
                            y: top,
                            width: bar_width,
                            height: (bottom - top).max(0.0),
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// The chart as an inline `<svg>` element; `format` writes a value as the axis and the
    /// tooltips show it ("€1,200", "3").
    pub fn to_svg(&self, format: &dyn Fn(i64) -> String) -> String {
        let id = xml(&self.id);
        let (x0, y0, width, height) = PLOT;
        let axis = self.axis();
        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{id}-title {id}-desc" preserveAspectRatio="xMidYMid meet">"#
        );
        let _ = write!(
            svg,
            r#"<title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
            xml(&self.title),
            xml(&self.description)
        );
        svg.push_str("<defs>");
        for (i, series) in self.series.iter().enumerate() {
            svg.push_str(&pattern(&self.id, i, series.colour));
        }
        svg.push_str("</defs>");
        // Legend: a swatch in the series' pattern and its name, left to right.
        let mut x = x0;
        for (i, series) in self.series.iter().enumerate() {
            let _ = write!(
                svg,
                r##"<g class="legend"><rect x="{x:.1}" y="8" width="16" height="16" fill="url(#{id}-p{i})" stroke="{c}"/><text x="{tx:.1}" y="21">{label}</text></g>"##,
                c = series.colour,
                tx = x + 22.0,
                label = xml(&series.label)
            );
            x += 34.0 + 7.0 * series.label.chars().count() as f64;
        }
        // Grid lines and the value axis.
        let mut tick = 0i64;
        while tick <= axis.top {
            let y = y0 + height - tick as f64 * height / axis.top as f64;
            let _ = write!(
                svg,
                r##"<line class="grid" x1="{x0}" x2="{x1}" y1="{y:.1}" y2="{y:.1}" stroke="#ccc"/><text class="tick" x="{tx}" y="{ty:.1}" text-anchor="end">{label}</text>"##,
                x1 = x0 + width,
                tx = x0 - 6.0,
                ty = y + 4.0,
                label = xml(&format(tick))
            );
            match tick.checked_add(axis.step) {
                Some(next) => tick = next,
                None => break,
            }
        }
        // Bars, bottom segment first.
        let slot = width / self.bars.len().max(1) as f64;
        let every = self.label_every.max(1);
        for (i, (bar, rects)) in self.bars.iter().zip(self.layout()).enumerate() {
            let long = if bar.long_label.is_empty() {
                &bar.label
            } else {
                &bar.long_label
            };
            svg.push_str(r#"<g class="bar">"#);
            for (s, (rect, value)) in rects.iter().zip(&bar.values).enumerate() {
                if *value <= 0 {
                    continue;
                }
                let name = self.series.get(s).map(|s| s.label.as_str()).unwrap_or("");
                let colour = self.series.get(s).map(|s| s.colour).unwrap_or("#666");
                let _ = write!(
                    svg,
                    r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="url(#{id}-p{s})" stroke="{colour}"><title>{}, {}: {}</title></rect>"##,
                    rect.x,
                    rect.y,
                    rect.width,
                    rect.height,
                    xml(long),
                    xml(name),
                    xml(&format(*value))
                );
            }
            svg.push_str("</g>");
            if i % every == 0 {
                let _ = write!(
                    svg,
                    r#"<text class="label" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                    x0 + slot * (i as f64 + 0.5),
                    y0 + height + 18.0,
                    xml(&bar.label)
                );
            }
        }
        if let Some((at, label)) = &self.marker {
            let x = x0 + slot * *at as f64;
            let _ = write!(
                svg,
                r##"<line class="marker" x1="{x:.1}" x2="{x:.1}" y1="{y0}" y2="{y1}" stroke="#333" stroke-dasharray="4 3"/><text class="marker" x="{x:.1}" y="{ty}" text-anchor="middle">{}</text>"##,
                xml(label),
                y1 = y0 + height,
                ty = y0 + height + 36.0
            );
        }
        let _ = write!(
            svg,
            r##"<line x1="{x0}" x2="{x1}" y1="{y:.1}" y2="{y:.1}" stroke="#333"/></svg>"##,
            x1 = x0 + width,
            y = y0 + height
        );
        svg
    }
}

/// The fill of series `index`: its colour, solid for the first series, then hatched, dotted,
/// cross-hatched and striped, so that series differ in more than colour.
fn pattern(chart: &str, index: usize, colour: &str) -> String {
    let id = format!("{}-p{index}", xml(chart));
    let marks = match index % 5 {
        0 => {
            return format!(
                r#"<pattern id="{id}" width="8" height="8" patternUnits="userSpaceOnUse"><rect width="8" height="8" fill="{colour}"/></pattern>"#
            );
        }
        1 => r#"<path d="M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4" stroke="white" stroke-width="2"/>"#,
        2 => r#"<circle cx="4" cy="4" r="1.8" fill="white"/>"#,
        3 => r#"<path d="M0,0 l8,8 M8,0 l-8,8" stroke="white" stroke-width="1.5"/>"#,
        _ => r#"<path d="M0,4 h8" stroke="white" stroke-width="2"/>"#,
    };
    format!(
        r#"<pattern id="{id}" width="8" height="8" patternUnits="userSpaceOnUse"><rect width="8" height="8" fill="{colour}"/>{marks}</pattern>"#
    )
}

/// `text` safe inside an XML element or attribute.
pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// A chart's numbers as rows and columns: the table beneath it and its CSV file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// The table as CSV (RFC 4180, quoted where needed), every cell safe to open in a
    /// spreadsheet ([`to_spreadsheet`]).
    pub fn to_csv(&self) -> Vec<u8> {
        let mut writer = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(Vec::new());
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            // Writing into memory cannot fail.
            let _ = writer.write_record(row.iter().map(|c| to_spreadsheet(c).into_owned()));
        }
        writer.into_inner().unwrap_or_default()
    }
}

/// The first day of `date`'s month and of the `count - 1` months after it.
pub fn months_from(date: Date, count: usize) -> Vec<Date> {
    let first = date.first_of_month();
    (0..count)
        .filter_map(|i| first.checked_add((i as i64).months()).ok())
        .collect()
}

/// Which of `months` (first days, consecutive, from [`months_from`]) `date` falls in.
pub fn month_index(months: &[Date], date: Date) -> Option<usize> {
    let first = *months.first()?;
    let index = (i32::from(date.year()) - i32::from(first.year())) * 12
        + (i32::from(date.month()) - i32::from(first.month()));
    usize::try_from(index).ok().filter(|i| *i < months.len())
}

/// A month as "2027-03", the key the store groups by and CSV files show.
pub fn month_key(month: Date) -> String {
    format!("{:04}-{:02}", month.year(), month.month())
}

/// A month as "Mar 2027" (English, as the app's pages are).
pub fn month_label(month: Date) -> String {
    month.strftime("%b %Y").to_string()
}

/// Counts per quarter hour since the epoch summed into local days of `zone`: `days[0]` is
/// `first`, then one per day; counts outside the days are left out. Every time zone's offset
/// from UTC is a whole number of quarter hours (e.g. +05:45, +12:45), so a quarter hour never
/// straddles a local midnight, and the store can group instants by quarter hour in plain SQL
/// whatever the zone and its daylight saving time.
pub fn local_day_counts(
    quarter_hours: &[(i64, i64)],
    first: Date,
    days: usize,
    zone: &TimeZone,
) -> Vec<i64> {
    let mut counts = vec![0i64; days];
    let starts = day_starts(first, days + 1, zone);
    for (quarter, count) in quarter_hours {
        let Some(millis) = quarter.checked_mul(QUARTER_HOUR_MS) else {
            continue;
        };
        // The day whose start is the last one at or before the instant.
        let day = starts.partition_point(|start| *start <= millis);
        if day >= 1 && day <= days {
            counts[day - 1] = counts[day - 1].saturating_add(*count);
        }
    }
    counts
}

/// A quarter hour in milliseconds: the store's bucket for [`local_day_counts`].
pub const QUARTER_HOUR_MS: i64 = 15 * 60 * 1000;

/// The instants (epoch milliseconds) where `count` local days of `zone` start, from `first`.
pub fn day_starts(first: Date, count: usize, zone: &TimeZone) -> Vec<i64> {
    (0..count)
        .filter_map(|i| first.checked_add((i as i64).days()).ok())
        .map(|day| local_instant(day, Time::midnight(), zone).as_millisecond())
        .collect()
}

/// The instant where local day `day` of `zone` starts.
pub fn day_start(day: Date, zone: &TimeZone) -> Timestamp {
    local_instant(day, Time::midnight(), zone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn chart(bars: Vec<Vec<i64>>) -> BarChart {
        BarChart {
            id: "c".to_string(),
            title: "Title <&>".to_string(),
            description: "What it shows".to_string(),
            series: vec![
                Series {
                    label: "renewed".to_string(),
                    colour: "#2e7d32",
                },
                Series {
                    label: "declined".to_string(),
                    colour: "#c62828",
                },
            ],
            bars: bars
                .into_iter()
                .enumerate()
                .map(|(i, values)| Bar {
                    label: format!("b{i}"),
                    long_label: String::new(),
                    values,
                })
                .collect(),
            marker: Some((1, "today".to_string())),
            label_every: 1,
        }
    }

    #[test]
    fn axes_are_nice_and_cover_the_maximum() {
        assert_eq!(axis_for(0), Axis { top: 1, step: 1 });
        assert_eq!(axis_for(3), Axis { top: 3, step: 1 });
        assert_eq!(axis_for(7), Axis { top: 8, step: 2 });
        assert_eq!(
            axis_for(120_000),
            Axis {
                top: 150_000,
                step: 50_000
            }
        );
        assert_eq!(
            axis_for(1_000),
            Axis {
                top: 1_000,
                step: 200
            }
        );
    }

    #[test]
    fn the_svg_is_an_accessible_image_with_a_legend_and_escaped_text() {
        let svg = chart(vec![vec![3, 1], vec![0, 2]]).to_svg(&|v| v.to_string());
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains(r#"role="img" aria-labelledby="c-title c-desc""#));
        assert!(svg.contains(r#"<title id="c-title">Title &lt;&amp;&gt;</title>"#));
        assert!(svg.contains(">renewed</text>") && svg.contains(">declined</text>"));
        assert!(svg.contains("<title>b0, renewed: 3</title>"));
        assert!(!svg.contains("b1, renewed"), "no segment for a zero");
        assert!(svg.contains("url(#c-p1)"), "the second series is patterned");
        assert!(svg.contains(">today</text>"));
        assert!(svg.ends_with("</svg>"));
    }

    #[test]
    fn months_cross_years_and_dates_find_their_month() {
        let months = months_from(date(2026, 11, 17), 3);
        assert_eq!(
            months,
            vec![date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)]
        );
        assert_eq!(month_index(&months, date(2027, 1, 31)), Some(2));
        assert_eq!(month_index(&months, date(2026, 10, 31)), None);
        assert_eq!(month_index(&months, date(2027, 2, 1)), None);
        assert_eq!(month_key(months[2]), "2027-01");
        assert_eq!(month_label(months[2]), "Jan 2027");
    }

    #[test]
    fn local_days_follow_the_zone_across_daylight_saving() {
        let athens = TimeZone::get("Europe/Athens").unwrap();
        // 29 March 2026: Athens moves from +02:00 to +03:00; the day has 23 hours.
        let at = |text: &str| text.parse::<Timestamp>().unwrap().as_millisecond() / QUARTER_HOUR_MS;
        let counts = local_day_counts(
            &[
                (at("2026-03-28T21:59:00Z"), 1),  // 23:59 on the 28th
                (at("2026-03-28T22:00:00Z"), 2),  // 00:00 on the 29th
                (at("2026-03-29T20:45:00Z"), 4),  // 23:45 on the 29th (+03:00)
                (at("2026-03-29T21:00:00Z"), 8),  // 00:00 on the 30th
                (at("2026-04-02T12:00:00Z"), 16), // outside
            ],
            date(2026, 3, 28),
            3,
            &athens,
        );
        assert_eq!(counts, vec![1, 6, 8]);
    }

    #[test]
    fn csv_quotes_and_defuses_cells() {
        let table = Table {
            headers: vec!["month".into(), "name".into()],
            rows: vec![vec!["2027-01".into(), "=SUM(A1), \"x\"".into()]],
        };
        let text = String::from_utf8(table.to_csv()).unwrap();
        assert_eq!(text, "month,name\n2027-01,\"'=SUM(A1), \"\"x\"\"\"\n");
    }

    proptest! {
        #[test]
        fn bars_stay_inside_the_plot_and_grow_with_their_values(
            bars in proptest::collection::vec(
                proptest::collection::vec(0i64..1_000_000_000_000, 2), 1..40)
        ) {
            let chart = chart(bars.clone());
            let (x0, y0, width, height) = PLOT;
            let axis = chart.axis();
            prop_assert!(axis.top >= chart.max_total());
            for (values, rects) in bars.iter().zip(chart.layout()) {
                let mut drawn = 0.0;
                for (value, rect) in values.iter().zip(&rects) {
                    prop_assert!(rect.y >= y0 - 1e-6);
                    prop_assert!(rect.y + rect.height <= y0 + height + 1e-6);
                    prop_assert!(rect.x >= x0 && rect.x + rect.width <= x0 + width + 1e-6);
                    prop_assert!(rect.height >= 0.0);
                    let expected = *value as f64 * height / axis.top as f64;
                    prop_assert!((rect.height - expected).abs() < 1e-6 * height.max(1.0));
                    drawn += rect.height;
                }
                prop_assert!(drawn <= height + 1e-6);
            }
        }

        #[test]
        fn local_day_counts_keep_every_count_in_range(
            entries in proptest::collection::vec((0i64..(40 * 96), 0i64..1000), 0..200),
            zone in prop_oneof![
                Just("UTC"), Just("Europe/Athens"), Just("Asia/Kathmandu"),
                Just("America/St_Johns"), Just("Pacific/Chatham")
            ],
        ) {
            let zone = TimeZone::get(zone).unwrap();
            let first = date(2026, 3, 1);
            let origin = day_start(first, &zone).as_millisecond() / QUARTER_HOUR_MS;
            let quarters: Vec<(i64, i64)> =
                entries.iter().map(|(q, c)| (origin - 96 * 5 + q, *c)).collect();
            let counts = local_day_counts(&quarters, first, 30, &zone);
            let starts = day_starts(first, 31, &zone);
            let inside: i64 = quarters
                .iter()
                .filter(|(q, _)| {
                    let ms = q * QUARTER_HOUR_MS;
                    ms >= starts[0] && ms < starts[30]
                })
                .map(|(_, c)| c)
                .sum();
            prop_assert_eq!(counts.iter().sum::<i64>(), inside);
        }

        #[test]
        fn csv_round_trips(
            rows in proptest::collection::vec(
                proptest::collection::vec(any::<String>(), 3), 0..20)
        ) {
            let table = Table {
                headers: vec!["a".into(), "b".into(), "c".into()],
                rows: rows.clone(),
            };
            let bytes = table.to_csv();
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(true)
                .from_reader(bytes.as_slice());
            let read: Vec<Vec<String>> = reader
                .records()
                .map(|r| r.unwrap().iter()
                    .map(|c| crate::spreadsheet::from_spreadsheet(c).to_string())
                    .collect())
                .collect();
            prop_assert_eq!(read, rows);
        }
    }
}
