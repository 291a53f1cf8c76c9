//! The review queue: the pending timed emails in the order they go out, each exactly as it
//! will be sent; and one email's page, with its history and what a person can do before it
//! goes out (edit with a preview first, reset to the template, send now, skip).

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::{get, post},
};
use jiff::{
    Timestamp, ToSpan,
    civil::{Date, DateTime, Time},
};
use serde::Deserialize;
use tickler_core::{
    ValidationError,
    access::Action,
    plan::{Mode, default_renewal_plan},
    reminder::ReminderStatus,
    schedule::local_instant,
    seen::SeenVersion,
    user::Role,
};
use tickler_engine::{
    EngineError,
    browse::{Cursor, ReminderFilter},
    dispatch::Outcome,
    review::{ReminderEdits, ReminderView, WordingNow},
};

use crate::field_errors::FieldErrors;
use crate::{
    AppState, WebError,
    auth::CurrentUser,
    format,
    pages::{
        Layout, ReminderRow,
        contracts::{Pager, cursor},
        non_empty, redirect_with_notice,
    },
};

/// Emails per page of the queue.
const PAGE_SIZE: i64 = 25;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/review", get(queue))
        .route("/review/{id}", get(detail))
        .route("/review/{id}/preview", post(preview))
        .route("/review/{id}/edit", post(edit))
        .route("/review/{id}/reset", post(reset))
        .route("/review/{id}/send", post(send_now))
        .route("/review/{id}/skip", post(skip))
        .route("/review/{id}/unskip", post(unskip))
        .route("/review/{id}/send-missed", post(send_missed))
        .route("/review/bulk", post(bulk))
}

// ---------------------------------------------------------------------------------------
// The queue

#[derive(Deserialize, Default)]
struct QueueQuery {
    who: Option<String>,
    step: Option<String>,
    from: Option<String>,
    to: Option<String>,
    range: Option<String>,
    mode: Option<String>,
    after: Option<String>,
    before_id: Option<String>,
}

struct StepOption {
    key: String,
    label: String,
    selected: bool,
}

struct QueueItem {
    row: ReminderRow,
    mode: &'static str,
    /// What happens at its time, in words.
    mode_text: &'static str,
}

