//! Customers and contracts in the API: lists by cursor, one by id, created once per
//! idempotency key, and (contracts) changed only against the version the client read.

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{
        HeaderMap, HeaderValue, Method, StatusCode,
        header::{ETAG, IF_MATCH, LOCATION},
    },
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tickler_core::{ValidationError, access::Action, contract::ContractStatus, language::Language};
use tickler_engine::{
    browse::{ContractListRow, ContractQuery, Cursor, CustomerListRow, CustomerQuery, Listing},
    contracts::{ContractChanges, ContractDetail, ContractInput},
    directory::NewCustomer,
    idempotency::{IdempotencyKey, Once},
};
use utoipa::{IntoParams, ToSchema};

use super::{
    ApiError, ApiUser,
    error::ErrorBody,
    extract::{ApiQuery, IdPath},
    openapi,
};
use crate::AppState;

/// Rows per page unless `limit` says otherwise, and the most it may say.
pub(super) const DEFAULT_LIMIT: i64 = 50;
pub(super) const MAX_LIMIT: i64 = 200;

/// One page of a list, and the cursor of the next (`null` on the last page).
#[derive(Serialize, ToSchema)]
pub(super) struct Page<T> {
    pub(super) data: Vec<T>,
    /// Pass it as `cursor` for the next page; `null` on the last page.
    #[schema(required = true)]
    pub(super) next_cursor: Option<String>,
    /// How many match, up to 10,000 (`total_capped` says when counting stopped there).
    pub(super) total: i64,
    pub(super) total_capped: bool,
}

impl<T> Page<T> {
    /// A page of the API from a page of the engine's, each row made an API row.
    fn of<R>(listing: Listing<R>, id_of: impl Fn(&R) -> i64, row: impl Fn(R) -> T) -> Page<T> {
        let total_capped = listing.total_capped();
        let next_cursor = listing
            .page
            .has_next
            .then(|| listing.page.rows.last().map(|r| id_of(r).to_string()))
            .flatten();
        Page {
            data: listing.page.rows.into_iter().map(row).collect(),
            next_cursor,
            total: listing.total,
            total_capped,
        }
    }
}

/// The query of both lists; customers read only `cursor`, `limit` and `q`.
#[derive(Deserialize, Default, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    /// The `next_cursor` of the page before.
    cursor: Option<String>,
    /// Rows per page: 1 to 200, 50 if left out.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// Text that titles, or customers' names, contain (no control characters).
    #[param(pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    q: Option<String>,
    /// Only contracts with this status, `active` or `terminated`; empty: any (as a form
    /// sends it).
    #[param(pattern = "^(active|terminated)?$")]
    status: Option<String>,
    /// Contracts of this owner: a user id, or `me`.
    owner: Option<String>,
    /// Contracts of this customer.
    customer_id: Option<i64>,
}

impl ListQuery {
    fn cursor(&self) -> Result<Option<Cursor>, ApiError> {
        cursor_of(self.cursor.as_deref())
    }

    /// The search text. No name or title holds a control character, and the databases
    /// refuse some (SQLite's full-text query ends at a NUL, PostgreSQL's text cannot hold
    /// one), so such a search is refused as a value rather than failing as a 500.
    fn search(&self) -> Result<Option<String>, ApiError> {
        match &self.q {
            Some(text) if text.chars().any(char::is_control) => {
                Err(invalid("q", "must not contain control characters"))
            }
            other => Ok(other.clone()),
        }
    }

    fn limit(&self) -> Result<i64, ApiError> {
        limit_of(self.limit)
    }
}

/// A list's `cursor` parameter: the id of the last row of the page before.
pub(super) fn cursor_of(text: Option<&str>) -> Result<Option<Cursor>, ApiError> {
    match text.map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(text) => text
            .parse()
            .map(|id| Some(Cursor::After(id)))
            .map_err(|_| invalid("cursor", "is not a cursor this API gave")),
    }
}

/// A list's `limit` parameter: rows per page.
pub(super) fn limit_of(limit: Option<i64>) -> Result<i64, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(invalid("limit", &format!("must be 1 to {MAX_LIMIT}"))),
    }
}

pub(super) fn invalid(field: &str, message: &str) -> ApiError {
    tickler_engine::EngineError::Invalid(ValidationError::new(field, message)).into()
}

