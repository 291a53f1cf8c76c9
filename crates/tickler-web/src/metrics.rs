//! `GET /metrics`: Prometheus text for monitoring several instances. Counters and timings
//! come from this process (claims, deliveries by outcome, SMTP time, lateness, job runs,
//! database errors); the queue gauges are read from the database at each scrape, so every
//! instance reports the same, cluster-wide queue. With `TICKLER_METRICS_TOKEN` set, only a
//! scraper presenting that bearer token is answered.

use std::{sync::OnceLock, time::Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::{AppState, security::constant_time_eq};
use tickler_engine::backups::BackupRecord;

/// The bearer token `/metrics` asks for. A secret: its `Debug` shows no part of it.
#[derive(Clone)]
pub struct MetricsToken(String);

impl MetricsToken {
    pub fn new(token: impl Into<String>) -> MetricsToken {
        MetricsToken(token.into())
    }

    /// Whether a request's `Authorization` header carries this token.
    fn admits(&self, headers: &HeaderMap) -> bool {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| constant_time_eq(given.trim().as_bytes(), self.0.as_bytes()))
    }
}

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(***)")
    }
}

/// The process's recorder, installed on first use: the `metrics` facade has one global
/// recorder, so every router in the process (tests start several) shares it.
pub(crate) fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(handle) => Some(handle),
            Err(e) => {
                tracing::warn!(error = %e, "metrics are not recorded: another recorder is installed");
                None
            }
        })
        .as_ref()
}

pub(crate) async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.config.metrics_token
        && !token.admits(&headers)
    {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")],
            "a bearer token is required (TICKLER_METRICS_TOKEN)\n",
        )
            .into_response();
    }
    let Some(handle) = handle() else {
        return (StatusCode::NOT_FOUND, "metrics are not recorded\n").into_response();
    };
    let mut queue = String::new();
    match state.engine.queue_stats().await {
        Ok(stats) => {
            let now = state.engine.now();
            let oldest_wait = stats
                .oldest_due_at
                .map(|at| at.duration_until(now).as_secs_f64().max(0.0))
                .unwrap_or(0.0);
            queue.push_str(&format!(
                "# HELP tickler_queue_due Timed emails due and not yet claimed, across all instances.\n\
                 # TYPE tickler_queue_due gauge\ntickler_queue_due {}\n\
                 # HELP tickler_queue_oldest_due_seconds How long the oldest due, unclaimed email has waited.\n\
                 # TYPE tickler_queue_oldest_due_seconds gauge\ntickler_queue_oldest_due_seconds {oldest_wait}\n\
                 # HELP tickler_queue_sending Timed emails claimed and being sent, across all instances.\n\
                 # TYPE tickler_queue_sending gauge\ntickler_queue_sending {}\n\
                 # HELP tickler_database_up Whether this instance reaches its database.\n\
                 # TYPE tickler_database_up gauge\ntickler_database_up 1\n",
                stats.due, stats.sending
            ));
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics: cannot read the queue");
            queue.push_str(
                "# HELP tickler_database_up Whether this instance reaches its database.\n\
                 # TYPE tickler_database_up gauge\ntickler_database_up 0\n",
            );
        }
    }
    match state.engine.webhook_counts().await {
        Ok(counts) => {
            queue.push_str(
                "# HELP tickler_webhook_deliveries Webhook deliveries by status, across all instances.\n\
                 # TYPE tickler_webhook_deliveries gauge\n",
            );
            for status in ["pending", "delivered", "failed"] {
                let count = counts
                    .iter()
                    .find(|(s, _)| s == status)
                    .map_or(0, |(_, n)| *n);
                queue.push_str(&format!(
                    "tickler_webhook_deliveries{{status=\"{status}\"}} {count}\n"
                ));
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot count webhook deliveries"),
    }
    if state.engine.takes_own_backups() {
        match state.engine.latest_backups().await {
            Ok((done, latest)) => queue.push_str(&backup_gauges(done.as_ref(), latest.as_ref())),
            Err(e) => tracing::warn!(error = %e, "metrics: cannot read the last backup"),
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        format!("{queue}{}", handle.render()),
    )
        .into_response()
}

/// The last backup's moment and size, and whether the latest attempt failed: an alert on
/// `time() - tickler_backup_last_success_timestamp_seconds > 26 * 3600` catches a schedule
/// that stopped. Read from the database, so every instance reports the same.
fn backup_gauges(done: Option<&BackupRecord>, latest: Option<&BackupRecord>) -> String {
    let when = done.map_or(0, |b| b.finished_at.unwrap_or(b.started_at).as_second());
    let size = done.and_then(|b| b.size).unwrap_or(0);
    let failed = latest.is_some_and(|b| b.status == "failed");
    format!(
        "# HELP tickler_backup_last_success_timestamp_seconds When the last good backup of the database finished (0: never).\n\
         # TYPE tickler_backup_last_success_timestamp_seconds gauge\n\
         tickler_backup_last_success_timestamp_seconds {when}\n\
         # HELP tickler_backup_last_size_bytes The size of the last good backup.\n\
         # TYPE tickler_backup_last_size_bytes gauge\ntickler_backup_last_size_bytes {size}\n\
         # HELP tickler_backup_last_failed Whether the latest backup attempt failed.\n\
         # TYPE tickler_backup_last_failed gauge\ntickler_backup_last_failed {}\n",
        u8::from(failed)
    )
}

/// Times every request by route (the pattern, `/contracts/{id}`, not the path, so that the
/// number of series stays small), method and status class.
pub(crate) async fn time_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(request).await;
    let status = format!("{}xx", response.status().as_u16() / 100);
    metrics::histogram!(
        "tickler_http_request_duration_seconds",
        "method" => method,
        "route" => route,
        "status" => status
    )
    .record(started.elapsed().as_secs_f64());
    response
}