#[derive(Template)]
#[template(path = "review.html")]
struct QueuePage {
    layout: Layout,
    who: String,
    steps: Vec<StepOption>,
    from: String,
    to: String,
    range: String,
    mode: String,
    total: i64,
    total_text: String,
    /// The page's emails by when they go out: "Today", "This week", "Later".
    groups: Vec<(&'static str, Vec<QueueItem>)>,
    /// Any filter beyond whose emails: the filters stay open.
    filtered: bool,
    pager: Pager,
}

/// The filter a queue query asks for, or a 400 naming the bad parameter.
fn queue_filter(
    query: &QueueQuery,
    user: &CurrentUser,
    now: Timestamp,
) -> Result<(ReminderFilter, String), WebError> {
    let bad = |field: &str, message: String| {
        WebError::BadRequest(ValidationError::new(field, message).to_string())
    };
    let who = match non_empty(&query.who) {
        Some("mine") => "mine",
        Some("all") => "all",
        None if user.user.role == Role::Sales => "mine",
        None => "all",
        Some(other) => return Err(bad("who", format!("\"{other}\" is not mine or all"))),
    };
    let start_of = |date: Date| local_instant(date, Time::midnight(), &user.zone);
    let parse_date = |field: &str, text: &str| -> Result<Date, WebError> {
        text.parse::<Date>()
            .map_err(|_| bad(field, format!("\"{text}\" is not a date (YYYY-MM-DD)")))
    };
    let mut send_from = None;
    let mut send_until: Option<Timestamp> = None;
    if let Some(from) = non_empty(&query.from) {
        send_from = Some(start_of(parse_date("from", from)?));
    }
    if let Some(to) = non_empty(&query.to) {
        let date = parse_date("to", to)?;
        let next = date
            .checked_add(1.day())
            .map_err(|_| bad("to", format!("\"{to}\" is out of range")))?;
        send_until = Some(start_of(next));
    }
    let today = now.to_zoned_datetime(user.zone.clone()).date();
    let range_end = match non_empty(&query.range) {
        None => None,
        Some("today") => Some(1),
        Some("week") => Some(7),
        Some(other) => return Err(bad("range", format!("\"{other}\" is not today or week"))),
    };
    if let Some(days) = range_end {
        let end = today
            .checked_add(days.days())
            .map(start_of)
            .unwrap_or(Timestamp::MAX);
        send_until = Some(send_until.map_or(end, |until| until.min(end)));
    }
    let mode = match non_empty(&query.mode) {
        Some(text) => Some(text.parse::<Mode>().map_err(|e| bad("mode", e.message))?),
        None => None,
    };
    // Only scheduled ones: a single status reads the (status, send_at) index in order, where
    // two would sort every pending reminder; an email being sent is so for seconds.
    let filter = ReminderFilter {
        status: Some(ReminderStatus::Scheduled),
        owner_id: (who == "mine").then_some(user.user.id),
        step: non_empty(&query.step).map(str::to_string),
        mode,
        send_from,
        send_until,
        limit: Some(PAGE_SIZE),
        cursor: cursor(&query.after, &query.before_id)?,
        ..ReminderFilter::default()
    };
    Ok((filter, who.to_string()))
}

async fn queue(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<QueueQuery>,
) -> Result<Html<String>, WebError> {
    let engine = &state.engine;
    let now = engine.now();
    let (filter, who) = queue_filter(&query, &user, now)?;
    let total = engine.count_reminders(&filter).await?;
    let list = engine.reminder_page(&filter).await?;
    let mut groups: Vec<(&'static str, Vec<QueueItem>)> = Vec::new();
    for r in &list.rows {
        let item = QueueItem {
            row: ReminderRow::new(r, &user, now),
            mode: r.mode.as_str(),
            mode_text: match r.mode {
                Mode::Auto => "timed",
                Mode::Approval => "waits for approval",
                Mode::Internal => "internal notice",
                Mode::Task => "task",
            },
        };
        match groups.last_mut() {
            Some((group, items)) if *group == item.row.group => items.push(item),
            _ => groups.push((item.row.group, vec![item])),
        }
    }
    let filtered = [
        &query.step,
        &query.from,
        &query.to,
        &query.range,
        &query.mode,
    ]
    .iter()
    .any(|v| non_empty(v).is_some());

    let step = non_empty(&query.step).unwrap_or_default().to_string();
    let mut steps: Vec<StepOption> = default_renewal_plan()
        .steps
        .iter()
        .map(|s| StepOption {
            key: s.key.clone(),
            label: s.label.clone(),
            selected: s.key == step,
        })
        .collect();
    if !step.is_empty() && !steps.iter().any(|s| s.selected) {
        steps.push(StepOption {
            key: step.clone(),
            label: step.clone(),
            selected: true,
        });
    }
    let text = |v: &Option<String>| non_empty(v).unwrap_or_default().to_string();
    let mut params = form_urlencoded::Serializer::new(String::new());
    params.append_pair("who", &who);
    for (name, value) in [
        ("step", &query.step),
        ("from", &query.from),
        ("to", &query.to),
        ("range", &query.range),
        ("mode", &query.mode),
    ] {
        if let Some(value) = non_empty(value) {
            params.append_pair(name, value);
        }
    }
    let page = QueuePage {
        layout: Layout::new(&user, "Review queue", "review"),
        who,
        steps,
        from: text(&query.from),
        to: text(&query.to),
        range: text(&query.range),
        mode: text(&query.mode),
        total,
        total_text: crate::format::count(total),
        groups,
        filtered,
        pager: Pager::new("/review", &params.finish(), &list, |r| r.id),
    };
    Ok(Html(page.render()?))
}

// ---------------------------------------------------------------------------------------
// One email

struct HistoryRow {
    at: String,
    actor: String,
    action: String,
    detail: String,
}

/// What the edit form holds: the current values, or what was typed.
#[derive(Deserialize, Default, Clone)]
pub struct EditForm {
    subject: Option<String>,
    body: Option<String>,
    to: Option<String>,
    cc: Option<String>,
    send_at: Option<String>,
    /// `next`: once saved, go on to the next email of the queue ("Save and next").
    then: Option<String>,
}

struct FormValues {
    subject: String,
    body: String,
    to: String,
    cc: String,
    send_at: String,
}

/// The email as it would go out with the typed changes.
struct PreviewBox {
    subject: String,
    body: String,
    to: String,
    cc: String,
    send_at: String,
    when: String,
    changed: bool,
}

#[derive(Template)]
#[template(path = "review_detail.html")]
struct DetailPage {
    layout: Layout,
    r: ReminderRow,
    mode: &'static str,
    zone: String,
    message_id: String,
    attempts: i32,
    open: bool,
    form: FormValues,
    errors: FieldErrors,
    preview: Option<PreviewBox>,
    history: Vec<HistoryRow>,
    /// A skipped email whose send time has not come: its skip can be undone.
    can_unskip: bool,
    /// The version that "Send now" sends (the wording as of now), sent back by its form.
    version: String,
    /// The wording "Send now" would send, when it differs from the scheduled one above (days
    /// left counted from today, not from the send time).
    sent_now: Option<WordingNow>,
}

#[derive(Template)]
#[template(path = "review_preview.html")]
struct PreviewFragment {
    error: Option<String>,
    preview: Option<PreviewBox>,
}

#[derive(Deserialize, Default)]
struct PreviewQuery {
    /// `1`: answer only the preview (for the page's script), not the whole page.
    fragment: Option<String>,
}

/// The element of the edit form a refused field is typed in.
fn edit_field(field: &str) -> Option<&'static str> {
    ["subject", "to", "cc", "send_at", "body"]
        .into_iter()
        .find(|id| *id == field)
}

fn current_values(view: &ReminderView, user: &CurrentUser) -> FormValues {
    FormValues {
        subject: view.subject.clone(),
        body: view.body.clone(),
        to: view.to.join(", "),
        cc: view.cc.join(", "),
        send_at: format::local_input(view.send_at, &user.zone),
    }
}

fn typed_values(form: &EditForm, current: FormValues) -> FormValues {
    let pick = |typed: &Option<String>, current: String| typed.clone().unwrap_or(current);
    FormValues {
        subject: pick(&form.subject, current.subject),
        body: pick(&form.body, current.body),
        to: pick(&form.to, current.to),
        cc: pick(&form.cc, current.cc),
        send_at: pick(&form.send_at, current.send_at),
    }
}

async fn detail_page(
    state: &AppState,
    user: &CurrentUser,
    view: ReminderView,
    form: Option<FormValues>,
    error: Option<ValidationError>,
    preview: Option<PreviewBox>,
) -> Result<DetailPage, WebError> {
    let now = state.engine.now();
    let history = state
        .engine
        .reminder_history(view.id)
        .await?
        .into_iter()
        .map(|e| HistoryRow {
            at: format::local(e.at, &user.zone),
            actor: e.actor,
            action: e.action,
            detail: e.detail,
        })
        .collect();
    let title = format!("Email: {}", view.subject);
    Ok(DetailPage {
        layout: Layout::new(user, title, "review"),
        r: ReminderRow::new(&view, user, now),
        mode: view.mode.as_str(),
        zone: user.zone_name.clone(),
        message_id: view.message_id.clone(),
        attempts: view.attempts,
        open: view.status.is_pending(),
        can_unskip: view.status == ReminderStatus::Skipped
            && view.send_at > now
            && user.viewer.may(Action::ChangeContract, view.owner_id),
        form: form.unwrap_or_else(|| current_values(&view, user)),
        errors: FieldErrors::of(error.as_ref(), edit_field, user.user.language),
        preview,
        history,
        version: view
            .if_sent_now
            .as_ref()
            .map_or_else(|| view.version.clone(), |now| now.version.clone()),
        sent_now: view.if_sent_now.filter(|now| now.version != view.version),
    })
}

async fn detail(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Html<String>, WebError> {
    let view = state.engine.reminder(id).await?;
    let page = detail_page(&state, &user, view, None, None, None).await?;
    Ok(Html(page.render()?))
}

/// The reminder, if this person may act on it (403 otherwise) and it is still open to
/// people (409 otherwise, with the engine's reason).
async fn changeable(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
) -> Result<ReminderView, WebError> {
    let view = state.engine.reminder(id).await?;
    user.require(Action::ChangeContract, view.owner_id)?;
    view.status
        .check_open_to_people(id)
        .map_err(|e| WebError::from(EngineError::from(e)))?;
    Ok(view)
}

fn split_addresses(text: &str) -> Vec<String> {
    text.split([',', ';', '\n'])
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect()
}

fn same_addresses(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
}

/// The changes the form asks for compared with the reminder as it is: fields left as they
/// were are not changes, so an untouched subject keeps following its template.
fn edits_of(
    form: &EditForm,
    view: &ReminderView,
    user: &CurrentUser,
    now: Timestamp,
) -> (ReminderEdits, Option<ValidationError>) {
    let mut edits = ReminderEdits::default();
    if let Some(subject) = &form.subject
        && subject.trim() != view.subject.trim()
    {
        edits.subject = Some(subject.trim().to_string());
    }
    if let Some(body) = &form.body {
        // Browsers send a textarea's lines with CRLF.
        let body = body.replace("\r\n", "\n");
        if body.trim_end() != view.body.trim_end() {
            edits.body = Some(body);
        }
    }
    if form.to.is_some() || form.cc.is_some() {
        let to = form
            .to
            .as_deref()
            .map(split_addresses)
            .unwrap_or_else(|| view.to.clone());
        let cc = form
            .cc
            .as_deref()
            .map(split_addresses)
            .unwrap_or_else(|| view.cc.clone());
        if !same_addresses(&to, &view.to) || !same_addresses(&cc, &view.cc) {
            edits.recipients = Some((to, cc));
        }
    }
    let mut refused = None;
    if let Some(text) = &form.send_at {
        let text = text.trim();
        if text != format::local_input(view.send_at, &user.zone) {
            match parse_local(text, user) {
                Ok(at) if at < now => {
                    refused = Some(ValidationError::new(
                        "send_at",
                        format!("{text} is in the past; choose a later time, or use Send now"),
                    ));
                }
                Ok(at) => edits.send_at = Some(at),
                Err(e) => refused = Some(e),
            }
        }
    }
    (edits, refused)
}

/// The form's changes checked, with every refusal at once: the send time is read here (in
/// the viewer's zone), the rest by the engine, which saves nothing to check a preview.
async fn checked_edits(
    state: &AppState,
    user: &CurrentUser,
    view: &ReminderView,
    form: &EditForm,
) -> Result<Result<ReminderEdits, ValidationError>, WebError> {
    let (edits, refused) = edits_of(form, view, user, state.engine.now());
    let Some(refused) = refused else {
        return Ok(Ok(edits));
    };
    match state.engine.preview_reminder(view.id, &edits).await {
        Ok(_) => Ok(Err(refused)),
        Err(EngineError::Invalid(more)) => Ok(Err(refused.and(more))),
        Err(other) => Err(other.into()),
    }
}

/// A `datetime-local` value in the viewer's zone as an instant (a time skipped by a clock
/// change moves later, one that occurs twice takes the first).
fn parse_local(text: &str, user: &CurrentUser) -> Result<Timestamp, ValidationError> {
    let invalid = || {
        ValidationError::new(
            "send_at",
            format!(
                "\"{text}\" is not a date and time (YYYY-MM-DDTHH:MM, in {})",
                user.zone_name
            ),
        )
    };
    if text.is_empty() {
        return Err(ValidationError::new("send_at", "give a date and time"));
    }
    let local: DateTime = text.parse().map_err(|_| invalid())?;
    user.zone
        .to_ambiguous_timestamp(local)
        .compatible()
        .map_err(|_| invalid())
}

fn preview_box(
    preview: tickler_engine::review::ReminderPreview,
    view: &ReminderView,
    user: &CurrentUser,
    now: Timestamp,
) -> PreviewBox {
    let changed = preview.subject != view.subject
        || preview.body != view.body
        || preview.to != view.to
        || preview.cc != view.cc
        || preview.send_at != view.send_at;
    PreviewBox {
        subject: preview.subject,
        body: preview.body,
        to: preview.to.join(", "),
        cc: preview.cc.join(", "),
        send_at: format::local(preview.send_at, &user.zone),
        when: format::relative(preview.send_at, now),
        changed,
    }
}

/// Renders the edit form's values as they would be sent, saving nothing.
async fn preview(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(query): Query<PreviewQuery>,
    Form(form): Form<EditForm>,
) -> Result<Response, WebError> {
    let view = changeable(&state, &user, id).await?;
    let fragment = query.fragment.as_deref() == Some("1");
    let now = state.engine.now();
    let result = match checked_edits(&state, &user, &view, &form).await? {
        Ok(edits) => match state.engine.preview_reminder(id, &edits).await {
            Ok(preview) => Ok(preview_box(preview, &view, &user, now)),
            Err(EngineError::Invalid(e)) => Err(e),
            Err(other) => return Err(other.into()),
        },
        Err(e) => Err(e),
    };
    let status = if result.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let (preview, error) = match result {
        Ok(p) => (Some(p), None),
        Err(e) => (None, Some(e)),
    };
    if fragment {
        let page = PreviewFragment {
            error: error.map(|e| e.to_string()),
            preview,
        };
        return Ok((status, Html(page.render()?)).into_response());
    }
    let values = typed_values(&form, current_values(&view, &user));
    let page = detail_page(&state, &user, view, Some(values), error, preview).await?;
    Ok((status, Html(page.render()?)).into_response())
}

async fn edit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<EditForm>,
) -> Result<Response, WebError> {
    let view = changeable(&state, &user, id).await?;
    let and_next = non_empty(&form.then) == Some("next");
    let error = match checked_edits(&state, &user, &view, &form).await? {
        Ok(edits) if edits.is_empty() && !and_next => {
            return Ok(redirect_with_notice(
                &format!("/review/{id}"),
                "Nothing changed.",
            ));
        }
        Ok(edits) => match save_edits(&state, &user, id, edits).await {
            Ok(saved) if and_next => {
                let next = next_in_queue(&state, &user, id).await?;
                let to =
                    next.map_or_else(|| "/review".to_string(), |next| format!("/review/{next}"));
                let done = if saved {
                    format!("Email {id} saved.")
                } else {
                    format!("Email {id} left as it was.")
                };
                let then = if next.is_some() {
                    "This is the next one."
                } else {
                    "That was the last one in your queue."
                };
                return Ok(redirect_with_notice(&to, &format!("{done} {then}")));
            }
            Ok(_) => {
                return Ok(redirect_with_notice(
                    &format!("/review/{id}"),
                    "Changes saved.",
                ));
            }
            Err(EngineError::Invalid(e)) => e,
            Err(other) => return Err(other.into()),
        },
        Err(e) => e,
    };
    let values = typed_values(&form, current_values(&view, &user));
    let page = detail_page(&state, &user, view, Some(values), Some(error), None).await?;
    Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response())
}