/// A JSON body, refused with the one error shape (422, naming the field where serde can).
pub(super) fn body_of<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        let text = e.to_string();
        let field = text
            .split('`')
            .nth(1)
            .filter(|_| text.contains("field"))
            .unwrap_or("body");
        invalid(
            field,
            &format!("the JSON body is not as documented: {text}"),
        )
    })
}

/// A JSON body that may be left out: none (or only white space) reads as `T::default()`.
pub(super) fn optional_body_of<T: DeserializeOwned + Default>(body: &Bytes) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        body_of(body)
    }
}

/// The request's `Idempotency-Key`, with a digest of what it asks, if it has one.
fn idempotency_key(
    api: &ApiUser,
    headers: &HeaderMap,
    method: &Method,
    path: &str,
    body: &Bytes,
) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| invalid("Idempotency-Key", "must be visible ASCII characters"))?;
    Ok(Some(
        IdempotencyKey::for_request(api.user.id, text, method.as_str(), path, body)
            .map_err(tickler_engine::EngineError::from)?,
    ))
}

/// 201 with the resource and where it lives; a replay says so.
fn created<T: Serialize>(once: Once, location: String, body: T) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(LOCATION, value);
    }
    if let Once::Replayed(_) = once {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

// ---------------------------------------------------------------------------------------
// Customers

/// A customer as `GET /api/v1/customers/{id}` answers it.
#[derive(Serialize, ToSchema)]
#[schema(as = Customer)]
pub(super) struct CustomerOut {
    id: i64,
    name: String,
    /// Where notices go; the first is the main address.
    emails: Vec<String>,
    #[schema(value_type = openapi::LanguageCode)]
    language: &'static str,
    /// An IANA time zone; `null`: the organisation's.
    #[schema(required = true)]
    time_zone: Option<String>,
}

/// A customer in a list.
#[derive(Serialize, ToSchema)]
pub(super) struct CustomerRow {
    id: i64,
    name: String,
    /// The main address.
    #[schema(required = true)]
    email: Option<String>,
    #[schema(value_type = openapi::LanguageCode)]
    language: &'static str,
    #[schema(required = true)]
    time_zone: Option<String>,
    /// How many contracts the customer has.
    contracts: i64,
}

impl From<CustomerListRow> for CustomerRow {
    fn from(row: CustomerListRow) -> Self {
        CustomerRow {
            id: row.id,
            name: row.name,
            email: row.email,
            language: row.language.code(),
            time_zone: row.time_zone,
            contracts: row.contracts,
        }
    }
}

/// A page of customers, by name.
#[utoipa::path(
    get,
    path = "/api/v1/customers",
    tag = "customers",
    security(("bearer" = [])),
    params(
        ("q" = Option<String>, Query, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$",
            description = "Text that customers' names contain (no control characters)"),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the page before"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 200,
            description = "Rows per page: 1 to 200, 50 if left out"),
    ),
    responses(
        (status = 200, description = "A page of customers", body = Page<CustomerRow>),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 422, description = "A query parameter refused; `field` names it", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn list_customers(
    State(state): State<AppState>,
    _api: ApiUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Page<CustomerRow>>, ApiError> {
    let limit = query.limit()?;
    let listing = state
        .engine
        .browse_customers(&CustomerQuery {
            search: query.search()?,
            cursor: query.cursor()?,
            limit,
        })
        .await?;
    Ok(Json(Page::of(listing, |r| r.id, CustomerRow::from)))
}

/// One customer.
#[utoipa::path(
    get,
    path = "/api/v1/customers/{id}",
    operation_id = "get_customer",
    tag = "customers",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The customer's id")),
    responses(
        (status = 200, description = "The customer", body = CustomerOut),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 404, description = "No such customer", body = ErrorBody),
        (status = 422, description = "The id is not a whole number; `field` is `id`", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn customer(
    State(state): State<AppState>,
    _api: ApiUser,
    IdPath(id): IdPath,
) -> Result<Json<CustomerOut>, ApiError> {
    let found = state.engine.customer(id).await?;
    Ok(Json(CustomerOut {
        id: found.id,
        name: found.name,
        emails: found.emails,
        language: found.language.code(),
        time_zone: found.time_zone,
    }))
}

/// A customer to enter.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewCustomer, examples(json!({
    "name": "Acme Ltd", "emails": ["ops@acme.example"], "language": "ja", "time_zone": "Asia/Tokyo"
})))]
pub(super) struct NewCustomerIn {
    #[schema(min_length = 1)]
    name: String,
    /// One or more addresses; the first is the main one.
    #[schema(min_items = 1)]
    emails: Vec<String>,
    /// `en` if left out.
    #[schema(value_type = Option<openapi::LanguageCode>)]
    language: Option<String>,
    /// An IANA time zone, e.g. `Asia/Tokyo`; the organisation's if left out.
    time_zone: Option<String>,
}

