//! `GET /metrics`: Prometheus text for monitoring several instances. Counters and timings
//! come from this process (claims, deliveries by outcome, SMTP time, lateness, job runs,
//! database errors); the queue gauges are read from the database at each scrape, so every
//! instance reports the same, cluster-wide queue.

use std::sync::OnceLock;

use axum::{
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::AppState;

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

pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
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
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        format!("{queue}{}", handle.render()),
    )
        .into_response()
}
