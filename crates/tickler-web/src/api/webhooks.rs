//! Webhook receivers for other programs, admins only, as on the Webhooks page and with
//! `tickler webhook`: register one (its secret answered once), list them, remove one, read
//! a receiver's deliveries and post one again.

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderValue, StatusCode, header::LOCATION},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use tickler_core::access::Action;
use tickler_engine::Actor;
use utoipa::ToSchema;

use super::{
    ApiError, ApiUser,
    error::ErrorBody,
    extract::{ApiQuery, IdPath},
    resources::body_of,
};
use crate::AppState;

fn require_admin(api: &ApiUser) -> Result<(), ApiError> {
    if api.viewer.may(Action::Administer, None) {
        Ok(())
    } else {
        Err(ApiError::forbidden("only admins manage webhooks"))
    }
}

/// A receiver, never its secret.
#[derive(Serialize, ToSchema)]
#[schema(as = Webhook)]
pub(super) struct WebhookOut {
    id: i64,
    url: String,
    /// The events it receives.
    events: Vec<String>,
    description: String,
    /// RFC 3339.
    #[schema(format = DateTime)]
    created_at: String,
}

impl From<tickler_engine::webhooks::Endpoint> for WebhookOut {
    fn from(e: tickler_engine::webhooks::Endpoint) -> Self {
        WebhookOut {
            id: e.id,
            url: e.url,
            events: e.events.split(',').map(str::to_string).collect(),
            description: e.description,
            created_at: e.created_at.to_string(),
        }
    }
}

/// The receivers in use.
#[derive(Serialize, ToSchema)]
#[schema(as = WebhookList)]
pub(super) struct WebhookListOut {
    data: Vec<WebhookOut>,
}

/// A receiver to register.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewWebhook, examples(json!({
    "url": "https://crm.example.com/hooks/tickler",
    "events": ["reminder.sent", "contract.created"],
    "description": "CRM sync"
})))]
pub(super) struct NewWebhookIn {
    /// Where events are posted: `https://` (or `http://` on a trusted network).
    url: String,
    /// Event names, or `["*"]` for all of them.
    #[schema(min_items = 1)]
    events: Vec<String>,
    description: Option<String>,
}

/// A receiver just registered, with the secret that signs its deliveries: answered this
/// once.
#[derive(Serialize, ToSchema)]
#[schema(as = WebhookCreated)]
pub(super) struct WebhookCreatedOut {
    #[serde(flatten)]
    webhook: WebhookOut,
    /// The signing secret (`whsec_...`); see the README's "Webhooks" for checking it.
    secret: String,
}

/// The receivers in use, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The receivers", body = WebhookListOut),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 403, description = "Only admins manage webhooks", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn list(
    State(state): State<AppState>,
    api: ApiUser,
) -> Result<Json<WebhookListOut>, ApiError> {
    require_admin(&api)?;
    let data = state
        .engine
        .webhooks()
        .await?
        .into_iter()
        .map(WebhookOut::from)
        .collect();
    Ok(Json(WebhookListOut { data }))
}

