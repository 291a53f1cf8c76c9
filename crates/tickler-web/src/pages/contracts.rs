//! The contracts pages: the list (search, filters, sorting, keyset pages read from the
//! database), one contract with its terms, every reminder of every term and its history,
//! and entering, editing, renewing and terminating a contract.

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::{get, post},
};
use jiff::{Timestamp, ToSpan, civil::Date, tz::TimeZone};
use serde::Deserialize;
use tickler_core::{
    ValidationError,
    access::Action,
    error::parse_date,
    language::Language,
    money::{Currency, Money},
};
use tickler_engine::{
    EngineError,
    browse::{ContractListRow, ContractQuery, ContractSort, ContractStatus, Cursor},
    contracts::{ContractChanges, ContractInput},
};

use crate::{
    AppState, WebError,
    auth::CurrentUser,
    format,
    pages::{Layout, NoticeQuery, redirect_with_notice},
};

/// Rows per page of the lists.
pub(crate) const PAGE_SIZE: i64 = 50;
/// Up to this many customers, the contract form offers a list to choose from; beyond, the
/// customer's number is typed (a customer's page links to a form with it filled in).
const CUSTOMER_SELECT_MAX: i64 = 200;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/contracts", get(list).post(create))
        .route("/contracts/new", get(new_form))
        .route("/contracts/{id}", get(detail))
        .route("/contracts/{id}/edit", get(edit_form).post(edit))
        .route("/contracts/{id}/renew", post(renew))
        .route("/contracts/{id}/terminate", post(terminate))
}

/// A query string of the non-empty pairs, `a=1&b=x`.
pub(crate) fn query_string(pairs: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        if !value.is_empty() {
            serializer.append_pair(key, value);
        }
    }
    serializer.finish()
}

/// `path?query&extra`, leaving out empty parts.
pub(crate) fn link(path: &str, query: &str, extra: &str) -> String {
    let joined: Vec<&str> = [query, extra]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    if joined.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", joined.join("&"))
    }
}

/// An optional parameter: absent and blank are the same.
pub(crate) fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// A page's cursor parameter (`after` or `before_id`): a row id.
pub(crate) fn cursor(
    after: &Option<String>,
    before: &Option<String>,
) -> Result<Option<Cursor>, WebError> {
    let id = |name: &str, text: &str| {
        text.parse::<i64>()
            .map_err(|_| WebError::BadRequest(format!("{name}: \"{text}\" is not a row number")))
    };
    Ok(match (given(after), given(before)) {
        (Some(a), _) => Some(Cursor::After(id("after", a)?)),
        (None, Some(b)) => Some(Cursor::Before(id("before_id", b)?)),
        (None, None) => None,
    })
}

/// "1,234".
pub(crate) fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// "50 contracts", "10,000 or more contracts" (counts stop at a cap).
pub(crate) fn total_text(total: i64, capped: bool, noun: &str) -> String {
    let plural = if total == 1 { "" } else { "s" };
    if capped {
        format!("{} or more {noun}s", thousands(total))
    } else {
        format!("{} {noun}{plural}", thousands(total))
    }
}

fn today_in(now: Timestamp, zone: &TimeZone) -> Date {
    now.to_zoned_datetime(zone.clone()).date()
}

/// Whole days from `today` to `end` (negative once it has passed).
fn days_between(today: Date, end: Date) -> i64 {
    today
        .until(end)
        .map(|span| i64::from(span.get_days()))
        .unwrap_or(0)
}

fn status_text(status: &ContractStatus) -> &'static str {
    match status {
        ContractStatus::Active => "active",
        ContractStatus::Terminated => "terminated",
    }
}

// ---------------------------------------------------------------------------------------
// The list

#[derive(Deserialize, Default)]
struct ListParams {
    q: Option<String>,
    status: Option<String>,
    owner: Option<String>,
    customer: Option<String>,
    expiring: Option<String>,
    before: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    after: Option<String>,
    before_id: Option<String>,
    notice: Option<String>,
}

/// The filters as typed, to fill the filter form and build links.
#[derive(Default)]
struct Filters {
    q: String,
    status: String,
    owner: String,
    customer: String,
    expiring: String,
    before: String,
    sort: String,
    dir: String,
}

