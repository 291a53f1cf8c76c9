//! A contract's history in the API: who did what to the contract and its reminders, and
//! when, oldest first; what the contract's page shows under "History" (the engine's
//! `contract_detail`). Open to anyone with a token.

use axum::{Json, extract::State};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiError, ApiUser, error::ErrorBody, extract::IdPath};
use crate::AppState;

/// One thing done: `actor` did `action` to a subject at `at`.
#[derive(Serialize, ToSchema)]
#[schema(as = ContractEvent)]
pub(super) struct EventOut {
    id: i64,
    #[schema(format = DateTime)]
    at: String,
    /// Who: a user's email, `system`, or `customer` (through a signed link).
    actor: String,
    /// What it was done to: `contract`, or `reminder` (one of the contract's).
    subject_type: String,
    subject_id: i64,
    /// What was done, e.g. `created`, `renewed`, `sent`, `skipped`.
    action: String,
    /// Words about it, e.g. the reason given.
    detail: String,
}

/// A contract's history, oldest first.
#[derive(Serialize, ToSchema)]
pub(super) struct EventList {
    data: Vec<EventOut>,
}

/// A contract's history: what was done to it and its reminders, by whom and when, oldest
/// first (the contract page's "History").
#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}/events",
    tag = "contracts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The contract's id")),
    responses(
        (status = 200, description = "The contract's history", body = EventList),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 404, description = "No such contract", body = ErrorBody),
        (status = 422, description = "The id is not a whole number; `field` is `id`", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn contract_events(
    State(state): State<AppState>,
    _api: ApiUser,
    IdPath(id): IdPath,
) -> Result<Json<EventList>, ApiError> {
    let detail = state.engine.contract_detail(id).await?;
    Ok(Json(EventList {
        data: detail
            .events
            .into_iter()
            .map(|e| EventOut {
                id: e.id,
                at: e.at.to_string(),
                actor: e.actor,
                subject_type: e.subject_type,
                subject_id: e.subject_id,
                action: e.action,
                detail: e.detail,
            })
            .collect(),
    }))
}
