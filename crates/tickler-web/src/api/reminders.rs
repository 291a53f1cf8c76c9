//! Reminders (timed emails) in the API: listed and read as the review queue shows them,
//! and, like the review page, changed, sent at once or skipped by people whose role may
//! change the reminder's contract.

use axum::{Json, body::Bytes, extract::State};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tickler_core::{access::Action, reminder::ReminderStatus, seen::SeenVersion};
use tickler_engine::{
    Actor, EngineError,
    browse::{COUNT_CAP, ReminderFilter},
    dispatch::Outcome,
    review::{ReminderEdits, ReminderView},
};
use utoipa::{IntoParams, ToSchema};

use super::{
    ApiError, ApiUser,
    error::ErrorBody,
    extract::{ApiQuery, IdPath},
    openapi,
    resources::{Page, body_of, cursor_of, invalid, limit_of, optional_body_of},
};
use crate::AppState;

/// A reminder as the API shows it: its record and the email it would be sent with now (or
/// was sent with).
#[derive(Serialize, ToSchema)]
#[schema(as = Reminder)]
pub(super) struct ReminderOut {
    id: i64,
    /// `null` for a morning digest, which is about no contract.
    contract_id: Option<i64>,
    contract_title: String,
    customer_name: String,
    /// The contract's owner, if any.
    #[schema(required = true)]
    owner_id: Option<i64>,
    /// What the email is about: `contract_term`, `billing_period`, `invoice`, `quote`,
    /// `task` or `digest`, and its id.
    subject_type: &'static str,
    subject_id: i64,
    /// The invoice the email is about, if it is about one.
    #[schema(required = true)]
    invoice_id: Option<i64>,
    term_number: i32,
    /// The plan step's key, and its label.
    step: String,
    label: String,
    #[schema(value_type = openapi::ReminderModeName)]
    mode: &'static str,
    #[schema(value_type = openapi::ReminderStatusName)]
    status: &'static str,
    /// Why it is skipped, cancelled or superseded.
    #[schema(required = true)]
    status_reason: Option<String>,
    /// When it goes (or went) out.
    #[schema(format = DateTime)]
    send_at: String,
    /// When the dispatcher tries again, for a reminder the mail server turned away for now.
    #[schema(required = true, format = DateTime)]
    next_attempt_at: Option<String>,
    to: Vec<String>,
    cc: Vec<String>,
    subject: String,
    body: String,
    /// Whether a person changed its wording, recipients or time.
    edited: bool,
    attempts: i32,
    #[schema(required = true)]
    last_error: Option<String>,
    #[schema(required = true, format = DateTime)]
    sent_at: Option<String>,
    /// The version of the subject, body and recipients above.
    version: String,
    /// A scheduled email as it would read if sent now; `null` once it is out of people's
    /// hands. Its `version` is what `send-now` takes.
    #[schema(required = true)]
    if_sent_now: Option<WordingNowOut>,
}

/// An email's wording as of now, and the version that sends exactly it.
#[derive(Serialize, ToSchema)]
#[schema(as = WordingNow)]
pub(super) struct WordingNowOut {
    subject: String,
    body: String,
    version: String,
}

impl From<ReminderView> for ReminderOut {
    fn from(view: ReminderView) -> Self {
        ReminderOut {
            id: view.id,
            contract_id: view.contract_id,
            contract_title: view.contract_title,
            customer_name: view.customer_name,
            owner_id: view.owner_id,
            subject_type: view.subject_type.as_str(),
            subject_id: view.subject_id,
            invoice_id: view.invoice_id,
            term_number: view.term_number,
            step: view.step,
            label: view.label,
            mode: view.mode.as_str(),
            status: view.status.as_str(),
            status_reason: view.status_reason,
            send_at: view.send_at.to_string(),
            next_attempt_at: view.next_attempt_at.map(|t| t.to_string()),
            to: view.to,
            cc: view.cc,
            subject: view.subject,
            body: view.body,
            edited: view.edited,
            attempts: view.attempts,
            last_error: view.last_error,
            sent_at: view.sent_at.map(|t| t.to_string()),
            version: view.version,
            if_sent_now: view.if_sent_now.map(|w| WordingNowOut {
                subject: w.subject,
                body: w.body,
                version: w.version,
            }),
        }
    }
}

/// The query of the reminder list.
#[derive(Deserialize, Default, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub(super) struct ReminderQuery {
    /// Reminders of this contract.
    contract_id: Option<i64>,
    /// Only reminders with this status; empty: any.
    #[param(pattern = "^(scheduled|sending|sent|failed|skipped|cancelled|superseded)?$")]
    status: Option<String>,
    /// Reminders of contracts of this owner: a user id, or `me`.
    owner: Option<String>,
    /// The `next_cursor` of the page before.
    cursor: Option<String>,
    /// Rows per page: 1 to 200, 50 if left out.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// A page of reminders, in the order they go out (the review queue's order).
