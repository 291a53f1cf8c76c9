//! The JSON API under `/api/v1`, for other programs: each request carries a bearer token
//! (`tickler token create`), acts as the token's user with their role, and every refusal
//! has one shape, `{"error": {"code", "message", "field"}}`. Handlers call the same engine
//! functions as the pages and the CLI.

mod actions;
mod error;
mod extract;
mod history;
mod invoices;
mod openapi;
mod plans;
mod quotes;
mod reminders;
mod resources;
mod tasks;
mod webhooks;

use axum::{
    Json, Router,
    extract::FromRequestParts,
    handler::Handler,
    http::{Method, header::AUTHORIZATION, request::Parts},
    routing::{MethodFilter, on},
};
use serde::Serialize;
use tickler_core::access::Viewer;
use tickler_engine::browse::User;
use utoipa::ToSchema;

pub use error::ApiError;
use error::ErrorBody;
pub use openapi::document;

use crate::AppState;

/// Where the API's paths start.
pub const PREFIX: &str = "/api/";

pub fn routes() -> Router<AppState> {
    api_routes().router
}

/// Every endpoint of the API. Each is added through [`ApiRoutes::route`], which notes its
/// method and path, so that a test can hold the OpenAPI document to the router: an
/// endpoint added here without its `#[utoipa::path]` fails that test.
fn api_routes() -> ApiRoutes {
    ApiRoutes::default()
        .route(Method::GET, "/api/v1/openapi.json", openapi::serve)
        .route(Method::GET, "/api/v1/me", me)
        .route(Method::GET, "/api/v1/customers", resources::list_customers)
        .route(
            Method::POST,
            "/api/v1/customers",
            resources::create_customer,
        )
        .route(Method::GET, "/api/v1/customers/{id}", resources::customer)
        .route(Method::GET, "/api/v1/contracts", resources::list_contracts)
        .route(
            Method::POST,
            "/api/v1/contracts",
            resources::create_contract,
        )
        .route(Method::GET, "/api/v1/contracts/{id}", resources::contract)
        .route(
            Method::PATCH,
            "/api/v1/contracts/{id}",
            resources::update_contract,
        )
        .route(
            Method::GET,
            "/api/v1/contracts/{id}/events",
            history::contract_events,
        )
        .route(Method::POST, "/api/v1/contracts/{id}/renew", actions::renew)
        .route(
            Method::POST,
            "/api/v1/contracts/{id}/decline",
            actions::decline,
        )
        .route(
            Method::POST,
            "/api/v1/contracts/{id}/terminate",
            actions::terminate,
        )
        .route(Method::GET, "/api/v1/reminders", reminders::list_reminders)
        .route(Method::GET, "/api/v1/reminders/{id}", reminders::reminder)
        .route(
            Method::PATCH,
            "/api/v1/reminders/{id}",
            reminders::update_reminder,
        )
        .route(
            Method::POST,
            "/api/v1/reminders/{id}/send-now",
            reminders::send_now,
        )
        .route(Method::POST, "/api/v1/reminders/{id}/skip", reminders::skip)
        .route(Method::GET, "/api/v1/invoices", invoices::list_invoices)
        .route(Method::GET, "/api/v1/invoices/{id}", invoices::invoice)
        .route(
            Method::GET,
            "/api/v1/invoices/{id}/pdf",
            invoices::invoice_pdf,
        )
        .route(
            Method::POST,
            "/api/v1/invoices/{id}/approve",
            invoices::approve,
        )
        .route(
            Method::POST,
            "/api/v1/invoices/{id}/payments",
            invoices::record_payment,
        )
        .route(Method::POST, "/api/v1/invoices/{id}/void", invoices::void)
        .route(Method::GET, "/api/v1/webhooks", webhooks::list)
        .route(Method::POST, "/api/v1/webhooks", webhooks::create)
        .route(Method::GET, "/api/v1/webhooks/{id}", webhooks::get_one)
        .route(Method::DELETE, "/api/v1/webhooks/{id}", webhooks::remove)
        .route(
            Method::GET,
            "/api/v1/webhooks/{id}/deliveries",
            webhooks::deliveries,
        )
        .route(
            Method::POST,
            "/api/v1/webhooks/deliveries/{id}/redeliver",
            webhooks::redeliver,
        )
        .route(Method::GET, "/api/v1/tasks", tasks::list_tasks)
        .route(Method::POST, "/api/v1/tasks/{id}/done", tasks::done)
        .route(Method::GET, "/api/v1/quotes", quotes::list_quotes)
        .route(Method::GET, "/api/v1/quotes/{id}", quotes::quote)
        .route(Method::POST, "/api/v1/quotes/{id}/accept", quotes::accept)
        .route(Method::POST, "/api/v1/quotes/{id}/decline", quotes::decline)
        .route(Method::GET, "/api/v1/plans", plans::list_plans)
        .route(Method::GET, "/api/v1/templates", plans::list_templates)
}

/// The API's router and the (method, path) of each of its endpoints.
#[derive(Default)]
struct ApiRoutes {
    router: Router<AppState>,
    endpoints: Vec<(Method, &'static str)>,
}

impl ApiRoutes {
    /// Answers `method path` with `handler` (axum merges the methods of one path).
    fn route<H, T>(mut self, method: Method, path: &'static str, handler: H) -> ApiRoutes
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        // The methods are the constants above, all of which axum can route.
        let filter = MethodFilter::try_from(method.clone())
            .unwrap_or_else(|_| panic!("axum cannot route {method}"));
        self.router = self.router.route(path, on(filter, handler));
        self.endpoints.push((method, path));
        self
    }
}

/// The user a request's bearer token acts as.
pub struct ApiUser {
    pub user: User,
    pub viewer: Viewer,
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let token = match header.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            _ => {
                return Err(ApiError::unauthorized(
                    "send the header Authorization: Bearer TOKEN (make a token with \
                     `tickler token create` or on your account page)",
                ));
            }
        };
        match state.engine.user_for_token(token).await? {
            Some(user) => Ok(ApiUser {
                viewer: Viewer {
                    user_id: user.id,
                    role: user.role,
                },
                user,
            }),
            None => Err(ApiError::unauthorized(
                "the token is unknown or revoked, or its user is deactivated",
            )),
        }
    }
}

/// Who the token acts as.
#[derive(Serialize, ToSchema)]
struct Me {
    id: i64,
    email: String,
    name: String,
    #[schema(value_type = openapi::RoleName)]
    role: &'static str,
    /// An IANA time zone; `null`: the organisation's.
    #[schema(required = true)]
    time_zone: Option<String>,
    #[schema(value_type = openapi::LanguageCode)]
    language: &'static str,
}

/// Who the token acts as: a cheap way to check a token.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    operation_id = "get_me",
    tag = "account",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The token's user", body = Me),
        (status = 401, description = "No token, or an unknown or revoked one", body = ErrorBody),
        (status = 500, description = "Tickler failed; the log says why", body = ErrorBody),
        (status = 503, description = "The database cannot be reached", body = ErrorBody),
    )
)]
async fn me(api: ApiUser) -> Json<Me> {
    let user = api.user;
    Json(Me {
        id: user.id,
        email: user.email,
        name: user.name,
        role: user.role.as_str(),
        time_zone: user.time_zone,
        language: user.language.code(),
    })
}
