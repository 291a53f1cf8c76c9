//! The team's web app, served by `tickler serve`: server-rendered pages (askama), one
//! stylesheet and a little JavaScript, all embedded in the binary. Pages call the same
//! engine functions as the CLI, sessions included; this crate never reaches the
//! database or the mail transport itself.

mod assets;
pub mod auth;
pub mod client;
mod error;
pub mod format;
mod metrics;
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
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            public_url: None,
            session_idle: Duration::from_secs(8 * 3600),
            session_max: Duration::from_secs(7 * 24 * 3600),
            trusted_proxies: client::TrustedProxies::default(),
            public_requests_per_minute: 30,
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
        .merge(assets::routes())
        .merge(auth::routes())
        .merge(pages::routes())
        .merge(public::routes())
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

/// Liveness: the process answers (200), and says whether its database does.
async fn healthz(State(state): State<AppState>) -> (StatusCode, String) {
    let database = match state.engine.ping().await {
        Ok(()) => "reachable".to_string(),
        Err(e) => format!("unreachable ({e})"),
    };
    (StatusCode::OK, format!("ok\ndatabase: {database}\n"))
}

/// Readiness: 503 while the database cannot be reached, so a load balancer sends no pages here.
async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    match state.engine.ping().await {
        Ok(()) => (StatusCode::OK, "ready\n".to_string()),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: database unreachable ({e})\n"),
        ),
    }
}