#[utoipa::path(
    get,
    path = "/api/v1/reminders",
    tag = "reminders",
    security(("bearer" = [])),
    params(ReminderQuery),
    responses(
        (status = 200, description = "A page of reminders", body = Page<ReminderOut>),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 422, description = "A query parameter refused; `field` names it", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn list_reminders(
    State(state): State<AppState>,
    api: ApiUser,
    ApiQuery(query): ApiQuery<ReminderQuery>,
) -> Result<Json<Page<ReminderOut>>, ApiError> {
    let status = query
        .status
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.parse::<ReminderStatus>())
        .transpose()
        .map_err(|_| {
            invalid(
                "status",
                "must be scheduled, sending, sent, failed, skipped, cancelled or superseded",
            )
        })?;
    let owner_id = match query.owner.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("me") => Some(api.user.id),
        Some(text) => Some(
            text.parse()
                .map_err(|_| invalid("owner", "must be a user id or me"))?,
        ),
    };
    let filter = ReminderFilter {
        contract_id: query.contract_id,
        status,
        owner_id,
        limit: Some(limit_of(query.limit)?),
        cursor: cursor_of(query.cursor.as_deref())?,
        ..ReminderFilter::default()
    };
    let total = state.engine.count_reminders(&filter).await?;
    let page = state.engine.reminder_page(&filter).await?;
    let next_cursor = page
        .has_next
        .then(|| page.rows.last().map(|r| r.id.to_string()))
        .flatten();
    Ok(Json(Page {
        data: page.rows.into_iter().map(ReminderOut::from).collect(),
        next_cursor,
        total: total.min(COUNT_CAP),
        total_capped: total >= COUNT_CAP,
    }))
}

/// One reminder.
#[utoipa::path(
    get,
    path = "/api/v1/reminders/{id}",
    operation_id = "get_reminder",
    tag = "reminders",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The reminder's id")),
    responses(
        (status = 200, description = "The reminder", body = ReminderOut),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 404, description = "No such reminder", body = ErrorBody),
        (status = 422, description = "The id is not a whole number; `field` is `id`", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn reminder(
    State(state): State<AppState>,
    _api: ApiUser,
    IdPath(id): IdPath,
) -> Result<Json<ReminderOut>, ApiError> {
    Ok(Json(state.engine.reminder(id).await?.into()))
}

/// Refuses (403) unless the token's user may change reminder `id`'s contract; 404 if
/// there is no such reminder.
async fn require_change(state: &AppState, api: &ApiUser, id: i64) -> Result<(), ApiError> {
    let view = state.engine.reminder(id).await?;
    if api.viewer.may(Action::ChangeContract, view.owner_id) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "your role may change only the emails of contracts you own",
        ))
    }
}

/// Changes to a scheduled reminder: a field left out stays as it is.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ReminderChanges, examples(json!({
    "subject": "Your maintenance contract ends soon", "send_at": "2027-11-30T09:00:00+09:00"
})))]
pub(super) struct ReminderChangesIn {
    /// One line.
    #[schema(min_length = 1)]
    subject: Option<String>,
    #[schema(min_length = 1)]
    body: Option<String>,
    /// An instant with its offset (RFC 3339).
    #[schema(format = DateTime)]
    send_at: Option<String>,
    /// Replaces the recipients (at least one); `cc` stays as it is if left out.
    to: Option<Vec<String>>,
    /// Replaces the CC recipients; `to` stays as it is if left out.
    cc: Option<Vec<String>>,
}

