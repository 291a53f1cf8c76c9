//! A member of the team's calendar feed, `/calendar/{user}/{token}.ics`: public (a calendar
//! app has no session), opened by the secret token in its address alone. An unknown or
//! revoked address is a plain 404.

use axum::{
    Router,
    extract::{Path, State},
    http::header,
    response::{IntoResponse, Response},
    routing::get,
};

use crate::{AppState, WebError};

pub fn routes() -> Router<AppState> {
    Router::new().route("/calendar/{user}/{file}", get(feed))
}

async fn feed(
    State(state): State<AppState>,
    Path((user, file)): Path<(i64, String)>,
) -> Result<Response, WebError> {
    let token = file.strip_suffix(".ics").unwrap_or(&file);
    let text = state.engine.calendar_feed(user, token).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            // A secret address: not for shared caches.
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        text,
    )
        .into_response())
}
