//! The renewal pipeline: charts drawn here as SVG (no script, no outside service) of the
//! contract value expiring per month, the emails of the last and next 30 days and the invoices
//! of the last twelve months, each with the table of its numbers and a CSV download.

use std::time::Duration;

use askama::Template;
use axum::{
    Router,
    extract::{Path, Query, State},
    response::{Html, Response},
    routing::get,
};
use serde::Deserialize;
use tickler_core::{
    chart::{Bar, BarChart, Series, Table, month_key, month_label},
    language::Language,
    money::{Currency, Money},
    user::Role,
};
use tickler_engine::pipeline::{ExpiringSeries, Pipeline};

use crate::{AppState, WebError, auth::CurrentUser, pages::Layout};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/pipeline", get(page))
        .route("/pipeline/{file}", get(chart_csv))
}

#[derive(Deserialize, Default)]
struct PipelineQuery {
    /// "all", "me" or a user's id; by default a salesperson's own, everyone's for others.
    owner: Option<String>,
}

/// Whose contracts the figures count: `None` for everyone's. Admins and viewers may look at
/// anyone's; a salesperson at their own (the default) or the whole team's, as on the dashboard.
fn owner_filter(user: &CurrentUser, query: &PipelineQuery) -> Result<Option<i64>, WebError> {
    let own = user.user.id;
    let wanted = match query.owner.as_deref().map(str::trim) {
        None | Some("") => (user.user.role == Role::Sales).then_some(own),
        Some("all") => None,
        Some("me") => Some(own),
        Some(id) => Some(id.parse::<i64>().map_err(|_| {
            WebError::BadRequest(format!(
                "owner: \"{id}\" is not a user's id (or \"all\", \"me\")"
            ))
        })?),
    };
    if user.user.role == Role::Sales && wanted.is_some_and(|id| id != own) {
        return Err(WebError::ForbiddenBecause(
            "Salespeople see their own pipeline or the whole team's; an admin can see \
             another person's."
                .to_string(),
        ));
    }
    Ok(wanted)
}

/// One chart of the page, with the table of its numbers.
struct ChartView {
    id: String,
    heading: String,
    svg: String,
    caption: String,
    table: Table,
    /// The last row is a total (shown in bold, as the table's foot).
    total: Option<Vec<String>>,
    csv: String,
}

#[derive(Template)]
#[template(path = "pipeline.html")]
struct PipelinePage {
    layout: Layout,
    charts: Vec<ChartView>,
    /// Whose figures, in words: "Your contracts", "Everyone's contracts", "Ada's contracts".
    scope: String,
    /// For admins and viewers: everyone who may own contracts, as (id, name).
    owners: Vec<(String, String)>,
    /// The current owner filter as the select shows it ("", "all", or an id).
    owner: String,
    is_sales: bool,
    /// "Counted just now." or "Counted 35 seconds ago; figures are kept for a minute."
    age: String,
    zone: String,
}

async fn page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<PipelineQuery>,
) -> Result<Html<String>, WebError> {
    let owner_id = owner_filter(&user, &query)?;
    let (figures, age) = state.engine.pipeline(owner_id).await?;
    let is_sales = user.user.role == Role::Sales;
    let owners: Vec<(String, String)> = if is_sales {
        Vec::new()
    } else {
        state
            .engine
            .browse_owners()
            .await?
            .into_iter()
            .map(|u| (u.id.to_string(), u.name))
            .collect()
    };
    let scope = match owner_id {
        None => "Everyone's contracts".to_string(),
        Some(id) if id == user.user.id => "Your contracts".to_string(),
        Some(id) => owners
            .iter()
            .find(|(o, _)| *o == id.to_string())
            .map(|(_, name)| format!("{name}'s contracts"))
            .unwrap_or_else(|| format!("The contracts of user {id}")),
    };
    let owner = match owner_id {
        None => "all".to_string(),
        Some(id) => id.to_string(),
    };
    let query = format!("?owner={owner}");
    let mut charts = expiring_charts(&figures, &query);
    charts.push(emails_chart(&figures, &query));
    charts.push(invoices_chart(&figures, &query));
    let page = PipelinePage {
        layout: Layout::new(&user, "Renewal pipeline", "pipeline"),
        charts,
        scope,
        owners,
        owner,
        is_sales,
        age: age_text(age),
        zone: state.engine.settings().default_time_zone.name().to_string(),
    };
    Ok(Html(page.render()?))
}

