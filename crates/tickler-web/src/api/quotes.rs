//! Renewal quotes in the API: listed and read by anyone with a token; accepted or declined,
//! as on the quote's page, by those who may change its contract. The same engine use cases
//! as the quote pages and `tickler quote list|show|accept|decline`, presented through the
//! engine's `quote_view` like the CLI's JSON.

use axum::{Json, body::Bytes, extract::State};
use serde::{Deserialize, Serialize};
use tickler_core::{access::Action, quote::QuoteStatus};
use tickler_engine::{
    Actor,
    quote_view::{QuoteDetailView, QuoteView},
    quotes::{QuoteDetail, QuoteFilter},
};
use utoipa::{IntoParams, ToSchema};

use super::{
    ApiError, ApiUser,
    error::ErrorBody,
    extract::{ApiQuery, IdPath},
    resources::{MAX_LIMIT, invalid, limit_of, optional_body_of},
};
use crate::AppState;

/// A quote's status.
#[derive(ToSchema)]
#[schema(as = QuoteStatus)]
#[allow(dead_code, non_camel_case_types)]
pub(super) enum QuoteStatusName {
    draft,
    sent,
    accepted,
    declined,
    expired,
}

/// A quote in a list.
#[derive(Serialize, ToSchema)]
pub(super) struct QuoteRow {
    id: i64,
    /// "Q-7".
    number: String,
    contract_id: i64,
    #[schema(value_type = QuoteStatusName)]
    status: &'static str,
    /// The last day the customer may accept it.
    #[schema(format = Date)]
    valid_until: String,
    /// The next term offered.
    #[schema(format = Date)]
    term_start: String,
    #[schema(format = Date)]
    term_end: String,
    /// An ISO 4217 code; the amounts are decimals in it, "1612.00".
    currency: String,
    subtotal: String,
    tax: String,
    total: String,
    /// The customer's signed links; `null` without `TICKLER_PUBLIC_URL`.
    #[schema(required = true)]
    accept_url: Option<String>,
    #[schema(required = true)]
    decline_url: Option<String>,
    /// The term its acceptance started; `null` until accepted.
    #[schema(required = true)]
    next_term_id: Option<i64>,
}

impl From<QuoteView> for QuoteRow {
    fn from(v: QuoteView) -> Self {
        QuoteRow {
            id: v.id,
            number: v.number,
            contract_id: v.contract_id,
            status: v.status,
            valid_until: v.valid_until.to_string(),
            term_start: v.term_start.to_string(),
            term_end: v.term_end.to_string(),
            currency: v.currency,
            subtotal: v.subtotal,
            tax: v.tax,
            total: v.total,
            accept_url: v.accept_url,
            decline_url: v.decline_url,
            next_term_id: v.next_term_id,
        }
    }
}

/// Quotes, newest first, up to `limit`.
#[derive(Serialize, ToSchema)]
pub(super) struct QuoteList {
    data: Vec<QuoteRow>,
    /// The limit was reached: there may be more (narrow the filters).
    more: bool,
}

/// One line of a quote.
#[derive(Serialize, ToSchema)]
pub(super) struct QuoteLineOut {
    description: String,
    /// A decimal, "2" or "1.5".
    quantity: String,
    unit_price: String,
    /// A percentage, "24".
    tax_rate: String,
    /// Quantity × unit price, before tax.
    net: String,
}

/// How the next term is invoiced, for a recurring sale.
#[derive(Serialize, ToSchema)]
pub(super) struct QuoteBillingOut {
    /// "1m", "3m", "1y".
    every: String,
    /// When in each period it is invoiced.
    timing: &'static str,
    /// Whether invoices are issued at once or drafted for approval.
    invoice_mode: &'static str,
    /// Days to pay.
    payment_days: u32,
}