/// Saves a person's changes to an email; `false` when there were none.
async fn save_edits(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    edits: ReminderEdits,
) -> Result<bool, EngineError> {
    if edits.is_empty() {
        return Ok(false);
    }
    state.engine.edit_reminder(id, edits, &user.actor()).await?;
    Ok(true)
}

async fn reset(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    changeable(&state, &user, id).await?;
    state
        .engine
        .reset_reminder_wording(id, &user.actor())
        .await?;
    Ok(redirect_with_notice(
        &format!("/review/{id}"),
        "Wording and recipients reset to the template.",
    ))
}

#[derive(Deserialize)]
struct SendForm {
    /// The version of the email the page showed: only that is sent.
    version: Option<String>,
}

async fn send_now(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<SendForm>,
) -> Result<Response, WebError> {
    changeable(&state, &user, id).await?;
    let Some(version) = non_empty(&form.version) else {
        return Err(WebError::BadRequest(
            "version: the form does not say which version of the email you read; open the \
             email again and send it from its page"
                .to_string(),
        ));
    };
    let seen = SeenVersion::parse("version", version).map_err(EngineError::from)?;
    let outcome = state
        .engine
        .send_reminder_now(id, Some(&seen), &user.actor())
        .await?;
    let notice = outcome_notice(&outcome, &user);
    Ok(redirect_with_notice(&format!("/review/{id}"), &notice))
}

