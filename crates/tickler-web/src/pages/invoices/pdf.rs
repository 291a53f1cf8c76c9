//! An invoice's PDF, the same document its email carries, to open in the browser or save.

use axum::http::{HeaderValue, header};
use tickler_engine::Engine;

use super::*;

pub(super) async fn pdf(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    // Read first: an invoice that does not exist is a 404 before any rendering.
    let detail = state.engine.invoice_detail(id).await?;
    let bytes = state.engine.invoice_pdf(id).await?;
    pdf_response(
        bytes,
        &Engine::invoice_file_name(&detail),
        &format!("invoice {id}"),
    )
}

/// A PDF to open in the browser or save (an invoice's, a quote's), never cached: the
/// document changes with its status.
pub(crate) fn pdf_response(
    bytes: Vec<u8>,
    file_name: &str,
    what: &str,
) -> Result<Response, WebError> {
    // The engine's file names are numbers with path separators replaced, so they need no
    // quoting beyond the quotes themselves; anything else is dropped to be safe.
    let name: String = file_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    let disposition = HeaderValue::from_str(&format!("inline; filename=\"{name}\""))
        .map_err(|e| WebError::Internal(format!("{what}: file name header: {e}")))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/pdf"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        bytes,
    )
        .into_response())
}