/// A quote as `GET /api/v1/quotes/{id}` answers it.
#[derive(Serialize, ToSchema)]
#[schema(as = Quote)]
pub(super) struct QuoteOut {
    id: i64,
    /// "Q-7".
    number: String,
    contract_id: i64,
    contract_title: String,
    customer_name: String,
    #[schema(value_type = QuoteStatusName)]
    status: &'static str,
    #[schema(format = Date)]
    valid_until: String,
    /// The term the quote renews.
    renews_term_id: i64,
    /// The next term offered.
    #[schema(format = Date)]
    term_start: String,
    #[schema(format = Date)]
    term_end: String,
    /// An ISO 4217 code; the amounts are decimals in it.
    currency: String,
    subtotal: String,
    tax: String,
    total: String,
    lines: Vec<QuoteLineOut>,
    /// `null` for a contract that is not a recurring sale: the total is the term's amount.
    #[schema(required = true)]
    billing: Option<QuoteBillingOut>,
    #[schema(required = true, format = DateTime)]
    sent_at: Option<String>,
    #[schema(required = true, format = Date)]
    decided_on: Option<String>,
    /// Who accepted or declined it: a user's email, or `customer`.
    #[schema(required = true)]
    decided_by: Option<String>,
    #[schema(required = true)]
    decline_reason: Option<String>,
    #[schema(required = true)]
    accept_url: Option<String>,
    #[schema(required = true)]
    decline_url: Option<String>,
    /// The term its acceptance started; `null` until accepted.
    #[schema(required = true)]
    next_term_id: Option<i64>,
}

impl From<&QuoteDetail> for QuoteOut {
    fn from(detail: &QuoteDetail) -> Self {
        let view = QuoteDetailView::from(detail);
        let q = view.quote;
        QuoteOut {
            id: q.id,
            number: q.number,
            contract_id: q.contract_id,
            contract_title: view.contract_title,
            customer_name: view.customer_name,
            status: q.status,
            valid_until: q.valid_until.to_string(),
            renews_term_id: view.renews_term_id,
            term_start: q.term_start.to_string(),
            term_end: q.term_end.to_string(),
            currency: q.currency,
            subtotal: q.subtotal,
            tax: q.tax,
            total: q.total,
            lines: view
                .lines
                .into_iter()
                .map(|l| QuoteLineOut {
                    description: l.description,
                    quantity: l.quantity,
                    unit_price: l.unit_price,
                    tax_rate: l.tax_rate,
                    net: l.net,
                })
                .collect(),
            billing: view.billing.map(|b| QuoteBillingOut {
                every: b.every,
                timing: b.timing,
                invoice_mode: b.invoice_mode,
                payment_days: b.payment_days,
            }),
            sent_at: view.sent_at.map(|at| at.to_string()),
            decided_on: view.decided_on.map(|d| d.to_string()),
            decided_by: view.decided_by,
            decline_reason: view.decline_reason,
            accept_url: q.accept_url,
            decline_url: q.decline_url,
            next_term_id: q.next_term_id,
        }
    }
}

/// The query of the quote list.
#[derive(Deserialize, Default, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub(super) struct QuotesQuery {
    /// Only quotes with this status; empty: any.
    #[param(pattern = "^(draft|sent|accepted|declined|expired)?$")]
    status: Option<String>,
    /// Only the quotes of this contract.
    contract_id: Option<i64>,
    /// At most this many: 1 to 200, 50 if left out.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// Quotes, newest first (`tickler quote list`).
#[utoipa::path(
    get,
    path = "/api/v1/quotes",
    tag = "quotes",
    security(("bearer" = [])),
    params(QuotesQuery),
    responses(
        (status = 200, description = "Quotes, up to `limit`", body = QuoteList),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 422, description = "A query parameter refused; `field` names it", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn list_quotes(
    State(state): State<AppState>,
    _api: ApiUser,
    ApiQuery(query): ApiQuery<QuotesQuery>,
) -> Result<Json<QuoteList>, ApiError> {
    let status = query
        .status
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<QuoteStatus>())
        .transpose()
        .map_err(|_| {
            invalid(
                "status",
                "must be draft, sent, accepted, declined or expired",
            )
        })?;
    let limit = limit_of(query.limit)?.min(MAX_LIMIT);
    // One more than asked, to say whether there are more.
    let mut rows = state
        .engine
        .list_quotes(&QuoteFilter {
            contract_id: query.contract_id,
            status,
            limit: Some(limit + 1),
        })
        .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(Json(QuoteList {
        data: rows
            .iter()
            .map(|(quote, links)| QuoteView::new(quote, links.as_ref()).into())
            .collect(),
        more,
    }))
}