#[derive(Deserialize)]
struct SkipForm {
    reason: Option<String>,
    /// `next`: go on to the next email of the queue instead of staying on this one.
    then: Option<String>,
}

/// The email after `id` in the person's default queue (theirs for sales, everyone's
/// otherwise), for "Skip and next".
async fn next_in_queue(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
) -> Result<Option<i64>, WebError> {
    let filter = ReminderFilter {
        status: Some(ReminderStatus::Scheduled),
        owner_id: (user.user.role == Role::Sales).then_some(user.user.id),
        limit: Some(1),
        cursor: Some(Cursor::After(id)),
        ..ReminderFilter::default()
    };
    Ok(state
        .engine
        .reminder_page(&filter)
        .await?
        .rows
        .first()
        .map(|r| r.id))
}

async fn skip(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<SkipForm>,
) -> Result<Response, WebError> {
    changeable(&state, &user, id).await?;
    let reason = form.reason.unwrap_or_default();
    state
        .engine
        .skip_reminder(id, &reason, &user.actor())
        .await?;
    let notice = "Skipped: this email will not be sent. You can undo this until its send time.";
    if non_empty(&form.then) == Some("next") {
        let next = next_in_queue(&state, &user, id).await?;
        let to = next.map_or_else(|| "/review".to_string(), |next| format!("/review/{next}"));
        return Ok(redirect_with_notice(
            &to,
            &format!(
                "Email {id} skipped (undo it from its page). {}",
                if next.is_some() {
                    "This is the next one."
                } else {
                    "That was the last one in your queue."
                }
            ),
        ));
    }
    Ok(redirect_with_notice(&format!("/review/{id}"), notice))
}

