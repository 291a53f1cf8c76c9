//! What a person does to a contract from its page, for other programs: renew it (the next
//! term), record that the customer declines, or end it early. Each calls the engine
//! function the page and the CLI call, and answers with the contract as it now is.

use axum::{body::Bytes, extract::State, http::StatusCode, response::Response};
use serde::Deserialize;
use tickler_core::{access::Action, error::parse_date};
use tickler_engine::Actor;
use utoipa::ToSchema;

use super::{
    ApiError, ApiUser,
    error::ErrorBody,
    extract::IdPath,
    resources::{ContractOut, invalid, optional_body_of, with_etag},
};
use crate::AppState;

/// Refuses (403) unless the token's user may change contract `id`; 404 if there is none.
async fn require_change(state: &AppState, api: &ApiUser, id: i64) -> Result<(), ApiError> {
    let contract = state.engine.contract_detail(id).await?.contract;
    if api.viewer.may(Action::ChangeContract, contract.owner_id) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "your role may change only the contracts you own",
        ))
    }
}

/// The contract as it is now, its version as the `ETag`.
async fn contract_now(state: &AppState, id: i64) -> Result<Response, ApiError> {
    let detail = state.engine.contract_detail(id).await?;
    Ok(with_etag(StatusCode::OK, ContractOut::from(detail)))
}

/// The next term; the body may be left out.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields, default)]
#[schema(as = RenewContract, examples(json!({"end": "2028-03-31"})))]
pub(super) struct RenewIn {
    /// The new term's end date; left out, the new term is as long as the one that ends.
    /// It starts the day after the current term's end date.
    #[schema(format = Date)]
    end: Option<String>,
}

/// Renews a contract: its next term starts the day after the current one ends, the ending
/// term's pending emails are cancelled and the new term's scheduled.
#[utoipa::path(
    post,
    path = "/api/v1/contracts/{id}/renew",
    tag = "contracts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The contract's id")),
    request_body(content = Option<RenewIn>, description = "Optional: the new term's end date"),
    responses(
        (status = 200, description = "Renewed: the contract in its new term", body = ContractOut,
            headers(("ETag" = String, description = "The contract's new `version`, quoted"))),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 403, description = "The token's role may change only the contracts its user owns",
            body = ErrorBody),
        (status = 404, description = "No such contract", body = ErrorBody),
        (status = 409, description = "The contract is terminated, or was renewed meanwhile",
            body = ErrorBody),
        (status = 422, description = "A value (or the id) refused; `field` names it", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn renew(
    State(state): State<AppState>,
    api: ApiUser,
    IdPath(id): IdPath,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_change(&state, &api, id).await?;
    let input: RenewIn = optional_body_of(&body)?;
    // Left out, the term is as long as the one that ends; given, it must be a date (an
    // empty string too is refused, as the document's `format: date` says).
    let end = match input.end.as_deref().map(str::trim) {
        None => None,
        Some(text) => Some(parse_date("end", text).map_err(tickler_engine::EngineError::from)?),
    };
    state
        .engine
        .renew_contract(id, end, &Actor(api.user.email.clone()))
        .await?;
    contract_now(&state, id).await
}

/// The customer's decision not to renew; the body may be left out.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields, default)]
#[schema(as = DeclineContract, examples(json!({"reason": "moving to another provider"})))]
pub(super) struct DeclineIn {
    /// Why, in the customer's words (kept in the contract's history).
    reason: Option<String>,
}

/// Records that the customer does not renew (what the customer's decline link does, done
/// by the team): the current term's emails before its end date are cancelled.
#[utoipa::path(
    post,
    path = "/api/v1/contracts/{id}/decline",
    tag = "contracts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The contract's id")),
    request_body(content = Option<DeclineIn>, description = "Optional: the reason"),
    responses(
        (status = 200, description = "Recorded: the contract, its `answer` now `decline`",
            body = ContractOut,
            headers(("ETag" = String, description = "The contract's new `version`, quoted"))),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 403, description = "The token's role may change only the contracts its user owns",
            body = ErrorBody),
        (status = 404, description = "No such contract", body = ErrorBody),
        (status = 409, description = "The current term was already answered", body = ErrorBody),
        (status = 422, description = "A value (or the id) refused; `field` names it", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn decline(
    State(state): State<AppState>,
    api: ApiUser,
    IdPath(id): IdPath,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_change(&state, &api, id).await?;
    let input: DeclineIn = optional_body_of(&body)?;
    state
        .engine
        .decline_contract(id, input.reason, &Actor(api.user.email.clone()))
        .await?;
    contract_now(&state, id).await
}

/// Why the contract ends early.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TerminateContract, examples(json!({"reason": "customer closed the site"})))]
pub(super) struct TerminateIn {
    /// One line, kept in the contract's history.
    #[schema(min_length = 1, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    reason: String,
}

/// Ends a contract early (`tickler contract terminate`): its pending emails are cancelled.
#[utoipa::path(
    post,
    path = "/api/v1/contracts/{id}/terminate",
    tag = "contracts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The contract's id")),
    request_body = TerminateIn,
    responses(
        (status = 200, description = "Terminated: the contract, its `status` now `terminated`",
            body = ContractOut,
            headers(("ETag" = String, description = "The contract's new `version`, quoted"))),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 403, description = "The token's role may change only the contracts its user owns",
            body = ErrorBody),
        (status = 404, description = "No such contract", body = ErrorBody),
        (status = 409, description = "The contract is already terminated", body = ErrorBody),
        (status = 422, description = "A value (or the id) refused; `field` names it", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn terminate(
    State(state): State<AppState>,
    api: ApiUser,
    IdPath(id): IdPath,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_change(&state, &api, id).await?;
    let input: TerminateIn = super::resources::body_of(&body)?;
    // As the page asks: a reason of one line.
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().any(char::is_control) {
        return Err(invalid("reason", "say why the contract ends (one line)"));
    }
    state
        .engine
        .terminate_contract(id, reason, &Actor(api.user.email.clone()))
        .await?;
    contract_now(&state, id).await
}
