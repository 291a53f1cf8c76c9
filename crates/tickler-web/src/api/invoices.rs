//! Invoices in the API: listed and read by anyone with a token (the PDF too); approved,
//! paid and voided, as on the invoice's page, by those who may change its contract.

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use tickler_core::{access::Action, invoice::InvoiceStatus};
use tickler_engine::{
    Actor, Engine,
    browse::InvoiceListRow,
    invoicing::{InvoiceDetail, InvoiceFilter},
};
use utoipa::{IntoParams, ToSchema};

use super::{
    ApiError, ApiUser,
    error::ErrorBody,
    extract::{ApiQuery, IdPath},
    resources::{MAX_LIMIT, body_of, invalid, limit_of, optional_body_of},
};
use crate::AppState;

/// An invoice's status.
#[derive(ToSchema)]
#[schema(as = InvoiceStatus)]
#[allow(dead_code, non_camel_case_types)]
pub(super) enum InvoiceStatusName {
    draft,
    issued,
    paid,
    void,
}

/// An invoice in a list.
#[derive(Serialize, ToSchema)]
pub(super) struct InvoiceRow {
    id: i64,
    /// Given when issued; `null` for a draft.
    #[schema(required = true)]
    number: Option<String>,
    #[schema(value_type = InvoiceStatusName)]
    status: &'static str,
    contract_id: i64,
    contract_title: String,
    customer_name: String,
    #[schema(required = true)]
    owner_id: Option<i64>,
    #[schema(format = Date)]
    issue_date: String,
    #[schema(format = Date)]
    due_date: String,
    /// An ISO 4217 code.
    currency: String,
    /// Decimals, "1316.00", in `currency`.
    total: String,
    balance: String,
}

impl From<InvoiceListRow> for InvoiceRow {
    fn from(row: InvoiceListRow) -> Self {
        let invoice = row.invoice;
        InvoiceRow {
            id: invoice.id,
            status: invoice.status.as_str(),
            contract_id: invoice.contract_id,
            contract_title: row.contract_title,
            customer_name: row.customer_name,
            owner_id: row.owner_id,
            issue_date: invoice.issue_date.to_string(),
            due_date: invoice.due_date.to_string(),
            currency: invoice.currency.code().to_string(),
            total: invoice.money(invoice.total).to_decimal_string(),
            balance: invoice.money(invoice.balance()).to_decimal_string(),
            number: invoice.number,
        }
    }
}

/// Invoices, oldest period first, up to `limit`.
#[derive(Serialize, ToSchema)]
pub(super) struct InvoiceList {
    data: Vec<InvoiceRow>,
    /// The limit was reached: there may be more (narrow the filters).
    more: bool,
}

/// One line of an invoice.
#[derive(Serialize, ToSchema)]
pub(super) struct InvoiceLineOut {
    description: String,
    /// A decimal, "2" or "1.5".
    quantity: String,
    unit_price: String,
    /// A percentage, "24".
    tax_rate: String,
    /// Quantity × unit price, before tax.
    net: String,
}

/// A payment recorded on an invoice.
#[derive(Serialize, ToSchema)]
pub(super) struct PaymentOut {
    id: i64,
    amount: String,
    #[schema(format = Date)]
    paid_on: String,
    #[schema(required = true)]
    reference: Option<String>,
    /// Who recorded it.
    recorded_by: String,
}

/// An invoice as `GET /api/v1/invoices/{id}` answers it.
#[derive(Serialize, ToSchema)]
#[schema(as = Invoice)]
pub(super) struct InvoiceOut {
    id: i64,
    /// Given when issued; `null` for a draft.
    #[schema(required = true)]
    number: Option<String>,
    #[schema(value_type = InvoiceStatusName)]
    status: &'static str,
    contract_id: i64,
    contract_title: String,
    customer_id: i64,
    customer_name: String,
    /// The period it bills.
    #[schema(format = Date)]
    period_start: String,
    #[schema(format = Date)]
    period_end: String,
    #[schema(format = Date)]
    issue_date: String,
    #[schema(format = Date)]
    due_date: String,
    /// An ISO 4217 code; the amounts below are decimals in it.
    currency: String,
    subtotal: String,
    tax: String,
    total: String,
    paid: String,
    balance: String,
    /// Why a draft was discarded or an issued invoice voided.
    #[schema(required = true)]
    void_reason: Option<String>,
    lines: Vec<InvoiceLineOut>,
    payments: Vec<PaymentOut>,
}