/// What a person's send did, in words (test mode says the email reached nobody).
fn outcome_notice(outcome: &Outcome, user: &CurrentUser) -> String {
    match outcome {
        Outcome::Sent { reply } if user.test_mode => format!(
            "Written to the outbox folder, not sent (test mode: no mail server is set): {reply}"
        ),
        Outcome::Sent { reply } => format!("Sent. The mail server answered: {reply}"),
        Outcome::Retry { at, error } => format!(
            "Not sent yet ({error}); it will be tried again at {}.",
            format::local(*at, &user.zone)
        ),
        Outcome::Failed { reply } => format!("Sending failed: {reply}"),
        Outcome::Cancelled { reason } => format!("Not sent: {reason}"),
        Outcome::Fenced => "Another dispatcher took this email over; see its history.".to_string(),
        Outcome::Unrecorded { error } => {
            format!("The result could not be recorded ({error}); it will be checked again shortly.")
        }
    }
}

/// Sends late an email missed because its contract was entered after its time.
async fn send_missed(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let view = state.engine.reminder(id).await?;
    user.require(Action::ChangeContract, view.owner_id)?;
    let outcome = state.engine.send_missed_notice(id, &user.actor()).await?;
    let notice = outcome_notice(&outcome, &user);
    Ok(redirect_with_notice(
        &view
            .contract_id
            .map(|id| format!("/contracts/{id}"))
            .unwrap_or_else(|| "/review".to_string()),
        &notice,
    ))
}

