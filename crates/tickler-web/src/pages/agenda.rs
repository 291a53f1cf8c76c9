//! The Agenda page: the coming weeks as a calendar, a month grid or a week list, each day
//! listing its timed emails, open tasks, contract expiries, last days to cancel and invoice
//! dates, each linked to where it is handled. Salespeople see their own contracts' (as their
//! calendar feed does); admins and viewers everybody's, or one owner's. The items come from
//! the engine's agenda, the same gathering as the calendar feed.

use std::collections::BTreeMap;

use askama::Template;
use axum::{
    Router,
    extract::{Query, State},
    response::Html,
    routing::get,
};
use jiff::{
    ToSpan,
    civil::{Date, Time, Weekday},
    tz::TimeZone,
};
use serde::Deserialize;
use tickler_core::{icalendar::When, schedule::local_instant, user::Role};
use tickler_engine::agenda::{AgendaItem, AgendaKind, AgendaQuery, Notices};

use crate::{AppState, WebError, auth::CurrentUser, pages::Layout};

pub fn routes() -> Router<AppState> {
    Router::new().route("/agenda", get(agenda))
}

/// The most items of each kind one page reads: a month of a large team's expiries can run
/// to thousands; past this the page says which kinds are cut short. A month grid shows 5 a
/// day (210 in six weeks), a week 60 a day (420): 500 fills either when items spread evenly,
/// and keeps the page's reads bounded.
const MOST_OF_A_KIND: i64 = 500;
/// Items a day of the month grid lists before "N more" (a link to the day's week).
const MONTH_DAY_ITEMS: usize = 5;
/// Items a day of the week view lists: a large team's day of expiries would otherwise make
/// a page of megabytes (a week of 1,000 contracts' dates a kind was 1.2 MB).
const WEEK_DAY_ITEMS: usize = 60;

#[derive(Deserialize, Default)]
struct Params {
    view: Option<String>,
    date: Option<String>,
    owner: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    Month,
    Week,
}

impl View {
    fn as_str(self) -> &'static str {
        match self {
            View::Month => "month",
            View::Week => "week",
        }
    }
}

/// What a kind looks like: a word and a sign beside its colour, never the colour alone.
fn kind_label(kind: AgendaKind) -> (&'static str, &'static str) {
    match kind {
        AgendaKind::Email => ("Email", "✉"),
        AgendaKind::Task => ("Task", "☑"),
        AgendaKind::Expiry => ("Expires", "✕"),
        AgendaKind::Notice => ("Cancel by", "⚑"),
        AgendaKind::Invoice => ("Invoice", "¤"),
    }
}

struct LegendEntry {
    kind: &'static str,
    label: &'static str,
    icon: &'static str,
    count: usize,
}

struct ItemRow {
    kind: &'static str,
    label: &'static str,
    icon: &'static str,
    /// "09:00" for an email, in the viewer's zone; empty for a whole-day item.
    time: String,
    summary: String,
    description: String,
    href: String,
}

struct DayCell {
    /// "2027-03-01", also the heading's anchor.
    iso: String,
    /// "Monday 1 March 2027".
    long: String,
    /// "1", or "1 Mar" on the first of a month.
    short: String,
    today: bool,
    /// Outside the month shown (the grid's leading and trailing days).
    outside: bool,
    weekend: bool,
    items: Vec<ItemRow>,
    /// Not listed: in the month grid, listed in the week view.
    more: usize,
    /// The week view of this day.
    week_href: String,
}

struct Week {
    days: Vec<DayCell>,
}

struct OwnerChoice {
    id: String,
    name: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "agenda.html")]