/// One quote, with its lines and billing (`tickler quote show`).
#[utoipa::path(
    get,
    path = "/api/v1/quotes/{id}",
    operation_id = "get_quote",
    tag = "quotes",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The quote's id")),
    responses(
        (status = 200, description = "The quote", body = QuoteOut),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 404, description = "No such quote", body = ErrorBody),
        (status = 422, description = "The id is not a whole number; `field` is `id`", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn quote(
    State(state): State<AppState>,
    _api: ApiUser,
    IdPath(id): IdPath,
) -> Result<Json<QuoteOut>, ApiError> {
    Ok(Json(QuoteOut::from(&state.engine.quote_detail(id).await?)))
}

/// Refuses (403) unless the token's user may change quote `id`'s contract (the quote
/// page's rule); 404 if there is no such quote.
async fn require_act(state: &AppState, api: &ApiUser, id: i64) -> Result<(), ApiError> {
    let detail = state.engine.quote_detail(id).await?;
    if api
        .viewer
        .may(Action::ChangeContract, detail.contract.owner_id)
    {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "your role may act only on quotes of contracts you own",
        ))
    }
}

/// Accepts a sent quote for the customer: the contract's next term starts from it (its
/// end, lines and billing); the ending term's pending emails are cancelled.
#[utoipa::path(
    post,
    path = "/api/v1/quotes/{id}/accept",
    tag = "quotes",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The quote's id")),
    responses(
        (status = 200, description = "Accepted: the quote, `next_term_id` the term it started",
            body = QuoteOut),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 403, description = "The token's role may act only on quotes of contracts its \
                                      user owns", body = ErrorBody),
        (status = 404, description = "No such quote", body = ErrorBody),
        (status = 409, description = "The quote is not sent or no longer valid, or the contract \
                                      is terminated or was renewed meanwhile", body = ErrorBody),
        (status = 422, description = "The id is not a whole number; `field` is `id`", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn accept(
    State(state): State<AppState>,
    api: ApiUser,
    IdPath(id): IdPath,
) -> Result<Json<QuoteOut>, ApiError> {
    require_act(&state, &api, id).await?;
    let detail = state
        .engine
        .accept_quote(id, &Actor(api.user.email.clone()))
        .await?;
    Ok(Json(QuoteOut::from(&detail)))
}

/// Why the customer declines; the body may be left out.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields, default)]
#[schema(as = DeclineQuote, examples(json!({"reason": "too expensive this year"})))]
pub(super) struct DeclineIn {
    /// Up to 1000 characters, kept with the quote.
    reason: Option<String>,
}

/// Records that the customer declines a sent quote.
#[utoipa::path(
    post,
    path = "/api/v1/quotes/{id}/decline",
    tag = "quotes",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The quote's id")),
    request_body(content = Option<DeclineIn>, description = "Optional: the reason"),
    responses(
        (status = 200, description = "Declined: the quote as it now is", body = QuoteOut),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 403, description = "The token's role may act only on quotes of contracts its \
                                      user owns", body = ErrorBody),
        (status = 404, description = "No such quote", body = ErrorBody),
        (status = 409, description = "The quote is not sent or was already decided", body = ErrorBody),
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
) -> Result<Json<QuoteOut>, ApiError> {
    require_act(&state, &api, id).await?;
    let input: DeclineIn = optional_body_of(&body)?;
    let detail = state
        .engine
        .decline_quote(id, input.reason, &Actor(api.user.email.clone()))
        .await?;
    Ok(Json(QuoteOut::from(&detail)))
}
