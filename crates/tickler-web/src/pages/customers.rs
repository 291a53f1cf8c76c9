//! The customers pages: the list (search by name or address, keyset pages read from the
//! database), one customer with their contracts, and entering and editing one (addresses,
//! language, time zone).

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;
use tickler_core::{ValidationError, access::Action, language::Language};
use tickler_engine::{EngineError, browse::CustomerQuery, directory::NewCustomer};

use crate::{
    AppState, WebError,
    auth::CurrentUser,
    field_errors::FieldErrors,
    pages::{
        Layout,
        contracts::{
            ListRow, PAGE_SIZE, cursor, given, link, query_string, search, today_in, total_text,
        },
    },
    pages::{csv_download, redirect_with_notice},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers", get(list).post(create))
        .route("/customers.csv", get(list_csv))
        .route("/customers/new", get(new_form))
        .route("/customers/{id}", get(detail))
        .route("/customers/{id}/edit", get(edit_form).post(edit))
}

#[derive(Deserialize)]
struct ListParams {
    q: Option<String>,
    after: Option<String>,
    before_id: Option<String>,
}

struct CustomerRow {
    id: i64,
    name: String,
    email: String,
    language: &'static str,
    time_zone: String,
    contracts: i64,
}

#[derive(Template)]
#[template(path = "customers.html")]
struct CustomersPage {
    layout: Layout,
    q: String,
    rows: Vec<CustomerRow>,
    total: String,
    first_link: Option<String>,
    previous_link: Option<String>,
    next_link: Option<String>,
    can_create: bool,
    /// The same search as a CSV download.
    csv_link: String,
}

/// The customers the list's search shows, every page of them, as CSV.
async fn list_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<ListParams>,
) -> Result<Response, WebError> {
    let search = search(&params.q)?;
    let mut csv = Vec::new();
    state
        .engine
        .export_customers(&mut csv, search.as_deref())
        .await?;
    let today = today_in(state.engine.now(), &user.zone);
    Ok(csv_download(&format!("customers-{today}.csv"), csv))
}

async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<ListParams>,
) -> Result<Html<String>, WebError> {
    let q = given(&params.q).unwrap_or_default().to_string();
    let query = CustomerQuery {
        search: search(&params.q)?,
        cursor: cursor(&params.after, &params.before_id)?,
        limit: PAGE_SIZE,
    };
    let listing = state.engine.browse_customers(&query).await?;
    let base = query_string(&[("q", q.as_str())]);
    let page = &listing.page;
    let view = CustomersPage {
        layout: Layout::new(&user, "Customers", "customers"),
        rows: page
            .rows
            .iter()
            .map(|c| CustomerRow {
                id: c.id,
                name: c.name.clone(),
                email: c.email.clone().unwrap_or_default(),
                language: c.language.code(),
                time_zone: c.time_zone.clone().unwrap_or_default(),
                contracts: c.contracts,
            })
            .collect(),
        total: total_text(listing.total, listing.total_capped(), "customer"),
        csv_link: link("/customers.csv", &base, ""),
        first_link: page.has_previous.then(|| link("/customers", &base, "")),
        previous_link: match (page.has_previous, page.rows.first()) {
            (true, Some(first)) => Some(link(
                "/customers",
                &base,
                &format!("before_id={}", first.id),
            )),
            _ => None,
        },
        next_link: match (page.has_next, page.rows.last()) {
            (true, Some(last)) => Some(link("/customers", &base, &format!("after={}", last.id))),
            _ => None,
        },
        can_create: user.viewer.may(Action::Create, None),
        q,
    };
    Ok(Html(view.render()?))
}

#[derive(Template)]
#[template(path = "customers_detail.html")]
struct DetailPage {
    layout: Layout,
    id: i64,
    name: String,
    emails: Vec<String>,
    language: &'static str,
    time_zone: String,
    contracts: Vec<ListRow>,
    total: String,
    more: bool,
    can_create: bool,
}