/// Changes a scheduled reminder's wording, recipients or send time, as the review page
/// does; the change survives later recomputations of the contract's schedule.
#[utoipa::path(
    patch,
    path = "/api/v1/reminders/{id}",
    tag = "reminders",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The reminder's id")),
    request_body = ReminderChangesIn,
    responses(
        (status = 200, description = "Changed: the reminder as it is now", body = ReminderOut),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 403, description = "The token's role may change only the emails of contracts \
                                      its user owns", body = ErrorBody),
        (status = 404, description = "No such reminder", body = ErrorBody),
        (status = 409, description = "The reminder is no longer scheduled (sent, skipped, ...)",
            body = ErrorBody),
        (status = 422, description = "A value (or the id) refused, or nothing to change; \
                                      `field` names it", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn update_reminder(
    State(state): State<AppState>,
    api: ApiUser,
    IdPath(id): IdPath,
    body: Bytes,
) -> Result<Json<ReminderOut>, ApiError> {
    require_change(&state, &api, id).await?;
    let input: ReminderChangesIn = body_of(&body)?;
    let send_at = input
        .send_at
        .as_deref()
        .map(|text| {
            text.trim().parse::<Timestamp>().map_err(|_| {
                invalid(
                    "send_at",
                    "is not an instant with its offset, such as 2027-11-30T09:00:00+09:00",
                )
            })
        })
        .transpose()?;
    let recipients = match (input.to, input.cc) {
        (None, None) => None,
        (to, cc) => {
            let current = state.engine.reminder(id).await?;
            Some((to.unwrap_or(current.to), cc.unwrap_or(current.cc)))
        }
    };
    let edits = ReminderEdits {
        subject: input.subject,
        body: input.body,
        send_at,
        recipients,
    };
    state
        .engine
        .edit_reminder(id, edits, &Actor(api.user.email.clone()))
        .await?;
    Ok(Json(state.engine.reminder(id).await?.into()))
}

/// Which version of the email to send; the body may be left out.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields, default)]
#[schema(as = SendNow)]
pub(super) struct SendNowIn {
    /// The `if_sent_now.version` the client read: if the email would now go out otherwise
    /// (edited meanwhile), nothing is sent (409). Left out: sent as it is now.
    version: Option<String>,
}

/// What happened to an email sent at once.
#[derive(Serialize, ToSchema)]
#[schema(as = SendNowResult)]
pub(super) struct SendNowOut {
    #[schema(value_type = SendOutcomeName)]
    outcome: &'static str,
    /// The mail server's reply, the error, or the reason it was not sent.
    #[schema(required = true)]
    detail: Option<String>,
    /// When it is tried again (`outcome` `retry`).
    #[schema(required = true, format = DateTime)]
    retry_at: Option<String>,
    /// The reminder as it is now.
    reminder: ReminderOut,
}

/// What a send did: `sent`; `retry` (the mail server turned it away for now); `failed`
/// (for good); `cancelled` (a stop rule holds: renewed, paid, ...); `fenced` (another
/// dispatcher took it over); `unrecorded` (sent or not, the outcome could not be recorded
/// yet; it is checked again shortly).
#[derive(ToSchema)]
#[schema(as = SendOutcome)]
#[allow(dead_code, non_camel_case_types)]
pub(super) enum SendOutcomeName {
    sent,
    retry,
    failed,
    cancelled,
    fenced,
    unrecorded,
}

/// Sends a scheduled reminder at once, through the same path as the dispatcher.
#[utoipa::path(
    post,
    path = "/api/v1/reminders/{id}/send-now",
    tag = "reminders",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The reminder's id")),
    request_body(content = Option<SendNowIn>,
        description = "Optional: the version read, so that only that is sent"),
    responses(
        (status = 200, description = "Tried: what happened", body = SendNowOut),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 403, description = "The token's role may change only the emails of contracts \
                                      its user owns", body = ErrorBody),
        (status = 404, description = "No such reminder", body = ErrorBody),
        (status = 409, description = "The reminder is no longer scheduled, or changed since the \
                                      version read; nothing was sent", body = ErrorBody),
        (status = 422, description = "A value (or the id) refused; `field` names it", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn send_now(
    State(state): State<AppState>,
    api: ApiUser,
    IdPath(id): IdPath,
    body: Bytes,
) -> Result<Json<SendNowOut>, ApiError> {
    require_change(&state, &api, id).await?;
    let input: SendNowIn = optional_body_of(&body)?;
    let seen = input
        .version
        .as_deref()
        .map(|v| SeenVersion::parse("version", v.trim()).map_err(EngineError::from))
        .transpose()?;
    let outcome = state
        .engine
        .send_reminder_now(id, seen.as_ref(), &Actor(api.user.email.clone()))
        .await?;
    let (name, detail, retry_at) = match outcome {
        Outcome::Sent { reply } => ("sent", Some(reply), None),
        Outcome::Retry { at, error } => ("retry", Some(error), Some(at.to_string())),
        Outcome::Failed { reply } => ("failed", Some(reply), None),
        Outcome::Cancelled { reason } => ("cancelled", Some(reason), None),
        Outcome::Fenced => ("fenced", None, None),
        Outcome::Unrecorded { error } => ("unrecorded", Some(error), None),
    };
    Ok(Json(SendNowOut {
        outcome: name,
        detail,
        retry_at,
        reminder: state.engine.reminder(id).await?.into(),
    }))
}

/// Why the email is not to be sent; the body may be left out.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields, default)]
#[schema(as = SkipReminder, examples(json!({"reason": "told them on the phone"})))]
pub(super) struct SkipIn {
    /// Kept with the reminder; "skipped by a person" if left out.
    reason: Option<String>,
}

/// Decides that a scheduled reminder will not be sent.
#[utoipa::path(
    post,
    path = "/api/v1/reminders/{id}/skip",
    tag = "reminders",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The reminder's id")),
    request_body(content = Option<SkipIn>, description = "Optional: the reason"),
    responses(
        (status = 200, description = "Skipped: the reminder as it is now", body = ReminderOut),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 403, description = "The token's role may change only the emails of contracts \
                                      its user owns", body = ErrorBody),
        (status = 404, description = "No such reminder", body = ErrorBody),
        (status = 409, description = "The reminder is no longer scheduled", body = ErrorBody),
        (status = 422, description = "A value (or the id) refused; `field` names it", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn skip(
    State(state): State<AppState>,
    api: ApiUser,
    IdPath(id): IdPath,
    body: Bytes,
) -> Result<Json<ReminderOut>, ApiError> {
    require_change(&state, &api, id).await?;
    let input: SkipIn = optional_body_of(&body)?;
    state
        .engine
        .skip_reminder(
            id,
            input.reason.as_deref().unwrap_or(""),
            &Actor(api.user.email.clone()),
        )
        .await?;
    Ok(Json(state.engine.reminder(id).await?.into()))
}