/// Enters a customer; with an `Idempotency-Key`, once however often it is sent.
#[utoipa::path(
    post,
    path = "/api/v1/customers",
    tag = "customers",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Up to 255 visible ASCII characters; a retry with the same key and body \
                       answers with the customer the first request made")),
    request_body = NewCustomerIn,
    responses(
        (status = 201, description = "Entered (or, on a replay, entered before)", body = CustomerOut,
            headers(
                ("Location" = String, description = "The customer's address in the API"),
                ("Idempotent-Replayed" = String,
                    description = "`true` when this answers a retry of an earlier request"),
            ),
            links(("GetCustomer" = (
                operation_id = "get_customer",
                parameters(("id" = "$response.body#/id")),
                description = "The customer entered",
            )))),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 403, description = "The token's role may not enter customers", body = ErrorBody),
        (status = 409, description = "The request conflicts with what is stored", body = ErrorBody),
        (status = 422, description = "A value refused, or the key reused with another body; \
                                      `field` names it", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn create_customer(
    State(state): State<AppState>,
    api: ApiUser,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !api.viewer.may(Action::Create, None) {
        return Err(ApiError::forbidden("your role may not enter customers"));
    }
    let input: NewCustomerIn = body_of(&body)?;
    let language = match input.language.as_deref() {
        None | Some("") => Language::En,
        Some(code) => {
            Language::parse("language", code).map_err(tickler_engine::EngineError::from)?
        }
    };
    let new = NewCustomer {
        name: input.name,
        emails: input.emails,
        language,
        time_zone: input.time_zone,
    };
    let actor = tickler_engine::Actor(api.user.email.clone());
    let once = match idempotency_key(&api, &headers, &method, "/api/v1/customers", &body)? {
        Some(key) => state.engine.add_customer_once(new, &actor, &key).await?,
        None => Once::Created(state.engine.add_customer(new, &actor).await?),
    };
    let id = once.id();
    let found = state.engine.customer(id).await?;
    Ok(created(
        once,
        format!("/api/v1/customers/{id}"),
        CustomerOut {
            id,
            name: found.name,
            emails: found.emails,
            language: found.language.code(),
            time_zone: found.time_zone,
        },
    ))
}

// ---------------------------------------------------------------------------------------
// Contracts

/// The next timed email of a contract.
#[derive(Serialize, ToSchema)]
pub(super) struct NextEmail {
    /// When it is to go out (UTC).
    #[schema(value_type = String, format = DateTime)]
    send_at: jiff::Timestamp,
    /// The plan step it is for.
    step: String,
}

/// A contract in a list.
#[derive(Serialize, ToSchema)]
pub(super) struct ContractRow {
    id: i64,
    title: String,
    customer_id: i64,
    customer_name: String,
    #[schema(required = true)]
    owner_id: Option<i64>,
    #[schema(required = true)]
    owner_name: Option<String>,
    #[schema(value_type = openapi::ContractStatusName)]
    status: &'static str,
    /// 1 for the first term; each renewal adds one.
    term_number: i32,
    #[schema(format = Date)]
    start_date: String,
    #[schema(format = Date)]
    end_date: String,
    /// A decimal, "1200.00", with `currency`.
    #[schema(required = true, examples("1200.00"))]
    amount: Option<String>,
    /// An ISO 4217 code.
    #[schema(required = true, examples("EUR"))]
    currency: Option<String>,
    /// `null` when no timed email is scheduled.
    #[schema(required = true)]
    next_email: Option<NextEmail>,
}

impl From<ContractListRow> for ContractRow {
    fn from(row: ContractListRow) -> Self {
        let amount = row
            .amount_minor
            .zip(row.currency.as_deref())
            .and_then(|(minor, code)| {
                let currency = tickler_core::money::Currency::parse("currency", code).ok()?;
                Some(tickler_core::money::Money { minor, currency }.to_decimal_string())
            });
        ContractRow {
            id: row.id,
            title: row.title,
            customer_id: row.customer_id,
            customer_name: row.customer_name,
            owner_id: row.owner_id,
            owner_name: row.owner_name,
            status: row.status.as_str(),
            term_number: row.term_number,
            start_date: row.start_date.to_string(),
            end_date: row.end_date.to_string(),
            amount,
            currency: row.currency,
            next_email: row
                .next_email
                .map(|(send_at, step)| NextEmail { send_at, step }),
        }
    }
}

/// A contract as `GET /api/v1/contracts/{id}` answers it; its `version` is also its ETag.
#[derive(Serialize, ToSchema)]
#[schema(as = Contract)]
pub(super) struct ContractOut {
    id: i64,
    /// Changes whenever the contract does; send it back as `If-Match` to change it.
    version: String,
    title: String,
    customer_id: i64,
    customer_name: String,
    /// The owner (salesperson); `null`: none.
    #[schema(required = true)]
    owner_email: Option<String>,
    /// The name of the plan of timed emails.
    plan: String,
    #[schema(value_type = openapi::ContractStatusName)]
    status: &'static str,
    /// 1 for the first term; each renewal adds one.
    term_number: i32,
    #[schema(format = Date)]
    start_date: String,
    /// The expiry date.
    #[schema(format = Date)]
    end_date: String,
    /// A decimal, "1200.00", with `currency`.
    #[schema(required = true, examples("1200.00"))]
    amount: Option<String>,
    /// An ISO 4217 code.
    #[schema(required = true, examples("EUR"))]
    currency: Option<String>,
    #[schema(value_type = openapi::RenewalName)]
    renewal: &'static str,
    /// Auto-renewing contracts: days before the end date by which to cancel.
    #[schema(required = true)]
    notice_days: Option<u32>,
    /// Auto-renewing contracts: the date by which to cancel.
    #[schema(required = true, format = Date)]
    notice_date: Option<String>,
    /// The customer's answer to this term, if any.
    #[schema(required = true, value_type = Option<openapi::AnswerName>)]
    answer: Option<&'static str>,
    /// Values of the custom fields, by name.
    #[schema(value_type = Object)]
    custom_fields: serde_json::Map<String, serde_json::Value>,
}

impl From<ContractDetail> for ContractOut {
    fn from(detail: ContractDetail) -> Self {
        let contract = detail.contract;
        ContractOut {
            id: contract.id,
            version: contract.version(),
            amount: contract.money().map(|m| m.to_decimal_string()),
            title: contract.title,
            customer_id: contract.customer_id,
            customer_name: detail.customer.name,
            owner_email: detail.owner.map(|o| o.email),
            plan: detail.plan,
            status: contract.status.as_str(),
            term_number: contract.term_number,
            start_date: contract.start_date.to_string(),
            end_date: contract.end_date.to_string(),
            currency: contract.currency,
            renewal: detail.renewal.as_str(),
            notice_days: detail.notice_days,
            notice_date: detail.notice_date.map(|d| d.to_string()),
            answer: detail.answer.map(|a| a.as_str()),
            custom_fields: contract.custom_fields,
        }
    }
}

/// The contract with its version as the `ETag`.
pub(super) fn with_etag(status: StatusCode, contract: ContractOut) -> Response {
    let etag = HeaderValue::from_str(&format!("\"{}\"", contract.version)).ok();
    let mut response = (status, Json(contract)).into_response();
    if let Some(etag) = etag {
        response.headers_mut().insert(ETAG, etag);
    }
    response
}

/// A page of contracts, by end date, each with its next timed email.
#[utoipa::path(
    get,
    path = "/api/v1/contracts",
    tag = "contracts",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "A page of contracts", body = Page<ContractRow>),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 422, description = "A query parameter refused; `field` names it", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn list_contracts(
    State(state): State<AppState>,
    api: ApiUser,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Page<ContractRow>>, ApiError> {
    let status = query
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<ContractStatus>())
        .transpose()
        .map_err(|_| invalid("status", "must be active or terminated"))?;
    let owner_id = match query.owner.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("me") => Some(api.user.id),
        Some(text) => Some(
            text.parse()
                .map_err(|_| invalid("owner", "must be a user id or me"))?,
        ),
    };
    let listing = state
        .engine
        .browse_contracts(&ContractQuery {
            search: query.search()?,
            status,
            owner_id,
            customer_id: query.customer_id,
            cursor: query.cursor()?,
            limit: query.limit()?,
            ..ContractQuery::default()
        })
        .await?;
    Ok(Json(Page::of(listing, |r| r.id, ContractRow::from)))
}