impl Filters {
    fn pairs(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("q", self.q.as_str()),
            ("status", self.status.as_str()),
            ("owner", self.owner.as_str()),
            ("customer", self.customer.as_str()),
            ("expiring", self.expiring.as_str()),
            ("before", self.before.as_str()),
            ("sort", self.sort.as_str()),
            ("dir", self.dir.as_str()),
        ]
    }

    fn query(&self) -> String {
        query_string(&self.pairs())
    }

    /// The same filters sorted by `sort`: ascending, or descending when already ascending
    /// by it.
    fn sorted_by(&self, sort: &str) -> String {
        let current = if self.sort.is_empty() {
            "end"
        } else {
            &self.sort
        };
        let dir = if current == sort && self.dir != "desc" {
            "desc"
        } else {
            ""
        };
        let mut pairs = self.pairs();
        pairs.retain(|(k, _)| *k != "sort" && *k != "dir");
        pairs.push(("sort", sort));
        pairs.push(("dir", dir));
        link("/contracts", &query_string(&pairs), "")
    }
}

/// Reads the list's parameters into a query, refusing what makes no sense with 400.
fn contract_query(
    params: &ListParams,
    user: &CurrentUser,
    today: Date,
) -> Result<(ContractQuery, Filters), WebError> {
    let bad = |field: &str, message: String| WebError::BadRequest(format!("{field}: {message}"));
    let mut query = ContractQuery {
        search: given(&params.q).map(str::to_string),
        limit: PAGE_SIZE,
        ..ContractQuery::default()
    };
    let mut filters = Filters {
        q: given(&params.q).unwrap_or_default().to_string(),
        ..Filters::default()
    };
    if let Some(status) = given(&params.status) {
        query.status = Some(match status {
            "active" => ContractStatus::Active,
            "terminated" => ContractStatus::Terminated,
            other => {
                return Err(bad(
                    "status",
                    format!("\"{other}\" is not a status (active or terminated)"),
                ));
            }
        });
        filters.status = status.to_string();
    }
    if let Some(owner) = given(&params.owner) {
        query.owner_id = Some(if owner == "me" {
            user.user.id
        } else {
            owner.parse().map_err(|_| {
                bad(
                    "owner",
                    format!("\"{owner}\" is neither a user's number nor \"me\""),
                )
            })?
        });
        filters.owner = owner.to_string();
    }
    if let Some(customer) = given(&params.customer) {
        query.customer_id = Some(customer.parse().map_err(|_| {
            bad(
                "customer",
                format!("\"{customer}\" is not a customer's number"),
            )
        })?);
        filters.customer = customer.to_string();
    }
    if let Some(days) = given(&params.expiring) {
        let days: i64 = days
            .parse()
            .ok()
            .filter(|d| (0..=3660).contains(d))
            .ok_or_else(|| {
                bad(
                    "expiring",
                    format!("\"{days}\" is not a number of days (0 to 3660)"),
                )
            })?;
        // As the dashboard counts them: active contracts ending today .. today + days.
        query.end_from = Some(today);
        query.end_before = today.checked_add((days + 1).days()).ok();
        if query.status.is_none() {
            query.status = Some(ContractStatus::Active);
        }
        filters.expiring = days.to_string();
    }
    if let Some(before) = given(&params.before) {
        let date = parse_date("before", before).map_err(|e| WebError::BadRequest(e.to_string()))?;
        query.end_before = Some(match query.end_before {
            Some(other) if other < date => other,
            _ => date,
        });
        filters.before = before.to_string();
    }
    if let Some(sort) = given(&params.sort) {
        query.sort = ContractSort::parse(sort).ok_or_else(|| {
            bad(
                "sort",
                format!("\"{sort}\" is not a sort order (end, title, customer or created)"),
            )
        })?;
        filters.sort = sort.to_string();
    }
    match given(&params.dir) {
        None | Some("asc") => {}
        Some("desc") => {
            query.descending = true;
            filters.dir = "desc".to_string();
        }
        Some(other) => {
            return Err(bad("dir", format!("\"{other}\" is not asc or desc")));
        }
    }
    query.cursor = cursor(&params.after, &params.before_id)?;
    Ok((query, filters))
}