struct AgendaPage {
    layout: Layout,
    view: &'static str,
    /// "March 2027", or "Week of 1 March 2027".
    heading: String,
    month_href: String,
    week_href: String,
    prev_href: String,
    next_href: String,
    today_href: String,
    prev_label: &'static str,
    next_label: &'static str,
    weekdays: [&'static str; 7],
    weeks: Vec<Week>,
    legend: Vec<LegendEntry>,
    /// Admins and viewers choose an owner; a salesperson sees their own.
    owners: Vec<OwnerChoice>,
    whose: String,
    truncated: String,
    date_param: String,
    empty: bool,
}

async fn agenda(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<Params>,
) -> Result<Html<String>, WebError> {
    let engine = &state.engine;
    let zone = user.zone.clone();
    let today = engine.now().to_zoned_datetime(zone.clone()).date();
    let view = match params.view.as_deref().map(str::trim) {
        None | Some("") | Some("month") => View::Month,
        Some("week") => View::Week,
        Some(other) => {
            return Err(WebError::BadRequest(format!(
                "view: \"{other}\" is not a view (month or week)"
            )));
        }
    };
    let date = match params.date.as_deref().map(str::trim) {
        None | Some("") => today,
        Some(text) => text.parse::<Date>().map_err(|_| {
            WebError::BadRequest(format!("date: \"{text}\" is not a date (YYYY-MM-DD)"))
        })?,
    };
    let sees_all = user.user.role != Role::Sales;
    let owner_id = match params.owner.as_deref().map(str::trim) {
        None | Some("") => (!sees_all).then_some(user.user.id),
        Some("all") if sees_all => None,
        Some("all") => {
            return Err(WebError::ForbiddenBecause(
                "a salesperson's agenda shows their own contracts only".to_string(),
            ));
        }
        Some(text) => {
            let id = text.parse::<i64>().map_err(|_| {
                WebError::BadRequest(format!(
                    "owner: \"{text}\" is not a user's number or \"all\""
                ))
            })?;
            if !sees_all && id != user.user.id {
                return Err(WebError::ForbiddenBecause(
                    "a salesperson's agenda shows their own contracts only".to_string(),
                ));
            }
            Some(id)
        }
    };

    let (first, last, prev, next) = span_of(view, date);
    let midnight = |day: Date| local_instant(day, Time::midnight(), &zone);
    let after_last = last
        .checked_add(1.day())
        .map_err(|_| WebError::BadRequest(format!("date: {last} is out of range")))?;
    let agenda = engine
        .agenda(&AgendaQuery {
            owner_id,
            from: first,
            until: last,
            sends_from: midnight(first),
            sends_until: midnight(after_last),
            notices: Notices::Dated,
            tasks_in_days: true,
            invoices: true,
            rendered_subjects: false,
            most_of_a_kind: MOST_OF_A_KIND,
        })
        .await?;

    let mut by_day: BTreeMap<Date, Vec<&AgendaItem>> = BTreeMap::new();
    let mut counts: BTreeMap<AgendaKind, usize> = BTreeMap::new();
    for item in &agenda.items {
        let day = item.day_in(&zone);
        if day < first || day > last {
            continue;
        }
        *counts.entry(item.kind).or_default() += 1;
        by_day.entry(day).or_default().push(item);
    }

    let owner_param = match (sees_all, owner_id) {
        (true, None) => "all".to_string(),
        (true, Some(id)) => id.to_string(),
        (false, _) => String::new(),
    };
    let href = |view: View, date: Date| {
        let mut href = format!("/agenda?view={}&date={date}", view.as_str());
        if !owner_param.is_empty() && owner_param != "all" {
            href.push_str("&owner=");
            href.push_str(&owner_param);
        }
        href
    };

    let mut weeks = Vec::new();
    let mut day = first;
    while day <= last {
        let mut days = Vec::with_capacity(7);
        for _ in 0..7 {
            let mut items: Vec<&AgendaItem> = by_day.get(&day).cloned().unwrap_or_default();
            items.sort_by_key(|item| (item.kind, when_key(item)));
            let shown = match view {
                View::Month => MONTH_DAY_ITEMS,
                View::Week => WEEK_DAY_ITEMS,
            };
            let more = items.len().saturating_sub(shown);
            days.push(DayCell {
                iso: day.to_string(),
                long: day.strftime("%A %-d %B %Y").to_string(),
                short: if day.day() == 1 {
                    day.strftime("%-d %b").to_string()
                } else {
                    day.day().to_string()
                },
                today: day == today,
                outside: view == View::Month
                    && (day.month() != date.month() || day.year() != date.year()),
                weekend: matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday),
                items: items
                    .into_iter()
                    .take(shown)
                    .map(|item| item_row(item, &zone))
                    .collect(),
                more,
                week_href: href(View::Week, day),
            });
            day = match day.checked_add(1.day()) {
                Ok(next) => next,
                Err(_) => break,
            };
        }
        weeks.push(Week { days });
    }