/// One contract, its version as the `ETag`.
#[utoipa::path(
    get,
    path = "/api/v1/contracts/{id}",
    operation_id = "get_contract",
    tag = "contracts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The contract's id")),
    responses(
        (status = 200, description = "The contract", body = ContractOut,
            headers(("ETag" = String, description = "The contract's `version`, quoted: \
                                                      send it as `If-Match` to change it"))),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 404, description = "No such contract", body = ErrorBody),
        (status = 422, description = "The id is not a whole number; `field` is `id`", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn contract(
    State(state): State<AppState>,
    _api: ApiUser,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    let detail = state.engine.contract_detail(id).await?;
    Ok(with_etag(StatusCode::OK, ContractOut::from(detail)))
}

/// A contract to enter.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewContract, examples(json!({
    "customer_id": 1, "title": "PBX maintenance", "start": "2026-04-01", "end": "2027-03-31",
    "amount": "1200.00", "currency": "EUR"
})))]
pub(super) struct NewContractIn {
    customer_id: i64,
    #[schema(min_length = 1)]
    title: String,
    /// The first day of the term.
    #[schema(format = Date)]
    start: String,
    /// The expiry date; left out only for an evergreen contract.
    #[schema(format = Date)]
    end: Option<String>,
    /// The owner (salesperson), a user's email.
    owner_email: Option<String>,
    /// The name of a plan of timed emails; `renewal` if left out.
    plan: Option<String>,
    /// A decimal, "1200.00", with `currency`.
    #[schema(examples("1200.00"))]
    amount: Option<String>,
    /// An ISO 4217 code.
    currency: Option<String>,
    /// Values of the custom fields, by name.
    #[serde(default)]
    #[schema(value_type = Object)]
    custom_fields: serde_json::Map<String, serde_json::Value>,
    /// `expires` if left out.
    #[schema(value_type = Option<openapi::RenewalName>)]
    renewal: Option<String>,
    /// Auto-renewing contracts: days before the end date by which to cancel.
    notice_days: Option<u32>,
}