async fn unskip(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let view = state.engine.reminder(id).await?;
    user.require(Action::ChangeContract, view.owner_id)?;
    state.engine.unskip_reminder(id, &user.actor()).await?;
    Ok(redirect_with_notice(
        &format!("/review/{id}"),
        "Skip undone: the email is back in the queue and goes out at its time.",
    ))
}

/// Skips or sends several emails of the queue at once (the checked rows): each as if on its
/// own page, each checked for the person's right to act on it; one that cannot be acted on
/// is named in the notice and the others go ahead.
async fn bulk(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let value = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let action = value("action");
    let reason = value("reason");
    let ids: Vec<i64> = fields
        .iter()
        .filter(|(k, _)| k == "id")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    if ids.is_empty() {
        return Ok(redirect_with_notice(
            "/review",
            "Nothing selected: tick the emails first.",
        ));
    }
    let (mut done, mut refused) = (0, Vec::new());
    for id in ids {
        let outcome = match changeable(&state, &user, id).await {
            Err(e) => Err(e.to_string()),
            Ok(_) => match action.as_str() {
                "skip" => state
                    .engine
                    .skip_reminder(id, &reason, &user.actor())
                    .await
                    .map_err(|e| e.to_string()),
                "approve" => match state
                    .engine
                    .send_reminder_now(id, None, &user.actor())
                    .await
                {
                    Ok(Outcome::Sent { .. }) => Ok(()),
                    Ok(other) => Err(outcome_notice(&other, &user)),
                    Err(e) => Err(e.to_string()),
                },
                other => {
                    return Err(WebError::BadRequest(format!(
                        "action: \"{other}\" is not skip or approve"
                    )));
                }
            },
        };
        match outcome {
            Ok(()) => done += 1,
            Err(why) => refused.push(format!("email {id}: {why}")),
        }
    }
    let verb = if action == "skip" { "Skipped" } else { "Sent" };
    let mut notice = format!("{verb} {done} email{}.", if done == 1 { "" } else { "s" });
    if !refused.is_empty() {
        notice.push_str(&format!(" Not done: {}.", refused.join("; ")));
    }
    Ok(redirect_with_notice("/review", &notice))
}