async fn detail(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Html<String>, WebError> {
    let engine = &state.engine;
    let detail = engine.browse_customer_detail(id, PAGE_SIZE).await?;
    let today = engine.now().to_zoned_datetime(user.zone.clone()).date();
    let customer = detail.customer;
    let page = DetailPage {
        layout: Layout::new(&user, customer.name.clone(), "customers"),
        id,
        name: customer.name,
        emails: customer.emails,
        language: customer.language.code(),
        time_zone: customer.time_zone.unwrap_or_else(|| {
            format!(
                "{} (the organisation's)",
                engine.settings().default_time_zone.name()
            )
        }),
        contracts: detail
            .contracts
            .page
            .rows
            .iter()
            .map(|r| ListRow::new(r, today, &user.zone))
            .collect(),
        total: total_text(
            detail.contracts.total,
            detail.contracts.total_capped(),
            "contract",
        ),
        more: detail.contracts.page.has_next,
        can_create: user.viewer.may(Action::Create, None),
    };
    Ok(Html(page.render()?))
}

/// The customer form as typed.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct CustomerForm {
    name: String,
    /// One address per line.
    emails: String,
    language: String,
    time_zone: String,
    /// The plan their new contracts follow; empty: the default for each contract's kind.
    plan: String,
}

#[derive(Template)]
#[template(path = "customers_form.html")]
struct FormPage {
    layout: Layout,
    editing: Option<i64>,
    form: CustomerForm,
    /// (code, name)
    languages: Vec<(&'static str, &'static str)>,
    default_zone: String,
    plans: Vec<String>,
    errors: FieldErrors,
}

/// The form element a refused field of a customer is typed in.
fn customer_field(field: &str) -> Option<&'static str> {
    match field {
        "name" => Some("name"),
        "email" | "emails" => Some("emails"),
        "language" => Some("language"),
        "time_zone" => Some("time_zone"),
        "plan" => Some("plan"),
        _ => None,
    }
}

async fn form_page(
    state: &AppState,
    user: &CurrentUser,
    editing: Option<i64>,
    form: CustomerForm,
    error: Option<ValidationError>,
) -> Result<FormPage, WebError> {
    let title = match editing {
        Some(_) => format!("Edit {}", form.name),
        None => "New customer".to_string(),
    };
    let mut plans = state.engine.browse_plan_names().await?;
    // A customer whose plan was archived keeps it until someone chooses another.
    if !form.plan.is_empty() && !plans.contains(&form.plan) {
        plans.push(form.plan.clone());
    }
    Ok(FormPage {
        layout: Layout::new(user, title, "customers"),
        editing,
        errors: FieldErrors::of(error.as_ref(), customer_field, user.user.language),
        form,
        languages: crate::pages::language_choices(),
        default_zone: state.engine.settings().default_time_zone.name().to_string(),
        plans,
    })
}

async fn form_error(
    state: &AppState,
    user: &CurrentUser,
    editing: Option<i64>,
    form: CustomerForm,
    error: ValidationError,
    status: StatusCode,
) -> Result<Response, WebError> {
    let page = form_page(state, user, editing, form, Some(error)).await?;
    Ok((status, Html(page.render()?)).into_response())
}

/// Saves the plan a customer's new contracts follow, when the form changed it.
async fn save_default_plan(
    state: &AppState,
    user: &CurrentUser,
    customer_id: i64,
    form: &CustomerForm,
) -> Result<(), EngineError> {
    let before = state.engine.customer_default_plan(customer_id).await?;
    if before.as_deref().unwrap_or("") == form.plan.trim() {
        return Ok(());
    }
    state
        .engine
        .set_customer_default_plan(customer_id, Some(form.plan.trim()), &user.actor())
        .await
}

/// The form's fields as the engine takes them; the engine checks names, addresses and zone.
fn new_customer(form: &CustomerForm) -> Result<NewCustomer, ValidationError> {
    Ok(NewCustomer {
        name: form.name.clone(),
        emails: form
            .emails
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(str::to_string)
            .collect(),
        language: Language::parse("language", &form.language)?,
        time_zone: Some(form.time_zone.trim().to_string()).filter(|tz| !tz.is_empty()),
    })
}