impl From<InvoiceDetail> for InvoiceOut {
    fn from(detail: InvoiceDetail) -> Self {
        let invoice = detail.invoice;
        let money = |minor: i64| invoice.money(minor).to_decimal_string();
        InvoiceOut {
            id: invoice.id,
            number: invoice.number.clone(),
            status: invoice.status.as_str(),
            contract_id: invoice.contract_id,
            contract_title: detail.contract_title,
            customer_id: invoice.customer_id,
            customer_name: detail.customer.name,
            period_start: invoice.period_start.to_string(),
            period_end: invoice.period_end.to_string(),
            issue_date: invoice.issue_date.to_string(),
            due_date: invoice.due_date.to_string(),
            currency: invoice.currency.code().to_string(),
            subtotal: money(invoice.subtotal),
            tax: money(invoice.tax),
            total: money(invoice.total),
            paid: money(invoice.paid),
            balance: money(invoice.balance()),
            void_reason: invoice.void_reason.clone(),
            lines: detail
                .lines
                .into_iter()
                .map(|line| InvoiceLineOut {
                    description: line.item.description,
                    quantity: line.item.quantity.to_string(),
                    unit_price: line.item.unit_price.to_decimal_string(),
                    tax_rate: line.item.tax_rate.to_string(),
                    net: money(line.net),
                })
                .collect(),
            payments: detail
                .payments
                .into_iter()
                .map(|p| PaymentOut {
                    id: p.id,
                    amount: money(p.amount),
                    paid_on: p.paid_on.to_string(),
                    reference: p.reference,
                    recorded_by: p.recorded_by,
                })
                .collect(),
        }
    }
}

/// The query of the invoice list.
#[derive(Deserialize, Default, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub(super) struct InvoiceQuery {
    /// Only invoices with this status; empty: any.
    #[param(pattern = "^(draft|issued|paid|void)?$")]
    status: Option<String>,
    /// Invoices of this contract.
    contract_id: Option<i64>,
    /// `true`: only issued invoices past their due date (in the organisation's time zone).
    overdue: Option<bool>,
    /// At most this many: 1 to 200, 50 if left out.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// Invoices, oldest period first (the order they bill).
#[utoipa::path(
    get,
    path = "/api/v1/invoices",
    tag = "invoices",
    security(("bearer" = [])),
    params(InvoiceQuery),
    responses(
        (status = 200, description = "Invoices, up to `limit`", body = InvoiceList),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 422, description = "A query parameter refused; `field` names it", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn list_invoices(
    State(state): State<AppState>,
    _api: ApiUser,
    ApiQuery(query): ApiQuery<InvoiceQuery>,
) -> Result<Json<InvoiceList>, ApiError> {
    let mut status = query
        .status
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.parse::<InvoiceStatus>())
        .transpose()
        .map_err(|_| invalid("status", "must be draft, issued, paid or void"))?;
    let overdue_on = if query.overdue == Some(true) {
        if status.is_some_and(|s| s != InvoiceStatus::Issued) {
            return Err(invalid(
                "overdue",
                "only issued invoices are overdue; leave out status or give issued",
            ));
        }
        status = Some(InvoiceStatus::Issued);
        Some(state.engine.organisation_today())
    } else {
        None
    };
    let limit = limit_of(query.limit)?.min(MAX_LIMIT);
    // One more than asked, to say whether there are more.
    let mut rows = state
        .engine
        .browse_invoices(&InvoiceFilter {
            contract_id: query.contract_id,
            status,
            overdue_on,
            limit: Some(limit + 1),
        })
        .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(Json(InvoiceList {
        data: rows.into_iter().map(InvoiceRow::from).collect(),
        more,
    }))
}

/// One invoice, with its lines and payments.
#[utoipa::path(
    get,
    path = "/api/v1/invoices/{id}",
    operation_id = "get_invoice",
    tag = "invoices",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The invoice's id")),
    responses(
        (status = 200, description = "The invoice", body = InvoiceOut),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 404, description = "No such invoice", body = ErrorBody),
        (status = 422, description = "The id is not a whole number; `field` is `id`", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn invoice(
    State(state): State<AppState>,
    _api: ApiUser,
    IdPath(id): IdPath,
) -> Result<Json<InvoiceOut>, ApiError> {
    Ok(Json(state.engine.invoice_detail(id).await?.into()))
}

/// The invoice's PDF, the document its email carries.
#[utoipa::path(
    get,
    path = "/api/v1/invoices/{id}/pdf",
    tag = "invoices",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The invoice's id")),
    responses(
        (status = 200, description = "The PDF", content_type = "application/pdf", body = Vec<u8>),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 404, description = "No such invoice", body = ErrorBody),
        (status = 422, description = "The id is not a whole number; `field` is `id`", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn invoice_pdf(
    State(state): State<AppState>,
    _api: ApiUser,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    // Read first: an invoice that does not exist is a 404 before any rendering.
    let detail = state.engine.invoice_detail(id).await?;
    let bytes = state.engine.invoice_pdf(id).await?;
    let name: String = Engine::invoice_file_name(&detail)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/pdf"),
        )],
        bytes,
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("inline; filename=\"{name}\"")) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// Refuses (403) unless the token's user may change invoice `id`'s contract; 404 if there
/// is no such invoice.
async fn require_act(state: &AppState, api: &ApiUser, id: i64) -> Result<(), ApiError> {
    let contract_id = state.engine.invoice_detail(id).await?.invoice.contract_id;
    let owner_id = state
        .engine
        .contract_detail(contract_id)
        .await?
        .contract
        .owner_id;
    if api.viewer.may(Action::ChangeContract, owner_id) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "your role may act only on invoices of contracts you own",
        ))
    }
}