/// How old the figures are: large databases' figures are kept a minute, then shown while
/// they are counted again (see `tickler_engine::pipeline`).
fn age_text(age: Duration) -> String {
    match age.as_secs() {
        0 => "Counted just now.".to_string(),
        n if n < 60 => format!(
            "Counted {n} second{} ago (figures that are slow to count are kept for a minute).",
            if n == 1 { "" } else { "s" }
        ),
        n => format!(
            "Counted {} minute{} ago; they are being counted again: reload in a moment for \
             newer figures.",
            n / 60,
            if n / 60 == 1 { "" } else { "s" }
        ),
    }
}

/// One chart's numbers as a CSV download (`expiring.csv`, `emails.csv`, `invoices.csv`),
/// named after the chart and the day they were counted.
async fn chart_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(file): Path<String>,
    Query(query): Query<PipelineQuery>,
) -> Result<Response, WebError> {
    let (chart, table): (&str, fn(&Pipeline) -> Table) = match file.as_str() {
        "expiring.csv" => ("expiring", expiring_table),
        "emails.csv" => ("emails", emails_table),
        "invoices.csv" => ("invoices", invoices_table),
        _ => {
            return Err(WebError::NotFound(format!(
                "the pipeline has no download \"{file}\" (expiring.csv, emails.csv, invoices.csv)"
            )));
        }
    };
    let (figures, _) = state.engine.pipeline(owner_filter(&user, &query)?).await?;
    Ok(super::csv_download(
        &format!("pipeline-{chart}-{}.csv", figures.today),
        table(&figures).to_csv(),
    ))
}

/// The outcomes of a term, as the chart's series (in `tickler_engine::pipeline::STATES` order).
fn outcome_series() -> Vec<Series> {
    [
        ("Renewed", "#2e7d32"),
        ("Answered renew", "#1565c0"),
        ("Declined", "#c62828"),
        ("No answer yet", "#757575"),
    ]
    .into_iter()
    .map(|(label, colour)| Series {
        label: label.to_string(),
        colour,
    })
    .collect()
}

/// `minor` in `currency` as people read it ("€1,200.00"), or a count without a currency.
fn money(minor: i64, currency: Option<Currency>) -> String {
    match currency {
        Some(currency) => Money { minor, currency }.format(Language::En),
        None => crate::format::count(minor),
    }
}

/// A value of the axis: whole units, without a fraction of zeros ("€1,500").
fn axis_money(minor: i64, currency: Option<Currency>) -> String {
    let text = money(minor, currency);
    match currency {
        Some(c) if c.minor_digits() > 0 => {
            let zeros = format!(".{}", "0".repeat(c.minor_digits() as usize));
            text.strip_suffix(&zeros)
                .map(str::to_string)
                .unwrap_or(text)
        }
        _ => text,
    }
}

