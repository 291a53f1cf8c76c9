//! The contracts pages: the list (search, filters, sorting, keyset pages read from the
//! database), one contract with its terms, every reminder of every term and its history,
//! and, for a recurring sale, its billing schedule, periods and invoices; entering (a
//! recurring sale too), editing, renewing and terminating a contract.

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::{get, post},
};
use jiff::{Timestamp, ToSpan, civil::Date, tz::TimeZone};
use serde::Deserialize;
use tickler_core::{
    ValidationError,
    access::Action,
    billing::{BillingTiming, InvoiceMode},
    contract::{self, CustomFields, custom_field_text},
    error::parse_date,
    language::Language,
    plan::Mode,
    reminder::ReminderStatus,
    renewal::{Answer, RenewalType},
};
use tickler_engine::{
    EngineError,
    billing::BillingInput,
    browse::{ContractListRow, ContractQuery, ContractSort, ContractStatus, Cursor, Page},
    contracts::{ContractChanges, ContractInput},
    export::ContractExport,
    invoicing::InvoiceFilter,
};

use crate::field_errors::FieldErrors;
use crate::format::thousands;
use crate::{
    AppState, WebError,
    auth::CurrentUser,
    format,
    pages::{
        Layout, csv_download,
        invoices::{InvoiceRow, LineRow, interval_text, number_text},
        redirect_with_notice,
    },
};

/// Rows per page of the lists.
pub(crate) const PAGE_SIZE: i64 = 50;
/// Up to this many customers, the contract form offers a list to choose from; beyond, the
/// customer's number is typed (a customer's page links to a form with it filled in).
pub(super) const CUSTOMER_SELECT_MAX: i64 = 200;

mod detail;
mod form;
mod list;

use detail::*;
use form::*;
pub(crate) use list::ListRow;
use list::*;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/contracts", get(list).post(create))
        .route("/contracts.csv", get(list_csv))
        .route("/contracts/new", get(new_form))
        .route("/contracts/{id}", get(detail))
        .route("/contracts/{id}/edit", get(edit_form).post(edit))
        .route("/contracts/{id}/renew", post(renew))
        .route("/contracts/{id}/terminate", post(terminate))
        .route("/contracts/{id}/decline", post(decline))
}

/// A query string of the non-empty pairs, `a=1&b=x`.
pub(crate) fn query_string(pairs: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        if !value.is_empty() {
            serializer.append_pair(key, value);
        }
    }
    serializer.finish()
}

/// `path?query&extra`, leaving out empty parts.
pub(crate) fn link(path: &str, query: &str, extra: &str) -> String {
    let joined: Vec<&str> = [query, extra]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    if joined.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", joined.join("&"))
    }
}

/// An optional parameter: absent and blank are the same.
pub(crate) fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// A list's search box (`q`): `None` when blank; 400 saying so when too short to search
/// for (see `tickler_core::search`).
pub(crate) fn search(q: &Option<String>) -> Result<Option<String>, WebError> {
    tickler_core::search::search_term("q", given(q))
        .map_err(|e| WebError::BadRequest(e.to_string()))
}

/// A page's cursor parameter (`after` or `before_id`): a row id.
pub(crate) fn cursor(
    after: &Option<String>,
    before: &Option<String>,
) -> Result<Option<Cursor>, WebError> {
    let id = |name: &str, text: &str| {
        text.parse::<i64>()
            .map_err(|_| WebError::BadRequest(format!("{name}: \"{text}\" is not a row number")))
    };
    Ok(match (given(after), given(before)) {
        (Some(a), _) => Some(Cursor::After(id("after", a)?)),
        (None, Some(b)) => Some(Cursor::Before(id("before_id", b)?)),
        (None, None) => None,
    })
}

/// A keyset page's links: the first page, and the pages before its first row and after its
/// last (`before_id=`, `after=`: what [`cursor`] reads back).
pub(crate) struct Pager {
    pub first: Option<String>,
    pub previous: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// The links of `page` of the list at `path` with the filters `query`; `id` gives a
    /// row's id.
    pub(crate) fn new<T>(path: &str, query: &str, page: &Page<T>, id: impl Fn(&T) -> i64) -> Pager {
        Pager {
            first: page.has_previous.then(|| link(path, query, "")),
            previous: match (page.has_previous, page.rows.first()) {
                (true, Some(first)) => Some(link(path, query, &format!("before_id={}", id(first)))),
                _ => None,
            },
            next: match (page.has_next, page.rows.last()) {
                (true, Some(last)) => Some(link(path, query, &format!("after={}", id(last)))),
                _ => None,
            },
        }
    }
}

/// "50 contracts", "10,000 or more contracts" (counts stop at a cap).
pub(crate) fn total_text(total: i64, capped: bool, noun: &str) -> String {
    let plural = if total == 1 { "" } else { "s" };
    if capped {
        format!("{} or more {noun}s", thousands(total))
    } else {
        format!("{} {noun}{plural}", thousands(total))
    }
}

pub(crate) fn today_in(now: Timestamp, zone: &TimeZone) -> Date {
    now.to_zoned_datetime(zone.clone()).date()
}

/// Whole days from `today` to `end` (negative once it has passed).
pub(crate) fn days_between(today: Date, end: Date) -> i64 {
    today
        .until(end)
        .map(|span| i64::from(span.get_days()))
        .unwrap_or(0)
}