/// A contract as a row of a table: dates as the viewer reads them.
pub(crate) struct ListRow {
    pub id: i64,
    pub title: String,
    pub customer_id: i64,
    pub customer_name: String,
    pub owner_name: String,
    pub end_date: String,
    pub days_left: String,
    pub status: &'static str,
}

impl ListRow {
    pub(crate) fn new(row: &ContractListRow, today: Date) -> ListRow {
        let days = days_between(today, row.end_date);
        ListRow {
            id: row.id,
            title: row.title.clone(),
            customer_id: row.customer_id,
            customer_name: row.customer_name.clone(),
            owner_name: row.owner_name.clone().unwrap_or_default(),
            end_date: row.end_date.to_string(),
            days_left: match row.status {
                ContractStatus::Terminated => String::new(),
                ContractStatus::Active if days < 0 => format!("ended {} days ago", -days),
                ContractStatus::Active => days.to_string(),
            },
            status: status_text(&row.status),
        }
    }
}

struct SortHeader {
    label: &'static str,
    href: String,
    /// `ascending` / `descending` when the list is sorted by it, else empty.
    aria_sort: &'static str,
}

#[derive(Template)]
#[template(path = "contracts.html")]
struct ContractsPage {
    layout: Layout,
    filters: Filters,
    owners: Vec<(String, String)>,
    headers: Vec<SortHeader>,
    rows: Vec<ListRow>,
    total: String,
    first_link: Option<String>,
    previous_link: Option<String>,
    next_link: Option<String>,
    can_create: bool,
}

async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<ListParams>,
) -> Result<Html<String>, WebError> {
    let engine = &state.engine;
    let today = today_in(engine.now(), &user.zone);
    let (query, filters) = contract_query(&params, &user, today)?;
    let listing = engine.browse_contracts(&query).await?;
    let owners = engine
        .browse_owners()
        .await?
        .into_iter()
        .map(|u| (u.id.to_string(), u.name))
        .collect();
    let base = filters.query();
    let page = &listing.page;
    let headers = [
        ("Contract", "title", ContractSort::Title),
        ("Customer", "customer", ContractSort::Customer),
        ("Ends", "end", ContractSort::End),
    ]
    .into_iter()
    .map(|(label, key, sort)| SortHeader {
        label,
        href: filters.sorted_by(key),
        aria_sort: match (query.sort == sort, query.descending) {
            (false, _) => "",
            (true, false) => "ascending",
            (true, true) => "descending",
        },
    })
    .collect();
    let page_view = ContractsPage {
        layout: Layout::new(&user, "Contracts", "contracts").with_notice(params.notice),
        owners,
        headers,
        rows: page.rows.iter().map(|r| ListRow::new(r, today)).collect(),
        total: total_text(listing.total, listing.total_capped(), "contract"),
        first_link: page.has_previous.then(|| link("/contracts", &base, "")),
        previous_link: match (page.has_previous, page.rows.first()) {
            (true, Some(first)) => Some(link(
                "/contracts",
                &base,
                &format!("before_id={}", first.id),
            )),
            _ => None,
        },
        next_link: match (page.has_next, page.rows.last()) {
            (true, Some(last)) => Some(link("/contracts", &base, &format!("after={}", last.id))),
            _ => None,
        },
        can_create: user.viewer.may(Action::Create, None),
        filters,
    };
    Ok(Html(page_view.render()?))
}

// ---------------------------------------------------------------------------------------
// One contract

struct TimelineRow {
    term: i32,
    label: String,
    mode: &'static str,
    status: &'static str,
    reason: String,
    send_at: String,
    when: String,
    sent_at: String,
    lateness: String,
    href: String,
    subject: String,
}

struct EventRow {
    at: String,
    actor: String,
    what: String,
    detail: String,
}

struct TermView {
    number: i32,
    start: String,
    end: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "contracts_detail.html")]
struct DetailPage {
    layout: Layout,
    id: i64,
    title: String,
    status: &'static str,
    active: bool,
    term_number: i32,
    start: String,
    end: String,
    days_left: i64,
    customer_id: i64,
    customer_name: String,
    customer_emails: String,
    customer_language: String,
    customer_zone: String,
    owner: String,
    plan: String,
    amount: String,
    custom_fields: Vec<(String, String)>,
    terms: Vec<TermView>,
    timeline: Vec<TimelineRow>,
    events: Vec<EventRow>,
    can_change: bool,
    error: Option<String>,
    renew_end: String,
    terminate_reason: String,
}