/// One chart per currency (amounts in different currencies are never added); contracts
/// without an amount get a chart of their count. With nothing expiring, one empty chart.
fn expiring_charts(figures: &Pipeline, query: &str) -> Vec<ChartView> {
    let empty = [ExpiringSeries {
        currency: None,
        months: vec![Default::default(); figures.months.len()],
    }];
    let all: &[ExpiringSeries] = if figures.expiring.is_empty() {
        &empty
    } else {
        &figures.expiring
    };
    all.iter()
        .enumerate()
        .map(|(i, series)| {
            let currency = series.currency;
            let what = match currency {
                Some(c) => format!("in {}", c.code()),
                None if figures.expiring.is_empty() => String::new(),
                None => "without an amount (number of contracts)".to_string(),
            };
            let heading = format!("Contract value expiring per month {what}")
                .trim_end()
                .to_string();
            let value = |f: &tickler_engine::pipeline::Figure| match currency {
                Some(_) => f.amount_minor,
                None => f.contracts,
            };
            let chart = BarChart {
                id: if i == 0 {
                    "expiring".to_string()
                } else {
                    format!("expiring-{i}")
                },
                title: heading.clone(),
                description: format!(
                    "Stacked bars, one per month from {} to {}: the value of the contracts whose \
                     term ends that month, split into renewed, answered renew, declined and no \
                     answer yet.",
                    figures
                        .months
                        .first()
                        .map(|m| month_label(*m))
                        .unwrap_or_default(),
                    figures
                        .months
                        .last()
                        .map(|m| month_label(*m))
                        .unwrap_or_default(),
                ),
                series: outcome_series(),
                bars: figures
                    .months
                    .iter()
                    .zip(&series.months)
                    .map(|(month, figures)| Bar {
                        label: month.strftime("%b").to_string(),
                        long_label: month_label(*month),
                        values: figures.by_state.iter().map(value).collect(),
                    })
                    .collect(),
                marker: None,
                label_every: 1,
            };
            let cell = |f: &tickler_engine::pipeline::Figure| match currency {
                Some(_) => format!("{} ({})", money(f.amount_minor, currency), f.contracts),
                None => f.contracts.to_string(),
            };
            let rows: Vec<Vec<String>> = figures
                .months
                .iter()
                .zip(&series.months)
                .map(|(month, m)| {
                    std::iter::once(month_label(*month))
                        .chain(m.by_state.iter().map(cell))
                        .chain(std::iter::once(cell(&m.total())))
                        .collect()
                })
                .collect();
            let mut totals = [tickler_engine::pipeline::Figure::default(); 4];
            for m in &series.months {
                for (t, f) in totals.iter_mut().zip(&m.by_state) {
                    t.contracts += f.contracts;
                    t.amount_minor = t.amount_minor.saturating_add(f.amount_minor);
                }
            }
            let total: Vec<String> = std::iter::once("Total".to_string())
                .chain(totals.iter().map(cell))
                .chain(std::iter::once(cell(&series.total())))
                .collect();
            ChartView {
                id: chart.id.clone(),
                svg: chart.to_svg(&|v| axis_money(v, currency)),
                caption: match currency {
                    Some(c) => format!("{heading}: value in {} (number of contracts)", c.code()),
                    None => format!("{heading}: number of contracts"),
                },
                heading,
                table: Table {
                    headers: [
                        "Month",
                        "Renewed",
                        "Answered renew",
                        "Declined",
                        "No answer yet",
                        "Total",
                    ]
                    .map(str::to_string)
                    .to_vec(),
                    rows,
                },
                total: Some(total),
                csv: format!("/pipeline/expiring.csv{query}"),
            }
        })
        .collect()
}

/// The CSV of every currency's expiring value: one row per month and currency, amounts as
/// plain decimals in the currency's units.
fn expiring_table(figures: &Pipeline) -> Table {
    let mut headers = vec!["month".to_string(), "currency".to_string()];
    for state in tickler_engine::pipeline::STATES {
        headers.push(format!("{state}_contracts"));
        headers.push(format!("{state}_amount"));
    }
    headers.push("total_contracts".to_string());
    headers.push("total_amount".to_string());
    let amount = |minor: i64, currency: Option<Currency>| match currency {
        Some(currency) => Money { minor, currency }.to_decimal_string(),
        None => String::new(),
    };
    let mut rows = Vec::new();
    for series in &figures.expiring {
        for (month, m) in figures.months.iter().zip(&series.months) {
            let mut row = vec![
                month_key(*month),
                series
                    .currency
                    .map(|c| c.code().to_string())
                    .unwrap_or_default(),
            ];
            for f in m.by_state.iter().chain(std::iter::once(&m.total())) {
                row.push(f.contracts.to_string());
                row.push(amount(f.amount_minor, series.currency));
            }
            rows.push(row);
        }
    }
    Table { headers, rows }
}

fn emails_chart(figures: &Pipeline, query: &str) -> ChartView {
    let heading = "Emails sent and scheduled per day".to_string();
    let first = figures.days.first().copied();
    let last = figures.days.last().copied();
    let chart = BarChart {
        id: "emails".to_string(),
        title: heading.clone(),
        description: format!(
            "Bars, one per day from {} to {}: emails sent on each past day (solid) and \
             scheduled for each coming day (hatched); a dashed line marks today.",
            first.map(|d| d.to_string()).unwrap_or_default(),
            last.map(|d| d.to_string()).unwrap_or_default(),
        ),
        series: vec![
            Series {
                label: "Sent".to_string(),
                colour: "#1565c0",
            },
            Series {
                label: "Scheduled".to_string(),
                colour: "#ef6c00",
            },
        ],
        bars: figures
            .days
            .iter()
            .zip(figures.sent.iter().zip(&figures.scheduled))
            .map(|(day, (sent, scheduled))| Bar {
                label: day.strftime("%-d %b").to_string(),
                long_label: day.strftime("%a %-d %b %Y").to_string(),
                values: vec![*sent, *scheduled],
            })
            .collect(),
        marker: Some((figures.today_index, "today".to_string())),
        label_every: 7,
    };
    let table = emails_table(figures);
    let (sent, scheduled) = (
        figures.sent.iter().sum::<i64>(),
        figures.scheduled.iter().sum::<i64>(),
    );
    ChartView {
        id: "emails".to_string(),
        svg: chart.to_svg(&|v| crate::format::count(v)),
        caption: format!(
            "{heading}, {} to {}",
            first.map(|d| d.to_string()).unwrap_or_default(),
            last.map(|d| d.to_string()).unwrap_or_default()
        ),
        heading,
        table: Table {
            headers: ["Day", "Sent", "Scheduled"].map(str::to_string).to_vec(),
            rows: figures
                .days
                .iter()
                .zip(table.rows)
                .map(|(day, row)| {
                    let mut row = row;
                    row[0] = format!(
                        "{}{}",
                        day.strftime("%a %-d %b %Y"),
                        if *day == figures.today {
                            " (today)"
                        } else {
                            ""
                        }
                    );
                    row
                })
                .collect(),
        },
        total: Some(vec![
            "Total".to_string(),
            sent.to_string(),
            scheduled.to_string(),
        ]),
        csv: format!("/pipeline/emails.csv{query}"),
    }
}