async fn new_form(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Html<String>, WebError> {
    user.require(Action::Create, None)?;
    let form = CustomerForm {
        language: Language::En.code().to_string(),
        ..CustomerForm::default()
    };
    Ok(Html(
        form_page(&state, &user, None, form, None).await?.render()?,
    ))
}

/// What a refused save becomes: the form again (400, or 409 for an address another customer
/// has), or an error page.
async fn refused(
    state: &AppState,
    user: &CurrentUser,
    editing: Option<i64>,
    form: CustomerForm,
    error: EngineError,
) -> Result<Response, WebError> {
    match error {
        EngineError::Invalid(e) => {
            form_error(state, user, editing, form, e, StatusCode::BAD_REQUEST).await
        }
        EngineError::Conflict(message) => {
            form_error(
                state,
                user,
                editing,
                form,
                ValidationError::new("emails", message),
                StatusCode::CONFLICT,
            )
            .await
        }
        other => Err(other.into()),
    }
}

async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<CustomerForm>,
) -> Result<Response, WebError> {
    user.require(Action::Create, None)?;
    let new = match new_customer(&form) {
        Ok(new) => new,
        Err(e) => {
            return form_error(&state, &user, None, form, e, StatusCode::BAD_REQUEST).await;
        }
    };
    match state.engine.add_customer(new, &user.actor()).await {
        Ok(id) => {
            if let Err(e) = save_default_plan(&state, &user, id, &form).await {
                // The customer is entered: say so, and show its form with the plan refused.
                return refused(&state, &user, Some(id), form, e).await;
            }
            Ok(redirect_with_notice(
                &format!("/customers/{id}"),
                "Customer entered.",
            ))
        }
        Err(e) => refused(&state, &user, None, form, e).await,
    }
}

async fn edit_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Html<String>, WebError> {
    user.require(Action::Create, None)?;
    let customer = state.engine.customer(id).await?;
    let form = CustomerForm {
        name: customer.name,
        emails: customer.emails.join("\n"),
        language: customer.language.code().to_string(),
        time_zone: customer.time_zone.unwrap_or_default(),
        plan: state
            .engine
            .customer_default_plan(id)
            .await?
            .unwrap_or_default(),
    };
    Ok(Html(
        form_page(&state, &user, Some(id), form, None)
            .await?
            .render()?,
    ))
}

async fn edit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<CustomerForm>,
) -> Result<Response, WebError> {
    user.require(Action::Create, None)?;
    // 404 before anything is checked, for a customer that does not exist.
    state.engine.customer(id).await?;
    let new = match new_customer(&form) {
        Ok(new) => new,
        Err(e) => {
            return form_error(&state, &user, Some(id), form, e, StatusCode::BAD_REQUEST).await;
        }
    };
    let saved = state
        .engine
        .edit_customer(id, new, &user.actor(), Some(&user.viewer))
        .await;
    match saved {
        Ok(()) => match save_default_plan(&state, &user, id, &form).await {
            Ok(()) => Ok(redirect_with_notice(
                &format!("/customers/{id}"),
                "Customer saved; the reminders of their active contracts follow.",
            )),
            Err(e) => refused(&state, &user, Some(id), form, e).await,
        },
        Err(e) => refused(&state, &user, Some(id), form, e).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_one_per_line() {
        let form = CustomerForm {
            name: "Acme".to_string(),
            emails: " a@acme.example \r\n\r\nb@acme.example\n".to_string(),
            language: "el".to_string(),
            time_zone: " ".to_string(),
            plan: String::new(),
        };
        let new = new_customer(&form).unwrap();
        assert_eq!(new.emails, ["a@acme.example", "b@acme.example"]);
        assert_eq!(new.language, Language::El);
        assert_eq!(new.time_zone, None);
        let bad = CustomerForm {
            language: "fr".to_string(),
            ..form
        };
        assert_eq!(
            new_customer(&bad).err().map(|e| e.field),
            Some("language".to_string())
        );
    }
}
