//! Webhooks for admins (`/webhooks`): register a receiver (its secret shown once, on the
//! page that answers the form), remove one, read the delivery log with each receiver's
//! answer, and post a delivery again.

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use tickler_core::{access::Action, webhook::WebhookEvent};
use tickler_engine::{EngineError, webhooks::NewWebhook};

use crate::{
    AppState, WebError,
    auth::CurrentUser,
    field_errors::FieldErrors,
    format,
    pages::{Layout, redirect_with_notice},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(webhooks_page).post(add))
        .route("/webhooks/{id}/remove", post(remove))
        .route("/webhooks/deliveries/{id}", get(delivery_page))
        .route("/webhooks/deliveries/{id}/redeliver", post(redeliver))
}

struct EndpointRow {
    id: i64,
    url: String,
    events: String,
    description: String,
    made: String,
}

struct DeliveryRow {
    id: i64,
    event_id: i64,
    event_type: String,
    about: String,
    endpoint_id: i64,
    status: String,
    attempts: i64,
    answer: String,
    when: String,
}

struct EventChoice {
    name: &'static str,
    describe: &'static str,
    checked: bool,
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    layout: Layout,
    endpoints: Vec<EndpointRow>,
    deliveries: Vec<DeliveryRow>,
    /// The receiver just registered: its secret is shown this once.
    made: Option<NewWebhook>,
    form: AddForm,
    choices: Vec<EventChoice>,
    status: String,
    errors: FieldErrors,
}

#[derive(Deserialize, Default)]
struct AddForm {
    #[serde(default)]
    url: String,
    #[serde(default)]
    description: String,
    /// Checked events arrive as repeated `event` fields; see [`add`].
    #[serde(skip)]
    events: Vec<String>,
}

#[derive(Deserialize, Default)]
struct LogFilter {
    #[serde(default)]
    status: String,
}

fn answer_of(last_status: Option<i64>, last_error: Option<&str>) -> String {
    match (last_status, last_error) {
        (Some(status), _) => format!("HTTP {status}"),
        (None, Some(error)) => error.to_string(),
        (None, None) => "not tried yet".to_string(),
    }
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    status: String,
    form: AddForm,
    made: Option<NewWebhook>,
    errors: FieldErrors,
) -> Result<WebhooksPage, WebError> {
    let endpoints = state
        .engine
        .webhooks()
        .await?
        .into_iter()
        .map(|e| EndpointRow {
            id: e.id,
            url: e.url,
            events: e.events.replace(',', ", "),
            description: e.description,
            made: format::local(e.created_at, &user.zone),
        })
        .collect();
    let filter = (!status.is_empty()).then_some(status.as_str());
    let deliveries = state
        .engine
        .webhook_deliveries(None, filter, 100)
        .await?
        .into_iter()
        .map(|d| DeliveryRow {
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type,
            about: format!("{} {}", d.subject_type, d.subject_id),
            endpoint_id: d.endpoint_id,
            answer: answer_of(d.last_status, d.last_error.as_deref()),
            when: format::local(d.last_attempt_at.unwrap_or(d.created_at), &user.zone),
            status: d.status,
            attempts: d.attempts,
        })
        .collect();
    let choices = WebhookEvent::ALL
        .iter()
        .map(|event| EventChoice {
            name: event.as_str(),
            describe: event.describe(),
            checked: form.events.iter().any(|e| e == event.as_str()),
        })
        .collect();
    Ok(WebhooksPage {
        layout: Layout::new(user, "Webhooks", "settings"),
        endpoints,
        deliveries,
        made,
        form,
        choices,
        status,
        errors,
    })
}

async fn webhooks_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(filter): Query<LogFilter>,
) -> Result<Response, WebError> {
    user.require(Action::Administer, None)?;
    // A status the log does not know is the reader's typo: the whole log is shown.
    let status = match filter.status.as_str() {
        "pending" | "delivered" | "failed" => filter.status,
        _ => String::new(),
    };
    let shown = page(
        &state,
        &user,
        status,
        AddForm::default(),
        None,
        FieldErrors::default(),
    )
    .await?;
    Ok(Html(shown.render()?).into_response())
}

async fn add(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    user.require(Action::Administer, None)?;
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let form = AddForm {
        url: field("url"),
        description: field("description"),
        events: fields
            .iter()
            .filter(|(n, _)| n == "event")
            .map(|(_, v)| v.clone())
            .collect(),
    };
    let made = state
        .engine
        .add_webhook(
            &form.url,
            &form.events.join(","),
            Some(&form.description),
            &user.actor(),
        )
        .await;
    match made {
        // Answered here, not by a redirect: the secret must not wait in the session.
        Ok(made) => {
            let shown = page(
                &state,
                &user,
                String::new(),
                AddForm::default(),
                Some(made),
                FieldErrors::default(),
            )
            .await?;
            Ok(Html(shown.render()?).into_response())
        }
        Err(EngineError::Invalid(refusal)) => {
            let errors = FieldErrors::of(
                Some(&refusal),
                |field| match field {
                    "url" => Some("url"),
                    "events" => Some("events"),
                    "description" => Some("description"),
                    _ => None,
                },
                user.user.language,
            );
            let shown = page(&state, &user, String::new(), form, None, errors).await?;
            Ok((StatusCode::BAD_REQUEST, Html(shown.render()?)).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    user.require(Action::Administer, None)?;
    let endpoint = state.engine.webhook(id).await?;
    state.engine.remove_webhook(id, &user.actor()).await?;
    Ok(redirect_with_notice(
        "/webhooks",
        &format!(
            "Webhook to {} removed: nothing more is posted to it.",
            endpoint.url
        ),
    ))
}

struct AttemptRow {
    when: String,
    answer: String,
    took: String,
}

#[derive(Template)]
#[template(path = "webhook_delivery.html")]
struct DeliveryPage {
    layout: Layout,
    delivery: DeliveryRow,
    url: String,
    next_attempt: String,
    attempts: Vec<AttemptRow>,
}

async fn delivery_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Html<String>, WebError> {
    user.require(Action::Administer, None)?;
    let (d, attempts) = state.engine.webhook_delivery(id).await?;
    let shown = DeliveryPage {
        layout: Layout::new(&user, format!("Delivery {id}"), "settings"),
        url: d.url.clone(),
        next_attempt: d
            .next_attempt_at
            .map(|at| format::local(at, &user.zone))
            .unwrap_or_default(),
        attempts: attempts
            .into_iter()
            .map(|a| AttemptRow {
                when: format::local(a.at, &user.zone),
                answer: answer_of(a.status, a.error.as_deref()),
                took: format!("{} ms", a.duration_ms),
            })
            .collect(),
        delivery: DeliveryRow {
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type,
            about: format!("{} {}", d.subject_type, d.subject_id),
            endpoint_id: d.endpoint_id,
            answer: answer_of(d.last_status, d.last_error.as_deref()),
            when: format::local(d.created_at, &user.zone),
            status: d.status,
            attempts: d.attempts,
        },
    };
    Ok(Html(shown.render()?))
}

async fn redeliver(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    user.require(Action::Administer, None)?;
    let new = state.engine.redeliver_webhook(id, &user.actor()).await?;
    Ok(redirect_with_notice(
        &format!("/webhooks/deliveries/{new}"),
        &format!("Delivery {id} is being posted again, as delivery {new}."),
    ))
}