fn emails_table(figures: &Pipeline) -> Table {
    Table {
        headers: ["day", "sent", "scheduled"].map(str::to_string).to_vec(),
        rows: figures
            .days
            .iter()
            .zip(figures.sent.iter().zip(&figures.scheduled))
            .map(|(day, (sent, scheduled))| {
                vec![day.to_string(), sent.to_string(), scheduled.to_string()]
            })
            .collect(),
    }
}

fn invoices_chart(figures: &Pipeline, query: &str) -> ChartView {
    let heading = "Invoices issued per month, by what they are now".to_string();
    let chart = BarChart {
        id: "invoices".to_string(),
        title: heading.clone(),
        description: format!(
            "Stacked bars, one per month from {} to {}: the invoices issued that month, split \
             into paid, open (not yet due), overdue and void.",
            figures
                .invoice_months
                .first()
                .map(|m| month_label(*m))
                .unwrap_or_default(),
            figures
                .invoice_months
                .last()
                .map(|m| month_label(*m))
                .unwrap_or_default(),
        ),
        series: [
            ("Paid", "#2e7d32"),
            ("Open", "#1565c0"),
            ("Overdue", "#c62828"),
            ("Void", "#757575"),
        ]
        .into_iter()
        .map(|(label, colour)| Series {
            label: label.to_string(),
            colour,
        })
        .collect(),
        bars: figures
            .invoice_months
            .iter()
            .zip(&figures.invoices)
            .map(|(month, m)| Bar {
                label: month.strftime("%b").to_string(),
                long_label: month_label(*month),
                values: vec![m.paid, m.open, m.overdue, m.void],
            })
            .collect(),
        marker: None,
        label_every: 1,
    };
    let rows = figures
        .invoice_months
        .iter()
        .zip(&figures.invoices)
        .map(|(month, m)| {
            vec![
                month_label(*month),
                m.issued().to_string(),
                m.paid.to_string(),
                m.open.to_string(),
                m.overdue.to_string(),
                m.void.to_string(),
            ]
        })
        .collect();
    let sum = |f: fn(&tickler_engine::pipeline::InvoiceMonth) -> i64| {
        figures.invoices.iter().map(f).sum::<i64>().to_string()
    };
    ChartView {
        id: "invoices".to_string(),
        svg: chart.to_svg(&|v| crate::format::count(v)),
        caption: format!("{heading}: number of invoices"),
        heading,
        table: Table {
            headers: ["Month", "Issued", "Paid", "Open", "Overdue", "Void"]
                .map(str::to_string)
                .to_vec(),
            rows,
        },
        total: Some(vec![
            "Total".to_string(),
            sum(|m| m.issued()),
            sum(|m| m.paid),
            sum(|m| m.open),
            sum(|m| m.overdue),
            sum(|m| m.void),
        ]),
        csv: format!("/pipeline/invoices.csv{query}"),
    }
}

fn invoices_table(figures: &Pipeline) -> Table {
    Table {
        headers: ["month", "issued", "paid", "open", "overdue", "void"]
            .map(str::to_string)
            .to_vec(),
        rows: figures
            .invoice_months
            .iter()
            .zip(&figures.invoices)
            .map(|(month, m)| {
                vec![
                    month_key(*month),
                    m.issued().to_string(),
                    m.paid.to_string(),
                    m.open.to_string(),
                    m.overdue.to_string(),
                    m.void.to_string(),
                ]
            })
            .collect(),
    }
}
