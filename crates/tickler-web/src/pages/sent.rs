//! Sent mail: every message sent or failed, latest first, searchable by customer or
//! contract; and one message with its headers, its body as sent and the mail server's reply.

use askama::Template;
use axum::{
    Router,
    extract::{Path, Query, State},
    response::{Html, IntoResponse, Redirect, Response},
    routing::get,
};
use serde::Deserialize;
use tickler_core::{ValidationError, reminder::ReminderStatus};
use tickler_engine::browse::{ReminderFilter, ReminderOrder};

use crate::{
    AppState, WebError,
    auth::CurrentUser,
    format,
    pages::{
        Layout, ReminderRow,
        contracts::{Pager, cursor, search},
        non_empty,
    },
};

/// Messages per page.
const PAGE_SIZE: i64 = 25;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sent", get(list))
        .route("/sent/{id}", get(detail))
}

#[derive(Deserialize, Default)]
struct SentQuery {
    status: Option<String>,
    q: Option<String>,
    after: Option<String>,
    before_id: Option<String>,
}

#[derive(Template)]
#[template(path = "sent.html")]
struct SentPage {
    layout: Layout,
    status: String,
    q: String,
    total: i64,
    total_text: String,
    rows: Vec<ReminderRow>,
    pager: Pager,
}

async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<SentQuery>,
) -> Result<Html<String>, WebError> {
    let bad = |field: &str, message: String| {
        WebError::BadRequest(ValidationError::new(field, message).to_string())
    };
    let statuses = match non_empty(&query.status) {
        None => vec![ReminderStatus::Sent, ReminderStatus::Failed],
        Some("sent") => vec![ReminderStatus::Sent],
        Some("failed") => vec![ReminderStatus::Failed],
        Some(other) => {
            return Err(bad("status", format!("\"{other}\" is not sent or failed")));
        }
    };
    let search = search(&query.q)?;
    let filter = ReminderFilter {
        statuses,
        search: search.clone(),
        order: ReminderOrder::LatestFirst,
        limit: Some(PAGE_SIZE),
        cursor: cursor(&query.after, &query.before_id)?,
        ..ReminderFilter::default()
    };
    let engine = &state.engine;
    let total = engine.count_reminders(&filter).await?;
    let now = engine.now();
    let list = engine.reminder_page(&filter).await?;
    let rows = list
        .rows
        .iter()
        .map(|r| ReminderRow::new(r, &user, now))
        .collect();
    let mut params = form_urlencoded::Serializer::new(String::new());
    if let Some(status) = non_empty(&query.status) {
        params.append_pair("status", status);
    }
    if let Some(q) = &search {
        params.append_pair("q", q);
    }
    let page = SentPage {
        layout: Layout::new(&user, "Sent mail", "sent"),
        status: non_empty(&query.status).unwrap_or_default().to_string(),
        q: search.unwrap_or_default(),
        total,
        total_text: crate::format::count(total),
        rows,
        pager: Pager::new("/sent", &params.finish(), &list, |r| r.id),
    };
    Ok(Html(page.render()?))
}

struct HistoryRow {
    at: String,
    actor: String,
    action: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "sent_detail.html")]
struct SentDetailPage {
    layout: Layout,
    r: ReminderRow,
    zone: String,
    from: String,
    message_id: String,
    attempts: i32,
    lateness: String,
    reason: String,
    last_error: String,
    history: Vec<HistoryRow>,
}

/// "on time", "3 minutes late", "2 days late".
fn lateness(ms: Option<i64>) -> String {
    let Some(ms) = ms else {
        return String::new();
    };
    let seconds = ms / 1000;
    if seconds < 60 {
        return "on time".to_string();
    }
    let (n, unit) = if seconds < 3600 {
        (seconds / 60, "minute")
    } else if seconds < 2 * 86400 {
        (seconds / 3600, "hour")
    } else {
        (seconds / 86400, "day")
    };
    if n == 1 {
        format!("1 {unit} late")
    } else {
        format!("{n} {unit}s late")
    }
}

async fn detail(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let engine = &state.engine;
    let view = engine.reminder(id).await?;
    if !matches!(view.status, ReminderStatus::Sent | ReminderStatus::Failed) {
        // Not sent (yet): its page is in the review queue.
        return Ok(Redirect::to(&format!("/review/{id}")).into_response());
    }
    let history = engine
        .reminder_history(id)
        .await?
        .into_iter()
        .map(|e| HistoryRow {
            at: format::local(e.at, &user.zone),
            actor: e.actor,
            action: e.action,
            detail: e.detail,
        })
        .collect();
    let page = SentDetailPage {
        layout: Layout::new(&user, format!("Sent: {}", view.subject), "sent"),
        r: ReminderRow::new(&view, &user, engine.now()),
        zone: user.zone_name.clone(),
        from: engine.settings().mail_from.to_string(),
        message_id: view.message_id.clone(),
        attempts: view.attempts,
        lateness: lateness(view.lateness_ms),
        reason: view.status_reason.clone().unwrap_or_default(),
        last_error: view.last_error.clone().unwrap_or_default(),
        history,
    };
    Ok(Html(page.render()?).into_response())
}

#[cfg(test)]
mod tests {
    use super::lateness;

    #[test]
    fn lateness_reads_naturally() {
        assert_eq!(lateness(None), "");
        assert_eq!(lateness(Some(1_500)), "on time");
        assert_eq!(lateness(Some(120_000)), "2 minutes late");
        assert_eq!(lateness(Some(3_600_000)), "1 hour late");
        assert_eq!(lateness(Some(3 * 86_400_000)), "3 days late");
    }
}