/// Enters a contract and schedules its timed emails; with an `Idempotency-Key`, once
/// however often it is sent.
#[utoipa::path(
    post,
    path = "/api/v1/contracts",
    tag = "contracts",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header,
        description = "Up to 255 visible ASCII characters; a retry with the same key and body \
                       answers with the contract the first request made")),
    request_body = NewContractIn,
    responses(
        (status = 201, description = "Entered (or, on a replay, entered before)", body = ContractOut,
            headers(
                ("Location" = String, description = "The contract's address in the API"),
                ("ETag" = String, description = "The contract's `version`, quoted"),
                ("Idempotent-Replayed" = String,
                    description = "`true` when this answers a retry of an earlier request"),
            ),
            links(
                ("GetContract" = (
                    operation_id = "get_contract",
                    parameters(("id" = "$response.body#/id")),
                    description = "The contract entered",
                )),
                ("UpdateContract" = (
                    operation_id = "update_contract",
                    parameters(
                        ("id" = "$response.body#/id"),
                        ("If-Match" = "$response.header.ETag"),
                    ),
                    description = "Change the contract entered, against the version it was entered as",
                )),
            )),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 403, description = "The token's role may not enter contracts", body = ErrorBody),
        (status = 409, description = "The request conflicts with what is stored", body = ErrorBody),
        (status = 422, description = "A value refused, or the key reused with another body; \
                                      `field` names it", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn create_contract(
    State(state): State<AppState>,
    api: ApiUser,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !api.viewer.may(Action::Create, None) {
        return Err(ApiError::forbidden("your role may not enter contracts"));
    }
    let input: NewContractIn = body_of(&body)?;
    let new = ContractInput {
        customer_id: input.customer_id,
        title: input.title,
        start: input.start,
        end: input.end.unwrap_or_default(),
        owner_email: input.owner_email,
        plan: input.plan,
        amount: input.amount,
        currency: input.currency,
        custom_fields: input.custom_fields,
        billing: None,
        renewal: input.renewal,
        notice_days: input.notice_days.map(|d| d.to_string()),
    };
    let actor = tickler_engine::Actor(api.user.email.clone());
    let once = match idempotency_key(&api, &headers, &method, "/api/v1/contracts", &body)? {
        Some(key) => state.engine.add_contract_once(new, &actor, &key).await?,
        None => Once::Created(state.engine.add_contract(new, &actor).await?),
    };
    let id = once.id();
    let detail = state.engine.contract_detail(id).await?;
    let out = ContractOut::from(detail);
    let mut response = created(once, format!("/api/v1/contracts/{id}"), &out);
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", out.version)) {
        response.headers_mut().insert(ETAG, etag);
    }
    Ok(response)
}