/// "on time", "2 h 5 min late", "3 d 1 h early": how far from its time a reminder went out.
fn lateness_text(ms: i64) -> String {
    let seconds = ms / 1000;
    let magnitude = seconds.unsigned_abs();
    if magnitude < 60 {
        return "on time".to_string();
    }
    let (days, hours, minutes) = (
        magnitude / 86_400,
        magnitude % 86_400 / 3_600,
        magnitude % 3_600 / 60,
    );
    let amount = match (days, hours) {
        (0, 0) => format!("{minutes} min"),
        (0, h) => format!("{h} h {minutes} min"),
        (d, h) => format!("{d} d {h} h"),
    };
    if seconds > 0 {
        format!("{amount} late")
    } else {
        format!("{amount} early")
    }
}

fn field_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What was typed into the renew and terminate forms, and what went wrong, to show again.
#[derive(Default)]
struct Retyped {
    error: Option<String>,
    renew_end: String,
    terminate_reason: String,
}

async fn detail_page(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    notice: Option<String>,
    retyped: Retyped,
) -> Result<DetailPage, WebError> {
    let engine = &state.engine;
    let detail = engine.contract_detail(id).await?;
    let terms = engine.browse_contract_terms(id).await?;
    let now = engine.now();
    let today = today_in(now, &user.zone);
    let contract = &detail.contract;
    let language = detail.customer.language;
    let amount = match (contract.amount_minor, contract.currency.as_deref()) {
        (Some(minor), Some(code)) => match Currency::parse("currency", code) {
            Ok(currency) => Money { minor, currency }.format(Language::En),
            Err(_) => format!("{minor} {code}"),
        },
        _ => String::new(),
    };
    let timeline = detail
        .reminders
        .iter()
        .map(|r| TimelineRow {
            term: r.term_number,
            label: r.label.clone(),
            mode: r.mode.as_str(),
            status: r.status.as_str(),
            reason: r.status_reason.clone().unwrap_or_default(),
            send_at: format::local(r.send_at, &user.zone),
            when: format::relative(r.send_at, now),
            sent_at: r
                .sent_at
                .map(|t| format::local(t, &user.zone))
                .unwrap_or_default(),
            lateness: r.lateness_ms.map(lateness_text).unwrap_or_default(),
            href: if r.status.is_final() {
                format!("/sent/{}", r.id)
            } else {
                format!("/review/{}", r.id)
            },
            subject: r.subject.clone(),
        })
        .collect();
    let events = detail
        .events
        .iter()
        .map(|e| EventRow {
            at: format::local(e.at, &user.zone),
            actor: e.actor.clone(),
            what: if e.subject_type == "contract" {
                e.action.clone()
            } else {
                format!("{} {} {}", e.subject_type, e.subject_id, e.action)
            },
            detail: e.detail.clone(),
        })
        .collect();
    Ok(DetailPage {
        layout: Layout::new(user, contract.title.clone(), "contracts").with_notice(notice),
        id,
        title: contract.title.clone(),
        status: status_text(&contract.status),
        active: contract.status == ContractStatus::Active,
        term_number: contract.term_number,
        start: contract.start_date.to_string(),
        end: contract.end_date.to_string(),
        days_left: days_between(today, contract.end_date),
        customer_id: detail.customer.id,
        customer_name: detail.customer.name.clone(),
        customer_emails: detail.customer.emails.join(", "),
        customer_language: language.code().to_string(),
        customer_zone: detail.customer.time_zone.clone().unwrap_or_else(|| {
            format!(
                "{} (the organisation's)",
                engine.settings().default_time_zone.name()
            )
        }),
        owner: detail
            .owner
            .as_ref()
            .map(|o| format!("{} <{}>", o.name, o.email))
            .unwrap_or_default(),
        plan: detail.plan.clone(),
        amount,
        custom_fields: contract
            .custom_fields
            .iter()
            .map(|(k, v)| (k.clone(), field_text(v)))
            .collect(),
        terms: terms
            .iter()
            .map(|t| TermView {
                number: t.term_number,
                start: t.start_date.to_string(),
                end: t.end_date.to_string(),
                current: t.term_number == contract.term_number,
            })
            .collect(),
        timeline,
        events,
        can_change: user.viewer.may(Action::ChangeContract, contract.owner_id),
        error: retyped.error,
        renew_end: retyped.renew_end,
        terminate_reason: retyped.terminate_reason,
    })
}