    let owners = if sees_all {
        let mut owners = vec![OwnerChoice {
            id: "all".to_string(),
            name: "Everybody".to_string(),
            selected: owner_id.is_none(),
        }];
        owners.extend(
            engine
                .list_users()
                .await?
                .into_iter()
                .filter(|u| u.active && u.role != Role::Viewer)
                .map(|u| OwnerChoice {
                    id: u.id.to_string(),
                    selected: owner_id == Some(u.id),
                    name: format!("{} ({})", u.name, u.email),
                }),
        );
        owners
    } else {
        Vec::new()
    };
    let whose = match (sees_all, owner_id) {
        (false, _) => "Your contracts".to_string(),
        (true, None) => "Everybody's contracts".to_string(),
        (true, Some(id)) => owners
            .iter()
            .find(|o| o.id == id.to_string())
            .map(|o| format!("Contracts of {}", o.name))
            .unwrap_or_else(|| format!("Contracts of user {id}")),
    };
    // A kind cut short is complete up to the last day it reached.
    let truncated = agenda
        .truncated
        .iter()
        .map(|kind| {
            let reached = agenda
                .items
                .iter()
                .filter(|item| item.kind == *kind)
                .map(|item| item.day_in(&zone))
                .max();
            let name = match kind {
                AgendaKind::Email => "emails",
                AgendaKind::Task => "tasks",
                AgendaKind::Expiry => "expiries",
                AgendaKind::Notice => "last days to cancel",
                AgendaKind::Invoice => "invoice dates",
            };
            match reached {
                Some(day) => format!("{name} up to {}", day.strftime("%A %-d %B")),
                None => name.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    let legend = AgendaKind::ALL
        .iter()
        .map(|kind| {
            let (label, icon) = kind_label(*kind);
            LegendEntry {
                kind: kind.as_str(),
                label,
                icon,
                count: counts.get(kind).copied().unwrap_or(0),
            }
        })
        .collect();
    let (prev_label, next_label) = match view {
        View::Month => ("Previous month", "Next month"),
        View::Week => ("Previous week", "Next week"),
    };
    let page = AgendaPage {
        layout: Layout::new(&user, "Agenda", "agenda"),
        view: view.as_str(),
        heading: match view {
            View::Month => date.strftime("%B %Y").to_string(),
            View::Week => format!("Week of {}", first.strftime("%-d %B %Y")),
        },
        month_href: href(View::Month, date),
        week_href: href(View::Week, date),
        prev_href: href(view, prev),
        next_href: href(view, next),
        today_href: href(view, today),
        prev_label,
        next_label,
        weekdays: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        empty: by_day.is_empty(),
        weeks,
        legend,
        owners,
        whose,
        truncated,
        date_param: date.to_string(),
    };
    Ok(Html(page.render()?))
}

/// The days a view shows (whole weeks, Monday first) and the dates its previous and next
/// links go to.
fn span_of(view: View, date: Date) -> (Date, Date, Date, Date) {
    let monday = |d: Date| {
        let back = i64::from(d.weekday().to_monday_zero_offset());
        d.checked_sub(back.days()).unwrap_or(d)
    };
    match view {
        View::Week => {
            let first = monday(date);
            (
                first,
                first.checked_add(6.days()).unwrap_or(first),
                date.checked_sub(7.days()).unwrap_or(date),
                date.checked_add(7.days()).unwrap_or(date),
            )
        }
        View::Month => {
            let month_first = date.first_of_month();
            let month_last = date.last_of_month();
            let first = monday(month_first);
            let last_monday = monday(month_last);
            (
                first,
                last_monday.checked_add(6.days()).unwrap_or(month_last),
                month_first.checked_sub(1.month()).unwrap_or(month_first),
                month_first.checked_add(1.month()).unwrap_or(month_first),
            )
        }
    }
}

fn when_key(item: &AgendaItem) -> i64 {
    match item.when {
        When::Day(_) => i64::MIN,
        When::At(at) => at.as_millisecond(),
    }
}

fn item_row(item: &AgendaItem, zone: &TimeZone) -> ItemRow {
    let (label, icon) = kind_label(item.kind);
    ItemRow {
        kind: item.kind.as_str(),
        label,
        icon,
        time: match item.when {
            When::Day(_) => String::new(),
            When::At(at) => at
                .to_zoned_datetime(zone.clone())
                .strftime("%H:%M")
                .to_string(),
        },
        summary: item.summary.clone(),
        description: item.description.clone(),
        href: item.path.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Date {
        text.parse().unwrap()
    }

    #[test]
    fn a_month_is_whole_weeks_from_monday() {
        // March 2027 starts on a Monday and ends on a Wednesday.
        let (first, last, prev, next) = span_of(View::Month, d("2027-03-17"));
        assert_eq!(
            (first, last, prev, next),
            (
                d("2027-03-01"),
                d("2027-04-04"),
                d("2027-02-01"),
                d("2027-04-01")
            )
        );
        // February 2026 runs from Sunday 1 to Saturday 28: six weeks.
        let (first, last, _, _) = span_of(View::Month, d("2026-02-01"));
        assert_eq!((first, last), (d("2026-01-26"), d("2026-03-01")));
    }

    #[test]
    fn a_week_is_monday_to_sunday() {
        let (first, last, prev, next) = span_of(View::Week, d("2027-03-17"));
        assert_eq!(
            (first, last, prev, next),
            (
                d("2027-03-15"),
                d("2027-03-21"),
                d("2027-03-10"),
                d("2027-03-24")
            )
        );
    }
}