/// Registers a receiver; the answer carries its secret, shown this once.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    security(("bearer" = [])),
    request_body = NewWebhookIn,
    responses(
        (status = 201, description = "Registered: the receiver and its secret", body = WebhookCreatedOut,
            headers(("Location" = String, description = "The receiver's address in the API"))),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 403, description = "Only admins manage webhooks", body = ErrorBody),
        (status = 422, description = "A value refused; `field` names it", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn create(
    State(state): State<AppState>,
    api: ApiUser,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_admin(&api)?;
    let input: NewWebhookIn = body_of(&body)?;
    let made = state
        .engine
        .add_webhook(
            &input.url,
            &input.events.join(","),
            input.description.as_deref(),
            &Actor(api.user.email.clone()),
        )
        .await?;
    let webhook = WebhookOut::from(state.engine.webhook(made.id).await?);
    let mut response = (
        StatusCode::CREATED,
        Json(WebhookCreatedOut {
            webhook,
            secret: made.secret,
        }),
    )
        .into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/webhooks/{}", made.id)) {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

/// One receiver.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The receiver's id")),
    responses(
        (status = 200, description = "The receiver", body = WebhookOut),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 403, description = "Only admins manage webhooks", body = ErrorBody),
        (status = 404, description = "No such receiver in use", body = ErrorBody),
        (status = 422, description = "The id refused", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn get_one(
    State(state): State<AppState>,
    api: ApiUser,
    IdPath(id): IdPath,
) -> Result<Json<WebhookOut>, ApiError> {
    require_admin(&api)?;
    Ok(Json(WebhookOut::from(state.engine.webhook(id).await?)))
}

/// Stops posting to a receiver; what was still to be delivered to it is marked failed.
#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The receiver's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 403, description = "Only admins manage webhooks", body = ErrorBody),
        (status = 404, description = "No such receiver in use", body = ErrorBody),
        (status = 422, description = "The id refused", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn remove(
    State(state): State<AppState>,
    api: ApiUser,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    require_admin(&api)?;
    state
        .engine
        .remove_webhook(id, &Actor(api.user.email.clone()))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which deliveries to list.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct DeliveryFilter {
    /// `pending`, `delivered` or `failed`; all when left out.
    status: Option<String>,
    /// At most this many, newest first (1 to 1000, default 50).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

/// One delivery of an event to a receiver.
#[derive(Serialize, ToSchema)]
#[schema(as = WebhookDelivery)]
pub(super) struct DeliveryOut {
    id: i64,
    /// The event's id as the receiver sees it (`Tickler-Event-Id`).
    event_id: String,
    event_type: String,
    subject_type: String,
    subject_id: i64,
    webhook_id: i64,
    /// `pending`, `delivered` or `failed`.
    status: String,
    attempts: i64,
    /// The receiver's last HTTP status, if it answered.
    #[schema(required = true)]
    last_status: Option<i64>,
    /// Why the last attempt got no answer (a timeout, a refused connection).
    #[schema(required = true)]
    last_error: Option<String>,
    #[schema(format = DateTime, required = true)]
    next_attempt_at: Option<String>,
    #[schema(format = DateTime, required = true)]
    delivered_at: Option<String>,
}

/// A receiver's deliveries.
#[derive(Serialize, ToSchema)]
#[schema(as = WebhookDeliveryList)]
pub(super) struct DeliveryListOut {
    data: Vec<DeliveryOut>,
}

/// A receiver's latest deliveries, newest first, with its last answer to each.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{id}/deliveries",
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The receiver's id"), DeliveryFilter),
    responses(
        (status = 200, description = "The deliveries", body = DeliveryListOut),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 403, description = "Only admins manage webhooks", body = ErrorBody),
        (status = 404, description = "No such receiver in use", body = ErrorBody),
        (status = 422, description = "A filter (or the id) refused; `field` names it", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn deliveries(
    State(state): State<AppState>,
    api: ApiUser,
    IdPath(id): IdPath,
    ApiQuery(filter): ApiQuery<DeliveryFilter>,
) -> Result<Json<DeliveryListOut>, ApiError> {
    require_admin(&api)?;
    state.engine.webhook(id).await?;
    let limit = match filter.limit {
        None => 50,
        Some(n) if (1..=1000).contains(&n) => n,
        Some(_) => return Err(super::resources::invalid("limit", "must be 1 to 1000")),
    };
    let status = filter.status.as_deref().filter(|s| !s.is_empty());
    let data = state
        .engine
        .webhook_deliveries(Some(id), status, limit)
        .await?
        .into_iter()
        .map(|d| DeliveryOut {
            id: d.id,
            event_id: format!("evt_{}", d.event_id),
            event_type: d.event_type,
            subject_type: d.subject_type,
            subject_id: d.subject_id,
            webhook_id: d.endpoint_id,
            status: d.status,
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error,
            next_attempt_at: d.next_attempt_at.map(|at| at.to_string()),
            delivered_at: d.delivered_at.map(|at| at.to_string()),
        })
        .collect();
    Ok(Json(DeliveryListOut { data }))
}

/// The delivery made to post an event again.
#[derive(Serialize, ToSchema)]
#[schema(as = WebhookRedelivery)]
pub(super) struct RedeliveryOut {
    /// The new delivery (the event keeps its id).
    delivery_id: i64,
}

/// Posts a delivery's event to its receiver again, now, as a new delivery.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/deliveries/{id}/redeliver",
    tag = "webhooks",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The delivery's id")),
    responses(
        (status = 202, description = "Queued: the dispatcher posts it now", body = RedeliveryOut),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 403, description = "Only admins manage webhooks", body = ErrorBody),
        (status = 404, description = "No such delivery, or its receiver was removed", body = ErrorBody),
        (status = 422, description = "The id refused", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn redeliver(
    State(state): State<AppState>,
    api: ApiUser,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    require_admin(&api)?;
    let delivery_id = state
        .engine
        .redeliver_webhook(id, &Actor(api.user.email.clone()))
        .await?;
    Ok((StatusCode::ACCEPTED, Json(RedeliveryOut { delivery_id })).into_response())
}