/// Changes to a contract: a field left out stays as it is.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ContractChanges, examples(json!({"title": "PBX maintenance 2027"})))]
pub(super) struct ContractChangesIn {
    #[schema(min_length = 1)]
    title: Option<String>,
    #[schema(format = Date)]
    start: Option<String>,
    #[schema(format = Date)]
    end: Option<String>,
    /// `""` removes the owner.
    owner_email: Option<String>,
    plan: Option<String>,
    #[schema(examples("1200.00"))]
    amount: Option<String>,
    currency: Option<String>,
    /// Replaces every custom field.
    #[schema(value_type = Option<Object>)]
    custom_fields: Option<serde_json::Map<String, serde_json::Value>>,
    #[schema(value_type = Option<openapi::RenewalName>)]
    renewal: Option<String>,
    notice_days: Option<u32>,
}

/// Changes a contract, only against the version the client read (`If-Match`); its timed
/// emails are recomputed when its dates or plan change.
#[utoipa::path(
    patch,
    path = "/api/v1/contracts/{id}",
    tag = "contracts",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "The contract's id"),
        ("If-Match" = String, Header,
            description = "The `ETag` of the contract as the client read it"),
    ),
    request_body = ContractChangesIn,
    responses(
        (status = 200, description = "Changed: the contract as it is now", body = ContractOut,
            headers(("ETag" = String, description = "The contract's new `version`, quoted"))),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 403, description = "The token's role may change only the contracts its user owns",
            body = ErrorBody),
        (status = 404, description = "No such contract", body = ErrorBody),
        (status = 409, description = "The contract's state does not allow this change", body = ErrorBody),
        (status = 412, description = "The contract changed since the client read it", body = ErrorBody),
        (status = 422, description = "A value (or the id) refused; `field` names it",
            body = ErrorBody),
        (status = 428, description = "No `If-Match`, or an empty one", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
pub(super) async fn update_contract(
    State(state): State<AppState>,
    api: ApiUser,
    IdPath(id): IdPath,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let current = state.engine.contract_detail(id).await?;
    if !api
        .viewer
        .may(Action::ChangeContract, current.contract.owner_id)
    {
        return Err(ApiError::forbidden(
            "your role may change only the contracts you own",
        ));
    }
    // Required: without it, this change could undo another client's unseen. An empty one
    // names no version either.
    let Some(version) = headers
        .get(IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .filter(|v| !v.is_empty())
    else {
        return Err(ApiError::precondition_required(
            "send If-Match with the ETag of the contract as you read it",
        ));
    };
    let input: ContractChangesIn = body_of(&body)?;
    let changes = ContractChanges {
        title: input.title,
        start: input.start,
        end: input.end,
        owner_email: input.owner_email,
        plan: input.plan,
        amount: input.amount,
        currency: input.currency,
        custom_fields: input.custom_fields,
        renewal: input.renewal,
        notice_days: input.notice_days.map(|d| d.to_string()),
        if_version: Some(version.to_string()),
    };
    let actor = tickler_engine::Actor(api.user.email.clone());
    state.engine.edit_contract(id, changes, &actor).await?;
    let detail = state.engine.contract_detail(id).await?;
    Ok(with_etag(StatusCode::OK, ContractOut::from(detail)))
}
