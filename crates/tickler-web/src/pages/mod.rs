//! The pages, one module each; every module exposes its routes.

pub mod account;
pub mod agenda;
pub mod contracts;
pub mod customers;
pub mod dashboard;
pub mod invoices;
pub mod pipeline;
pub mod plans;
pub mod quotes;
pub mod review;
pub mod sent;
pub mod settings;
pub mod tasks;
pub mod tokens;
pub mod users;
pub mod webhooks;

use axum::{
    Router,
    response::{IntoResponse, Redirect, Response},
};
use jiff::Timestamp;
use tickler_core::{access::Action, reminder::ReminderStatus, user::Role};
use tickler_engine::review::ReminderView;

use crate::{AppState, auth::CurrentUser, format};

pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(dashboard::routes())
        .merge(agenda::routes())
        .merge(review::routes())
        .merge(contracts::routes())
        .merge(invoices::routes())
        .merge(tasks::routes())
        .merge(pipeline::routes())
        .merge(quotes::routes())
        .merge(customers::routes())
        .merge(plans::routes())
        .merge(sent::routes())
        .merge(settings::routes())
        .merge(users::routes())
        .merge(account::routes())
        .merge(tokens::routes())
        .merge(webhooks::routes())
}

/// What the frame around every page shows: the navigation, who is logged in, in which
/// zone times are shown, and the token for the logout form.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    /// Which navigation entry is current: "dashboard", "review", "contracts", ...
    pub active: &'static str,
    pub user_name: String,
    pub role: &'static str,
    pub is_admin: bool,
    pub zone: String,
    pub csrf: String,
    /// A one-line confirmation of what was just done, e.g. "Reminder skipped.", left in
    /// the session by the action (never taken from the URL).
    pub notice: Option<String>,
    /// No SMTP server is set: emails are written to the outbox folder and reach nobody.
    pub test_mode: bool,
}

impl Layout {
    pub fn new(user: &CurrentUser, title: impl Into<String>, active: &'static str) -> Layout {
        Layout {
            title: title.into(),
            active,
            user_name: user.user.name.clone(),
            role: user.user.role.as_str(),
            is_admin: user.user.role == Role::Admin,
            zone: user.zone_name.clone(),
            csrf: user.csrf.clone(),
            notice: user.notice.clone().filter(|n| !n.trim().is_empty()),
            test_mode: user.test_mode,
        }
    }
}

/// One reminder as a row of a list: times already in the viewer's zone.
#[derive(Debug, Clone)]
pub struct ReminderRow {
    pub id: i64,
    /// `None` for a morning digest, which is about no contract.
    pub contract_id: Option<i64>,
    /// Where its "contract" column leads: the contract, or for a digest the account page
    /// where it is set.
    pub contract_href: String,
    pub contract_title: String,
    pub customer_name: String,
    pub step: String,
    pub label: String,
    pub offset_days: i32,
    pub status: &'static str,
    pub status_reason: String,
    pub send_at: String,
    /// "in 3 days", "2 hours ago".
    pub when: String,
    /// The send time where the customer is ("09:00 Asia/Tokyo"), when their zone is not
    /// the viewer's; empty otherwise.
    pub customer_local: String,
    /// The email's language, by name ("Japanese").
    pub language: &'static str,
    /// The contract owner's name; empty when nobody owns it.
    pub owner_name: String,
    /// Which part of the queue it falls in: "Today", "This week" or "Later" (the viewer's days).
    pub group: &'static str,
    pub sent_at: String,
    pub to: String,
    pub cc: String,
    pub subject: String,
    pub body: String,
    pub edited: bool,
    pub reply: String,
    /// Whether the viewer may edit, send or skip it.
    pub can_change: bool,
    /// "Sent" to the outbox folder in test mode: written to a file, received by nobody.
    pub to_outbox: bool,
}

impl ReminderRow {
    pub fn new(r: &ReminderView, user: &CurrentUser, now: Timestamp) -> ReminderRow {
        ReminderRow {
            id: r.id,
            contract_id: r.contract_id,
            contract_href: match r.contract_id {
                Some(id) => format!("/contracts/{id}"),
                None => "/account".to_string(),
            },
            contract_title: r.contract_title.clone(),
            customer_name: r.customer_name.clone(),
            step: r.step.clone(),
            label: r.label.clone(),
            offset_days: r.offset_days,
            status: r.status.as_str(),
            status_reason: r.status_reason.clone().unwrap_or_default(),
            send_at: format::local(r.send_at, &user.zone),
            when: format::relative(r.send_at, now),
            customer_local: format::for_customer(r.send_at, &r.customer_time_zone, &user.zone),
            language: r.language.english_name(),
            owner_name: r.owner_name.clone().unwrap_or_default(),
            group: format::queue_group(r.send_at, now, &user.zone),
            sent_at: r
                .sent_at
                .map(|t| format::local(t, &user.zone))
                .unwrap_or_default(),
            to: r.to.join(", "),
            cc: r.cc.join(", "),
            subject: r.subject.clone(),
            body: r.body.clone(),
            edited: r.edited,
            reply: r
                .smtp_reply
                .clone()
                .or_else(|| r.last_error.clone())
                .unwrap_or_default(),
            can_change: r.status.is_pending()
                && user.viewer.may(Action::ChangeContract, r.owner_id),
            // A mail server's reply starts with its three-digit code; the outbox's is a path.
            to_outbox: r.status == ReminderStatus::Sent
                && r.smtp_reply
                    .as_deref()
                    .is_some_and(|reply| !reply.starts_with(|c: char| c.is_ascii_digit())),
        }
    }
}

/// After a successful POST: see `path` (which may carry a query already), which shows a
/// one-line confirmation once; the notice travels in the session (see `crate::notice`).
/// A CSV file to save as `name`, whole: an export that fails halfway is an error page, not a
/// file that looks complete.
pub(crate) fn csv_download(name: &str, csv: Vec<u8>) -> Response {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        csv,
    )
        .into_response()
}

pub fn redirect_with_notice(path: &str, notice: &str) -> Response {
    let mut response = Redirect::to(path).into_response();
    response
        .extensions_mut()
        .insert(crate::notice::Notice(notice.to_string()));
    response
}

/// The languages a person may choose, as (code, name) for a select.
pub fn language_choices() -> Vec<(&'static str, &'static str)> {
    tickler_core::language::Language::ALL
        .iter()
        .map(|l| (l.code(), l.english_name()))
        .collect()
}

/// A person's language and morning digest as their form gives them; a blank field (a page
/// without it) keeps what was chosen.
pub fn person_choices(
    language: &str,
    digest: &str,
) -> Result<
    (
        Option<tickler_core::language::Language>,
        Option<tickler_core::digest::DigestFrequency>,
    ),
    tickler_core::ValidationError,
> {
    let given = |value: &str| {
        Some(value.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let language = given(language)
        .map(|l| tickler_core::language::Language::parse("language", &l))
        .transpose()?;
    let digest = given(digest).map(|d| d.parse()).transpose()?;
    Ok((language, digest))
}

/// A query parameter that was given and is not blank.
pub fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}