async fn detail(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(query): Query<NoticeQuery>,
) -> Result<Html<String>, WebError> {
    let page = detail_page(&state, &user, id, query.notice, Retyped::default()).await?;
    Ok(Html(page.render()?))
}

/// Refuses with 403 unless the viewer may change contract `id`; 404 if there is none.
async fn require_change(state: &AppState, user: &CurrentUser, id: i64) -> Result<(), WebError> {
    let contract = state.engine.contract_detail(id).await?.contract;
    user.require(Action::ChangeContract, contract.owner_id)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RenewForm {
    end: String,
}

async fn renew(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<RenewForm>,
) -> Result<Response, WebError> {
    require_change(&state, &user, id).await?;
    let new_end = match form.end.trim() {
        "" => Ok(None),
        text => parse_date("end", text).map(Some),
    };
    let outcome = match new_end {
        Ok(new_end) => {
            state
                .engine
                .renew_contract(id, new_end, &user.actor())
                .await
        }
        Err(e) => Err(EngineError::Invalid(e)),
    };
    match outcome {
        Ok(term) => Ok(redirect_with_notice(
            &format!("/contracts/{id}"),
            &format!("Renewed: the new term runs {} to {}.", term.start, term.end),
        )),
        Err(EngineError::Invalid(e)) => {
            let page = detail_page(
                &state,
                &user,
                id,
                None,
                Retyped {
                    error: Some(format!("Not renewed: {e}")),
                    renew_end: form.end,
                    ..Retyped::default()
                },
            )
            .await?;
            Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TerminateForm {
    reason: String,
}

async fn terminate(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<TerminateForm>,
) -> Result<Response, WebError> {
    require_change(&state, &user, id).await?;
    let reason = form.reason.trim();
    if reason.is_empty() || reason.chars().any(char::is_control) {
        let page = detail_page(
            &state,
            &user,
            id,
            None,
            Retyped {
                error: Some(
                    "Not terminated: reason: say why the contract ends (one line)".to_string(),
                ),
                terminate_reason: form.reason.clone(),
                ..Retyped::default()
            },
        )
        .await?;
        return Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response());
    }
    state
        .engine
        .terminate_contract(id, reason, &user.actor())
        .await?;
    Ok(redirect_with_notice(
        &format!("/contracts/{id}"),
        "Terminated: its pending reminders are cancelled.",
    ))
}

// ---------------------------------------------------------------------------------------
// Entering and editing

/// The contract form as typed; every field text, so nothing typed is lost on an error.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct ContractForm {
    customer: String,
    title: String,
    start: String,
    end: String,
    owner: String,
    plan: String,
    amount: String,
    currency: String,
    custom_fields: String,
}

#[derive(Template)]
#[template(path = "contracts_form.html")]
struct FormPage {
    layout: Layout,
    /// None: a new contract; else the contract being edited.
    editing: Option<i64>,
    form: ContractForm,
    customer_name: String,
    customers: Option<Vec<(String, String)>>,
    owners: Vec<(String, String)>,
    plans: Vec<String>,
    error: Option<String>,
    /// The field the error is about, to mark it.
    error_field: String,
}

/// `name=value` lines as custom fields; blank lines are ignored.
fn parse_custom_fields(
    text: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, ValidationError> {
    let mut fields = serde_json::Map::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let problem = |message: String| {
            ValidationError::new("custom_fields", format!("line {}: {message}", n + 1))
        };
        let Some((name, value)) = line.split_once('=') else {
            return Err(problem(format!("\"{line}\" is not name=value")));
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(problem(format!("\"{line}\" has no name before =")));
        }
        if fields.contains_key(name) {
            return Err(problem(format!("\"{name}\" is given twice")));
        }
        fields.insert(
            name.to_string(),
            serde_json::Value::String(value.trim().to_string()),
        );
    }
    Ok(fields)
}

fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

async fn form_page(
    state: &AppState,
    user: &CurrentUser,
    editing: Option<i64>,
    form: ContractForm,
    customer_name: String,
    error: Option<ValidationError>,
) -> Result<FormPage, WebError> {
    let engine = &state.engine;
    let customers = if editing.is_none() {
        let choices = engine
            .browse_customer_choices(CUSTOMER_SELECT_MAX + 1)
            .await?;
        (choices.len() as i64 <= CUSTOMER_SELECT_MAX).then(|| {
            choices
                .into_iter()
                .map(|(id, name)| (id.to_string(), format!("{name} (#{id})")))
                .collect()
        })
    } else {
        None
    };
    let owners = engine
        .browse_owners()
        .await?
        .into_iter()
        .filter(|u| u.active)
        .map(|u| (u.email.clone(), format!("{} <{}>", u.name, u.email)))
        .collect();
    let title = match editing {
        Some(_) => format!("Edit {}", form.title),
        None => "New contract".to_string(),
    };
    Ok(FormPage {
        layout: Layout::new(user, title, "contracts"),
        editing,
        form,
        customer_name,
        customers,
        owners,
        plans: engine.browse_plan_names().await?,
        error_field: error.as_ref().map(|e| e.field.clone()).unwrap_or_default(),
        error: error.map(|e| e.to_string()),
    })
}

async fn render_form_error(
    state: &AppState,
    user: &CurrentUser,
    editing: Option<i64>,
    form: ContractForm,
    customer_name: String,
    error: ValidationError,
    status: StatusCode,
) -> Result<Response, WebError> {
    let page = form_page(state, user, editing, form, customer_name, Some(error)).await?;
    Ok((status, Html(page.render()?)).into_response())
}

#[derive(Deserialize)]
struct NewQuery {
    customer: Option<String>,
}

async fn new_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<NewQuery>,
) -> Result<Html<String>, WebError> {
    user.require(Action::Create, None)?;
    let form = ContractForm {
        customer: given(&query.customer).unwrap_or_default().to_string(),
        owner: if user.user.role == tickler_core::user::Role::Sales {
            user.user.email.clone()
        } else {
            String::new()
        },
        plan: tickler_core::plan::RENEWAL_PLAN.to_string(),
        ..ContractForm::default()
    };
    let page = form_page(&state, &user, None, form, String::new(), None).await?;
    Ok(Html(page.render()?))
}

async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<ContractForm>,
) -> Result<Response, WebError> {
    user.require(Action::Create, None)?;
    let customer_id = match form.customer.trim().parse::<i64>() {
        Ok(id) => id,
        Err(_) => {
            let error = ValidationError::new(
                "customer",
                "choose a customer (or type its number, shown on its page)",
            );
            return render_form_error(
                &state,
                &user,
                None,
                form,
                String::new(),
                error,
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let custom_fields = match parse_custom_fields(&form.custom_fields) {
        Ok(fields) => fields,
        Err(error) => {
            return render_form_error(
                &state,
                &user,
                None,
                form,
                String::new(),
                error,
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let input = ContractInput {
        customer_id,
        title: form.title.clone(),
        start: form.start.clone(),
        end: form.end.clone(),
        owner_email: optional(&form.owner),
        plan: optional(&form.plan),
        amount: optional(&form.amount),
        currency: optional(&form.currency),
        custom_fields,
    };
    match state.engine.add_contract(input, &user.actor()).await {
        Ok(id) => Ok(redirect_with_notice(
            &format!("/contracts/{id}"),
            "Contract entered; its reminders are scheduled.",
        )),
        Err(EngineError::Invalid(error)) => {
            render_form_error(
                &state,
                &user,
                None,
                form,
                String::new(),
                error,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(EngineError::Conflict(message)) => {
            let error = ValidationError::new("contract", message);
            render_form_error(
                &state,
                &user,
                None,
                form,
                String::new(),
                error,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

async fn edit_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Html<String>, WebError> {
    let detail = state.engine.contract_detail(id).await?;
    let contract = &detail.contract;
    user.require(Action::ChangeContract, contract.owner_id)?;
    let form = ContractForm {
        customer: contract.customer_id.to_string(),
        title: contract.title.clone(),
        start: contract.start_date.to_string(),
        end: contract.end_date.to_string(),
        owner: detail
            .owner
            .as_ref()
            .map(|o| o.email.clone())
            .unwrap_or_default(),
        plan: detail.plan.clone(),
        amount: contract
            .amount_minor
            .zip(contract.currency.as_deref())
            .and_then(|(minor, code)| {
                tickler_core::money::Currency::parse("currency", code)
                    .ok()
                    .map(|currency| {
                        tickler_core::money::Money { minor, currency }.to_decimal_string()
                    })
            })
            .unwrap_or_default(),
        currency: contract.currency.clone().unwrap_or_default(),
        custom_fields: contract
            .custom_fields
            .iter()
            .map(|(name, value)| match value {
                serde_json::Value::String(text) => format!("{name}={text}"),
                other => format!("{name}={other}"),
            })
            .collect::<Vec<_>>()
            .join("\n"),
    };
    let page = form_page(
        &state,
        &user,
        Some(id),
        form,
        detail.customer.name.clone(),
        None,
    )
    .await?;
    Ok(Html(page.render()?))
}

async fn edit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<ContractForm>,
) -> Result<Response, WebError> {
    let detail = state.engine.contract_detail(id).await?;
    user.require(Action::ChangeContract, detail.contract.owner_id)?;
    let custom_fields = match parse_custom_fields(&form.custom_fields) {
        Ok(fields) => fields,
        Err(error) => {
            let customer_name = detail.customer.name.clone();
            return render_form_error(
                &state,
                &user,
                Some(id),
                form,
                customer_name,
                error,
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let changes = ContractChanges {
        title: Some(form.title.clone()),
        start: Some(form.start.clone()),
        end: Some(form.end.clone()),
        owner_email: Some(form.owner.trim().to_string()),
        plan: optional(&form.plan),
        amount: Some(form.amount.clone()),
        currency: Some(form.currency.clone()),
        custom_fields: Some(custom_fields),
    };
    match state.engine.edit_contract(id, changes, &user.actor()).await {
        Ok(()) => Ok(redirect_with_notice(
            &format!("/contracts/{id}"),
            "Contract saved; its reminders follow the changes (edited ones are kept).",
        )),
        Err(EngineError::Invalid(error)) => {
            render_form_error(
                &state,
                &user,
                Some(id),
                form,
                detail.customer.name.clone(),
                error,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(EngineError::Conflict(message)) => {
            let error = ValidationError::new("contract", message);
            render_form_error(
                &state,
                &user,
                Some(id),
                form,
                detail.customer.name.clone(),
                error,
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_fields_are_name_value_lines() {
        let fields = parse_custom_fields("site = Athens\n\nunits=3\n").unwrap();
        assert_eq!(fields["site"], "Athens");
        assert_eq!(fields["units"], "3");
        let error = parse_custom_fields("site=A\nno equals sign").unwrap_err();
        assert_eq!(error.field, "custom_fields");
        assert!(error.message.contains("line 2"), "{error}");
        assert!(parse_custom_fields("a=1\na=2").is_err());
        assert!(parse_custom_fields("=x").is_err());
    }

    #[test]
    fn lateness_reads_as_words() {
        assert_eq!(lateness_text(20_000), "on time");
        assert_eq!(lateness_text(5 * 60_000), "5 min late");
        assert_eq!(lateness_text(2 * 3_600_000 + 60_000), "2 h 1 min late");
        assert_eq!(
            lateness_text(-(3 * 86_400_000 + 3_600_000)),
            "3 d 1 h early"
        );
    }

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(total_text(1, false, "contract"), "1 contract");
        assert_eq!(
            total_text(10_000, true, "contract"),
            "10,000 or more contracts"
        );
    }

    #[test]
    fn links_leave_out_empty_parts() {
        assert_eq!(link("/contracts", "", ""), "/contracts");
        assert_eq!(
            link("/contracts", "q=a", "after=3"),
            "/contracts?q=a&after=3"
        );
        assert_eq!(query_string(&[("q", "a b&c"), ("status", "")]), "q=a+b%26c");
    }
}