async fn invoice_now(state: &AppState, id: i64) -> Result<Json<InvoiceOut>, ApiError> {
    Ok(Json(state.engine.invoice_detail(id).await?.into()))
}

/// Approves a draft: it is issued today (in the customer's time zone), numbered and
/// emailed; `paid` at once if prepayments cover it.
#[utoipa::path(
    post,
    path = "/api/v1/invoices/{id}/approve",
    tag = "invoices",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The invoice's id")),
    responses(
        (status = 200, description = "Issued: the invoice as it now is", body = InvoiceOut),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 403, description = "The token's role may act only on invoices of contracts \
                                      its user owns", body = ErrorBody),
        (status = 404, description = "No such invoice", body = ErrorBody),
        (status = 409, description = "The invoice is not a draft", body = ErrorBody),
        (status = 422, description = "The id is not a whole number; `field` is `id`", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn approve(
    State(state): State<AppState>,
    api: ApiUser,
    IdPath(id): IdPath,
) -> Result<Json<InvoiceOut>, ApiError> {
    require_act(&state, &api, id).await?;
    state
        .engine
        .approve_invoice(id, &Actor(api.user.email.clone()))
        .await?;
    invoice_now(&state, id).await
}

/// A payment to record.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewPayment, examples(json!({
    "amount": "1316.00", "date": "2027-03-10", "reference": "bank transfer 4471"
})))]
pub(super) struct PaymentIn {
    /// A decimal in the invoice's currency.
    #[schema(examples("1316.00"))]
    amount: String,
    /// The day it was paid; today (in the customer's time zone) if left out.
    #[schema(format = Date)]
    date: Option<String>,
    /// Up to 200 characters.
    reference: Option<String>,
}

/// Records a payment (a prepayment on a draft, or a payment of an issued invoice); an
/// issued invoice whose balance reaches 0 is `paid`, and its payment reminders stop.
#[utoipa::path(
    post,
    path = "/api/v1/invoices/{id}/payments",
    tag = "invoices",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The invoice's id")),
    request_body = PaymentIn,
    responses(
        (status = 200, description = "Recorded: the invoice as it now is", body = InvoiceOut),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 403, description = "The token's role may act only on invoices of contracts \
                                      its user owns", body = ErrorBody),
        (status = 404, description = "No such invoice", body = ErrorBody),
        (status = 409, description = "The invoice takes no payment (void, paid), or not this \
                                      much", body = ErrorBody),
        (status = 422, description = "A value (or the id) refused; `field` names it", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn record_payment(
    State(state): State<AppState>,
    api: ApiUser,
    IdPath(id): IdPath,
    body: Bytes,
) -> Result<Json<InvoiceOut>, ApiError> {
    require_act(&state, &api, id).await?;
    let input: PaymentIn = body_of(&body)?;
    state
        .engine
        .pay_invoice(
            id,
            &input.amount,
            input.date.as_deref(),
            input.reference.as_deref(),
            &Actor(api.user.email.clone()),
        )
        .await?;
    invoice_now(&state, id).await
}

/// Why the invoice is voided; the body may be left out.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields, default)]
#[schema(as = VoidInvoice, examples(json!({"reason": "billed twice"})))]
pub(super) struct VoidIn {
    reason: Option<String>,
}

/// Voids an issued invoice: it keeps its number, takes no more payments, and its pending
/// reminders stop.
#[utoipa::path(
    post,
    path = "/api/v1/invoices/{id}/void",
    tag = "invoices",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The invoice's id")),
    request_body(content = Option<VoidIn>, description = "Optional: the reason"),
    responses(
        (status = 200, description = "Voided: the invoice as it now is", body = InvoiceOut),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 403, description = "The token's role may act only on invoices of contracts \
                                      its user owns", body = ErrorBody),
        (status = 404, description = "No such invoice", body = ErrorBody),
        (status = 409, description = "The invoice cannot be voided (a draft, paid or void)",
            body = ErrorBody),
        (status = 422, description = "A value (or the id) refused; `field` names it", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn void(
    State(state): State<AppState>,
    api: ApiUser,
    IdPath(id): IdPath,
    body: Bytes,
) -> Result<Json<InvoiceOut>, ApiError> {
    require_act(&state, &api, id).await?;
    let input: VoidIn = optional_body_of(&body)?;
    state
        .engine
        .void_invoice(id, input.reason.as_deref(), &Actor(api.user.email.clone()))
        .await?;
    invoice_now(&state, id).await
}
