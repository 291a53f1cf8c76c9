//! The team's web app, served by `tickler serve`: server-rendered pages (askama), one
//! stylesheet and a little JavaScript, all embedded in the binary. Pages call the same
//! engine functions as the CLI, sessions included; this crate never reaches the
//! database or the mail transport itself.

pub mod api;
mod assets;
pub mod auth;
mod calendar;
pub mod client;
mod error;
pub mod field_errors;
pub mod format;
mod invitation;
pub mod metrics;
mod notice;
pub mod pages;
pub mod public;
mod rate_limit;
mod return_to;
mod security;

use std::{sync::Arc, time::Duration};

use axum::{Router, extract::State, http::StatusCode, routing::get};
pub use error::WebError;
use tickler_engine::Engine;

/// Settings of the web app itself.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The address people use to reach Tickler, e.g. `https://tickler.example.com`; when it
    /// starts with https, cookies are marked `Secure`. Also the origin accepted for forms.
    pub public_url: Option<String>,
    /// A session ends after this long without a request.
    pub session_idle: Duration,
    /// A session ends this long after login however active it is, so that a stolen cookie
    /// does not live for ever.
    pub session_max: Duration,
    /// Proxies whose `X-Forwarded-For` / `Forwarded` / `X-Forwarded-Proto` are believed.
    pub trusted_proxies: client::TrustedProxies,
    /// Requests per minute one client address may make to the public pages (the customer's
    /// answer links).
    pub public_requests_per_minute: u32,
    /// When set, `/metrics` answers only requests carrying `Authorization: Bearer <token>`.
    pub metrics_token: Option<metrics::MetricsToken>,
    /// Whether the one-time setup page asks for the setup code: `serve` sets it when other
    /// machines can reach the app, so that the first stranger to find it cannot become admin.
    pub setup_needs_code: bool,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            public_url: None,
            session_idle: Duration::from_secs(8 * 3600),
            session_max: Duration::from_secs(7 * 24 * 3600),
            trusted_proxies: client::TrustedProxies::default(),
            public_requests_per_minute: 30,
            metrics_token: None,
            setup_needs_code: false,
        }
    }
}

impl WebConfig {
    /// Whether the public URL is https: cookies are then always `Secure`, and browsers are
    /// told to use https only (HSTS).
    pub fn secure_cookies(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"))
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    pub config: Arc<WebConfig>,
    pub public_limiter: Arc<rate_limit::RateLimiter>,
}

/// The whole web app.
pub fn router(engine: Engine, config: WebConfig) -> Router {
    let state = AppState {
        engine,
        public_limiter: Arc::new(rate_limit::RateLimiter::new(
            config.public_requests_per_minute,
        )),
        config: Arc::new(config),
    };
    // Installed with the app, so that counting starts before the first scrape.
    metrics::handle();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::metrics))
        .merge(api::routes())
        .merge(assets::routes())
        .merge(calendar::routes())
        .merge(auth::routes())
        .merge(pages::routes())
        .merge(public::routes())
        .merge(invitation::routes())
        .layer(axum::middleware::from_fn(metrics::time_requests))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            notice::keep,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            public::limit,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::guard,
        ))
        .with_state(state)
}

/// Whether the database answers. The reason it does not goes to the log only: its text
/// names hosts and user names, and these endpoints answer anyone.
async fn database_reachable(state: &AppState, endpoint: &str) -> bool {
    match state.engine.ping().await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, endpoint, "the database is unreachable");
            false
        }
    }
}

/// Liveness: the process answers (200), and says whether its database does and whether
/// mail can leave.
async fn healthz(State(state): State<AppState>) -> (StatusCode, String) {
    let database = if database_reachable(&state, "/healthz").await {
        "reachable"
    } else {
        "unreachable"
    };
    (
        StatusCode::OK,
        format!("ok\ndatabase: {database}\n{}\n", mail_health_line(&state)),
    )
}

/// The mailer's line of `/healthz`: "mail: ok", or the configuration problem that holds
/// mail back (its host and reason; the mailer's errors never carry the password).
fn mail_health_line(state: &AppState) -> String {
    match state.engine.mail_problem() {
        None => "mail: ok".to_string(),
        Some(problem) => format!("mail: not going out: {problem}"),
    }
}

/// Readiness: 503 while the database cannot be reached, so a load balancer sends no pages here.
async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if database_reachable(&state, "/readyz").await {
        (StatusCode::OK, "ready\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: database unreachable\n",
        )
    }
}
